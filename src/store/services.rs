//! Service actions (the audit record of each start/stop/restart/refresh/log
//! request and its job), the last state read of each service on each host,
//! what `current` pointed at on each host when last read, and the last
//! drift found on each host.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::schema::{host_drift, host_reads, service_actions, service_states, users};

/// One service request as recorded.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_actions)]
pub struct ServiceActionRow {
    /// Id.
    pub id: i64,
    /// The project.
    pub project_id: i64,
    /// The job doing it.
    pub job_id: Option<i64>,
    /// Who asked.
    pub actor_id: Option<i64>,
    /// The service (empty: every service).
    pub service: String,
    /// `start`, `stop`, `restart`, `status` or `log`.
    pub action: String,
    /// Which hosts, described (`all of web`, `web-1`, `web in batches of 2`).
    pub scope: String,
    /// Why (required for stopping or restarting every host).
    pub reason: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// A new service request.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = service_actions)]
pub struct NewServiceAction {
    /// The project.
    pub project_id: i64,
    /// The job doing it.
    pub job_id: Option<i64>,
    /// Who asked.
    pub actor_id: Option<i64>,
    /// The service.
    pub service: String,
    /// The action.
    pub action: String,
    /// Which hosts.
    pub scope: String,
    /// Why.
    pub reason: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// The last state read of a service on a host.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = service_states)]
pub struct ServiceStateRow {
    /// The project.
    pub project_id: i64,
    /// The host's name.
    pub host: String,
    /// The service's name.
    pub service: String,
    /// `RUNNING`, `STOPPED`, `FATAL`, … or `UNKNOWN`.
    pub state: String,
    /// Process id.
    pub pid: Option<i64>,
    /// Uptime as the manager printed it.
    pub uptime: Option<String>,
    /// The rest of the manager's line.
    pub detail: String,
    /// When it was read (UTC).
    pub read_at: NaiveDateTime,
}

/// Records a service request; returns its id.
pub fn insert_action(conn: &mut DbConn, row: &NewServiceAction) -> StoreResult<i64> {
    Ok(diesel::insert_into(service_actions::table)
        .values(row)
        .returning(service_actions::id)
        .get_result(conn)?)
}

/// Sets the job of a recorded request.
pub fn set_action_job(conn: &mut DbConn, id: i64, job_id: i64) -> StoreResult<()> {
    diesel::update(service_actions::table.find(id))
        .set(service_actions::job_id.eq(Some(job_id)))
        .execute(conn)?;
    Ok(())
}

/// The newest `limit` requests of a project with the actor's user name, newest first.
pub fn recent_actions(
    conn: &mut DbConn,
    project_id: i64,
    limit: i64,
) -> StoreResult<Vec<(ServiceActionRow, Option<String>)>> {
    Ok(service_actions::table
        .left_join(users::table.on(users::id.nullable().eq(service_actions::actor_id)))
        .filter(service_actions::project_id.eq(project_id))
        .order(service_actions::id.desc())
        .limit(limit)
        .select((ServiceActionRow::as_select(), users::username.nullable()))
        .load(conn)?)
}

/// The request done by job `job_id`.
pub fn action_of_job(conn: &mut DbConn, job_id: i64) -> StoreResult<Option<ServiceActionRow>> {
    Ok(service_actions::table
        .filter(service_actions::job_id.eq(Some(job_id)))
        .select(ServiceActionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Replaces the stored state of each (host, service) in `rows`.
pub fn put_states(conn: &mut DbConn, rows: &[ServiceStateRow]) -> StoreResult<()> {
    for row in rows {
        diesel::delete(
            service_states::table
                .filter(service_states::project_id.eq(row.project_id))
                .filter(service_states::host.eq(&row.host))
                .filter(service_states::service.eq(&row.service)),
        )
        .execute(conn)?;
        diesel::insert_into(service_states::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// Every stored state of a project.
pub fn states(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<ServiceStateRow>> {
    Ok(service_states::table
        .filter(service_states::project_id.eq(project_id))
        .order((service_states::host.asc(), service_states::service.asc()))
        .select(ServiceStateRow::as_select())
        .load(conn)?)
}

/// What `current` pointed at on a host when last read.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = host_reads)]
pub struct HostReadRow {
    /// The project.
    pub project_id: i64,
    /// The host's name.
    pub host: String,
    /// The release `current` pointed at (`None`: none, or the host did not answer).
    pub version: Option<String>,
    /// When it was read (UTC).
    pub read_at: NaiveDateTime,
}

/// Replaces the stored read of each host in `rows`.
pub fn put_host_reads(conn: &mut DbConn, rows: &[HostReadRow]) -> StoreResult<()> {
    for row in rows {
        diesel::delete(
            host_reads::table
                .filter(host_reads::project_id.eq(row.project_id))
                .filter(host_reads::host.eq(&row.host)),
        )
        .execute(conn)?;
        diesel::insert_into(host_reads::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// Every stored host read of a project.
pub fn host_reads(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<HostReadRow>> {
    Ok(host_reads::table
        .filter(host_reads::project_id.eq(project_id))
        .select(HostReadRow::as_select())
        .load(conn)?)
}

/// The last drift found on a host.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = host_drift)]
pub struct HostDriftRow {
    /// The project.
    pub project_id: i64,
    /// The host's name.
    pub host: String,
    /// The release it was compared with.
    pub version: String,
    /// Files changed on the host.
    pub changed: i32,
    /// Files of the release missing on the host.
    pub missing: i32,
    /// Files added on the host.
    pub added: i32,
    /// The first paths, one per line (`changed PATH`, …).
    pub paths: String,
    /// When it was found (UTC).
    pub found_at: NaiveDateTime,
}

/// Records the drift of a host (`Some`), or clears it after a clean verify (`None`).
pub fn put_drift(conn: &mut DbConn, project_id: i64, host: &str, row: Option<&HostDriftRow>) -> StoreResult<()> {
    diesel::delete(
        host_drift::table
            .filter(host_drift::project_id.eq(project_id))
            .filter(host_drift::host.eq(host)),
    )
    .execute(conn)?;
    if let Some(row) = row {
        diesel::insert_into(host_drift::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// The recorded drift of one host of a project.
pub fn drift_of(conn: &mut DbConn, project_id: i64, host: &str) -> StoreResult<Option<HostDriftRow>> {
    Ok(host_drift::table
        .filter(host_drift::project_id.eq(project_id))
        .filter(host_drift::host.eq(host))
        .select(HostDriftRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every recorded drift of a project.
pub fn drifts(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<HostDriftRow>> {
    Ok(host_drift::table
        .filter(host_drift::project_id.eq(project_id))
        .select(HostDriftRow::as_select())
        .load(conn)?)
}
