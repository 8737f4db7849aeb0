//! Slipway accounts of directory users (`[auth.ldap]`): the first sign-in
//! creates the account (`source = 'ldap'`, no password, no project roles);
//! every sign-in copies name, email and (with an admin group) the admin
//! flag from the directory; a disabled account stays out.

use crate::domain::Username;
use crate::store::models::{NewUser, UserRow};
use crate::store::{timestamp_now, users, DbConn};

use super::directory::DirectoryEntry;
use super::error::ServiceResult;
use super::users::SOURCE_LDAP;

/// Records a directory sign-in of `username` (the directory checked the
/// password): the account, created or brought up to date; `None` when it
/// is disabled, is a local account, or the name is not a valid Slipway
/// user name.
pub fn sign_in(conn: &mut DbConn, username: &str, entry: &DirectoryEntry) -> ServiceResult<Option<UserRow>> {
    let Ok(name) = Username::parse(username) else {
        tracing::info!(username = %username.escape_debug(), "directory user name is not a valid Slipway user name");
        return Ok(None);
    };
    let display_name = clean_display_name(&entry.display_name, name.as_str());
    let email = clean_email(&entry.email);
    let existing = match users::by_username(conn, name.as_str())? {
        Some(user) => Some(user),
        None => {
            let now = timestamp_now();
            let new = NewUser {
                username: name.as_str(),
                display_name: &display_name,
                email: &email,
                password_hash: "",
                is_admin: entry.is_admin.unwrap_or(false),
                created_at: now,
                updated_at: now,
                source: SOURCE_LDAP,
            };
            match users::insert(conn, &new) {
                Ok(id) => {
                    tracing::info!(username = %name, dn = %entry.dn, "account created from the directory");
                    return Ok(users::by_id(conn, id)?);
                }
                // A concurrent first sign-in made it: update that one.
                Err(e) if e.is_unique_violation() => users::by_username(conn, name.as_str())?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let Some(user) = existing else {
        return Ok(None);
    };
    if user.source != SOURCE_LDAP || user.disabled {
        return Ok(None);
    }
    users::set_from_directory(conn, user.id, &display_name, &email, entry.is_admin)?;
    Ok(users::by_id(conn, user.id)?)
}

/// The directory's name if Slipway accepts it as a display name, else the user name.
fn clean_display_name(given: &str, username: &str) -> String {
    let given = given.trim();
    let fits = !given.is_empty()
        && given.chars().count() <= 100
        && crate::domain::check_text("display_name", given, false).is_ok();
    if fits { given } else { username }.to_owned()
}

/// The directory's email if it looks like one, else empty.
fn clean_email(given: &str) -> String {
    let given = given.trim();
    let fits = given.contains('@') && given.len() <= 254 && !given.chars().any(|c| c.is_control() || c == ' ');
    if fits { given } else { "" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_values_that_do_not_fit_fall_back() {
        assert_eq!(clean_display_name("  Alice Liddell ", "alice"), "Alice Liddell");
        assert_eq!(clean_display_name("", "alice"), "alice");
        assert_eq!(clean_display_name("bad\u{7}", "alice"), "alice");
        assert_eq!(clean_email("alice@example.com"), "alice@example.com");
        assert_eq!(clean_email("not-an-address"), "");
    }
}
