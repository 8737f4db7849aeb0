//! Who may read which project: the ids of the projects a user is a member
//! (any role) or a watcher of. The rule that uses them (admins and
//! `auth.visibility = "everyone"` read everything) is in
//! `service::visibility`.

use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::schema::{project_members, projects};
use super::subscriptions::project_watchers;

/// The projects `user_id` is a member or a watcher of, sorted, no duplicates.
pub fn member_or_watcher_of(conn: &mut DbConn, user_id: i64) -> StoreResult<Vec<i64>> {
    let mut ids: Vec<i64> = project_members::table
        .filter(project_members::user_id.eq(user_id))
        .select(project_members::project_id)
        .load(conn)?;
    ids.extend(
        project_watchers::table
            .filter(project_watchers::user_id.eq(user_id))
            .select(project_watchers::project_id)
            .load::<i64>(conn)?,
    );
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Whether `user_id` is a member or a watcher of `project_id`.
pub fn is_member_or_watcher(conn: &mut DbConn, user_id: i64, project_id: i64) -> StoreResult<bool> {
    let member: i64 = project_members::table
        .filter(project_members::user_id.eq(user_id))
        .filter(project_members::project_id.eq(project_id))
        .count()
        .get_result(conn)?;
    if member > 0 {
        return Ok(true);
    }
    let watcher: i64 = project_watchers::table
        .filter(project_watchers::user_id.eq(user_id))
        .filter(project_watchers::project_id.eq(project_id))
        .count()
        .get_result(conn)?;
    Ok(watcher > 0)
}

/// Project names, sorted; only those in `ids` when given.
pub fn project_names_in(conn: &mut DbConn, ids: Option<&[i64]>) -> StoreResult<Vec<String>> {
    let mut query = projects::table
        .select(projects::name)
        .order(projects::name.asc())
        .into_boxed();
    if let Some(ids) = ids {
        query = query.filter(projects::id.eq_any(ids.to_vec()));
    }
    Ok(query.load(conn)?)
}
