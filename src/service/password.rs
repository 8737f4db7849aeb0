//! Password hashing with argon2id (PHC strings with a random salt).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::domain::InvalidInput;

/// Shortest password accepted.
pub const MIN_LEN: usize = 8;
/// Longest password accepted (argon2 is fine with more; this bounds the work).
pub const MAX_LEN: usize = 1024;

/// Checks the length rules and hashes `password` with argon2id.
pub fn hash(password: &str) -> Result<String, InvalidInput> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(InvalidInput::new(
            "password",
            format!("must be at least {MIN_LEN} characters"),
        ));
    }
    if chars > MAX_LEN {
        return Err(InvalidInput::new(
            "password",
            format!("must be at most {MAX_LEN} characters"),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| InvalidInput::new("password", e.to_string()))
}

/// Whether `password` matches the stored PHC `hash` (false for a malformed hash).
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("correct horse").expect("hashes");
        let b = hash("correct horse").expect("hashes");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(verify("correct horse", &a));
        assert!(!verify("wrong horse", &a));
        assert!(!verify("x", "not a hash"));
        assert!(hash("short").is_err());
    }
}
