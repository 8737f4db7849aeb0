//! Queries on users and their project roles.

use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::models::{NewUser, UserRow};
use super::schema::{project_members, users};
use super::timestamp_now;

/// Inserts a user; returns its id.
pub fn insert(conn: &mut DbConn, user: &NewUser<'_>) -> StoreResult<i64> {
    Ok(diesel::insert_into(users::table)
        .values(user)
        .returning(users::id)
        .get_result(conn)?)
}

/// The user named `username`.
pub fn by_username(conn: &mut DbConn, username: &str) -> StoreResult<Option<UserRow>> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// The user with `id`.
pub fn by_id(conn: &mut DbConn, id: i64) -> StoreResult<Option<UserRow>> {
    Ok(users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every user, by name.
pub fn list(conn: &mut DbConn) -> StoreResult<Vec<UserRow>> {
    Ok(users::table
        .order(users::username.asc())
        .select(UserRow::as_select())
        .load(conn)?)
}

/// Replaces a user's password hash; returns whether the user exists.
pub fn set_password_hash(conn: &mut DbConn, username: &str, hash: &str) -> StoreResult<bool> {
    let changed = diesel::update(users::table.filter(users::username.eq(username)))
        .set((users::password_hash.eq(hash), users::updated_at.eq(timestamp_now())))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Sets the disabled flag; returns whether the user exists.
pub fn set_disabled(conn: &mut DbConn, username: &str, disabled: bool) -> StoreResult<bool> {
    let changed = diesel::update(users::table.filter(users::username.eq(username)))
        .set((users::disabled.eq(disabled), users::updated_at.eq(timestamp_now())))
        .execute(conn)?;
    Ok(changed == 1)
}

/// The role names `user_id` holds in `project_id`.
pub fn roles_in_project(conn: &mut DbConn, user_id: i64, project_id: i64) -> StoreResult<Vec<String>> {
    Ok(project_members::table
        .filter(project_members::user_id.eq(user_id))
        .filter(project_members::project_id.eq(project_id))
        .select(project_members::role)
        .load(conn)?)
}

/// Writes what the directory says about a user (name, email and, when
/// `is_admin` is given, the admin flag).
pub fn set_from_directory(
    conn: &mut DbConn,
    id: i64,
    display_name: &str,
    email: &str,
    is_admin: Option<bool>,
) -> StoreResult<()> {
    let target = users::table.find(id);
    let now = timestamp_now();
    match is_admin {
        Some(admin) => diesel::update(target)
            .set((
                users::display_name.eq(display_name),
                users::email.eq(email),
                users::is_admin.eq(admin),
                users::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                users::display_name.eq(display_name),
                users::email.eq(email),
                users::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Sets a user's chat identity (mobile number and chat user id; empty: none).
pub fn set_chat_identity(conn: &mut DbConn, id: i64, mobile: &str, chat_user_id: &str) -> StoreResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::chat_mobile.eq(mobile),
            users::chat_user_id.eq(chat_user_id),
            users::updated_at.eq(timestamp_now()),
        ))
        .execute(conn)?;
    Ok(())
}
