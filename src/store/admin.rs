//! Writes behind the admin pages and the project API: user flags, project
//! settings, memberships, host groups and hosts. Called only by
//! `service::admin`, inside its transactions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::models::HostRow;
use super::schema::{
    freeze_windows, host_groups, hosts, project_host_groups, project_members, projects, tickets, users,
};
use super::timestamp_now;

/// Sets or clears the admin flag; returns whether the user exists.
pub fn set_admin(conn: &mut DbConn, username: &str, is_admin: bool) -> StoreResult<bool> {
    let n = diesel::update(users::table.filter(users::username.eq(username)))
        .set((users::is_admin.eq(is_admin), users::updated_at.eq(timestamp_now())))
        .execute(conn)?;
    Ok(n == 1)
}

/// Sets a user's preferred language.
pub fn set_locale(conn: &mut DbConn, user_id: i64, locale: &str) -> StoreResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::locale.eq(locale), users::updated_at.eq(timestamp_now())))
        .execute(conn)?;
    Ok(())
}

/// The settings columns of a project that an admin edits.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = projects, treat_none_as_null = true)]
pub struct ProjectChanges {
    /// Free text.
    pub description: String,
    /// SVN URL.
    pub svn_url: String,
    /// Credentials entry name.
    pub svn_credentials: Option<String>,
    /// Staging working copy.
    pub staging_dir: String,
    /// Staging URL.
    pub staging_url: String,
    /// JSON argv.
    pub build_command: String,
    /// JSON list.
    pub excludes: String,
    /// Tag format.
    pub version_format: String,
    /// Distinct approvals needed.
    pub approvals_required: i32,
    /// Self-approval allowed.
    pub allow_self_approval: bool,
    /// Tester may approve.
    pub tested_by_may_approve: bool,
    /// Outside files need a tester's confirmation.
    pub require_outside_paths_confirmation: bool,
    /// JSON list of services.
    pub services: String,
    /// `leads` or `developers`.
    pub service_actions: String,
    /// Verify cron (empty: off).
    pub verify_cron: String,
    /// Approval expiry in minutes.
    pub approval_expiry_minutes: Option<i32>,
    /// IANA time zone name.
    pub time_zone: String,
    /// Weekly maintenance windows (JSON).
    pub maintenance_windows: String,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// Writes a project's settings.
pub fn update_project(conn: &mut DbConn, project_id: i64, changes: &ProjectChanges) -> StoreResult<()> {
    diesel::update(projects::table.find(project_id))
        .set(changes)
        .execute(conn)?;
    Ok(())
}

/// Removes every member, host group link and freeze window of a project.
pub fn clear_project_links(conn: &mut DbConn, project_id: i64) -> StoreResult<()> {
    diesel::delete(project_members::table.filter(project_members::project_id.eq(project_id))).execute(conn)?;
    diesel::delete(project_host_groups::table.filter(project_host_groups::project_id.eq(project_id))).execute(conn)?;
    diesel::delete(freeze_windows::table.filter(freeze_windows::project_id.eq(project_id))).execute(conn)?;
    Ok(())
}

/// How many tickets a project has.
pub fn ticket_count(conn: &mut DbConn, project_id: i64) -> StoreResult<i64> {
    Ok(tickets::table
        .filter(tickets::project_id.eq(project_id))
        .count()
        .get_result(conn)?)
}

/// Deletes a project (members, links, windows and jobs go with it).
pub fn delete_project(conn: &mut DbConn, project_id: i64) -> StoreResult<bool> {
    clear_project_links(conn, project_id)?;
    let n = diesel::delete(projects::table.find(project_id)).execute(conn)?;
    Ok(n == 1)
}

/// Deletes a host group and its hosts; returns whether it existed.
pub fn delete_host_group(conn: &mut DbConn, group_id: i64) -> StoreResult<bool> {
    diesel::delete(project_host_groups::table.filter(project_host_groups::group_id.eq(group_id))).execute(conn)?;
    diesel::delete(hosts::table.filter(hosts::group_id.eq(group_id))).execute(conn)?;
    let n = diesel::delete(host_groups::table.find(group_id)).execute(conn)?;
    Ok(n == 1)
}

/// Deletes a host; returns whether it existed.
pub fn delete_host(conn: &mut DbConn, host_id: i64) -> StoreResult<bool> {
    let n = diesel::delete(hosts::table.find(host_id)).execute(conn)?;
    Ok(n == 1)
}

/// Host `host_id` with its group's name.
pub fn host_with_group(conn: &mut DbConn, host_id: i64) -> StoreResult<Option<(String, HostRow)>> {
    Ok(hosts::table
        .inner_join(host_groups::table)
        .filter(hosts::id.eq(host_id))
        .select((host_groups::name, HostRow::as_select()))
        .first(conn)
        .optional()?)
}

/// The name of host group `group_id`.
pub fn host_group_name(conn: &mut DbConn, group_id: i64) -> StoreResult<Option<String>> {
    Ok(host_groups::table
        .find(group_id)
        .select(host_groups::name)
        .first(conn)
        .optional()?)
}

/// Renames and retargets host `host_id`; returns whether it exists.
pub fn update_host(conn: &mut DbConn, host_id: i64, name: &str, target: &str) -> StoreResult<bool> {
    let n = diesel::update(hosts::table.find(host_id))
        .set((hosts::name.eq(name), hosts::target.eq(target)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Renames host group `group_id`; returns whether it exists.
pub fn rename_host_group(conn: &mut DbConn, group_id: i64, name: &str) -> StoreResult<bool> {
    let n = diesel::update(host_groups::table.find(group_id))
        .set(host_groups::name.eq(name))
        .execute(conn)?;
    Ok(n == 1)
}

/// (name, deploy settings JSON) of the projects shipping to group `group_id`, by name.
pub fn projects_of_group(conn: &mut DbConn, group_id: i64) -> StoreResult<Vec<(String, String)>> {
    Ok(project_host_groups::table
        .inner_join(projects::table)
        .filter(project_host_groups::group_id.eq(group_id))
        .order(projects::name.asc())
        .select((projects::name, projects::deploy))
        .load(conn)?)
}
