//! The client's address, for the sign-in throttle and the logs.
//!
//! The TCP peer is the client unless it is one of `server.trusted_proxies`
//! (addresses or CIDR ranges of the reverse proxies in front of Slipway).
//! Only then is `X-Forwarded-For` read, from the right: the first address
//! that is not itself a trusted proxy is the client. A header sent by
//! anyone else is ignored, so a client cannot pick the address it is
//! throttled under.

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::HttpRequest;

/// Why a `trusted_proxies` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("server.trusted_proxies: `{0}` is not an IP address or CIDR range (e.g. 10.0.0.1 or 10.0.0.0/8)")]
pub struct BadProxy(pub String);

impl BadProxy {
    /// The stable code (a translation key).
    pub fn code(&self) -> &'static str {
        "config.bad_trusted_proxy"
    }
}

/// An address range: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = BadProxy;

    fn from_str(s: &str) -> Result<Self, BadProxy> {
        let bad = || BadProxy(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { net, prefix })
    }
}

impl Cidr {
    /// Whether `ip` is inside the range (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Parses `server.trusted_proxies`.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, BadProxy> {
        entries
            .iter()
            .map(|e| e.as_ref().parse())
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client address of a request whose TCP peer is `peer` and whose
    /// `X-Forwarded-For` values are `forwarded` (in header order).
    pub fn client(&self, peer: Option<IpAddr>, forwarded: &[&str]) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<&str> = forwarded.iter().flat_map(|v| v.split(',')).map(str::trim).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                // Garbage in the chain: stop at the last address we could trust.
                Err(_) => break,
            }
        }
        Some(client)
    }

    /// The client address of `req`, as text (`unknown` without a peer).
    pub fn of(&self, req: &HttpRequest) -> String {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        self.client(req.peer_addr().map(|a| a.ip()), &forwarded)
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("203.0.113.9"), &["1.2.3.4"]), ip("203.0.113.9"));
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "::1"]).expect("parse");
        // An untrusted peer's header is ignored.
        assert_eq!(proxies.client(ip("203.0.113.9"), &["1.2.3.4"]), ip("203.0.113.9"));
        // A trusted proxy: the rightmost untrusted hop is the client.
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &["1.2.3.4, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client(ip("10.1.2.3"), &["1.2.3.4", "198.51.100.7, 10.9.9.9"]),
            ip("198.51.100.7")
        );
        assert_eq!(proxies.client(ip("::1"), &["198.51.100.7"]), ip("198.51.100.7"));
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.1"), &["198.51.100.7"]),
            ip("198.51.100.7")
        );
        // No header, or garbage: the proxy itself.
        assert_eq!(proxies.client(ip("10.1.2.3"), &[]), ip("10.1.2.3"));
        assert_eq!(proxies.client(ip("10.1.2.3"), &["evil, <x>"]), ip("10.1.2.3"));
        assert_eq!(proxies.client(None, &["1.2.3.4"]), None);
    }

    #[test]
    fn cidr_parsing() {
        for good in [
            "10.0.0.1",
            "10.0.0.0/8",
            "0.0.0.0/0",
            "fd00::/8",
            "::1",
            "192.168.1.0/24",
        ] {
            assert!(good.parse::<Cidr>().is_ok(), "{good}");
        }
        for bad in ["", "10.0.0.0/33", "::/129", "example.com", "10.0.0/8", "10.0.0.0/x"] {
            assert_eq!(
                bad.parse::<Cidr>().map_err(|e| e.code()),
                Err("config.bad_trusted_proxy"),
                "{bad}"
            );
        }
        let c: Cidr = "192.168.1.0/24".parse().expect("cidr");
        assert!(c.contains("192.168.1.200".parse().expect("ip")));
        assert!(!c.contains("192.168.2.1".parse().expect("ip")));
        let all: Cidr = "0.0.0.0/0".parse().expect("cidr");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
    }
}
