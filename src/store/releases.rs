//! Queries on per-host release results (`release_hosts`) and on what each
//! host runs (`hosts.running_version`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::json::Json;
use super::models::HostRow;
use super::schema::{host_drift, hosts, release_hosts, tickets};

/// One host's part in a release or rollback.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = release_hosts)]
pub struct ReleaseHostRow {
    /// Id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// The host (None once the host was deleted).
    pub host_id: Option<i64>,
    /// Host name.
    pub host_name: String,
    /// Its target.
    pub target: String,
    /// `pending`, `uploading`, `switched`, `failed`, `skipped`, `reverted`.
    pub state: String,
    /// The version it runs after this ticket's work.
    pub version: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
    /// The steps of its last run with their durations.
    #[diesel(deserialize_as = String)]
    #[serde(skip)]
    pub steps: Json<Vec<StepTiming>>,
}

/// How long one step of a host's pipeline took (see `deploy::StepTime`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepTiming {
    /// The step's name (`read live`, `upload`, `switch`…).
    pub step: String,
    /// Milliseconds.
    pub millis: u64,
}

/// A ticket's hosts, in order.
pub fn for_ticket(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<ReleaseHostRow>> {
    Ok(release_hosts::table
        .filter(release_hosts::ticket_id.eq(ticket_id))
        .order(release_hosts::id.asc())
        .select(ReleaseHostRow::as_select())
        .load(conn)?)
}

/// Adds a host to a ticket as `pending` unless it is there already.
pub fn ensure(
    conn: &mut DbConn,
    ticket_id: i64,
    host_id: i64,
    name: &str,
    target: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let known: i64 = release_hosts::table
        .filter(release_hosts::ticket_id.eq(ticket_id))
        .filter(release_hosts::host_name.eq(name))
        .count()
        .get_result(conn)?;
    if known == 0 {
        diesel::insert_into(release_hosts::table)
            .values((
                release_hosts::ticket_id.eq(ticket_id),
                release_hosts::host_id.eq(host_id),
                release_hosts::host_name.eq(name),
                release_hosts::target.eq(target),
                release_hosts::state.eq("pending"),
                release_hosts::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Records a host's state (and error) for a ticket.
pub fn set_state(
    conn: &mut DbConn,
    ticket_id: i64,
    name: &str,
    state: &str,
    error: Option<&str>,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(
        release_hosts::table
            .filter(release_hosts::ticket_id.eq(ticket_id))
            .filter(release_hosts::host_name.eq(name)),
    )
    .set((
        release_hosts::state.eq(state),
        release_hosts::error.eq(error),
        release_hosts::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Records the step timings of a host's last run for a ticket.
pub fn set_steps(conn: &mut DbConn, ticket_id: i64, name: &str, steps: &[StepTiming]) -> StoreResult<()> {
    let json = serde_json::to_string(steps).unwrap_or_else(|_| "[]".to_owned());
    diesel::update(
        release_hosts::table
            .filter(release_hosts::ticket_id.eq(ticket_id))
            .filter(release_hosts::host_name.eq(name)),
    )
    .set(release_hosts::steps.eq(json))
    .execute(conn)?;
    Ok(())
}

/// The distinct versions the hosts of project `project_id` run, as
/// recorded, oldest first (what "never older than production" compares
/// against: every one of them, not only the last full release).
pub fn running_versions(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<i64>> {
    Ok(versions_run_by(&super::projects::hosts_of(conn, project_id)?))
}

/// The distinct versions `hosts` (as [`super::projects::hosts_of`] reads
/// them) run, as recorded, oldest first: [`running_versions`] for a caller
/// that has read the hosts already.
pub fn versions_run_by(hosts: &[(String, HostRow)]) -> Vec<i64> {
    let mut versions: Vec<i64> = hosts.iter().filter_map(|(_, host)| host.running_version).collect();
    versions.sort_unstable();
    versions.dedup();
    versions
}

/// Records that a host runs `version` now (on the ticket and on the host);
/// the drift recorded on that host for the ticket's project is cleared (the
/// release replaced the tree it was found in).
pub fn set_running(
    conn: &mut DbConn,
    ticket_id: i64,
    name: &str,
    host_id: Option<i64>,
    version: Option<i64>,
) -> StoreResult<()> {
    diesel::update(
        release_hosts::table
            .filter(release_hosts::ticket_id.eq(ticket_id))
            .filter(release_hosts::host_name.eq(name)),
    )
    .set(release_hosts::version.eq(version))
    .execute(conn)?;
    if let Some(id) = host_id {
        diesel::update(hosts::table.find(id))
            .set(hosts::running_version.eq(version))
            .execute(conn)?;
    }
    diesel::delete(
        host_drift::table.filter(host_drift::host.eq(name)).filter(
            host_drift::project_id.eq_any(
                tickets::table
                    .filter(tickets::id.eq(ticket_id))
                    .select(tickets::project_id),
            ),
        ),
    )
    .execute(conn)?;
    Ok(())
}
