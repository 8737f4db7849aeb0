//! [`ProcessSpec`]: what to run.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

use super::scrub;

/// What to run: program, arguments, working directory, environment, stdin,
/// timeout and the secrets to scrub from the output.
#[derive(Clone)]
pub struct ProcessSpec {
    pub(super) program: OsString,
    pub(super) args: Vec<OsString>,
    pub(super) cwd: Option<PathBuf>,
    pub(super) env: Vec<(OsString, OsString)>,
    pub(super) stdin: Option<Vec<u8>>,
    pub(super) timeout: Option<Duration>,
    pub(super) secrets: Vec<String>,
    pub(super) build_user: bool,
    pub(super) cancel: Option<super::CancelFlag>,
}

impl std::fmt::Debug for ProcessSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print stdin (it may carry a password) nor the secrets; the
        // arguments are scrubbed too.
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| scrub::scrub_all(&a.to_string_lossy(), &self.secrets))
            .collect();
        f.debug_struct("ProcessSpec")
            .field("program", &self.program)
            .field("args", &args)
            .field("cwd", &self.cwd)
            .field("env_keys", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("stdin_bytes", &self.stdin.as_ref().map(Vec::len))
            .field("timeout", &self.timeout)
            .field("secrets", &self.secrets.len())
            .field("build_user", &self.build_user)
            .field("cancellable", &self.cancel.is_some())
            .finish()
    }
}

impl ProcessSpec {
    /// A program to run with no arguments, no timeout and the minimal
    /// environment of [`super::env`](mod@super::env).
    pub fn new(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            stdin: None,
            timeout: None,
            secrets: Vec::new(),
            build_user: false,
            cancel: None,
        }
    }

    /// Kills the program's process group as soon as `flag` is set (checked
    /// every 100 ms); [`super::run`] then fails with
    /// [`super::ProcessError::Cancelled`].
    pub fn cancel_on(mut self, flag: Option<super::CancelFlag>) -> Self {
        self.cancel = flag;
        self
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends several arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Runs the program in `dir`.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets an extra environment variable (on top of the minimal environment
    /// of [`super::env`](mod@super::env); nothing else of Slipway's own environment is passed on).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Bytes written to the program's stdin (then closed). Without it stdin is
    /// `/dev/null`.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Kills the program's process group when it runs longer than `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// A string replaced by `***` in every output line (empty strings are ignored).
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        let secret = secret.into();
        if !secret.is_empty() {
            self.secrets.push(secret);
            // Longest first, so a secret containing another is replaced whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        self
    }

    /// Runs the program as the `worker.run_as` user when one is configured
    /// (builds and local hooks: user-supplied commands). Without `run_as` it
    /// runs as Slipway.
    pub fn as_build_user(mut self) -> Self {
        self.build_user = true;
        self
    }

    /// The program name.
    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The arguments.
    pub fn get_args(&self) -> &[OsString] {
        &self.args
    }

    /// The secrets scrubbed from the output.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The program and its arguments as one display line, secrets scrubbed
    /// (for logs and error messages; not shell-quoted, never executed).
    pub fn display_command(&self) -> String {
        let mut line = self.program.to_string_lossy().into_owned();
        for arg in &self.args {
            line.push(' ');
            line.push_str(&arg.to_string_lossy());
        }
        scrub::scrub_all(&line, &self.secrets)
    }
}
