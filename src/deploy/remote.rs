//! Operations on one host: run commands (over ssh, or locally for local
//! targets), rsync to and from it, read and switch `current`, run hooks
//! (release directories: `super::releases`). rsync daemon targets have no command channel: there everything
//! goes through rsync itself (listing, a symlink upload for the switch, a
//! filtered `--delete` for pruning), and hooks are refused.

use std::time::Duration;

use super::mux::{Mux, ScratchDir};
use super::quote::shell_join;
use super::rsync::{rsh, ssh_options, Stats};
use super::{Context, DeployError, DeployHost, Target};
use crate::process::{run, OutputLine, ProcessError, ProcessSpec};

/// Commands on a host (readlink, ln, mv, ls, rm) are quick; a hook or an
/// upload may take long but not forever.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// The name of the temporary symlink renamed over `current`.
const NEXT_LINK: &str = ".current.slipway-next";

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
    mux: Option<Mux>,
}

impl<'c, 'a> Host<'c, 'a> {
    /// A host for one operation; for ssh targets with a master connection.
    pub fn open(ctx: &'c Context<'a>, host: &'c DeployHost) -> Self {
        let mux = Mux::start(ctx, &host.target);
        Self { ctx, host, mux }
    }
}

impl Host<'_, '_> {
    /// The ssh options, riding on the master connection when there is one.
    pub(super) fn ssh_args(&self) -> Result<Vec<String>, DeployError> {
        let mut args = ssh_options(self.ctx)?;
        if let Some(mux) = &self.mux {
            args.extend([
                "-o".to_owned(),
                "ControlMaster=no".to_owned(),
                "-o".to_owned(),
                format!("ControlPath={}", mux.socket.display()),
            ]);
        }
        Ok(args)
    }

    /// The host's name.
    pub(super) fn name(&self) -> &str {
        &self.host.name
    }

    /// A [`DeployError::Remote`] for `command` from its exit code and last error lines.
    pub(super) fn remote_failed(&self, command: String, outcome_code: Option<i32>, tail: &[String]) -> DeployError {
        DeployError::Remote {
            host: self.name().to_owned(),
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
        match &self.host.target {
            Target::Ssh { user, host, .. } => {
                let mut line = Vec::new();
                if let Some(dir) = cwd {
                    line.push(format!("cd {}", shell_join(&[dir])));
                }
                for argv in cmds {
                    let mut words = Vec::new();
                    if !env.is_empty() {
                        words.push("env".to_owned());
                        words.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
                    }
                    words.extend(argv.iter().cloned());
                    let quoted = shell_join(&words);
                    // `env` itself must stay a command word, not a quoted string
                    // (quoting it is harmless: 'env' is still env).
                    line.push(quoted);
                }
                let destination = match user {
                    Some(u) => format!("{u}@{host}"),
                    None => host.clone(),
                };
                let spec = ProcessSpec::new("ssh")
                    .args(self.ssh_args()?)
                    .args(["-T", "--"])
                    .arg(destination)
                    .arg(line.join(if stop_on_failure { " && " } else { " ; " }))
                    .timeout(COMMAND_TIMEOUT);
                self.exec(&spec)
            }
            Target::Local { .. } => {
                let mut all_stdout = Vec::new();
                let mut last = (Some(0), Vec::new());
                for argv in cmds {
                    let mut spec = ProcessSpec::new(&argv[0]).args(&argv[1..]).timeout(COMMAND_TIMEOUT);
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
                    if code != Some(0) && stop_on_failure {
                        break;
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
        let mut spec = ProcessSpec::new("rsync").timeout(UPLOAD_TIMEOUT);
        match &self.host.target {
            Target::Ssh { .. } => spec = spec.arg("-e").arg(rsh(&self.ssh_args()?)?),
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

    /// The release `current` points at (`None`: no `current` yet).
    pub fn live(&self) -> Result<Option<String>, DeployError> {
        let link = match &self.host.target {
            Target::Daemon { .. } => {
                let spec = self
                    .rsync()?
                    .args(["--list-only", "-l", "--"])
                    .arg(self.host.target.rsync_dest("current").trim_end_matches('/'));
                match self.run_rsync(spec) {
                    Ok((_, lines)) => lines
                        .iter()
                        .find_map(|l| l.split_once(" current -> ").map(|(_, t)| t.trim().to_owned())),
                    // 23: partial transfer, here "no such file".
                    Err(DeployError::Rsync { code: 23, .. }) => None,
                    Err(e) => return Err(e),
                }
            }
            _ => {
                let current = format!("{}/current", self.dir());
                let argv = vec!["readlink".to_owned(), "--".to_owned(), current];
                let (code, stdout, tail) = self.commands(std::slice::from_ref(&argv), None, &[])?;
                if self.ssh_failed(code) {
                    return Err(self.remote_failed(shell_join(&argv), code, &tail));
                }
                if code == Some(0) {
                    stdout.first().map(|s| s.trim().to_owned())
                } else {
                    None
                }
            }
        };
        Ok(link.map(|target| {
            let target = target.trim_end_matches('/');
            target.rsplit('/').next().unwrap_or(target).to_owned()
        }))
    }

    /// The live release and the kept ones, in one round trip over ssh.
    pub fn state(&self) -> Result<(Option<String>, Vec<String>), DeployError> {
        if !matches!(self.host.target, Target::Ssh { .. }) {
            return Ok((self.live()?, self.releases()?));
        }
        let dir = self.dir();
        let cmds = vec![
            vec!["readlink".to_owned(), "--".to_owned(), format!("{dir}/current")],
            vec![
                "ls".to_owned(),
                "-1".to_owned(),
                "--".to_owned(),
                format!("{dir}/releases"),
            ],
        ];
        let (code, stdout, tail) = self.commands_with(&cmds, None, &[], false, false)?;
        if self.ssh_failed(code) {
            return Err(self.remote_failed("readlink current; ls releases".to_owned(), code, &tail));
        }
        // readlink prints `releases/<version>`; ls prints bare names.
        let live = stdout.iter().find(|l| l.contains('/')).map(|l| {
            l.trim()
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        let mut names: Vec<String> = stdout.into_iter().filter(|l| valid_release_name(l)).collect();
        names.sort_by(|a, b| natural_cmp(a, b));
        Ok((live, names))
    }

    /// Points `current` at `releases/<version>` by renaming a fresh symlink
    /// over it (rename(2) is atomic: a reader sees the old or the new release).
    pub fn switch(&self, version: &str) -> Result<(), DeployError> {
        let link_target = format!("releases/{version}");
        match &self.host.target {
            Target::Daemon { .. } => {
                // rsync creates a changed symlink under a temporary name and
                // renames it into place. The module needs `munge symlinks = no`.
                let scratch = ScratchDir::new("switch")?;
                let link = scratch.path().join("current");
                std::os::unix::fs::symlink(&link_target, &link).map_err(|source| DeployError::Io {
                    what: format!("creating {}", link.display()),
                    source,
                })?;
                let spec = self
                    .rsync()?
                    .args(["-l", "--"])
                    .arg(&link)
                    .arg(self.host.target.rsync_dest(""));
                self.run_rsync(spec)?;
                Ok(())
            }
            _ => {
                let dir = self.dir();
                let next = format!("{dir}/{NEXT_LINK}");
                let cmds = vec![
                    vec!["ln".into(), "-sfn".into(), "--".into(), link_target, next.clone()],
                    vec!["mv".into(), "-T".into(), "--".into(), next, format!("{dir}/current")],
                ];
                let (code, _, tail) = self.commands(&cmds, None, &[])?;
                if code != Some(0) {
                    return Err(self.remote_failed(format!("switch current to releases/{version}"), code, &tail));
                }
                Ok(())
            }
        }
    }

    /// Runs the hooks in the target's directory with the context's
    /// environment plus `SLIPWAY_RELEASE_DIR`; the first failure is returned.
    pub fn hooks(&self, hooks: &[Vec<String>], release_dir: &str) -> Result<(), DeployError> {
        if hooks.is_empty() {
            return Ok(());
        }
        let mut env = self.ctx.env.to_vec();
        env.push(("SLIPWAY_RELEASE_DIR".into(), release_dir.to_owned()));
        for hook in hooks {
            let failed = |message: String| DeployError::Hook {
                host: self.name().to_owned(),
                command: hook.join(" "),
                message,
            };
            let dir = self.dir();
            let (code, _, tail) = self
                .commands_with(std::slice::from_ref(hook), Some(&dir), &env, true, true)
                .map_err(|e| failed(e.to_string()))?;
            if code != Some(0) {
                return Err(failed(describe(code, &tail)));
            }
        }
        Ok(())
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
