//! Password hashing with argon2id (PHC strings with a random salt).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::domain::InvalidInput;

/// Shortest password accepted, in characters (the one policy of the CLI,
/// the API and the admin form).
pub const MIN_LEN: usize = 10;
/// Longest password accepted, in bytes: the sign-in form and `POST
/// /api/v1/token` refuse longer ones, so a longer one could never be used
/// (argon2 is fine with more; this bounds the work).
pub const MAX_BYTES: usize = 1024;

/// The password policy: at least [`MIN_LEN`] characters, at most
/// [`MAX_BYTES`] bytes. [`hash`] applies it; every way of setting a
/// password (`slipway user add/set-password`, the admin form, the API)
/// goes through [`hash`].
pub fn check(password: &str) -> Result<(), InvalidInput> {
    if password.chars().count() < MIN_LEN || password.len() > MAX_BYTES {
        return Err(InvalidInput::new(
            "password",
            crate::domain::validate::codes::PASSWORD_LENGTH,
            format!("must be {MIN_LEN} to {MAX_BYTES} characters"),
        )
        .with("min", MIN_LEN)
        .with("max", MAX_BYTES));
    }
    Ok(())
}

/// Checks the policy ([`check`]) and hashes `password` with argon2id.
pub fn hash(password: &str) -> Result<String, InvalidInput> {
    check(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| InvalidInput::new("password", crate::domain::validate::codes::PASSWORD_HASH, e.to_string()))
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

    #[test]
    fn one_policy_for_every_entry_point() {
        assert!(check("123456789").is_err(), "nine characters");
        assert!(check("1234567890").is_ok());
        assert!(check(&"x".repeat(MAX_BYTES)).is_ok());
        assert!(check(&"x".repeat(MAX_BYTES + 1)).is_err());
        assert!(check(&"密".repeat(400)).is_err(), "1200 bytes");
    }
}
