//! Small reads the pages and the API need beside the read models of
//! [`super::queries`]: names to ids, memberships, lists for the admin pages,
//! a project's release history. Reads only; each returns a
//! [`ServiceResult`] so the web layer never names the store.

use chrono::NaiveDateTime;

use crate::store::listing;
use crate::store::models::{FreezeWindowRow, HostGroupRow, HostRow, ProjectRow, TicketRow, UserRow};
use crate::store::tokens::TokenRow;
use crate::store::{projects, tickets, tokens, users, DbConn};

use super::error::ServiceResult;
use super::rows::TicketListRow;

/// The id of the project called `name`, if any.
pub fn project_id(conn: &mut DbConn, name: &str) -> ServiceResult<Option<i64>> {
    Ok(listing::project_id(conn, name)?)
}

/// The id of the user called `username`, if any.
pub fn user_id(conn: &mut DbConn, username: &str) -> ServiceResult<Option<i64>> {
    Ok(listing::user_id(conn, username)?)
}

/// The user with id `id`, if any.
pub fn user(conn: &mut DbConn, id: i64) -> ServiceResult<Option<UserRow>> {
    Ok(users::by_id(conn, id)?)
}

/// The project called `name`, if any.
pub fn project_by_name(conn: &mut DbConn, name: &str) -> ServiceResult<Option<ProjectRow>> {
    Ok(projects::by_name(conn, name)?)
}

/// The projects `user_id` belongs to: (project id, project name, role).
pub fn memberships(conn: &mut DbConn, user_id: i64) -> ServiceResult<Vec<(i64, String, String)>> {
    Ok(listing::memberships(conn, user_id)?)
}

/// Names of the projects `user_id` holds `role` in.
pub fn projects_with_role(conn: &mut DbConn, user_id: i64, role: &str) -> ServiceResult<Vec<String>> {
    Ok(listing::memberships(conn, user_id)?
        .into_iter()
        .filter(|m| m.2 == role)
        .map(|m| m.1)
        .collect())
}

/// Whether `user_id` holds `role` in project `project_id`.
pub fn has_role(conn: &mut DbConn, user_id: i64, project_id: i64, role: &str) -> ServiceResult<bool> {
    Ok(listing::memberships(conn, user_id)?
        .iter()
        .any(|(pid, _, r)| *pid == project_id && r == role))
}

/// The roles `user_id` holds in project `project_id`.
pub fn roles_in_project(conn: &mut DbConn, user_id: i64, project_id: i64) -> ServiceResult<Vec<String>> {
    Ok(users::roles_in_project(conn, user_id, project_id)?)
}

/// Every user account (admin page).
pub fn users(conn: &mut DbConn) -> ServiceResult<Vec<UserRow>> {
    Ok(listing::users(conn)?)
}

/// Every project name, sorted (admin pages).
pub fn project_names(conn: &mut DbConn) -> ServiceResult<Vec<String>> {
    Ok(listing::project_names(conn)?)
}

/// Every host group with its hosts (admin page).
pub fn host_groups(conn: &mut DbConn) -> ServiceResult<Vec<(HostGroupRow, Vec<HostRow>)>> {
    Ok(listing::host_groups(conn)?)
}

/// A project's members as (username, role).
pub fn members(conn: &mut DbConn, project_id: i64) -> ServiceResult<Vec<(String, String)>> {
    Ok(listing::members(conn, project_id)?)
}

/// Names of the host groups a project ships to.
pub fn project_host_groups(conn: &mut DbConn, project_id: i64) -> ServiceResult<Vec<String>> {
    Ok(listing::project_host_groups(conn, project_id)?)
}

/// A project's freeze windows as stored.
pub fn freeze_windows(conn: &mut DbConn, project_id: i64) -> ServiceResult<Vec<FreezeWindowRow>> {
    Ok(projects::freeze_windows(conn, project_id)?)
}

/// The hosts a project ships to, as (group, host).
pub fn hosts_of(conn: &mut DbConn, project_id: i64) -> ServiceResult<Vec<(String, HostRow)>> {
    Ok(projects::hosts_of(conn, project_id)?)
}

/// A project's release history: its released tickets (at most `limit`),
/// when each shipped and who approved it.
#[derive(Debug, Clone, Default)]
pub struct ReleaseHistory {
    /// The released tickets, newest first.
    pub released: Vec<TicketListRow>,
    /// (ticket id, when it shipped).
    pub shipped_at: Vec<(i64, NaiveDateTime)>,
    /// (ticket id, approver username, generation).
    pub approvers: Vec<(i64, String, i32)>,
}

/// The release history of project `project_id`.
pub fn release_history(conn: &mut DbConn, project_id: i64, limit: i64) -> ServiceResult<ReleaseHistory> {
    let released = listing::released(conn, project_id, limit)?;
    let ids: Vec<i64> = released.iter().map(|r| r.id).collect();
    Ok(ReleaseHistory {
        shipped_at: listing::shipped_at(conn, &ids)?,
        approvers: listing::approvers_of(conn, &ids)?,
        released,
    })
}

/// The ticket that released version `version` of project `project_id`.
pub fn ticket_by_version(conn: &mut DbConn, project_id: i64, version: i64) -> ServiceResult<Option<TicketRow>> {
    Ok(tickets::by_version(conn, project_id, version)?)
}

/// The newest release of project `project_id` shipped before `version`.
pub fn shipped_before(conn: &mut DbConn, project_id: i64, version: i64) -> ServiceResult<Option<TicketRow>> {
    Ok(tickets::shipped_before(conn, project_id, version)?)
}

/// The API tokens of `user_id`.
pub fn tokens_of(conn: &mut DbConn, user_id: i64) -> ServiceResult<Vec<TokenRow>> {
    Ok(tokens::of_user(conn, user_id)?)
}

/// A project with what its page shows beside the row: members, host groups
/// and freeze windows (described).
#[derive(Debug, Clone)]
pub struct ProjectFacts {
    /// The project.
    pub project: ProjectRow,
    /// Members: (username, role).
    pub members: Vec<(String, String)>,
    /// Its host groups' names.
    pub host_groups: Vec<String>,
    /// Its freeze windows, each described (`label (window)`).
    pub freeze: Vec<String>,
    /// Its freeze windows as stored (the admin form edits them).
    pub freeze_windows: Vec<FreezeWindowRow>,
}

/// The project called `name` with its members, host groups and freeze windows.
pub fn project_facts(conn: &mut DbConn, name: &str) -> ServiceResult<ProjectFacts> {
    let project = project_by_name(conn, name)?.ok_or_else(|| super::ServiceError::not_found("project", name))?;
    let members = members(conn, project.id)?;
    let host_groups = project_host_groups(conn, project.id)?;
    let rows = freeze_windows(conn, project.id)?;
    let cal = super::facts::freeze_calendar(&project, &rows)?;
    let freeze = cal
        .windows
        .iter()
        .zip(rows.iter())
        .map(|(w, r)| {
            if r.label.is_empty() {
                w.to_string()
            } else {
                format!("{} ({w})", r.label)
            }
        })
        .collect();
    Ok(ProjectFacts {
        project,
        members,
        host_groups,
        freeze,
        freeze_windows: rows,
    })
}
