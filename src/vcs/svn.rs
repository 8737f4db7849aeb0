//! The `svn` command-line client, as the staging pipeline uses it.
//!
//! Every call runs `svn` from an argument vector (see [`super::process`]) with
//! `--non-interactive --no-auth-cache --config-dir <dir>`, so it never prompts,
//! never writes credentials to disk and never reads the invoking user's
//! `~/.subversion`. Credentials go in as `--username U --password-from-stdin`:
//! the password is written to svn's stdin, never appears in a process list,
//! and is scrubbed from every output line and error message.
//!
//! Paths from a ticket are [`SvnPath`]s (already validated: relative, no `..`,
//! no leading `-`). They are passed after `--`, as `wc/path@` — the trailing
//! `@` makes svn read an `@` inside the path as part of the name, not as a peg
//! revision — and percent-encoded when they become part of a URL.
//!
//! Failures are classified into [`SvnError`] variants with messages a user can
//! act on: authentication, conflicts (a working copy with conflicts must never
//! be snapshotted), missing paths, a locked working copy (`update` runs
//! `svn cleanup` and retries once), timeouts.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::process::{self, OutputLine, ProcessError, ProcessSpec, Stream};
use crate::domain::SvnPath;

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

/// A blocking client for one repository's credentials; see the module docs.
#[derive(Debug, Clone)]
pub struct SvnClient {
    program: OsString,
    config_dir: PathBuf,
    credentials: Option<SvnCredentials>,
    timeout: Duration,
    cancel: Option<process::CancelFlag>,
}

/// What a finished svn run printed on stdout.
struct Captured {
    stdout: Vec<String>,
}

/// Context for turning svn's error lines into an [`SvnError`].
struct Failure<'a> {
    subcommand: &'a str,
    /// The URL or working copy the command was about (for auth/lock messages).
    target: &'a str,
    /// The path a "not found" error is about.
    path: Option<&'a str>,
    revision: Option<i64>,
}

impl SvnClient {
    /// A client that keeps svn's configuration in `config_dir` (under
    /// Slipway's data dir), logs in with `credentials` when given, and kills
    /// any svn run that takes longer than `timeout`.
    pub fn new(config_dir: PathBuf, credentials: Option<SvnCredentials>, timeout: Duration) -> Self {
        Self {
            program: OsString::from("svn"),
            config_dir,
            credentials,
            timeout,
            cancel: None,
        }
    }

    /// Kills any svn run of this client once `flag` is set (see
    /// [`ProcessSpec::cancel_on`]).
    pub fn with_cancel(mut self, flag: process::CancelFlag) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Uses `program` instead of `svn` from `PATH`.
    pub fn with_program(mut self, program: impl Into<OsString>) -> Self {
        self.program = program.into();
        self
    }

    /// First run: checks `url` out into `wc` (at `revision`, or HEAD) and
    /// returns the working copy's revision.
    pub fn checkout(
        &self,
        url: &str,
        wc: &Path,
        revision: Option<i64>,
        log: &mut dyn FnMut(OutputLine),
    ) -> Result<i64, SvnError> {
        let peg = revision.map(|r| r.to_string()).unwrap_or_default();
        // The destination is a plain path for `checkout` (no peg parsing).
        let spec = self
            .command("checkout", true)
            .arg("--")
            .arg(format!("{url}@{peg}"))
            .arg(wc);
        self.exec(
            spec,
            log,
            Failure {
                subcommand: "checkout",
                target: url,
                path: Some(url),
                revision,
            },
        )?;
        Ok(self.wc_info(wc)?.revision)
    }

    /// Updates exactly `paths` (the whole working copy when empty) to HEAD or
    /// `revision`, creating missing parent directories. A locked working copy
    /// gets `svn cleanup` and one retry. Fails with [`SvnError::Conflict`] when
    /// the working copy has conflicts afterwards (anywhere, not only in
    /// `paths`), and with [`SvnError::MissingPath`] for a path that neither
    /// exists in the repository nor was in the working copy before. Returns the
    /// revision reached.
    pub fn update(
        &self,
        wc: &Path,
        paths: &[SvnPath],
        revision: Option<i64>,
        log: &mut dyn FnMut(OutputLine),
    ) -> Result<i64, SvnError> {
        match self.update_once(wc, paths, revision, log) {
            Err(SvnError::Locked(_)) => {
                log(OutputLine {
                    stream: Stream::Stderr,
                    text: "slipway: the working copy is locked; running `svn cleanup` and retrying once".to_owned(),
                });
                self.cleanup(wc, log)?;
                self.update_once(wc, paths, revision, log)
            }
            other => other,
        }
    }

    /// Runs `svn cleanup` on the working copy (releases stale locks, finishes
    /// interrupted operations).
    pub fn cleanup(&self, wc: &Path, log: &mut dyn FnMut(OutputLine)) -> Result<(), SvnError> {
        ensure_dir(wc)?;
        let target = wc.display().to_string();
        let spec = self.command("cleanup", false).arg("--").arg(peg_path(wc)).cwd(wc);
        self.exec(
            spec,
            log,
            Failure {
                subcommand: "cleanup",
                target: &target,
                path: None,
                revision: None,
            },
        )
        .map(drop)
    }

    /// Paths (relative to `wc`) that are in conflict: text, property or tree
    /// conflicts, from `svn status --xml`.
    pub fn conflicts(&self, wc: &Path) -> Result<Vec<String>, SvnError> {
        ensure_dir(wc)?;
        let target = wc.display().to_string();
        let spec = self
            .command("status", false)
            .args(["-q", "--xml", "--"])
            .arg(peg_path(wc))
            .cwd(wc);
        let out = self.exec(
            spec,
            &mut |_| {},
            Failure {
                subcommand: "status",
                target: &target,
                path: None,
                revision: None,
            },
        )?;
        let xml = out.stdout.join("\n");
        let doc = parse_xml(&xml)?;
        let mut found = Vec::new();
        for entry in doc.descendants().filter(|n| n.has_tag_name("entry")) {
            let Some(status) = entry.children().find(|n| n.has_tag_name("wc-status")) else {
                continue;
            };
            let conflicted = status.attribute("item") == Some("conflicted")
                || status.attribute("props") == Some("conflicted")
                || status.attribute("tree-conflicted") == Some("true");
            if conflicted {
                let path = entry.attribute("path").unwrap_or_default();
                found.push(relative_to(wc, path));
            }
        }
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// The working copy's revision, URL and repository root (`svn info --xml`).
    pub fn wc_info(&self, wc: &Path) -> Result<WcInfo, SvnError> {
        let target = wc.display().to_string();
        let spec = self.command("info", false).args(["--xml", "--"]).arg(peg_path(wc));
        let out = self.exec(
            spec,
            &mut |_| {},
            Failure {
                subcommand: "info",
                target: &target,
                path: Some(&target),
                revision: None,
            },
        )?;
        parse_info(&out.stdout.join("\n"))
    }

    /// The HEAD revision of the repository `url` belongs to.
    pub fn head_revision(&self, url: &str) -> Result<i64, SvnError> {
        let spec = self.command("info", true).args(["--xml", "--"]).arg(format!("{url}@"));
        let out = self.exec(
            spec,
            &mut |_| {},
            Failure {
                subcommand: "info",
                target: url,
                path: Some(url),
                revision: None,
            },
        )?;
        Ok(parse_info(&out.stdout.join("\n"))?.revision)
    }

    /// Log entries of `url` for revisions in `(from_exclusive, to]`, oldest
    /// first, with their changed paths. Empty when `to <= from_exclusive`.
    pub fn log(&self, url: &str, from_exclusive: i64, to: i64) -> Result<Vec<SvnLogEntry>, SvnError> {
        if to <= from_exclusive {
            return Ok(Vec::new());
        }
        let spec = self
            .command("log", true)
            .args(["--xml", "-v", "-r"])
            .arg(format!("{}:{to}", from_exclusive + 1))
            .arg("--")
            .arg(format!("{url}@{to}"));
        let out = self.exec(
            spec,
            &mut |_| {},
            Failure {
                subcommand: "log",
                target: url,
                path: Some(url),
                revision: Some(to),
            },
        )?;
        parse_log(&out.stdout.join("\n"))
    }

    /// One level of the repository tree at `url` (or at `path` below it), at
    /// HEAD, for the path picker.
    pub fn list(&self, url: &str, path: Option<&SvnPath>) -> Result<Vec<SvnListEntry>, SvnError> {
        let full = match path {
            Some(p) => url_join(url, p),
            None => url.to_owned(),
        };
        let spec = self.command("list", true).args(["--xml", "--"]).arg(format!("{full}@"));
        let shown = path.map(SvnPath::as_str).unwrap_or(url);
        let out = self.exec(
            spec,
            &mut |_| {},
            Failure {
                subcommand: "list",
                target: url,
                path: Some(shown),
                revision: None,
            },
        )?;
        let xml = out.stdout.join("\n");
        let doc = parse_xml(&xml)?;
        let mut entries = Vec::new();
        for entry in doc.descendants().filter(|n| n.has_tag_name("entry")) {
            let name = child_text(entry, "name").ok_or_else(|| SvnError::Parse("list entry without a name".into()))?;
            entries.push(SvnListEntry {
                name,
                is_dir: entry.attribute("kind") == Some("dir"),
            });
        }
        Ok(entries)
    }

    fn update_once(
        &self,
        wc: &Path,
        paths: &[SvnPath],
        revision: Option<i64>,
        log: &mut dyn FnMut(OutputLine),
    ) -> Result<i64, SvnError> {
        let target = wc.display().to_string();
        ensure_dir(wc)?;
        // With several targets, pin HEAD first so they all reach one revision.
        let revision = match revision {
            None if paths.len() > 1 => Some(self.wc_head_revision(wc)?),
            other => other,
        };
        let existed_before: Vec<bool> = paths
            .iter()
            .map(|p| wc.join(p.as_str()).symlink_metadata().is_ok())
            .collect();
        // Run inside the working copy: svn then prints paths relative to it.
        let mut spec = self.command("update", true).arg("--parents").cwd(wc);
        if let Some(rev) = revision {
            spec = spec.arg("-r").arg(rev.to_string());
        }
        spec = spec.arg("--");
        if paths.is_empty() {
            spec = spec.arg(peg_path(wc));
        } else {
            for path in paths {
                spec = spec.arg(peg_path(&wc.join(path.as_str())));
            }
        }
        let out = self.exec(
            spec,
            log,
            Failure {
                subcommand: "update",
                target: &target,
                path: paths.first().map(SvnPath::as_str),
                revision,
            },
        )?;

        let reached = out
            .stdout
            .iter()
            .filter_map(|line| parse_revision_line(line))
            .max()
            .or(revision);
        // "Skipped 'x'": no versioned parent, or a node still in conflict.
        let mut skipped_conflicts = Vec::new();
        for line in &out.stdout {
            if let Some(rest) = line.strip_prefix("Skipped ") {
                let quoted = rest.trim_start_matches("missing target: ");
                let skipped = quoted
                    .strip_prefix('\'')
                    .and_then(|s| s.split_once('\''))
                    .map(|(p, _)| relative_to(wc, p))
                    .unwrap_or_else(|| quoted.to_owned());
                // With `--parents` svn may skip a missing parent of the path
                // asked for: name the ticket's path.
                let skipped = paths
                    .iter()
                    .map(SvnPath::as_str)
                    .find(|p| *p == skipped || p.strip_prefix(skipped.as_str()).is_some_and(|r| r.starts_with('/')))
                    .map(str::to_owned)
                    .unwrap_or(skipped);
                if line.contains("remains in conflict") {
                    skipped_conflicts.push(skipped);
                } else {
                    return Err(SvnError::MissingPath {
                        path: skipped,
                        revision: reached,
                    });
                }
            }
        }
        let mut conflicts = self.conflicts(wc)?;
        conflicts.extend(skipped_conflicts);
        if !conflicts.is_empty() {
            conflicts.sort();
            conflicts.dedup();
            return Err(SvnError::Conflict(conflicts));
        }
        // svn reports success ("At revision N.") for a path that exists
        // nowhere; it is missing if it is still absent and was never there.
        for (path, existed) in paths.iter().zip(existed_before) {
            if !existed && wc.join(path.as_str()).symlink_metadata().is_err() {
                return Err(SvnError::MissingPath {
                    path: path.to_string(),
                    revision: reached,
                });
            }
        }
        match reached {
            Some(rev) => Ok(rev),
            None => Ok(self.wc_info(wc)?.revision),
        }
    }

    /// HEAD of the repository a working copy is checked out from.
    fn wc_head_revision(&self, wc: &Path) -> Result<i64, SvnError> {
        let target = wc.display().to_string();
        let spec = self
            .command("info", true)
            .args(["--xml", "-r", "HEAD", "--"])
            .arg(peg_path(wc));
        let out = self.exec(
            spec,
            &mut |_| {},
            Failure {
                subcommand: "info",
                target: &target,
                path: None,
                revision: None,
            },
        )?;
        Ok(parse_info(&out.stdout.join("\n"))?.revision)
    }

    /// `svn <subcommand>` with the global options; with `remote`, the
    /// credentials too.
    fn command(&self, subcommand: &str, remote: bool) -> ProcessSpec {
        let mut spec = ProcessSpec::new(self.program.clone())
            .arg(subcommand)
            .args(["--non-interactive", "--no-auth-cache", "--config-dir"])
            .arg(self.config_dir.as_os_str())
            .timeout(self.timeout)
            .cancel_on(self.cancel.clone());
        if let (true, Some(creds)) = (remote, &self.credentials) {
            let mut stdin = creds.password.clone().into_bytes();
            stdin.push(b'\n');
            spec = spec
                .args(["--username", creds.username.as_str(), "--password-from-stdin"])
                .stdin(stdin)
                .secret(creds.password.clone());
        }
        spec
    }

    fn exec(
        &self,
        spec: ProcessSpec,
        log: &mut dyn FnMut(OutputLine),
        failure: Failure<'_>,
    ) -> Result<Captured, SvnError> {
        std::fs::create_dir_all(&self.config_dir)?;
        let mut stdout = Vec::new();
        let outcome = process::run(&spec, &mut |line| {
            if line.stream == Stream::Stdout {
                stdout.push(line.text.clone());
            }
            log(line);
        });
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(ProcessError::Timeout { after, .. }) => return Err(SvnError::Timeout(after)),
            Err(ProcessError::Cancelled { .. }) => return Err(SvnError::Cancelled),
            Err(ProcessError::Spawn { source, .. } | ProcessError::Io { source, .. }) => {
                return Err(SvnError::Io(source))
            }
        };
        if outcome.success() {
            return Ok(Captured { stdout });
        }
        Err(classify(&outcome.stderr_tail, &failure, outcome.status.code()))
    }
}

/// Turns svn's error lines into an error a user can act on.
fn classify(stderr: &[String], failure: &Failure<'_>, code: Option<i32>) -> SvnError {
    let has = |codes: &[&str]| stderr.iter().any(|l| codes.iter().any(|c| l.contains(c)));
    if has(&["E170001", "E215004"]) {
        // "Unable to connect to a repository at URL '…'" names the URL even
        // when the command was about a working copy.
        let url = stderr
            .iter()
            .find_map(|l| l.split_once("at URL '").and_then(|(_, rest)| rest.split_once('\'')))
            .map(|(url, _)| url.to_owned())
            .unwrap_or_else(|| failure.target.to_owned());
        return SvnError::Auth(url);
    }
    if has(&["E155004", "E155037"]) {
        return SvnError::Locked(failure.target.to_owned());
    }
    if has(&["E160006"]) {
        // "No such revision N": asking again will not make it exist.
        return SvnError::NoSuchRevision {
            revision: failure.revision,
            detail: stderr
                .iter()
                .find(|l| l.contains("E160006"))
                .map(|l| l.trim_start_matches("svn: ").to_owned()),
        };
    }
    if let Some(path) = failure.path {
        if has(&["E170000", "W160013", "E160013", "W155010", "E155010"]) {
            return SvnError::MissingPath {
                path: path.to_owned(),
                revision: failure.revision,
            };
        }
    }
    let mut errors: Vec<&str> = stderr
        .iter()
        .filter(|l| l.starts_with("svn: E") || l.starts_with("svn: warning:"))
        .map(|l| l.strip_prefix("svn: ").unwrap_or(l))
        .collect();
    if errors.is_empty() {
        errors = stderr.iter().rev().take(5).rev().map(String::as_str).collect();
    }
    let exit = code
        .map(|c| format!("exit {c}"))
        .unwrap_or_else(|| "killed by a signal".to_owned());
    SvnError::Failed(format!(
        "{} of {} failed ({exit}): {}",
        failure.subcommand,
        failure.target,
        errors.join(" / ")
    ))
}

/// Fails clearly when the working copy directory is missing (svn would run
/// in it, and "No such file or directory" alone says too little).
fn ensure_dir(wc: &Path) -> Result<(), SvnError> {
    if wc.is_dir() {
        Ok(())
    } else {
        Err(SvnError::Failed(format!(
            "working copy {} does not exist (it is checked out on the first staging run)",
            wc.display()
        )))
    }
}

/// `path@`, so an `@` inside the path is not read as a peg revision.
fn peg_path(path: &Path) -> OsString {
    let mut arg = path.as_os_str().to_owned();
    arg.push("@");
    arg
}

/// `path` shown relative to the working copy when it lies inside it.
fn relative_to(wc: &Path, path: &str) -> String {
    Path::new(path)
        .strip_prefix(wc)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_owned())
}

/// `url/path`, the path percent-encoded except for `/` and unreserved characters.
fn url_join(url: &str, path: &SvnPath) -> String {
    let mut out = url.trim_end_matches('/').to_owned();
    out.push('/');
    for byte in path.as_str().bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The number in "At revision N." / "Updated to revision N." / "Checked out revision N.".
fn parse_revision_line(line: &str) -> Option<i64> {
    let rest = line
        .strip_prefix("At revision ")
        .or_else(|| line.strip_prefix("Updated to revision "))
        .or_else(|| line.strip_prefix("Checked out revision "))?;
    rest.trim_end_matches('.').parse().ok()
}

fn parse_xml(xml: &str) -> Result<roxmltree::Document<'_>, SvnError> {
    roxmltree::Document::parse(xml).map_err(|e| SvnError::Parse(format!("bad XML: {e}")))
}

fn child_text(node: roxmltree::Node<'_, '_>, tag: &str) -> Option<String> {
    node.children()
        .find(|n| n.has_tag_name(tag))
        .map(|n| n.text().unwrap_or_default().to_owned())
}

fn parse_rev(value: Option<&str>, what: &str) -> Result<i64, SvnError> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| SvnError::Parse(format!("{what} without a revision number")))
}

fn parse_info(xml: &str) -> Result<WcInfo, SvnError> {
    let doc = parse_xml(xml)?;
    let entry = doc
        .descendants()
        .find(|n| n.has_tag_name("entry"))
        .ok_or_else(|| SvnError::Parse("svn info printed no entry".into()))?;
    let revision = parse_rev(entry.attribute("revision"), "svn info entry")?;
    let url = child_text(entry, "url").unwrap_or_default();
    let repository_root = entry
        .children()
        .find(|n| n.has_tag_name("repository"))
        .and_then(|r| child_text(r, "root"))
        .unwrap_or_default();
    Ok(WcInfo {
        revision,
        url,
        repository_root,
    })
}

fn parse_log(xml: &str) -> Result<Vec<SvnLogEntry>, SvnError> {
    let doc = parse_xml(xml)?;
    let mut entries = Vec::new();
    for entry in doc.descendants().filter(|n| n.has_tag_name("logentry")) {
        let revision = parse_rev(entry.attribute("revision"), "log entry")?;
        let date = match child_text(entry, "date") {
            Some(text) => Some(
                DateTime::parse_from_rfc3339(&text)
                    .map_err(|e| SvnError::Parse(format!("r{revision}: bad date `{text}`: {e}")))?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        let paths = entry
            .children()
            .find(|n| n.has_tag_name("paths"))
            .map(|paths| {
                paths
                    .children()
                    .filter(|n| n.has_tag_name("path"))
                    .map(|p| ChangedPath {
                        action: p.attribute("action").unwrap_or_default().to_owned(),
                        path: p.text().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        entries.push(SvnLogEntry {
            revision,
            author: child_text(entry, "author").unwrap_or_default(),
            date,
            message: child_text(entry, "msg").unwrap_or_default(),
            paths,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_hides_the_password() {
        let creds = SvnCredentials {
            username: "alice".into(),
            password: "s3cret".into(),
        };
        let shown = format!("{creds:?}");
        assert!(shown.contains("alice") && !shown.contains("s3cret"), "{shown}");
        let client = SvnClient::new("/tmp/cfg".into(), Some(creds), Duration::from_secs(5));
        assert!(!format!("{client:?}").contains("s3cret"));
        let spec = client.command("info", true);
        assert!(spec.get_args().iter().all(|a| a != "s3cret"));
        assert!(!spec.display_command().contains("s3cret"));
    }

    #[test]
    fn joins_urls_with_percent_encoding() {
        let path = SvnPath::parse("资源/a b@1#x.txt").expect("valid");
        assert_eq!(
            url_join("svn://h/repo/", &path),
            "svn://h/repo/%E8%B5%84%E6%BA%90/a%20b%401%23x.txt"
        );
    }

    #[test]
    fn parses_revision_lines() {
        assert_eq!(parse_revision_line("At revision 12."), Some(12));
        assert_eq!(parse_revision_line("Updated to revision 3."), Some(3));
        assert_eq!(parse_revision_line("Checked out revision 1."), Some(1));
        assert_eq!(parse_revision_line("U    a/b"), None);
    }

    #[test]
    fn classifies_errors() {
        let failure = Failure {
            subcommand: "update",
            target: "/srv/wc",
            path: Some("src/x"),
            revision: Some(5),
        };
        let lines = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        let auth = classify(
            &lines(&[
                "svn: E170013: Unable to connect to a repository at URL 'svn://127.0.0.1:3690/repo'",
                "svn: E170001: Authentication error from server: Password incorrect",
            ]),
            &failure,
            Some(1),
        );
        assert_eq!(
            auth.to_string(),
            "svn: authentication failed for svn://127.0.0.1:3690/repo (check the project's SVN credentials)"
        );
        let missing = classify(
            &lines(&["svn: warning: W160013: Path '/x' not found"]),
            &failure,
            Some(1),
        );
        assert_eq!(
            missing.to_string(),
            "path `src/x` does not exist in the repository at r5"
        );
        let locked = classify(
            &lines(&["svn: E155004: Working copy '/srv/wc' locked."]),
            &failure,
            Some(1),
        );
        assert!(matches!(locked, SvnError::Locked(_)));
        let other = classify(&lines(&["svn: E000111: Can't connect to host"]), &failure, Some(1));
        assert_eq!(
            other.to_string(),
            "svn update of /srv/wc failed (exit 1): E000111: Can't connect to host"
        );
    }

    #[test]
    fn parses_log_xml() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<log>
<logentry revision="2">
<author>bob</author>
<date>2024-05-01T10:00:00.123456Z</date>
<paths>
<path action="M" kind="file" prop-mods="false" text-mods="true">/trunk/a.txt</path>
<path action="A" kind="dir">/trunk/new</path>
</paths>
<msg>fix &amp; ship</msg>
</logentry>
<logentry revision="3">
<paths><path action="D">/trunk/old</path></paths>
<msg></msg>
</logentry>
</log>"#;
        let entries = parse_log(xml).expect("parses");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].revision, 2);
        assert_eq!(entries[0].author, "bob");
        assert_eq!(entries[0].message, "fix & ship");
        assert_eq!(entries[0].paths[1].path, "/trunk/new");
        assert!(entries[0].date.is_some());
        assert_eq!(entries[1].author, "");
        assert_eq!(entries[1].paths[0].action, "D");
    }
}
