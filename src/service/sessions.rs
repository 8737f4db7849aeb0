//! Who a request is: the user behind a session or API JWT, or behind a
//! personal API token (whose last use is recorded here, at most once a
//! minute, in the same call that reads it).

use crate::store::models::UserRow;
use crate::store::{timestamp_now, tokens, users, DbConn};

use super::error::ServiceResult;

/// The enabled user with id `id` (from a verified session or JWT).
pub fn user_by_id(conn: &mut DbConn, id: i64) -> ServiceResult<Option<UserRow>> {
    Ok(users::by_id(conn, id)?.filter(|u| !u.disabled))
}

/// The enabled user owning the API token whose hash is `token_hash`;
/// records the token's use (at most once a minute, so a busy client does
/// not write on every request).
pub fn user_by_token(conn: &mut DbConn, token_hash: &str) -> ServiceResult<Option<UserRow>> {
    let Some(token) = tokens::by_hash(conn, token_hash)? else {
        return Ok(None);
    };
    let now = timestamp_now();
    if token.last_used_at.is_none_or(|at| (now - at).num_seconds() > 60) {
        tokens::touch(conn, token.id, now)?;
    }
    user_by_id(conn, token.user_id)
}
