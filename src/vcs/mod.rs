//! Version control: the `svn` client that updates staging working copies and
//! the git snapshot repository that records exactly what was staged.
//!
//! - [`process`]: runs external programs from argument vectors (never a
//!   shell), streams their output line by line, scrubs secrets, enforces
//!   timeouts.
//! - [`svn`]: checkout, update of a ticket's paths, info, log, list — through
//!   the `svn` CLI, non-interactive, credentials via stdin.
//! - [`git`]: snapshots of a staged tree as commits in a per-project bare
//!   repository (git2), diffs between snapshots, ancestry checks.
//!
//! Everything here is blocking; async callers run it on a blocking thread.

pub mod git;
pub mod process;
pub mod svn;

pub use git::{GitError, IgnoreRules, Signature, Snapshot, SnapshotRepo, STAGING_REF};
pub use process::{Background, OutputLine, ProcessError, ProcessOutcome, ProcessSpec, Stream};
pub use svn::{ChangedPath, SvnClient, SvnCredentials, SvnError, SvnListEntry, SvnLogEntry, WcInfo};
