//! "Files that will change on production": the diff between the ticket's
//! staged snapshot and the snapshot production runs (the release ticket
//! whose version is the project's `production_version`), read from the
//! project's snapshot repository `<data_dir>/git/<project>.git`.
//!
//! A rollback ticket shows what production will become instead: the files
//! that change from the running version's tag to the target version's tag
//! ([`rollback_inputs`]).
//!
//! The database part ([`ticket_facts`], with [`diff_inputs`]) runs with a
//! pooled connection; git ([`production_changes`]) runs after the
//! connection went back to the pool.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::VersionFormat;
use crate::store::DbConn;
use crate::vcs::SnapshotRepo;

use super::error::ServiceResult;
use super::lookups;
use super::queries::{self, TicketView};
use super::recovery::{self, Recovery};
use super::Reader;

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
    /// For a rollback: the tag production goes back to.
    pub target_tag: Option<String>,
    /// The files, sorted by path (at most 500).
    pub files: Vec<FileChange>,
    /// More files change than are listed.
    pub truncated: bool,
    /// Why the list could not be computed (e.g. the snapshot repository is missing).
    pub error: Option<String>,
    /// The ticket shipped: the files changed (compared with the release
    /// before it, named by `production_tag`).
    pub shipped: bool,
}

/// What the diff needs from the database, read while a connection is held;
/// the git work then runs without one ([`production_changes`]).
#[derive(Debug, Clone)]
pub struct DiffInputs {
    /// The production snapshot's commit or tag (None: nothing released yet).
    from: Option<String>,
    /// What production would run: the ticket's snapshot, or a rollback's
    /// target tag.
    to: Option<String>,
    /// Set when production's ticket could not be read.
    error: Option<String>,
    /// The version compared with (None: nothing released before).
    from_version: Option<i64>,
    /// The ticket shipped: compared with the release before it.
    shipped: bool,
}

/// Reads the production snapshot's commit for `view`; `None` when the
/// ticket shows no diff (not a release with a snapshot). A shipped ticket
/// (released, or released then rolled back) is compared with the release
/// before it: the files that changed.
pub fn diff_inputs(conn: &mut DbConn, view: &TicketView) -> Option<DiffInputs> {
    let t = &view.ticket;
    if t.kind == "rollback" {
        return rollback_inputs(view);
    }
    t.snapshot_commit.as_deref()?;
    if t.kind != "release" {
        return None;
    }
    let project = &view.project;
    let (from, shipped) = match (t.state.as_str(), t.version) {
        ("staged" | "tested" | "approved", _) => (
            project
                .production_version
                .map(|v| lookups::ticket_by_version(conn, project.id, v)),
            false,
        ),
        ("released" | "rolled_back", Some(v)) => (
            Some(lookups::shipped_before(conn, project.id, v)).filter(|r| !matches!(r, Ok(None))),
            true,
        ),
        _ => return None,
    };
    Some(match from {
        Some(Ok(row)) => DiffInputs {
            from_version: row.as_ref().and_then(|r| r.version),
            from: row.and_then(|r| r.snapshot_commit),
            to: t.snapshot_commit.clone(),
            error: None,
            shipped,
        },
        Some(Err(e)) => DiffInputs {
            from: None,
            to: None,
            error: Some(format!("cannot read production's ticket: {e}")),
            from_version: None,
            shipped,
        },
        None => DiffInputs {
            from: None,
            to: t.snapshot_commit.clone(),
            error: None,
            from_version: None,
            shipped,
        },
    })
}

/// A rollback not yet executed compares the tag production runs with the
/// target's tag (both made by the releases, in the snapshot repository).
pub fn rollback_inputs(view: &TicketView) -> Option<DiffInputs> {
    let t = &view.ticket;
    if !matches!(t.state.as_str(), "rollback_requested" | "rollback_approved") {
        return None;
    }
    let format = VersionFormat::parse(&view.project.version_format).unwrap_or_default();
    Some(DiffInputs {
        from: view.project.production_version.map(|v| format.render(v)),
        to: t.target_version.map(|v| format.render(v)),
        error: None,
        from_version: None,
        shipped: false,
    })
}

/// The changes for a release ticket that has a snapshot and is not shipped
/// yet, from its [`DiffInputs`]. Runs git: call it with no database
/// connection held.
pub fn production_changes(data_dir: &Path, view: &TicketView, inputs: DiffInputs) -> Option<ProductionChanges> {
    let t = &view.ticket;
    let to = inputs.to.clone()?;
    let to = to.as_str();
    let project = &view.project;
    let format = VersionFormat::parse(&project.version_format).unwrap_or_default();
    let mut out = ProductionChanges {
        production_tag: if inputs.shipped {
            inputs.from_version
        } else {
            project.production_version
        }
        .map(|v| format.render(v)),
        target_tag: (t.kind == "rollback").then(|| to.to_owned()),
        files: Vec::new(),
        truncated: false,
        error: inputs.error,
        shipped: inputs.shipped,
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

/// What the ticket page and the API read about one ticket while a
/// connection is held: the read model, the production diff's inputs, what a
/// failed release left, and each host's state.
#[derive(Debug, Clone)]
pub struct TicketFacts {
    /// The ticket as the reader sees it.
    pub view: TicketView,
    /// The diff's inputs (None: no diff asked for, or none to show).
    pub diff: Option<DiffInputs>,
    /// What a failed release left on the hosts.
    pub recovery: Option<Recovery>,
    /// Each host's part in this ticket's shipping.
    pub host_states: Vec<recovery::HostState>,
    /// The ticket's change fingerprint when it was read (see
    /// [`super::ticket_stamp`]).
    pub stamp: String,
}

/// Reads ticket `id` as `reader` sees it, with the production diff's inputs
/// when `want_diff`. What a failed release left and the host states are
/// best-effort: a failed read shows none.
pub fn ticket_facts(
    conn: &mut DbConn,
    id: i64,
    reader: &Reader,
    now: DateTime<Utc>,
    want_diff: bool,
) -> ServiceResult<TicketFacts> {
    // Read before the view: a change in between makes the page refresh
    // once more, never miss it.
    // The ticket row is read once: the stamp and the page show the same one.
    let ticket = reader.ticket(conn, id)?;
    let stamp = super::ticket_stamp::stamp_of(conn, &ticket)?.stamp;
    let view = queries::view_of_ticket(conn, ticket, reader, now)?;
    let diff = if want_diff { diff_inputs(conn, &view) } else { None };
    let recovery = recovery::for_ticket(conn, &view.ticket, &view.project).ok().flatten();
    let host_states = recovery::host_states(conn, view.ticket.id).unwrap_or_default();
    Ok(TicketFacts {
        view,
        diff,
        recovery,
        host_states,
        stamp,
    })
}
