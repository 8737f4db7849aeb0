//! Version control: the `svn` client that updates staging working copies and
//! the git snapshot repository that records exactly what was staged.
//!
//! External programs run through [`crate::process`] (argument vectors, never
//! a shell).
//! - [`svn`]: checkout, update of a ticket's paths, info, log, list — through
//!   the `svn` CLI, non-interactive, credentials via stdin.
//! - [`svn_access`]: an [`SvnClient`] per project from the configuration.
//! - [`git`]: snapshots of a staged tree as commits in a per-project bare
//!   repository (git2), diffs between snapshots, ancestry checks.
//!
//! Everything here is blocking; async callers run it on a blocking thread.
//! See docs/design.md#layers.

pub mod git;
pub mod svn;
pub mod svn_access;

pub use crate::process::{Background, OutputLine, ProcessError, ProcessOutcome, ProcessSpec, Stream};
pub use git::{snapshot_repo_path, GitError, IgnoreRules, Signature, Snapshot, SnapshotRepo, STAGING_REF};
pub use svn::{ChangedPath, SvnClient, SvnCredentials, SvnError, SvnListEntry, SvnLogEntry, WcInfo};
pub use svn_access::{SvnAccess, SvnAccessError};
