//! What a release must pass before it tags and ships (invariant 3, "a
//! version older than what production runs is only ever shipped by a
//! rollback"), checked by the release job under the project's lock, on
//! the first run and on every retry: the snapshot descends from every
//! snapshot production runs, and its version number is not below the
//! newest one running unless some host runs it already.

use crate::domain::VersionFormat;
use crate::store::models::ProjectRow;
use crate::store::{releases, tickets, DbConn};
use crate::vcs::SnapshotRepo;

use super::handler::JobError;
use super::release::{permanent, retry};

/// Checks release `number` of snapshot `commit` of `project` against what
/// production runs.
pub(super) fn check(
    conn: &mut DbConn,
    repo: &SnapshotRepo,
    project: &ProjectRow,
    number: i64,
    commit: &str,
    format: &VersionFormat,
) -> Result<(), JobError> {
    check_number(conn, project, number, format)?;
    for prod_commit in production_commits(conn, project, number)? {
        if !repo.is_ancestor(&prod_commit, commit).map_err(permanent)? {
            return Err(permanent(format!(
                "snapshot {commit} does not descend from production's {prod_commit}; an older build only goes back by a rollback"
            )));
        }
    }
    Ok(())
}

/// Refuses to ship version `number` when production or a host runs a newer
/// one and no host runs it (another release went out first): the retry
/// gives the ticket a fresh number (see [`crate::service::tickets`]).
fn check_number(conn: &mut DbConn, project: &ProjectRow, number: i64, format: &VersionFormat) -> Result<(), JobError> {
    let running = releases::running_versions(conn, project.id).map_err(retry)?;
    if !crate::domain::version::needs_fresh_number(number, &running, project.production_version) {
        return Ok(());
    }
    let newest = running
        .iter()
        .copied()
        .chain(project.production_version)
        .max()
        .unwrap_or(number);
    Err(permanent(format!(
        "{} is older than {}, which production runs already; retry the release to give it a new version number",
        format.render(number),
        format.render(newest)
    )))
}

/// The snapshots of every version production runs (the last full release
/// and whatever any host runs), except release `own` itself (a retry).
fn production_commits(conn: &mut DbConn, project: &ProjectRow, own: i64) -> Result<Vec<String>, JobError> {
    let mut versions = releases::running_versions(conn, project.id).map_err(retry)?;
    versions.extend(project.production_version);
    versions.sort_unstable();
    versions.dedup();
    let mut commits = Vec::new();
    for version in versions.into_iter().filter(|v| *v != own) {
        if let Some(commit) = tickets::by_version(conn, project.id, version)
            .map_err(retry)?
            .and_then(|t| t.snapshot_commit)
        {
            commits.push(commit);
        }
    }
    Ok(commits)
}
