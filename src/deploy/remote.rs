//! The transport to one host: run commands (over ssh, or locally for local
//! targets) and rsync to and from it (`current` and hooks:
//! `super::current`; release directories: `super::releases`). rsync daemon
//! targets have no command channel: there everything goes through rsync itself (listing, a symlink upload for the switch, a
//! filtered `--delete` for pruning), and hooks are refused.

use std::cell::{Cell, OnceCell};
use std::time::Duration;

use super::mux::Mux;
use super::quote::shell_join;
use super::rsync::{rsh, ssh_options, Stats};
use super::shared_mux::SharedMux;
use super::{Context, DeployError, DeployHost, Target};
use crate::process::{run, OutputLine, ProcessError, ProcessSpec};

/// Commands on a host (readlink, ln, mv, ls, rm) are quick; a hook or an
/// upload may take long but not forever.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);
pub(super) const UPLOAD_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// The name of the temporary symlink renamed over `current`.
pub(super) const NEXT_LINK: &str = ".current.slipway-next";

/// Whether `name` is safe as a release directory name: letters, digits,
/// `._-`, not starting with `.` or `-`.
pub fn valid_release_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with(['.', '-'])
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Orders release names naturally (`v9` before `v10`).
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| -> (u64, String) {
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        (digits.parse().unwrap_or(0), s.to_owned())
    };
    key(a).cmp(&key(b))
}

/// How a command ended: exit code (`None`: killed), stdout lines, last stderr lines.
type Ran = (Option<i32>, Vec<String>, Vec<String>);

/// One host of one operation.
pub(crate) struct Host<'c, 'a> {
    pub ctx: &'c Context<'a>,
    pub host: &'c DeployHost,
    /// This host's own connection, once started (ssh targets).
    mux: OnceCell<Option<Mux>>,
    /// The connection this host shares with other targets on its machine,
    /// used instead of its own ([`super::shared_mux`]).
    shared: Option<&'c SharedMux>,
    /// Whether the next ssh may go without the shared connection: set for
    /// an operation that usually needs one command (a switch), so that one
    /// costs a single handshake; a second command starts the master.
    direct_first: Cell<bool>,
}

impl<'c, 'a> Host<'c, 'a> {
    /// A host for an operation of several commands (a release): ssh targets
    /// share one connection from the start.
    pub fn open(ctx: &'c Context<'a>, host: &'c DeployHost) -> Self {
        Self {
            ctx,
            host,
            mux: OnceCell::new(),
            shared: None,
            direct_first: Cell::new(false),
        }
    }

    /// This host riding on `shared`, the connection of its machine, when
    /// other targets of the operation are on it too (every command then
    /// goes over it, even the first of an operation opened for one).
    pub fn sharing(self, shared: Option<&'c SharedMux>) -> Self {
        Self { shared, ..self }
    }

    /// A host for an operation that usually needs one command (a switch,
    /// reading `current`): that command connects on its own; should more
    /// follow, they share a connection started then.
    pub fn open_for_one(ctx: &'c Context<'a>, host: &'c DeployHost) -> Self {
        Self {
            direct_first: Cell::new(true),
            ..Self::open(ctx, host)
        }
    }
}

impl Host<'_, '_> {
    /// The ssh options, riding on the machine's shared connection, else on
    /// the host's own (started on first use) unless this is the direct
    /// first command of [`Host::open_for_one`].
    pub(super) fn ssh_args(&self) -> Result<Vec<String>, DeployError> {
        let mut args = ssh_options(self.ctx)?;
        let direct = self.direct_first.replace(false);
        if let Some(shared) = self.shared {
            if let Some(mux) = shared.get(self.ctx, self.reach_target()) {
                args.extend(mux.ssh_options());
            }
            return Ok(args);
        }
        if direct {
            return Ok(args);
        }
        if let Some(mux) = self.mux.get_or_init(|| Mux::start(self.ctx, self.reach_target())) {
            args.extend(mux.ssh_options());
        }
        Ok(args)
    }

    /// Lets the next ssh (or rsync over ssh) go without the shared
    /// connection: for a command that may be the operation's only one.
    pub(super) fn next_ssh_direct(&self) {
        self.direct_first.set(true);
    }

    /// The host's name.
    pub(super) fn name(&self) -> &str {
        &self.host.name
    }

    /// A [`DeployError::Remote`] for `command` from its exit code and last error lines.
    pub(super) fn remote_failed(&self, command: String, outcome_code: Option<i32>, tail: &[String]) -> DeployError {
        let host = match &self.host.via {
            Some(relay) => format!("{} via relay {}", self.name(), relay.name()),
            None => self.name().to_owned(),
        };
        DeployError::Remote {
            host,
            command,
            message: describe(outcome_code, tail),
        }
    }

    /// Runs `spec`, streaming its lines; stdout lines are returned.
    pub(super) fn exec(&self, spec: &ProcessSpec) -> Result<Ran, DeployError> {
        let mut stdout = Vec::new();
        let spec = spec.clone().cancel_on(self.ctx.cancel.cloned());
        let outcome = run(&spec, &mut |line: OutputLine| {
            if line.stream == crate::process::Stream::Stdout {
                stdout.push(line.text.clone());
            }
            (self.ctx.on_line)(self.name(), line);
        })?;
        Ok((outcome.status.code(), stdout, outcome.stderr_tail))
    }

    /// Runs `cmds` one after the other on the host (stopping at the first
    /// failure), in `cwd`, with `env`. Over ssh they go as one command line:
    /// fixed `cd`/`env`/`&&` words plus quoted values.
    /// Returns the exit code (0 on success) and the stdout lines.
    pub(super) fn commands(
        &self,
        cmds: &[Vec<String>],
        cwd: Option<&str>,
        env: &[(String, String)],
    ) -> Result<Ran, DeployError> {
        self.commands_with(cmds, cwd, env, true, false)
    }

    /// Runs one command on the host; fails, naming it `what`, unless it succeeds.
    pub(super) fn run_checked(&self, argv: &[String], what: &str) -> Result<(), DeployError> {
        let (code, _, tail) = self.commands(&[argv.to_vec()], None, &[])?;
        if code != Some(0) {
            return Err(self.remote_failed(what.to_owned(), code, &tail));
        }
        Ok(())
    }

    /// [`Self::commands`]; with `stop_on_failure` false every command runs
    /// (joined by `;` over ssh) and the last one's exit code counts; with
    /// `hook` the commands are a project's hooks (run as `worker.run_as` on
    /// a local target).
    pub(super) fn commands_with(
        &self,
        cmds: &[Vec<String>],
        cwd: Option<&str>,
        env: &[(String, String)],
        stop_on_failure: bool,
        hook: bool,
    ) -> Result<Ran, DeployError> {
        let groups: Vec<&[Vec<String>]> = if stop_on_failure {
            vec![cmds]
        } else {
            cmds.chunks(1).collect()
        };
        self.groups(&groups, cwd, env, hook)
    }

    /// Runs `groups` in one round trip: the commands of a group one after
    /// the other while they succeed (`&&`), every group regardless of the
    /// one before (`;`); the last command run gives the exit code. Over ssh
    /// this is one command line of fixed `cd`/`env`/`&&`/`;` words plus
    /// quoted values.
    pub(super) fn groups(
        &self,
        groups: &[&[Vec<String>]],
        cwd: Option<&str>,
        env: &[(String, String)],
        hook: bool,
    ) -> Result<Ran, DeployError> {
        match &self.host.target {
            Target::Ssh { .. } => {
                let quote = |argv: &Vec<String>| {
                    let mut words = Vec::new();
                    if !env.is_empty() {
                        words.push("env".to_owned());
                        words.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
                    }
                    words.extend(argv.iter().cloned());
                    // Quoting `env` is harmless: 'env' is still env.
                    shell_join(&words)
                };
                let line: Vec<String> = groups
                    .iter()
                    .map(|group| group.iter().map(quote).collect::<Vec<_>>().join(" && "))
                    .collect();
                let mut line = line.join(" ; ");
                if let Some(dir) = cwd {
                    line = format!("cd {} && {{ {line} ; }}", shell_join(&[dir]));
                }
                // Behind a relay: the relay's ssh to the host runs `line`.
                let (destination, line) = self.ssh_line(line);
                let spec = ProcessSpec::new("ssh")
                    .args(self.ssh_args()?)
                    .args(["-T", "--"])
                    .arg(destination)
                    .arg(line)
                    .timeout(COMMAND_TIMEOUT);
                self.exec(&spec)
            }
            Target::Local { .. } => {
                let mut all_stdout = Vec::new();
                let mut last = (Some(0), Vec::new());
                for group in groups {
                    for argv in group.iter() {
                        let Some(program) = argv.first() else {
                            continue;
                        };
                        let mut spec = ProcessSpec::new(program).args(&argv[1..]).timeout(COMMAND_TIMEOUT);
                        if let Some(dir) = cwd {
                            spec = spec.cwd(dir);
                        }
                        for (k, v) in env {
                            spec = spec.env(k, v);
                        }
                        if hook {
                            // A project's hook on the Slipway machine: `worker.run_as`.
                            spec = spec.as_build_user();
                        }
                        let (code, stdout, tail) = self.exec(&spec)?;
                        all_stdout.extend(stdout);
                        last = (code, tail);
                        if code != Some(0) {
                            break;
                        }
                    }
                }
                Ok((last.0, all_stdout, last.1))
            }
            Target::Daemon { .. } => Err(DeployError::Unsupported(format!(
                "{}: rsync:// targets cannot run commands (hooks need an ssh or local target)",
                self.name()
            ))),
        }
    }

    /// Whether an exit code means ssh itself failed (could not connect, host
    /// key mismatch…) rather than the remote command.
    pub(super) fn ssh_failed(&self, code: Option<i32>) -> bool {
        matches!(self.host.target, Target::Ssh { .. }) && (code == Some(255) || code.is_none())
    }

    /// The target's directory.
    pub(super) fn dir(&self) -> String {
        self.host.target.dir().to_owned()
    }

    /// `rsync` with the transport options of the target (ssh `-e`, daemon password file).
    pub(super) fn rsync(&self) -> Result<ProcessSpec, DeployError> {
        self.rsync_over(false)
    }

    /// Like [`Self::rsync`], for an upload of the whole tree: a host that
    /// shares its machine's connection sends it over one of its own. One
    /// ssh process carries all of a connection's data, so the bulk uploads
    /// of several targets over one connection would queue behind one CPU;
    /// each takes one handshake, as it would alone.
    pub(super) fn rsync_bulk(&self) -> Result<ProcessSpec, DeployError> {
        self.rsync_over(true)
    }

    fn rsync_over(&self, bulk: bool) -> Result<ProcessSpec, DeployError> {
        if let Some(relay) = &self.host.via {
            // Never straight to a host behind a relay: Slipway may have no way there.
            return Err(DeployError::Unsupported(format!(
                "{} is reached through relay {}: this operation cannot go through a relay",
                self.name(),
                relay.name()
            )));
        }
        let mut spec = ProcessSpec::new("rsync").timeout(UPLOAD_TIMEOUT);
        match &self.host.target {
            Target::Ssh { .. } => {
                let words = match self.shared {
                    Some(_) if bulk => ssh_options(self.ctx)?,
                    _ => self.ssh_args()?,
                };
                spec = spec.arg("-e").arg(rsh(&words)?);
            }
            Target::Daemon { .. } => {
                if let Some(file) = &self.ctx.settings.rsync_password_file {
                    spec = spec.arg(format!("--password-file={}", file.display()));
                }
            }
            Target::Local { .. } => {}
        }
        Ok(spec)
    }

    /// Runs an rsync, streaming its lines; its `--stats` figures and stdout lines.
    pub(super) fn run_rsync(&self, spec: ProcessSpec) -> Result<(Stats, Vec<String>), DeployError> {
        let mut stats = Stats::default();
        let mut stdout = Vec::new();
        let spec = spec.cancel_on(self.ctx.cancel.cloned());
        let outcome = run(&spec, &mut |line: OutputLine| {
            stats.add_line(&line.text);
            if line.stream == crate::process::Stream::Stdout {
                stdout.push(line.text.clone());
            }
            (self.ctx.on_line)(self.name(), line);
        })
        .map_err(|e| match e {
            ProcessError::Timeout { stderr_tail, .. } => DeployError::Rsync {
                host: self.name().to_owned(),
                code: -1,
                message: format!("timed out; {}", stderr_tail.join(" / ")),
            },
            other => other.into(),
        })?;
        if !outcome.success() {
            return Err(DeployError::Rsync {
                host: self.name().to_owned(),
                code: outcome.status.code().unwrap_or(-1),
                message: describe(outcome.status.code(), &outcome.stderr_tail),
            });
        }
        Ok((stats, stdout))
    }
}

/// "exit N: last lines" for an error message.
pub(crate) fn describe(code: Option<i32>, tail: &[String]) -> String {
    let last: Vec<&str> = tail.iter().rev().take(3).rev().map(String::as_str).collect();
    let status = match code {
        Some(c) => format!("exit {c}"),
        None => "killed".to_owned(),
    };
    if last.is_empty() {
        status
    } else {
        format!("{status}: {}", last.join(" / "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_and_order() {
        assert!(valid_release_name("v7"));
        assert!(valid_release_name("release-2026.1"));
        assert!(!valid_release_name(".current"));
        assert!(!valid_release_name("-rf"));
        assert!(!valid_release_name("a/b"));
        assert!(!valid_release_name("a b"));
        let mut v = vec!["v10", "v9", "v1", "v100"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["v1", "v9", "v10", "v100"]);
    }
}
