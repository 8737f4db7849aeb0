//! The sign-in throttle (the login page and `POST /api/v1/auth/token`).
//!
//! Every attempt takes a cell from GCRA buckets (`governor`) *before* the
//! password is checked, in one atomic step per bucket, so concurrent
//! attempts cannot slip past the limit between "check" and "count":
//!
//! * **per client address** ([`PER_ADDRESS`]): 30 attempts at once, then one
//!   more every 10 s. The address is the TCP peer, or the client named in
//!   `X-Forwarded-For` when the peer is a trusted proxy (see
//!   [`super::client_addr`]).
//! * **per user name** ([`PER_USER`]): 5 attempts at once, then one more
//!   every 3 minutes (20 an hour), shared by every address that has not
//!   signed in as that user before.
//! * **per user at a known address** ([`PER_KNOWN`]): an address where the
//!   user signed in successfully before (remembered in memory, up to 4 per
//!   user) gets a bucket of its own: 10 attempts, then one every 6 s.
//!
//! So a stranger guessing a lead's password is slowed to the shared rate,
//! and never locks the lead out: the lead's own browser or office address
//! draws from its own bucket, and the shared one refills as soon as the
//! stranger stops (there is no lockout that lasts). Buckets are per process
//! (several instances each count their own) and forget idle keys.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A bucket's size and refill period.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Attempts allowed at once.
    pub burst: u32,
    /// One more attempt after each such period.
    pub refill: Duration,
}

/// Per client address.
pub const PER_ADDRESS: Limit = Limit {
    burst: 30,
    refill: Duration::from_secs(10),
};
/// Per user name, from addresses that never signed in as the user.
pub const PER_USER: Limit = Limit {
    burst: 5,
    refill: Duration::from_secs(180),
};
/// Per user name at an address where the user signed in before.
pub const PER_KNOWN: Limit = Limit {
    burst: 10,
    refill: Duration::from_secs(6),
};
/// Addresses remembered per user.
const KNOWN_PER_USER: usize = 4;
/// Keys kept per bucket before idle ones are dropped.
const MAX_KEYS: usize = 100_000;

/// Why an attempt is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Throttled {
    /// Too many attempts from this address.
    #[error("too many sign-in attempts from this address; wait a minute and try again")]
    Address,
    /// Too many attempts for this user name.
    #[error("too many sign-in attempts for this user; wait a few minutes and try again")]
    User,
}

impl Throttled {
    /// The stable code (a translation key).
    pub fn code(&self) -> &'static str {
        match self {
            Throttled::Address => "login.throttled_address",
            Throttled::User => "login.throttled_user",
        }
    }
}

fn limiter<K: Clone + std::hash::Hash + Eq>(limit: Limit) -> DefaultKeyedRateLimiter<K> {
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(limit.refill)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    RateLimiter::keyed(quota)
}

/// The buckets and the known addresses.
pub struct LoginThrottle {
    address: DefaultKeyedRateLimiter<String>,
    user: DefaultKeyedRateLimiter<String>,
    known_pair: DefaultKeyedRateLimiter<(String, String)>,
    known: Mutex<HashMap<String, Vec<String>>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(PER_ADDRESS, PER_USER, PER_KNOWN)
    }
}

impl LoginThrottle {
    /// A throttle with the given limits (tests use small ones).
    pub fn new(address: Limit, user: Limit, known: Limit) -> Self {
        Self {
            address: limiter(address),
            user: limiter(user),
            known_pair: limiter(known),
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one attempt for `username` from `addr`; refuses it when a
    /// bucket is empty. Call before checking the password.
    pub fn attempt(&self, username: &str, addr: &str) -> Result<(), Throttled> {
        self.trim();
        if self.address.check_key(&addr.to_owned()).is_err() {
            return Err(Throttled::Address);
        }
        let user = username.to_lowercase();
        let known = self
            .known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&user)
            .is_some_and(|addrs| addrs.iter().any(|a| a == addr));
        let allowed = if known {
            self.known_pair.check_key(&(user, addr.to_owned())).is_ok()
        } else {
            self.user.check_key(&user).is_ok()
        };
        if allowed {
            Ok(())
        } else {
            Err(Throttled::User)
        }
    }

    /// Remembers that `username` signed in from `addr`.
    pub fn signed_in(&self, username: &str, addr: &str) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= MAX_KEYS {
            known.clear();
        }
        let addrs = known.entry(username.to_lowercase()).or_default();
        if !addrs.iter().any(|a| a == addr) {
            if addrs.len() >= KNOWN_PER_USER {
                addrs.remove(0);
            }
            addrs.push(addr.to_owned());
        }
    }

    fn trim(&self) {
        if self.address.len() > MAX_KEYS {
            self.address.retain_recent();
        }
        if self.user.len() > MAX_KEYS {
            self.user.retain_recent();
        }
        if self.known_pair.len() > MAX_KEYS {
            self.known_pair.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stranger_slows_a_user_but_the_users_known_address_still_gets_in() {
        let t = LoginThrottle::default();
        t.signed_in("Lead", "10.0.0.5");
        for i in 0..PER_USER.burst {
            assert_eq!(t.attempt("lead", &format!("198.51.100.{i}")), Ok(()));
        }
        assert_eq!(t.attempt("lead", "198.51.100.99"), Err(Throttled::User));
        // The lead's own address has its own bucket.
        assert_eq!(t.attempt("LEAD", "10.0.0.5"), Ok(()));
        // Another user is not affected.
        assert_eq!(t.attempt("dev", "198.51.100.99"), Ok(()));
    }

    #[test]
    fn one_address_is_limited_across_users() {
        let t = LoginThrottle::default();
        for i in 0..PER_ADDRESS.burst {
            assert_eq!(t.attempt(&format!("user{i}"), "203.0.113.1"), Ok(()));
        }
        assert_eq!(t.attempt("someone", "203.0.113.1"), Err(Throttled::Address));
        assert_eq!(t.attempt("someone", "203.0.113.2"), Ok(()));
    }

    #[test]
    fn buckets_refill() {
        let quick = Limit {
            burst: 1,
            refill: Duration::from_millis(50),
        };
        let t = LoginThrottle::new(PER_ADDRESS, quick, quick);
        assert_eq!(t.attempt("a", "x"), Ok(()));
        assert_eq!(t.attempt("a", "x"), Err(Throttled::User));
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(t.attempt("a", "x"), Ok(()));
    }
}
