//! Queries on projects, their members, host groups and freeze windows.

use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::models::{FreezeWindowRow, HostGroupRow, HostRow, NewProject, ProjectRow};
use super::schema::{freeze_windows, host_groups, hosts, project_host_groups, project_members, projects};
use super::timestamp_now;

/// Inserts a project; returns its id.
pub fn insert(conn: &mut DbConn, project: &NewProject) -> StoreResult<i64> {
    Ok(diesel::insert_into(projects::table)
        .values(project)
        .returning(projects::id)
        .get_result(conn)?)
}

/// Replaces a project's deploy settings (JSON, see `deploy::DeploySettings`).
pub fn set_deploy(conn: &mut DbConn, project_id: i64, json: &str) -> StoreResult<()> {
    diesel::update(projects::table.find(project_id))
        .set(projects::deploy.eq(json))
        .execute(conn)?;
    Ok(())
}

/// The project named `name`.
pub fn by_name(conn: &mut DbConn, name: &str) -> StoreResult<Option<ProjectRow>> {
    Ok(projects::table
        .filter(projects::name.eq(name))
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?)
}

/// The project with `id`.
pub fn by_id(conn: &mut DbConn, id: i64) -> StoreResult<Option<ProjectRow>> {
    Ok(projects::table
        .find(id)
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every project, by name.
pub fn list(conn: &mut DbConn) -> StoreResult<Vec<ProjectRow>> {
    Ok(projects::table
        .order(projects::name.asc())
        .select(ProjectRow::as_select())
        .load(conn)?)
}

/// Records when the verify cron of `project_id` last enqueued a verify.
pub fn set_verify_cron_at(conn: &mut DbConn, project_id: i64, at: chrono::NaiveDateTime) -> StoreResult<()> {
    diesel::update(projects::table.find(project_id))
        .set(projects::verify_cron_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}

/// Gives `user_id` the role `role` in `project_id`.
pub fn add_member(conn: &mut DbConn, project_id: i64, user_id: i64, role: &str) -> StoreResult<()> {
    diesel::insert_into(project_members::table)
        .values((
            project_members::project_id.eq(project_id),
            project_members::user_id.eq(user_id),
            project_members::role.eq(role),
        ))
        .execute(conn)?;
    Ok(())
}

/// Members of a project as (user id, role) pairs.
pub fn members(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<(i64, String)>> {
    Ok(project_members::table
        .filter(project_members::project_id.eq(project_id))
        .select((project_members::user_id, project_members::role))
        .order((project_members::role.asc(), project_members::user_id.asc()))
        .load(conn)?)
}

/// Adds a freeze window.
pub fn add_freeze_window(conn: &mut DbConn, window: &FreezeWindowRow) -> StoreResult<()> {
    diesel::insert_into(freeze_windows::table)
        .values(window)
        .execute(conn)?;
    Ok(())
}

/// A project's freeze windows.
pub fn freeze_windows(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<FreezeWindowRow>> {
    Ok(freeze_windows::table
        .filter(freeze_windows::project_id.eq(project_id))
        .order(freeze_windows::id.asc())
        .select(FreezeWindowRow::as_select())
        .load(conn)?)
}

/// Inserts a host group; returns its id.
pub fn insert_host_group(conn: &mut DbConn, name: &str) -> StoreResult<i64> {
    Ok(diesel::insert_into(host_groups::table)
        .values((host_groups::name.eq(name), host_groups::created_at.eq(timestamp_now())))
        .returning(host_groups::id)
        .get_result(conn)?)
}

/// The host group named `name`.
pub fn host_group_by_name(conn: &mut DbConn, name: &str) -> StoreResult<Option<HostGroupRow>> {
    Ok(host_groups::table
        .filter(host_groups::name.eq(name))
        .select(HostGroupRow::as_select())
        .first(conn)
        .optional()?)
}

/// Adds a host to a group.
pub fn insert_host(conn: &mut DbConn, group_id: i64, name: &str, target: &str) -> StoreResult<()> {
    diesel::insert_into(hosts::table)
        .values((
            hosts::group_id.eq(group_id),
            hosts::name.eq(name),
            hosts::target.eq(target),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ships `project_id` to the hosts of `group_id`.
pub fn link_host_group(conn: &mut DbConn, project_id: i64, group_id: i64) -> StoreResult<()> {
    diesel::insert_into(project_host_groups::table)
        .values((
            project_host_groups::project_id.eq(project_id),
            project_host_groups::group_id.eq(group_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every host a project ships to, with its group name.
pub fn hosts_of(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<(String, HostRow)>> {
    Ok(project_host_groups::table
        .inner_join(host_groups::table.inner_join(hosts::table))
        .filter(project_host_groups::project_id.eq(project_id))
        .order((host_groups::name.asc(), hosts::name.asc()))
        .select((host_groups::name, HostRow::as_select()))
        .load(conn)?)
}

/// The host groups project `project_id` ships to, by name (with their relays).
pub fn groups_of(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<HostGroupRow>> {
    Ok(project_host_groups::table
        .inner_join(host_groups::table)
        .filter(project_host_groups::project_id.eq(project_id))
        .order(host_groups::name.asc())
        .select(HostGroupRow::as_select())
        .load(conn)?)
}

/// A group's relay as stored: (target, hosts' ssh port, identity file and
/// known_hosts file on the relay).
pub type RelayColumns<'a> = (&'a str, Option<i32>, Option<&'a str>, Option<&'a str>);

/// Sets (or with `None` clears) the relay of host group `group_id`:
/// (target, hosts' ssh port, identity file and known_hosts file on the
/// relay); returns whether the group exists.
pub fn set_group_relay(conn: &mut DbConn, group_id: i64, relay: Option<RelayColumns<'_>>) -> StoreResult<bool> {
    let (target, port, identity, known_hosts) = match relay {
        Some((t, p, i, k)) => (Some(t), p, i, k),
        None => (None, None, None, None),
    };
    let n = diesel::update(host_groups::table.find(group_id))
        .set((
            host_groups::relay.eq(target),
            host_groups::relay_port.eq(port),
            host_groups::relay_identity.eq(identity),
            host_groups::relay_known_hosts.eq(known_hosts),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Takes the next snapshot sequence number of a project.
pub fn next_stage_seq(conn: &mut DbConn, project_id: i64) -> StoreResult<i64> {
    Ok(diesel::update(projects::table.find(project_id))
        .set(projects::stage_seq.eq(projects::stage_seq + 1))
        .returning(projects::stage_seq)
        .get_result(conn)?)
}

/// Takes the next release version number of a project.
pub fn next_version(conn: &mut DbConn, project_id: i64) -> StoreResult<i64> {
    let last: Option<i64> = projects::table
        .find(project_id)
        .select(projects::last_version)
        .first(conn)?;
    let next = crate::domain::version::next_version(last);
    diesel::update(projects::table.find(project_id))
        .set(projects::last_version.eq(next))
        .execute(conn)?;
    Ok(next)
}

/// Records what production runs now.
pub fn set_production(
    conn: &mut DbConn,
    project_id: i64,
    version: Option<i64>,
    snapshot_seq: Option<i64>,
) -> StoreResult<()> {
    diesel::update(projects::table.find(project_id))
        .set((
            projects::production_version.eq(version),
            projects::production_snapshot_seq.eq(snapshot_seq),
            projects::updated_at.eq(timestamp_now()),
        ))
        .execute(conn)?;
    Ok(())
}
