//! [`SvnClient`]: settings, the one place svn runs, and the read-only
//! queries (see [`super`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::parse::{child_text, classify, parse_info, parse_log, parse_xml, peg_path, url_join};
use super::{SvnCredentials, SvnError, SvnListEntry, SvnLogEntry, WcInfo};
use crate::domain::SvnPath;
use crate::process::{self, OutputLine, ProcessError, ProcessSpec, Stream};

/// A blocking client for one repository's credentials; see the module docs.
#[derive(Debug, Clone)]
pub struct SvnClient {
    pub(super) program: OsString,
    pub(super) config_dir: PathBuf,
    pub(super) credentials: Option<SvnCredentials>,
    pub(super) timeout: Duration,
    pub(super) cancel: Option<process::CancelFlag>,
}

/// What a finished svn run printed on stdout.
pub(super) struct Captured {
    /// The lines, in order.
    pub(super) stdout: Vec<String>,
}

/// Context for turning svn's error lines into an [`SvnError`].
pub(super) struct Failure<'a> {
    /// The svn subcommand that failed.
    pub(super) subcommand: &'a str,
    /// The URL or working copy the command was about (for auth/lock messages).
    pub(super) target: &'a str,
    /// The path a "not found" error is about.
    pub(super) path: Option<&'a str>,
    /// The revision asked for, if any.
    pub(super) revision: Option<i64>,
}

impl<'a> Failure<'a> {
    /// The context of a failure of `svn <subcommand>` about `target`.
    pub(super) fn new(subcommand: &'a str, target: &'a str, path: Option<&'a str>, revision: Option<i64>) -> Self {
        Self {
            subcommand,
            target,
            path,
            revision,
        }
    }
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

    /// The working copy's revision, URL and repository root (`svn info --xml`).
    pub fn wc_info(&self, wc: &Path) -> Result<WcInfo, SvnError> {
        let target = wc.display().to_string();
        let spec = self.command("info", false).args(["--xml", "--"]).arg(peg_path(wc));
        let out = self.query(spec, Failure::new("info", &target, Some(&target), None))?;
        parse_info(&out)
    }

    /// The HEAD revision of the repository `url` belongs to.
    pub fn head_revision(&self, url: &str) -> Result<i64, SvnError> {
        let spec = self.command("info", true).args(["--xml", "--"]).arg(format!("{url}@"));
        let out = self.query(spec, Failure::new("info", url, Some(url), None))?;
        Ok(parse_info(&out)?.revision)
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
        let out = self.query(spec, Failure::new("log", url, Some(url), Some(to)))?;
        parse_log(&out)
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
        let xml = self.query(spec, Failure::new("list", url, Some(shown), None))?;
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

    /// HEAD of the repository a working copy is checked out from.
    pub(super) fn wc_head_revision(&self, wc: &Path) -> Result<i64, SvnError> {
        let target = wc.display().to_string();
        let spec = self
            .command("info", true)
            .args(["--xml", "-r", "HEAD", "--"])
            .arg(peg_path(wc));
        let out = self.query(spec, Failure::new("info", &target, None, None))?;
        Ok(parse_info(&out)?.revision)
    }

    /// `svn <subcommand>` with the global options; with `remote`, the
    /// credentials too.
    pub(super) fn command(&self, subcommand: &str, remote: bool) -> ProcessSpec {
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

    /// Runs `spec` without logging its lines and returns its stdout, one
    /// string (a query: info, log, list, status).
    pub(super) fn query(&self, spec: ProcessSpec, failure: Failure<'_>) -> Result<String, SvnError> {
        Ok(self.exec(spec, &mut |_| {}, failure)?.stdout.join("\n"))
    }

    /// Runs `spec`, collecting stdout and passing every line to `log`;
    /// a failure becomes an [`SvnError`] about `failure`.
    pub(super) fn exec(
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
