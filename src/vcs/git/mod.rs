//! Snapshots of the staged tree in a bare git repository, with git2 (no git CLI).
//!
//! Each project has one bare repository (e.g. `<data_dir>/git/<project>.git`).
//! [`SnapshotRepo::snapshot`] walks the staging directory itself — sorted,
//! deterministic, skipping `.svn/` and `.git/` at any depth and the project's
//! ignore globs — writes blobs and trees straight into the object database and
//! commits the tree on `refs/heads/staging`. Files are hashed and looked up
//! read-only first, so an unchanged file costs a read and a hash, no write; new
//! objects are buffered in memory and reach the disk (loose for a small change,
//! as one pack for a big first snapshot) before the branch moves, so the ref
//! never points at a missing object. The commit id is what a ticket
//! records and what a release later tags and ships (invariant 2, see docs/design.md#invariants). An
//! unchanged tree is not committed again.
//!
//! - [`SnapshotRepo`] (in `repo`): open, snapshot, diff, tag, export.
//! - `writer`: the tree writer behind a snapshot (buffered objects, packs).
//! - [`IgnoreRules`] (in `ignore`): the project's ignore globs.
//!
//! See docs/design.md#invariants (invariant 2).

use std::path::{Path, PathBuf};

use git2::Repository;

mod export;
mod ignore;
mod repo;
#[cfg(test)]
mod tests;
mod writer;

pub use ignore::IgnoreRules;

/// The branch snapshots are committed on.
pub const STAGING_REF: &str = "refs/heads/staging";

/// Who a snapshot commit is by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Display name (`<`, `>` and line breaks are dropped).
    pub name: String,
    /// Email address (`<`, `>` and line breaks are dropped).
    pub email: String,
}

/// The result of [`SnapshotRepo::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The commit id (hex): the new commit, or the unchanged tip.
    pub commit: String,
    /// The tree id (hex).
    pub tree: String,
    /// Whether a new commit was made (false: the tree equals the tip's tree).
    pub changed: bool,
}

/// Why a git operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// libgit2 refused an operation.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// A file or directory of the staged tree could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// An ignore pattern is not a valid glob (or uses an unsupported form).
    #[error("ignore pattern `{pattern}`: {problem}")]
    BadIgnore {
        /// The pattern as configured.
        pattern: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A commit id that the repository does not have.
    #[error("git: no commit `{0}` in the snapshot repository")]
    UnknownCommit(String),
    /// A tag name git refuses.
    #[error("git: `{0}` is not a valid tag name")]
    BadTagName(String),
    /// The tag exists and points at another commit.
    #[error("git: tag `{name}` already exists on another commit ({commit})")]
    TagExists {
        /// The tag.
        name: String,
        /// The commit it points at.
        commit: String,
    },
}

/// Where a project's snapshot repository lives: `<data_dir>/git/<project>.git`.
pub fn snapshot_repo_path(data_dir: &Path, project: &str) -> PathBuf {
    data_dir.join("git").join(format!("{project}.git"))
}

/// A project's bare snapshot repository.
pub struct SnapshotRepo {
    /// The open bare repository.
    pub(super) repo: Repository,
}

impl std::fmt::Debug for SnapshotRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotRepo").field("path", &self.repo.path()).finish()
    }
}
