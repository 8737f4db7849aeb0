//! One-click approval links (invariant 8): a signed JWT naming the ticket,
//! the approver, the action, the ticket's state, stage generation and lock
//! version when sent, and a unique id; it expires. The web layer shows a
//! confirmation page on GET and acts only on the POST from that page.
//!
//! The claims have no `sub`, so an approval token never passes as a session
//! or API token (those require `sub`), and they carry `typ = "approval"`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

/// The `typ` of approval tokens.
pub const TYP: &str = "approval";

/// What an approval link says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// Always `approval`.
    pub typ: String,
    /// Ticket id.
    pub tid: i64,
    /// The approver (user id).
    pub uid: i64,
    /// `approve` or `reject`.
    pub act: String,
    /// Ticket state when sent.
    pub st: String,
    /// Ticket stage generation when sent.
    pub gen: i32,
    /// Ticket lock version when sent.
    pub lv: i32,
    /// Unique id (recorded when used).
    pub jti: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expiry (Unix seconds).
    pub exp: u64,
}

/// Why a link does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Signed by us but past its expiry.
    Expired,
    /// Not a token we signed, or not an approval token.
    Invalid,
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A fresh unique id.
pub fn new_jti() -> String {
    let mut buf = [0u8; 16];
    OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

impl LinkClaims {
    /// Claims for `action` on a ticket in `state`/`generation`/`lock_version`,
    /// valid for `hours` from `now` (Unix seconds).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ticket_id: i64,
        approver: i64,
        action: &str,
        state: &str,
        generation: i32,
        lock_version: i32,
        now: u64,
        hours: u32,
    ) -> Self {
        Self {
            typ: TYP.to_owned(),
            tid: ticket_id,
            uid: approver,
            act: action.to_owned(),
            st: state.to_owned(),
            gen: generation,
            lv: lock_version,
            jti: new_jti(),
            iat: now,
            exp: now + u64::from(hours) * 3600,
        }
    }
}

/// Signs `claims`.
pub fn sign(key: &EncodingKey, claims: &LinkClaims) -> Result<String, String> {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, key).map_err(|e| format!("sign approval link: {e}"))
}

/// Verifies a link token: signature, expiry (no leeway), type and action.
pub fn verify(key: &DecodingKey, token: &str) -> Result<LinkClaims, LinkError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp"]);
    match jsonwebtoken::decode::<LinkClaims>(token, key, &validation) {
        Ok(data) if data.claims.typ == TYP && matches!(data.claims.act.as_str(), "approve" | "reject") => {
            Ok(data.claims)
        }
        Ok(_) => Err(LinkError::Invalid),
        Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => Err(LinkError::Expired),
        Err(_) => Err(LinkError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_verifies_expires_and_is_not_a_session() {
        let (enc, dec) = (EncodingKey::from_secret(b"k"), DecodingKey::from_secret(b"k"));
        let now = unix_now();
        let claims = LinkClaims::new(1, 2, "approve", "tested", 1, 3, now, 72);
        let token = sign(&enc, &claims).expect("sign");
        assert_eq!(verify(&dec, &token), Ok(claims));
        let old = LinkClaims::new(1, 2, "approve", "tested", 1, 3, now - 73 * 3600, 72);
        assert_eq!(verify(&dec, &sign(&enc, &old).expect("sign")), Err(LinkError::Expired));
        assert_eq!(
            verify(&DecodingKey::from_secret(b"other"), &token),
            Err(LinkError::Invalid)
        );
        let odd = LinkClaims::new(1, 2, "release", "tested", 1, 3, now, 72);
        assert_eq!(verify(&dec, &sign(&enc, &odd).expect("sign")), Err(LinkError::Invalid));
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Session {
            sub: String,
        }
        let as_session = jsonwebtoken::decode::<Session>(&token, &dec, &Validation::new(Algorithm::HS256));
        assert!(as_session.is_err(), "an approval token is not a session token");
    }
}
