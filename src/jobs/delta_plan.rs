//! What a release job tells the deploy layer for a delta release: the
//! version Slipway recorded each host runs, and for each such version the
//! files that differ from the release being shipped (a git diff between the
//! two snapshots, which are exactly what was exported and shipped).
//!
//! Computed once per job before any host is touched; a version whose tag is
//! missing or cannot be diffed carries the reason, and its hosts get the
//! full upload with that reason in their log.

use std::collections::BTreeSet;

use crate::deploy::{ChangeSet, Delta};
use crate::domain::VersionFormat;
use crate::store::{projects, Pool};
use crate::vcs::SnapshotRepo;

use super::handler::JobError;
use super::ship_record::ProjectHost;

/// The delta plan for shipping `commit` to `hosts` of project `project_id`.
pub(crate) fn plan(
    pool: &Pool,
    repo: &SnapshotRepo,
    project_id: i64,
    hosts: &[ProjectHost],
    format: &VersionFormat,
    commit: &str,
) -> Result<Delta, JobError> {
    let mut conn = pool.get().map_err(|e| JobError::Retryable(e.to_string()))?;
    let running = projects::hosts_of(&mut conn, project_id).map_err(|e| JobError::Retryable(e.to_string()))?;
    drop(conn);
    let mut delta = Delta::default();
    for host in hosts {
        let recorded = running
            .iter()
            .find(|(_, row)| row.id == host.id)
            .and_then(|(_, row)| row.running_version);
        if let Some(number) = recorded {
            delta.recorded.insert(host.deploy.name.clone(), format.render(number));
        }
    }
    let versions: BTreeSet<String> = delta.recorded.values().cloned().collect();
    for version in versions {
        let changes = changes_since(repo, &version, commit);
        delta.changes.insert(version, changes);
    }
    Ok(delta)
}

/// The files that differ between the tag `version` and `commit`.
fn changes_since(repo: &SnapshotRepo, version: &str, commit: &str) -> Result<ChangeSet, String> {
    match repo.tag_target(version) {
        Ok(Some(_)) => {}
        Ok(None) => return Err(format!("the snapshot repository has no tag {version}")),
        Err(e) => return Err(format!("cannot read tag {version}: {e}")),
    }
    repo.changed_files(Some(version), commit)
        .map(ChangeSet::from_status)
        .map_err(|e| format!("cannot diff {version} with the new release: {e}"))
}
