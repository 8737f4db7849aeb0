//! The `svn` command-line client, as the staging pipeline uses it.
//!
//! Every call runs `svn` from an argument vector (see [`crate::process`]) with
//! `--non-interactive --no-auth-cache --config-dir <dir>`, so it never prompts,
//! never writes credentials to disk and never reads the invoking user's
//! `~/.subversion`. Credentials go in as `--username U --password-from-stdin`:
//! the password is written to svn's stdin, never appears in a process list,
//! and is scrubbed from every output line and error message.
//!
//! Paths from a ticket are [`SvnPath`](crate::domain::SvnPath)s (already validated: relative, no `..`,
//! no leading `-`). They are passed after `--`, as `wc/path@` — the trailing
//! `@` makes svn read an `@` inside the path as part of the name, not as a peg
//! revision — and percent-encoded when they become part of a URL.
//!
//! Failures are classified into [`SvnError`] variants with messages a user can
//! act on: authentication, conflicts (a working copy with conflicts must never
//! be snapshotted), missing paths, a locked working copy (`update` runs
//! `svn cleanup` and retries once), timeouts.
//!
//! - `client`: [`SvnClient`], its settings and the read-only queries
//!   (info, log, list) over one runner.
//! - `wc`: working-copy changes: checkout, update, cleanup, conflicts.
//! - `parse`: svn's XML and error lines.
//!
//! See docs/design.md#layers (invariants 6 and 7).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod client;
mod parse;
#[cfg(test)]
mod tests;
mod wc;

pub use client::SvnClient;

/// Username and password for the project's SVN repository.
#[derive(Clone, PartialEq, Eq)]
pub struct SvnCredentials {
    /// The SVN username (not secret: it is passed on the command line).
    pub username: String,
    /// The password: written to svn's stdin, scrubbed from all output.
    pub password: String,
}

impl fmt::Debug for SvnCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SvnCredentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// Why an svn operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SvnError {
    /// The server refused the credentials (or wanted some and got none). Holds the URL.
    #[error("svn: authentication failed for {0} (check the project's SVN credentials)")]
    Auth(String),
    /// The working copy has conflicts (paths relative to the working copy).
    #[error("conflict in staging working copy: {} (someone edited the staging copy by hand)", .0.join(", "))]
    Conflict(Vec<String>),
    /// A path (or URL) that does not exist in the repository.
    #[error("path `{path}` does not exist in the repository{}", revision.map(|r| format!(" at r{r}")).unwrap_or_default())]
    MissingPath {
        /// The path as the ticket named it (or the URL).
        path: String,
        /// The revision it was looked up at, when known.
        revision: Option<i64>,
    },
    /// The revision asked for does not exist in the repository (yet).
    #[error("svn: revision {} does not exist in the repository{}", .revision.map(|r| format!("r{r}")).unwrap_or_else(|| "asked for".to_owned()), .detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    NoSuchRevision {
        /// The revision, when known.
        revision: Option<i64>,
        /// svn's own line.
        detail: Option<String>,
    },
    /// The working copy is locked by an interrupted svn run and `svn cleanup`
    /// did not release it. Holds the working copy path.
    #[error(
        "svn: the working copy {0} is locked (an earlier svn run was interrupted) and `svn cleanup` did not release it"
    )]
    Locked(String),
    /// Any other failure, with svn's own error lines.
    #[error("svn {0}")]
    Failed(String),
    /// svn ran longer than the configured timeout and was killed.
    #[error("svn did not finish within {} s and was killed (is the SVN server reachable?)", .0.as_secs())]
    Timeout(Duration),
    /// The job's cancel flag was set and svn was killed.
    #[error("svn was stopped: its job was cancelled")]
    Cancelled,
    /// svn could not be run at all.
    #[error("cannot run svn: {0}")]
    Io(#[from] std::io::Error),
    /// svn's XML or text output was not what was expected.
    #[error("unexpected output from svn: {0}")]
    Parse(String),
}

/// What `svn info` says about a working copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WcInfo {
    /// The working copy root's revision.
    pub revision: i64,
    /// The URL it is a checkout of.
    pub url: String,
    /// The repository root URL.
    pub repository_root: String,
}

/// A path changed by a commit, as `svn log -v` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedPath {
    /// `A` (added), `M` (modified), `D` (deleted) or `R` (replaced).
    pub action: String,
    /// The repository path, e.g. `/trunk/src/a.txt`.
    pub path: String,
}

/// One commit from `svn log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvnLogEntry {
    /// The revision number.
    pub revision: i64,
    /// The author (empty for anonymous commits).
    pub author: String,
    /// When it was committed.
    pub date: Option<DateTime<Utc>>,
    /// The log message.
    pub message: String,
    /// The paths it changed.
    pub paths: Vec<ChangedPath>,
}

/// One entry of a repository directory, for the path picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvnListEntry {
    /// The entry's name (one path segment).
    pub name: String,
    /// Whether it is a directory.
    pub is_dir: bool,
}
