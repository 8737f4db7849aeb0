//! Managing user accounts.

use crate::domain::Username;
use crate::store::models::{NewUser, UserRow};
use crate::store::{timestamp_now, users, DbConn};

use super::error::{ServiceError, ServiceResult};
use super::password;

/// What a new account needs.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    /// Login name (validated here).
    pub username: &'a str,
    /// Shown name; defaults to the login name.
    pub display_name: &'a str,
    /// Email address (may be empty).
    pub email: &'a str,
    /// The plain password (hashed here, never stored).
    pub password: &'a str,
    /// Admin flag.
    pub is_admin: bool,
}

/// Creates an account; returns its id.
pub fn add(conn: &mut DbConn, account: &NewAccount<'_>) -> ServiceResult<i64> {
    let username = Username::parse(account.username)?;
    let email = account.email.trim();
    if !email.is_empty() && (!email.contains('@') || email.len() > 254 || email.chars().any(char::is_control)) {
        return Err(crate::domain::InvalidInput::new(
            "email",
            crate::domain::validate::codes::EMAIL,
            "is not an email address",
        )
        .into());
    }
    let display_name = match account.display_name.trim() {
        "" => username.as_str(),
        name => name,
    };
    if display_name.chars().count() > 100 || display_name.chars().any(char::is_control) {
        return Err(crate::domain::InvalidInput::new(
            "display_name",
            crate::domain::validate::codes::DISPLAY_NAME,
            "must be at most 100 printable characters",
        )
        .into());
    }
    crate::domain::check_text("display_name", display_name, false)?;
    let hash = password::hash(account.password)?;
    let now = timestamp_now();
    let new = NewUser {
        username: username.as_str(),
        display_name,
        email,
        password_hash: &hash,
        is_admin: account.is_admin,
        created_at: now,
        updated_at: now,
        source: SOURCE_LOCAL,
    };
    users::insert(conn, &new).map_err(|e| {
        if e.is_unique_violation() {
            ServiceError::Conflict(
                super::error::codes::USER_EXISTS,
                format!("user `{username}` already exists"),
            )
        } else {
            e.into()
        }
    })
}

/// Sets a new password.
pub fn set_password(conn: &mut DbConn, username: &str, new_password: &str) -> ServiceResult<()> {
    let hash = password::hash(new_password)?;
    if !users::set_password_hash(conn, username, &hash)? {
        return Err(ServiceError::not_found("user", username));
    }
    Ok(())
}

/// Disables an account: it can no longer sign in or act.
pub fn disable(conn: &mut DbConn, username: &str) -> ServiceResult<()> {
    if !users::set_disabled(conn, username, true)? {
        return Err(ServiceError::not_found("user", username));
    }
    Ok(())
}

/// What the local password check says about a sign-in.
#[derive(Debug)]
pub enum LocalLogin {
    /// A local account, the right password, enabled.
    SignedIn(Box<UserRow>),
    /// A local account, but a wrong password or disabled (the caller must
    /// not tell which).
    Refused,
    /// No local account of that name: unknown, or one that signs in through
    /// the directory (`source = 'ldap'`).
    NotLocal,
}

/// Checks a login against the local accounts. A name that is not a local
/// account costs the same time as a real check, so timing does not reveal
/// names.
pub fn authenticate(conn: &mut DbConn, username: &str, password_given: &str) -> ServiceResult<LocalLogin> {
    let user = users::by_username(conn, username)?.filter(|u| u.source == SOURCE_LOCAL);
    let Some(user) = user else {
        let _ = password::verify(password_given, DUMMY_HASH);
        return Ok(LocalLogin::NotLocal);
    };
    let ok = password::verify(password_given, &user.password_hash);
    Ok(if ok && !user.disabled {
        LocalLogin::SignedIn(Box::new(user))
    } else {
        LocalLogin::Refused
    })
}

/// `users.source` of an account with its own password.
pub const SOURCE_LOCAL: &str = "local";
/// `users.source` of an account that signs in through the directory.
pub const SOURCE_LDAP: &str = "ldap";

/// A valid argon2id hash of a random string, for constant-time misses.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2xpcHdheXNsaXB3YXk$J4moa2MM0/6uf3HbY2Tf5Fux8JIBTwIhmhxGRE8wY6E";
