//! "Files that will change on production": the diff between the ticket's
//! staged snapshot and the snapshot production runs (the release ticket
//! whose version is the project's `production_version`), read from the
//! project's snapshot repository `<data_dir>/git/<project>.git`.

use std::path::Path;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::VersionFormat;
use crate::service::queries::TicketView;
use crate::store::{tickets, DbConn};
use crate::vcs::SnapshotRepo;

/// At most this many files are listed.
pub const MAX_FILES: usize = 500;

/// One file that changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileChange {
    /// `A` added, `M` modified, `D` deleted.
    pub status: String,
    /// Path inside the project.
    pub path: String,
}

/// What shipping this ticket would change on production.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductionChanges {
    /// The tag production runs (absent: nothing released yet, every file is new).
    pub production_tag: Option<String>,
    /// The files, sorted by path (at most 500).
    pub files: Vec<FileChange>,
    /// More files change than are listed.
    pub truncated: bool,
    /// Why the list could not be computed (e.g. the snapshot repository is missing).
    pub error: Option<String>,
}

/// The changes for a release ticket that has a snapshot and is not shipped yet.
pub fn production_changes(conn: &mut DbConn, data_dir: &Path, view: &TicketView) -> Option<ProductionChanges> {
    let t = &view.ticket;
    let to = t.snapshot_commit.as_deref()?;
    if t.kind != "release" || !matches!(t.state.as_str(), "staged" | "tested" | "approved") {
        return None;
    }
    let project = &view.project;
    let format = VersionFormat::parse(&project.version_format).unwrap_or_default();
    let mut out = ProductionChanges {
        production_tag: project.production_version.map(|v| format.render(v)),
        files: Vec::new(),
        truncated: false,
        error: None,
    };
    let from = match project.production_version {
        Some(v) => match tickets::by_version(conn, project.id, v) {
            Ok(Some(row)) => row.snapshot_commit,
            Ok(None) => None,
            Err(e) => {
                out.error = Some(format!("cannot read production's ticket: {e}"));
                return Some(out);
            }
        },
        None => None,
    };
    let path = crate::jobs::stage::snapshot_repo_path(data_dir, &project.name);
    if !path.join("HEAD").exists() {
        out.error = Some("the project's snapshot repository does not exist yet".into());
        return Some(out);
    }
    let changed = SnapshotRepo::open_or_init(&path).and_then(|repo| repo.changed_files(from.as_deref(), to));
    match changed {
        Ok(files) => {
            out.truncated = files.len() > MAX_FILES;
            out.files = files
                .into_iter()
                .take(MAX_FILES)
                .map(|(status, path)| FileChange {
                    status: status.to_string(),
                    path,
                })
                .collect();
        }
        Err(e) => {
            tracing::warn!(ticket = t.id, error = %e, "production diff failed");
            out.error = Some("cannot compare the snapshots (see the server log)".into());
        }
    }
    Some(out)
}
