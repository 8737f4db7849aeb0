//! Personal API tokens (only a SHA-256 of each token is stored), and the
//! ids of one-click approval tokens already used (migration 7).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    used_approval_tokens (jti) {
        jti -> Text,
        ticket_id -> BigInt,
        user_id -> BigInt,
        used_at -> Timestamp,
    }
}

/// A stored token (without the secret, which is never kept).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// What the owner called it.
    pub name: String,
    /// hex SHA-256 of the token.
    pub token_hash: String,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last used (UTC).
    pub last_used_at: Option<NaiveDateTime>,
}

/// Stores a token hash; returns its id.
pub fn insert(conn: &mut DbConn, user_id: i64, name: &str, token_hash: &str, now: NaiveDateTime) -> StoreResult<i64> {
    Ok(diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::user_id.eq(user_id),
            api_tokens::name.eq(name),
            api_tokens::token_hash.eq(token_hash),
            api_tokens::created_at.eq(now),
        ))
        .returning(api_tokens::id)
        .get_result(conn)?)
}

/// The token with this hash.
pub fn by_hash(conn: &mut DbConn, token_hash: &str) -> StoreResult<Option<TokenRow>> {
    Ok(api_tokens::table
        .filter(api_tokens::token_hash.eq(token_hash))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// A user's tokens, newest first.
pub fn of_user(conn: &mut DbConn, user_id: i64) -> StoreResult<Vec<TokenRow>> {
    Ok(api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order(api_tokens::id.desc())
        .select(TokenRow::as_select())
        .load(conn)?)
}

/// Deletes a user's token; returns whether it existed.
pub fn delete(conn: &mut DbConn, user_id: i64, id: i64) -> StoreResult<bool> {
    let n = diesel::delete(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::user_id.eq(user_id)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// Notes that a token was used (at most once a minute per token is enough).
pub fn touch(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Whether the approval token `jti` was used.
pub fn token_used(conn: &mut DbConn, jti: &str) -> StoreResult<bool> {
    let n: i64 = used_approval_tokens::table
        .filter(used_approval_tokens::jti.eq(jti))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Records that approval token `jti` was used; false if it already was.
pub fn use_token(conn: &mut DbConn, jti: &str, ticket_id: i64, user_id: i64, now: NaiveDateTime) -> StoreResult<bool> {
    let inserted = diesel::insert_into(used_approval_tokens::table)
        .values((
            used_approval_tokens::jti.eq(jti),
            used_approval_tokens::ticket_id.eq(ticket_id),
            used_approval_tokens::user_id.eq(user_id),
            used_approval_tokens::used_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(e) => {
            let e = super::StoreError::from(e);
            if e.is_unique_violation() {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}
