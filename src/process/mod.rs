//! Running external programs from an argument vector — never through a shell
//! (invariant 6, see docs/design.md#invariants). This is the one runner of child processes.
//!
//! [`run`] starts the program in a process group of its own, feeds it optional
//! stdin bytes, and reads stdout and stderr concurrently (one reader thread
//! each, joined by a bounded channel), so every output line reaches the
//! caller's callback as soon as the program writes it. On timeout the whole
//! process group is killed.
//!
//! - [`env`](mod@env): the minimal environment every child gets (invariant 9), the
//!   `worker.run_as` user of builds and local hooks, [`env::configure`].
//! - [`spawn`](self#children-never-outlive-slipway): children never outlive Slipway.
//! - [`output`]: lines capped at [`output::MAX_LINE_BYTES`].
//! - [`scrub`](mod@scrub): secrets replaced by `***` in every line (invariant 7), the
//!   spec's own and every known one ([`scrub::register`]).
//!
//! # Children never outlive Slipway
//! Every child is forked by one long-lived thread with `PR_SET_PDEATHSIG`
//! set to SIGKILL before exec: when the Slipway process dies, even by
//! SIGKILL, the kernel kills its children.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

pub mod env;
pub mod output;
pub mod scrub;
mod spawn;
mod spec;
#[cfg(test)]
mod tests;

use output::Stop;
pub use scrub::{scrub, scrub_known};
pub use spec::ProcessSpec;

/// A flag that, once set, makes [`run`] kill the program's process group
/// (a worker that cannot renew its job's lease sets it: invariant 11).
pub type CancelFlag = Arc<AtomicBool>;

/// How many stderr lines [`ProcessOutcome::stderr_tail`] keeps.
pub const STDERR_TAIL_LINES: usize = 50;

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

/// The [`Command`] for `spec`: argument vector, empty environment plus the
/// minimal one of [`env`](mod@env), its own process group, the parent-death signal
/// armed and, for [`ProcessSpec::as_build_user`] specs, the `run_as` user.
fn command(spec: &ProcessSpec) -> Command {
    let setup = env::current();
    let mut command = Command::new(&spec.program);
    command.args(&spec.args).env_clear().process_group(0);
    for (key, value) in env::child_env(&setup, spec.build_user, &spec.env) {
        command.env(key, value);
    }
    if let Some(dir) = &spec.cwd {
        command.current_dir(dir);
    }
    let user = setup.run_as.as_ref().filter(|_| spec.build_user);
    spawn::arm(&mut command, user);
    command
}

/// A program running in the background (an ssh master connection), with its
/// stdin, stdout and stderr on `/dev/null`. Its process group is killed when
/// this is dropped, and it dies with Slipway like every child.
#[derive(Debug)]
pub struct Background {
    child: Child,
}

impl Background {
    /// Starts `spec` (its stdin bytes and timeout are ignored).
    pub fn start(spec: &ProcessSpec) -> Result<Self, ProcessError> {
        let mut command = command(spec);
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let child = spawn::spawn(command).map_err(|source| ProcessError::Spawn {
            program: spec.program.to_string_lossy().into_owned(),
            source,
        })?;
        Ok(Self { child })
    }

    /// Whether the program has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        spawn::kill_group(&mut self.child);
        let _ = self.child.wait();
    }
}

/// Runs `spec`, passing every output line (scrubbed, capped) to `on_line` as
/// it arrives, and returns the exit status with the last stderr lines. A
/// non-zero exit is not an error here: callers judge the status.
pub fn run(spec: &ProcessSpec, on_line: &mut dyn FnMut(OutputLine)) -> Result<ProcessOutcome, ProcessError> {
    let program = spec.program.to_string_lossy().into_owned();
    let mut command = command(spec);
    command
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = spawn::spawn(command).map_err(|source| ProcessError::Spawn {
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
    let (tx, rx) = output::channel();
    let mut open_streams = 0;
    if let Some(out) = child.stdout.take() {
        output::spawn_reader(Stream::Stdout, out, tx.clone());
        open_streams += 1;
    }
    if let Some(err) = child.stderr.take() {
        output::spawn_reader(Stream::Stderr, err, tx.clone());
        open_streams += 1;
    }
    drop(tx);

    let deadline = spec.timeout.map(|t| started + t);
    let mut tail = VecDeque::with_capacity(STDERR_TAIL_LINES);
    let mut deliver = |stream: Stream, bytes: Vec<u8>, dropped: u64, tail: &mut VecDeque<String>| {
        let text = scrub::scrub_all(&output::decode(bytes, dropped), &spec.secrets);
        if stream == Stream::Stderr {
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(text.clone());
        }
        on_line(OutputLine { stream, text });
    };

    let cancel = spec.cancel.as_deref();
    let stop = output::read_until_eof(&rx, &mut open_streams, deadline, cancel, &mut |s, b, d| {
        deliver(s, b, d, &mut tail)
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
            spawn::kill_group(&mut child);
            let _ = child.wait();
            // Pick up what was written before the kill, without blocking on a
            // pipe some escaped grandchild may still hold.
            let grace = Some(Instant::now() + Duration::from_millis(300));
            output::read_until_eof(&rx, &mut open_streams, grace, None, &mut |s, b, d| {
                deliver(s, b, d, &mut tail)
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

/// Both pipes are closed; the program is exiting (or a daemonised grandchild
/// closed them). Waits within what is left of the timeout, looking at the
/// cancel flag meanwhile.
fn wait_exit(
    child: &mut Child,
    deadline: Option<Instant>,
    cancel: Option<&AtomicBool>,
) -> io::Result<Result<ExitStatus, Stop>> {
    loop {
        if output::is_set(cancel) {
            return Ok(Err(Stop::Cancelled));
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let slice = match (left, cancel) {
            (None, None) => return child.wait().map(Ok),
            (Some(left), None) => left,
            (left, Some(_)) => left.map_or(output::CANCEL_POLL, |l| l.min(output::CANCEL_POLL)),
        };
        if let Some(status) = child.wait_timeout(slice)? {
            return Ok(Ok(status));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Err(Stop::Deadline));
        }
    }
}
