//! Running external programs from an argument vector — never through a shell
//! (DESIGN.md invariant 6).
//!
//! [`run`] starts the program in a process group of its own, feeds it optional
//! stdin bytes, and reads stdout and stderr concurrently (one reader thread
//! each, joined by a channel), so every output line reaches the caller's
//! callback as soon as the program writes it. Secrets are replaced by `***` in
//! every line before anyone sees it (invariant 7). On timeout the whole process
//! group is killed.
//!
//! Programs run with `LC_ALL=C.UTF-8`: messages stay in untranslated English so
//! they can be parsed, while non-ASCII file names (which SVN paths may contain)
//! still convert; plain `LC_ALL=C` makes `svn` refuse them with E000022.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

/// How many stderr lines [`ProcessOutcome::stderr_tail`] keeps.
pub const STDERR_TAIL_LINES: usize = 50;

/// A flag that, once set, makes [`run`] kill the program's process group
/// (a worker that cannot renew its job's lease sets it: invariant 11).
pub type CancelFlag = Arc<AtomicBool>;

/// How often a running program's cancel flag is looked at.
const CANCEL_POLL: Duration = Duration::from_millis(100);

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// `"stdout"` or `"stderr"`, as stored in job logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One line of a program's output, without its line ending, secrets scrubbed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// The stream it was written to.
    pub stream: Stream,
    /// The text (invalid UTF-8 replaced by U+FFFD).
    pub text: String,
}

/// What to run: program, arguments, working directory, environment, stdin,
/// timeout and the secrets to scrub from the output.
#[derive(Clone)]
pub struct ProcessSpec {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
    secrets: Vec<String>,
    cancel: Option<CancelFlag>,
}

impl std::fmt::Debug for ProcessSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print stdin (it may carry a password) nor the secrets; the
        // arguments are scrubbed too.
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| scrub(&a.to_string_lossy(), &self.secrets))
            .collect();
        f.debug_struct("ProcessSpec")
            .field("program", &self.program)
            .field("args", &args)
            .field("cwd", &self.cwd)
            .field("env_keys", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("stdin_bytes", &self.stdin.as_ref().map(Vec::len))
            .field("timeout", &self.timeout)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl ProcessSpec {
    /// A program to run with no arguments, no timeout and inherited environment.
    pub fn new(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            stdin: None,
            timeout: None,
            secrets: Vec::new(),
            cancel: None,
        }
    }

    /// Kills the program's process group as soon as `flag` is set (checked
    /// every 100 ms); [`run`] then fails with [`ProcessError::Cancelled`].
    pub fn cancel_on(mut self, flag: Option<CancelFlag>) -> Self {
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

    /// Sets an extra environment variable.
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
        scrub(&line, &self.secrets)
    }
}

/// How a program ended.
#[derive(Debug, Clone)]
pub struct ProcessOutcome {
    /// The exit status.
    pub status: ExitStatus,
    /// The last [`STDERR_TAIL_LINES`] stderr lines, scrubbed, for error messages.
    pub stderr_tail: Vec<String>,
}

impl ProcessOutcome {
    /// Whether the program exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// Why a program could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be started (not installed, not executable, bad cwd…).
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        /// The program name.
        program: String,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Waiting for the program failed.
    #[error("error while running `{program}`: {source}")]
    Io {
        /// The program name.
        program: String,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The program ran longer than its timeout and was killed.
    #[error("`{program}` did not finish within {} s and was killed", after.as_secs_f64())]
    Timeout {
        /// The program name.
        program: String,
        /// The timeout.
        after: Duration,
        /// The last stderr lines before the kill, scrubbed.
        stderr_tail: Vec<String>,
    },
    /// The caller's cancel flag was set and the program was killed.
    #[error("`{program}` was stopped: its job was cancelled")]
    Cancelled {
        /// The program name.
        program: String,
    },
}

/// Replaces every occurrence of each secret in `text` by `***`.
/// `secrets` should be sorted longest first (as [`ProcessSpec::secret`] keeps them).
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

enum Message {
    Line(Stream, Vec<u8>),
    Eof,
}

fn spawn_reader(stream: Stream, source: impl Read + Send + 'static, tx: mpsc::Sender<Message>) {
    thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(Message::Line(stream, std::mem::take(&mut buf))).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(Message::Eof);
    });
}

fn decode(mut bytes: Vec<u8>) -> String {
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Kills the child's whole process group (it leads one: see `process_group(0)`),
/// then the child itself in case the group kill was not possible.
fn kill_group(child: &mut Child) {
    // std has no killpg and no new crate may be added for it: `kill(1)` from
    // procps, run from an argument vector, signals the group `-PID`.
    let pgid = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &pgid])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
}

/// Runs `spec`, passing every output line (scrubbed) to `on_line` as it
/// arrives, and returns the exit status with the last stderr lines. A non-zero
/// exit is not an error here: callers judge the status.
pub fn run(spec: &ProcessSpec, on_line: &mut dyn FnMut(OutputLine)) -> Result<ProcessOutcome, ProcessError> {
    let program = spec.program.to_string_lossy().into_owned();
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .env("LC_ALL", "C.UTF-8")
        .env_remove("LANGUAGE")
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (key, value) in &spec.env {
        command.env(key, value);
    }
    if let Some(dir) = &spec.cwd {
        command.current_dir(dir);
    }
    let started = Instant::now();
    let mut child = command.spawn().map_err(|source| ProcessError::Spawn {
        program: program.clone(),
        source,
    })?;

    if let (Some(bytes), Some(mut stdin)) = (spec.stdin.clone(), child.stdin.take()) {
        // A writer thread, so a program that does not read its stdin (or
        // writes a lot before reading) cannot deadlock us.
        thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    let (tx, rx) = mpsc::channel();
    let mut open_streams = 0;
    if let Some(out) = child.stdout.take() {
        spawn_reader(Stream::Stdout, out, tx.clone());
        open_streams += 1;
    }
    if let Some(err) = child.stderr.take() {
        spawn_reader(Stream::Stderr, err, tx.clone());
        open_streams += 1;
    }
    drop(tx);

    let deadline = spec.timeout.map(|t| started + t);
    let mut tail = VecDeque::with_capacity(STDERR_TAIL_LINES);
    let mut deliver = |stream: Stream, bytes: Vec<u8>, tail: &mut VecDeque<String>| {
        let text = scrub(&decode(bytes), &spec.secrets);
        if stream == Stream::Stderr {
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(text.clone());
        }
        on_line(OutputLine { stream, text });
    };

    let cancel = spec.cancel.as_deref();
    let stop = read_until_eof(&rx, &mut open_streams, deadline, cancel, &mut |s, b| {
        deliver(s, b, &mut tail)
    });
    let status = match stop {
        Stop::Eof => wait_exit(&mut child, deadline, cancel).map_err(|source| ProcessError::Io {
            program: program.clone(),
            source,
        })?,
        stop => Err(stop),
    };
    match status {
        Ok(status) => Ok(ProcessOutcome {
            status,
            stderr_tail: tail.into_iter().collect(),
        }),
        Err(stop) => {
            kill_group(&mut child);
            let _ = child.wait();
            // Pick up what was written before the kill, without blocking on a
            // pipe some escaped grandchild may still hold.
            let grace = Some(Instant::now() + Duration::from_millis(300));
            read_until_eof(&rx, &mut open_streams, grace, None, &mut |s, b| {
                deliver(s, b, &mut tail)
            });
            Err(match stop {
                Stop::Cancelled => ProcessError::Cancelled { program },
                _ => ProcessError::Timeout {
                    program,
                    after: spec.timeout.unwrap_or_default(),
                    stderr_tail: tail.into_iter().collect(),
                },
            })
        }
    }
}

/// Why reading a program's output stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Both streams reached end of file.
    Eof,
    /// The deadline passed.
    Deadline,
    /// The cancel flag was set.
    Cancelled,
}

fn is_set(cancel: Option<&AtomicBool>) -> bool {
    cancel.is_some_and(|c| c.load(Ordering::SeqCst))
}

/// Both pipes are closed; the program is exiting (or a daemonised grandchild
/// closed them). Waits within what is left of the timeout, looking at the
/// cancel flag meanwhile.
fn wait_exit(
    child: &mut Child,
    deadline: Option<Instant>,
    cancel: Option<&AtomicBool>,
) -> io::Result<Result<ExitStatus, Stop>> {
    loop {
        if is_set(cancel) {
            return Ok(Err(Stop::Cancelled));
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let slice = match (left, cancel) {
            (None, None) => return child.wait().map(Ok),
            (Some(left), None) => left,
            (left, Some(_)) => left.map_or(CANCEL_POLL, |l| l.min(CANCEL_POLL)),
        };
        if let Some(status) = child.wait_timeout(slice)? {
            return Ok(Ok(status));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Err(Stop::Deadline));
        }
    }
}

/// Delivers lines until both readers reported end of file, the deadline
/// passed or the cancel flag was set.
fn read_until_eof(
    rx: &Receiver<Message>,
    open_streams: &mut usize,
    deadline: Option<Instant>,
    cancel: Option<&AtomicBool>,
    deliver: &mut dyn FnMut(Stream, Vec<u8>),
) -> Stop {
    while *open_streams > 0 {
        if is_set(cancel) {
            return Stop::Cancelled;
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let message = match (left, cancel) {
            (None, None) => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            (Some(left), None) => rx.recv_timeout(left),
            (left, Some(_)) => match rx.recv_timeout(left.map_or(CANCEL_POLL, |l| l.min(CANCEL_POLL))) {
                // A slice ended, not the deadline: look at the flag again.
                Err(RecvTimeoutError::Timeout) if deadline.is_none_or(|d| Instant::now() < d) => continue,
                other => other,
            },
        };
        match message {
            Ok(Message::Line(stream, bytes)) => deliver(stream, bytes),
            Ok(Message::Eof) => *open_streams -= 1,
            Err(RecvTimeoutError::Timeout) => return Stop::Deadline,
            Err(RecvTimeoutError::Disconnected) => *open_streams = 0,
        }
    }
    Stop::Eof
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ProcessSpec {
        // Tests only: a fixed script, no user input.
        ProcessSpec::new("sh").arg("-c").arg(script)
    }

    fn collect(spec: &ProcessSpec) -> (Result<ProcessOutcome, ProcessError>, Vec<OutputLine>) {
        let mut lines = Vec::new();
        let result = run(spec, &mut |l| lines.push(l));
        (result, lines)
    }

    #[test]
    fn streams_lines_in_order_and_as_they_arrive() {
        let spec = sh("echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three");
        let started = Instant::now();
        let mut seen = Vec::new();
        let outcome = run(&spec, &mut |l| seen.push((started.elapsed(), l))).expect("runs");
        assert!(outcome.success());
        let texts: Vec<_> = seen.iter().map(|(_, l)| (l.stream, l.text.as_str())).collect();
        assert_eq!(
            texts,
            vec![
                (Stream::Stdout, "one"),
                (Stream::Stderr, "two"),
                (Stream::Stdout, "three")
            ]
        );
        // The first line arrived long before the program ended.
        assert!(
            seen[0].0 < Duration::from_millis(250),
            "first line late: {:?}",
            seen[0].0
        );
        assert_eq!(outcome.stderr_tail, vec!["two".to_owned()]);
    }

    #[test]
    fn kills_the_process_group_on_timeout() {
        // The grandchild `sleep` holds the pipes too: the group kill must end it.
        let spec = sh("echo started; sleep 30 & sleep 30; echo never").timeout(Duration::from_millis(400));
        let started = Instant::now();
        let (result, lines) = collect(&spec);
        assert!(matches!(result, Err(ProcessError::Timeout { .. })), "{result:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].text, "started");
    }

    #[test]
    fn scrubs_secrets_from_every_line() {
        let spec = sh("echo \"user=bob pass=hunter2 again hunter2\"; echo \"hunter2 on stderr\" >&2")
            .secret("hunter2")
            .secret("");
        let (result, lines) = collect(&spec);
        let outcome = result.expect("runs");
        // stdout and stderr are read concurrently, so their order may vary.
        let mut texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        texts.sort_unstable();
        assert_eq!(texts, ["*** on stderr", "user=bob pass=*** again ***"]);
        assert_eq!(outcome.stderr_tail, vec!["*** on stderr".to_owned()]);
        assert!(!format!("{spec:?}").contains("hunter2"));
    }

    #[test]
    fn reports_a_non_zero_exit_with_the_stderr_tail() {
        let spec = sh("for i in $(seq 1 80); do echo line$i >&2; done; exit 3");
        let (result, lines) = collect(&spec);
        let outcome = result.expect("runs");
        assert!(!outcome.success());
        assert_eq!(outcome.status.code(), Some(3));
        assert_eq!(lines.len(), 80);
        assert_eq!(outcome.stderr_tail.len(), STDERR_TAIL_LINES);
        assert_eq!(outcome.stderr_tail.last().map(String::as_str), Some("line80"));
    }

    #[test]
    fn feeds_stdin_and_sets_the_environment() {
        let spec = ProcessSpec::new("sh")
            .args(["-c", "read x; echo \"got $x in $LC_ALL $EXTRA\""])
            .env("EXTRA", "yes")
            .stdin(b"secret-input\n".to_vec())
            .secret("secret-input");
        let (result, lines) = collect(&spec);
        assert!(result.expect("runs").success());
        assert_eq!(lines[0].text, "got *** in C.UTF-8 yes");
    }

    #[test]
    fn a_set_cancel_flag_kills_the_process_group() {
        let flag: CancelFlag = Arc::new(AtomicBool::new(false));
        let spec = sh("echo started; sleep 30 & sleep 30; echo never").cancel_on(Some(Arc::clone(&flag)));
        let setter = Arc::clone(&flag);
        let started = Instant::now();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            setter.store(true, Ordering::SeqCst);
        });
        let (result, lines) = collect(&spec);
        assert!(matches!(result, Err(ProcessError::Cancelled { .. })), "{result:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(lines.len(), 1);
    }

    #[test]
    fn a_missing_program_is_a_spawn_error() {
        let (result, _) = collect(&ProcessSpec::new("/nonexistent/slipway-no-such-program"));
        assert!(matches!(result, Err(ProcessError::Spawn { .. })), "{result:?}");
    }
}
