//! The transport to a host behind a relay (`super::relay`): the ssh line
//! wrapped in the relay's ssh to the host, the uploads and checks the relay
//! runs from its copy of the release, the health check from the relay.

use super::quote::shell_join;
use super::relay::{login, Relay};
use super::remote::Host;
use super::rsync::{exclude_args, rsh, whole_tree_args, Stats};
use super::{DeployError, Target};
use crate::process::{OutputLine, ProcessSpec, Stream};

/// The health check run on a relay: `$1` the URL, `$2` the seconds to wait.
const HEALTH_SCRIPT: &str = r#"end=$(( $(date +%s) + $2 )); while :; do code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --url "$1"); case "$code" in 2??) exit 0;; esac; if [ "$(date +%s)" -ge "$end" ]; then echo "no 2xx answer within $2 s (last: HTTP $code)" >&2; exit 1; fi; sleep 0.5; done"#;

/// Empties the directories a delta removes, on the host itself (an empty
/// source with `--delete`): `$1` the destination, then the rsync filters.
const VANISH_SCRIPT: &str =
    r#"d=$1; shift; e=$(mktemp -d) || exit 1; rsync -r --delete "$@" -- "$e/" "$d/"; r=$?; rmdir "$e"; exit $r"#;

impl Host<'_, '_> {
    /// Where ssh connects for this host: the relay when it has one.
    pub(super) fn reach_target(&self) -> &Target {
        match &self.host.via {
            Some(relay) => &relay.target,
            None => &self.host.target,
        }
    }

    /// The ssh destination and command line for `line` (a command line for
    /// the host's shell): itself, or wrapped in the relay's ssh to the host.
    pub(super) fn ssh_line(&self, line: String) -> (String, String) {
        match &self.host.via {
            None => (login(&self.host.target), line),
            Some(relay) => {
                let mut argv = vec!["ssh".to_owned()];
                argv.extend(relay.host_ssh_options(self.ctx.settings.ssh.connect_timeout_secs));
                argv.extend(["-T".to_owned(), "--".to_owned(), login(&self.host.target), line]);
                (relay.login(), shell_join(&argv))
            }
        }
    }

    /// Brings release `version` into `sub` below the target's directory:
    /// from `source` (this machine), or for a host behind a relay by an
    /// rsync the relay runs from its copy of the release. Returns what
    /// Slipway itself sent (nothing for a relayed host: the relay's bytes
    /// to the host are logged apart).
    pub(super) fn send(
        &self,
        source: &std::path::Path,
        version: &str,
        sub: &str,
        link_dest: Option<&str>,
        checksum: bool,
    ) -> Result<Stats, DeployError> {
        let Some(relay) = &self.host.via else {
            return self.upload(source, sub, link_dest, checksum);
        };
        let mut argv = vec!["rsync".to_owned()];
        argv.extend(whole_tree_args(link_dest, checksum, self.ctx.excludes)?);
        self.relay_rsync(relay, argv, version, sub, None)
            .map(|_| Stats::default())
    }

    /// Sends only `changes` into `sub` (`super::upload` `upload_changes`):
    /// for a host behind a relay, the relay sends the listed files from its
    /// copy of the release (the list goes to the relay's rsync on stdin),
    /// and the directories the release no longer has are emptied (but for
    /// host-only files) and removed on the host itself. Returns what Slipway
    /// itself sent.
    pub(super) fn send_changes(
        &self,
        source: &std::path::Path,
        version: &str,
        sub: &str,
        changes: &super::ChangeSet,
    ) -> Result<Stats, DeployError> {
        let Some(relay) = &self.host.via else {
            return self.upload_changes(source, sub, changes);
        };
        let transfer = changes.transfer(source);
        if !transfer.files_from.is_empty() {
            let mut argv: Vec<String> = [
                "rsync",
                "-lpI",
                "--from0",
                "--delete-missing-args",
                "--stats",
                "--files-from=-",
            ]
            .map(str::to_owned)
            .to_vec();
            argv.extend(exclude_args(self.ctx.excludes)?);
            self.relay_rsync(relay, argv, version, sub, Some(transfer.files_from.clone()))?;
        }
        if !transfer.vanished.is_empty() {
            let dest = if sub.is_empty() {
                self.dir()
            } else {
                format!("{}/{sub}", self.dir())
            };
            let mut argv = vec![
                "sh".to_owned(),
                "-c".to_owned(),
                VANISH_SCRIPT.to_owned(),
                "sh".to_owned(),
                dest,
            ];
            argv.extend(exclude_args(self.ctx.excludes)?);
            argv.extend(transfer.vanished_filters());
            self.run_checked(&argv, "remove the directories the release no longer has")?;
        }
        Ok(Stats::default())
    }

    /// The checksum comparison of the upload in `sub` with the release
    /// (`super::upload` `verify`); for a relayed host against the relay's copy.
    pub(super) fn check(&self, source: &std::path::Path, version: &str, sub: &str) -> Result<(), DeployError> {
        let Some(relay) = &self.host.via else {
            return self.verify(source, sub);
        };
        let mut argv: Vec<String> = ["rsync", "-rlpn", "--checksum", "--delete", "-i"]
            .map(str::to_owned)
            .to_vec();
        argv.extend(exclude_args(self.ctx.excludes)?);
        let lines = self.relay_rsync(relay, argv, version, sub, None)?;
        self.verified(&lines)
    }

    /// Runs `argv` (an rsync without its source and destination) on the
    /// relay, from the relay's `releases/<version>/` to `sub` below this
    /// host's directory. Its `--stats` lines are logged as the relay's
    /// (`via relay …:`), so they never count as bytes Slipway sent; the
    /// other stdout lines are returned. `stdin` goes to the relay's rsync.
    fn relay_rsync(
        &self,
        relay: &Relay,
        mut argv: Vec<String>,
        version: &str,
        sub: &str,
        stdin: Option<Vec<u8>>,
    ) -> Result<Vec<String>, DeployError> {
        let rsh = rsh(&relay.host_ssh_options(self.ctx.settings.ssh.connect_timeout_secs))?;
        argv.extend([
            "-e".to_owned(),
            rsh,
            "--".to_owned(),
            format!("{}/", relay.release_dir(version)),
            self.host.target.rsync_dest(sub),
        ]);
        let mut spec = ProcessSpec::new("ssh")
            .args(self.ssh_args()?)
            .args(["-T", "--"])
            .arg(relay.login())
            .arg(shell_join(&argv))
            .timeout(super::remote::UPLOAD_TIMEOUT)
            .cancel_on(self.ctx.cancel.cloned());
        if let Some(bytes) = stdin {
            spec = spec.stdin(bytes);
        }
        let name = relay.name();
        let mut stats = Stats::default();
        let mut stdout = Vec::new();
        let outcome = crate::process::run(&spec, &mut |line: OutputLine| {
            stats.add_line(&line.text);
            let stat = line.text.starts_with("Total bytes") || line.text.starts_with("Number of");
            if line.stream == Stream::Stdout && !stat {
                stdout.push(line.text.clone());
            }
            let text = if stat {
                format!("via relay {name}: {}", line.text)
            } else {
                line.text
            };
            (self.ctx.on_line)(
                self.name(),
                OutputLine {
                    stream: line.stream,
                    text,
                },
            );
        })?;
        if !outcome.success() {
            return Err(DeployError::Rsync {
                host: format!("{} via relay {name}", self.name()),
                code: outcome.status.code().unwrap_or(-1),
                message: super::remote::describe(outcome.status.code(), &outcome.stderr_tail),
            });
        }
        self.say(format!(
            "via relay {name}: the relay sent {} bytes ({} files) to this host; Slipway sent none",
            stats.bytes_sent, stats.files_transferred
        ));
        Ok(stdout)
    }

    /// The health check of a host behind a relay, run ON the relay (Slipway
    /// may have no way to the host's port): `curl` there until a 2xx answer
    /// or `timeout_secs` pass. `url_template` is a validated `http://` URL;
    /// `{host}` becomes the host's address.
    pub(super) fn health_on_relay(
        &self,
        relay: &Relay,
        url_template: &str,
        timeout_secs: u32,
    ) -> Result<(), DeployError> {
        let url = url_template.replace("{host}", self.host.target.host_name());
        let argv = [
            "sh".to_owned(),
            "-c".to_owned(),
            HEALTH_SCRIPT.to_owned(),
            "sh".to_owned(),
            url.clone(),
            timeout_secs.to_string(),
        ];
        let spec = ProcessSpec::new("ssh")
            .args(self.ssh_args()?)
            .args(["-T", "--"])
            .arg(relay.login())
            .arg(shell_join(&argv))
            .timeout(std::time::Duration::from_secs(u64::from(timeout_secs) + 60));
        let (code, _, tail) = self.exec(&spec)?;
        if code == Some(0) {
            return Ok(());
        }
        Err(DeployError::Health {
            url,
            message: format!("from relay {}: {}", relay.name(), super::remote::describe(code, &tail)),
        })
    }

    /// Reports `text` as an output line of this host.
    pub(super) fn say(&self, text: String) {
        (self.ctx.on_line)(
            self.name(),
            OutputLine {
                stream: Stream::Stdout,
                text,
            },
        )
    }
}
