//! What a failed release left on the hosts, and what each way out would do
//! (issue 9, defect 2): the ticket page says which hosts already run the
//! failed release, that *retry* finishes the remaining steps, and that
//! *revert* (a rollback to the previous release) switches them back.

use crate::store::models::{ProjectRow, TicketRow};
pub use crate::store::releases::StepTiming;
use crate::store::{projects, releases, DbConn};

use super::error::ServiceResult;

/// The hosts of a failed release, split by what they run now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recovery {
    /// The failed release's version number.
    pub version: i64,
    /// Hosts whose `current` points at this release (they switched).
    pub switched: Vec<String>,
    /// Hosts still on what they ran before.
    pub not_switched: Vec<String>,
    /// The version a revert goes back to (the last full release), if any.
    pub revert_to: Option<i64>,
}

/// The [`Recovery`] of `ticket` when it is a release that failed after at
/// least one host switched to it; `None` otherwise.
pub fn for_ticket(conn: &mut DbConn, ticket: &TicketRow, project: &ProjectRow) -> ServiceResult<Option<Recovery>> {
    let Some(version) = ticket.version else {
        return Ok(None);
    };
    if ticket.state != "failed" || ticket.kind != "release" {
        return Ok(None);
    }
    // What each host runs now (a later rollback may have moved it again).
    let running: Vec<(i64, Option<i64>)> = projects::hosts_of(conn, project.id)?
        .into_iter()
        .map(|(_, h)| (h.id, h.running_version))
        .collect();
    let runs_it = |host_id: Option<i64>| {
        running
            .iter()
            .any(|(id, v)| Some(*id) == host_id && *v == Some(version))
    };
    let (switched, not_switched): (Vec<_>, Vec<_>) = releases::for_ticket(conn, ticket.id)?
        .into_iter()
        .partition(|h| runs_it(h.host_id));
    if switched.is_empty() {
        return Ok(None);
    }
    Ok(Some(Recovery {
        version,
        switched: switched.into_iter().map(|h| h.host_name).collect(),
        not_switched: not_switched.into_iter().map(|h| h.host_name).collect(),
        revert_to: project.production_version.filter(|p| *p < version),
    }))
}

/// One host's part in a ticket's release or rollback, as the ticket page
/// and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostState {
    /// Host name.
    pub name: String,
    /// `pending`, `uploading`, `live`, `switched`, `failed`, `skipped` or
    /// `reverted`.
    pub state: String,
    /// The version it runs after this ticket's work.
    pub version: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// The steps of its last run with their durations (empty when none were
    /// recorded, or the stored value is malformed).
    pub steps: Vec<StepTiming>,
    /// Regular files rsync transferred to it (from the job log's `--stats`).
    pub files_sent: Option<u64>,
    /// Bytes rsync sent to it.
    pub bytes_sent: Option<u64>,
}

/// Each host's [`HostState`] in the ticket's release or rollback, in the
/// order the hosts were recorded.
pub fn host_states(conn: &mut DbConn, ticket_id: i64) -> ServiceResult<Vec<HostState>> {
    let rows = releases::for_ticket(conn, ticket_id)?;
    let stats = if rows.is_empty() {
        Default::default()
    } else {
        super::rsync_stats::per_host(conn, ticket_id)?
    };
    Ok(rows
        .into_iter()
        .map(|h| HostState {
            files_sent: stats.get(&h.host_name).map(|s| s.files_transferred),
            bytes_sent: stats.get(&h.host_name).map(|s| s.bytes_sent),
            name: h.host_name,
            state: h.state,
            version: h.version,
            error: h.error,
            steps: h.steps.into_inner().unwrap_or_default(),
        })
        .collect())
}
