//! "Files that will change on production": the diff between the ticket's
//! staged snapshot and the snapshot production runs (the release ticket
//! whose version is the project's `production_version`), read from the
//! project's snapshot repository `<data_dir>/git/<project>.git`.
//!
//! The database part ([`diff_inputs`]) runs with a pooled connection; git
//! ([`production_changes`]) runs after the connection went back to the pool.

use std::path::Path;

use serde::Serialize;
use utoipa::ToSchema;

use actix_web::web;
use chrono::Utc;

use crate::domain::VersionFormat;
use crate::service::lookups;
use crate::service::queries::{self, TicketView};
use crate::service::DbConn;
use crate::service::Reader;
use crate::vcs::SnapshotRepo;

use super::view::{RecoveryOut, TicketDetail};
use super::{AppError, AppState};

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

/// What the diff needs from the database, read while a connection is held;
/// the git work then runs without one ([`production_changes`]).
#[derive(Debug, Clone)]
pub struct DiffInputs {
    /// The production snapshot's commit (None: nothing released yet).
    from: Option<String>,
    /// Set when production's ticket could not be read.
    error: Option<String>,
}

/// Reads the production snapshot's commit for `view`; `None` when the
/// ticket shows no diff (not a release with a snapshot, or shipped).
pub fn diff_inputs(conn: &mut DbConn, view: &TicketView) -> Option<DiffInputs> {
    let t = &view.ticket;
    t.snapshot_commit.as_deref()?;
    if t.kind != "release" || !matches!(t.state.as_str(), "staged" | "tested" | "approved") {
        return None;
    }
    let project = &view.project;
    Some(match project.production_version {
        Some(v) => match lookups::ticket_by_version(conn, project.id, v) {
            Ok(row) => DiffInputs {
                from: row.and_then(|r| r.snapshot_commit),
                error: None,
            },
            Err(e) => DiffInputs {
                from: None,
                error: Some(format!("cannot read production's ticket: {e}")),
            },
        },
        None => DiffInputs {
            from: None,
            error: None,
        },
    })
}

/// The changes for a release ticket that has a snapshot and is not shipped
/// yet, from its [`DiffInputs`]. Runs git: call it with no database
/// connection held.
pub fn production_changes(data_dir: &Path, view: &TicketView, inputs: DiffInputs) -> Option<ProductionChanges> {
    let t = &view.ticket;
    let to = t.snapshot_commit.as_deref()?;
    let project = &view.project;
    let format = VersionFormat::parse(&project.version_format).unwrap_or_default();
    let mut out = ProductionChanges {
        production_tag: project.production_version.map(|v| format.render(v)),
        files: Vec::new(),
        truncated: false,
        error: inputs.error,
    };
    if out.error.is_some() {
        return Some(out);
    }
    let from = inputs.from;
    let path = crate::vcs::snapshot_repo_path(data_dir, &project.name);
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

/// Ticket `id` as `reader` sees it, with its production diff: the database
/// reads with a pooled connection, then git on the blocking pool without one.
pub async fn ticket_detail(state: &AppState, reader: Reader, id: i64) -> Result<TicketDetail, AppError> {
    let want_diff = state.data_dir.is_some();
    let (view, inputs, recovery, states) = state
        .db(move |conn| {
            let view = queries::ticket_view(conn, id, &reader, Utc::now())?;
            let inputs = if want_diff { diff_inputs(conn, &view) } else { None };
            let recovery = crate::service::recovery::for_ticket(conn, &view.ticket, &view.project)
                .ok()
                .flatten();
            let states = crate::service::recovery::host_states(conn, view.ticket.id).unwrap_or_default();
            Ok((view, inputs, recovery, states))
        })
        .await?;
    let changes = match (state.data_dir.clone(), inputs) {
        (Some(dir), Some(inputs)) => {
            let v = view.clone();
            web::block(move || production_changes(&dir, &v, inputs))
                .await
                .map_err(|e| AppError::Internal(format!("blocking task: {e}")))?
        }
        _ => None,
    };
    let format = VersionFormat::parse(&view.project.version_format).unwrap_or_default();
    let mut detail = TicketDetail::from(view);
    for host in &mut detail.hosts {
        if let Some((_, state)) = states.iter().find(|(name, _)| *name == host.name) {
            host.status.clone_from(state);
        }
    }
    detail.recovery = recovery.map(|r| RecoveryOut {
        version_tag: format.render(r.version),
        switched: r.switched,
        not_switched: r.not_switched,
        revert_tag: r.revert_to.map(|v| format.render(v)),
        revert_version: r.revert_to,
    });
    detail.production_changes = changes;
    Ok(detail)
}
