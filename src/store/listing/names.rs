//! Names for ids, memberships and the lists of the admin pages.

use diesel::prelude::*;

use crate::store::cached::eq_plus;
use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::models::{HostGroupRow, HostRow, ProjectRow, UserRow};
use crate::store::schema::{host_groups, hosts, project_members, projects, users};

/// Names of users by id.
pub fn usernames(conn: &mut DbConn, ids: &[i64]) -> StoreResult<Vec<(i64, String)>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load(conn)?)
}

/// The id of a user name.
pub fn user_id(conn: &mut DbConn, username: &str) -> StoreResult<Option<i64>> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(users::id)
        .first(conn)
        .optional()?)
}

/// The id of a project name.
pub fn project_id(conn: &mut DbConn, name: &str) -> StoreResult<Option<i64>> {
    Ok(projects::table
        .filter(projects::name.eq(name))
        .select(projects::id)
        .first(conn)
        .optional()?)
}

/// Every project name.
pub fn project_names(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    Ok(projects::table
        .order(projects::name.asc())
        .select(projects::name)
        .load(conn)?)
}

/// Members of a project as (username, role).
pub fn members(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<(String, String)>> {
    Ok(project_members::table
        .inner_join(users::table)
        .filter(project_members::project_id.eq(project_id))
        .order((project_members::role.asc(), users::username.asc()))
        .select((users::username, project_members::role))
        .load(conn)?)
}

/// Project names and roles of a user.
pub fn memberships(conn: &mut DbConn, user_id: i64) -> StoreResult<Vec<(i64, String, String)>> {
    Ok(project_members::table
        .inner_join(projects::table)
        .filter(eq_plus(project_members::user_id, user_id))
        .order(projects::name.asc())
        .select((projects::id, projects::name, project_members::role))
        .load(conn)?)
}

/// The projects a user holds a role in, each with that role (a project
/// comes once per role), by project id.
pub fn member_projects(conn: &mut DbConn, user_id: i64) -> StoreResult<Vec<(ProjectRow, String)>> {
    Ok(project_members::table
        .inner_join(projects::table)
        .filter(eq_plus(project_members::user_id, user_id))
        .order(projects::id.asc())
        .select((ProjectRow::as_select(), project_members::role))
        .load(conn)?)
}

/// Names of the host groups a project ships to.
pub fn project_host_groups(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<String>> {
    use crate::store::schema::project_host_groups as phg;
    Ok(phg::table
        .inner_join(host_groups::table)
        .filter(phg::project_id.eq(project_id))
        .order(host_groups::name.asc())
        .select(host_groups::name)
        .load(conn)?)
}

/// Every host group with its hosts.
pub fn host_groups(conn: &mut DbConn) -> StoreResult<Vec<(HostGroupRow, Vec<HostRow>)>> {
    let groups: Vec<HostGroupRow> = host_groups::table
        .order(host_groups::name.asc())
        .select(HostGroupRow::as_select())
        .load(conn)?;
    let all: Vec<HostRow> = hosts::table
        .order(hosts::name.asc())
        .select(HostRow::as_select())
        .load(conn)?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let mine = all.iter().filter(|h| h.group_id == g.id).cloned().collect();
            (g, mine)
        })
        .collect())
}

/// Every user, by name.
pub fn users(conn: &mut DbConn) -> StoreResult<Vec<UserRow>> {
    crate::store::users::list(conn)
}
