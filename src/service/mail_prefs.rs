//! Mail preferences: which kinds of notification mail a user gets (the
//! opt-outs kept by [`crate::store::subscriptions`]). See docs/design.md#layers.

use crate::notify::Kind;
use crate::store::{subscriptions, write_tx, DbConn};

use super::error::ServiceResult;

/// Each kind with whether `user_id` gets it.
pub fn preferences(conn: &mut DbConn, user_id: i64) -> ServiceResult<Vec<(Kind, bool)>> {
    let off = subscriptions::disabled_kinds(conn, user_id)?;
    Ok(Kind::ALL
        .into_iter()
        .map(|k| (k, !off.iter().any(|o| o == k.as_str())))
        .collect())
}

/// Turns on exactly the kinds named in `enabled` (unknown names are ignored)
/// and every other kind off.
pub fn set_preferences(conn: &mut DbConn, user_id: i64, enabled: &[String]) -> ServiceResult<()> {
    write_tx(conn, |conn| {
        for kind in Kind::ALL {
            subscriptions::set_pref(conn, user_id, kind.as_str(), enabled.iter().any(|e| e == kind.as_str()))?;
        }
        Ok(())
    })
}
