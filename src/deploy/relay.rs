//! Relay release (DESIGN.md "Reach"): a host group may name a relay, an ssh
//! target in the group's region with its own directory. A release crosses
//! the long link once, to the relay (`<relay path>/releases/<version>`, as a
//! delta when the relay's `current` is the release the group's hosts were
//! recorded at, like any host), then the relay fans it out: Slipway drives
//! every step of each host behind it through the relay's ssh —
//!
//! ```text
//! commands:  ssh <Slipway's options> relay -- ssh <relay-side options> host -- <command>
//! upload:    ssh <Slipway's options> relay -- rsync … -e 'ssh <relay-side options>' \
//!                <relay path>/releases/<version>/ host:<path>/releases/<upload>/
//! ```
//!
//! so Slipway never needs access to those hosts. Both command lines are
//! built from argument vectors quoted with [`shell_join`] (the relay's shell
//! and the host's shell each unquote one level); the relay-side options are
//! fixed words plus values held to the same character fences as Slipway's
//! own ssh settings (`BatchMode`, strict host key checking always on).

use std::collections::HashMap;

use super::quote::shell_join;
use super::remote::Host;
use super::rsync::{exclude_args, rsh, Stats};
use super::settings::{safe_e_word, DeployMode};
use super::{DeployError, DeployHost, Target};
use crate::process::{OutputLine, ProcessSpec, Stream};

/// The health check run on a relay: `$1` the URL, `$2` the seconds to wait.
const HEALTH_SCRIPT: &str = r#"end=$(( $(date +%s) + $2 )); while :; do code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --url "$1"); case "$code" in 2??) exit 0;; esac; if [ "$(date +%s)" -ge "$end" ]; then echo "no 2xx answer within $2 s (last: HTTP $code)" >&2; exit 1; fi; sleep 0.5; done"#;

/// Empties the directories a delta removes, on the host itself (an empty
/// source with `--delete`): `$1` the destination, then the rsync filters.
const VANISH_SCRIPT: &str =
    r#"d=$1; shift; e=$(mktemp -d) || exit 1; rsync -r --delete "$@" -- "$e/" "$d/"; r=$?; rmdir "$e"; exit $r"#;

/// How long the relay keeps its shared connection to a host after the last use.
const RELAY_PERSIST_SECS: u32 = 60;

/// A relay: where a group's releases land once, and from where its hosts
/// are reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// `[user@]host:/path` over ssh, reached with the project's ssh settings.
    pub target: Target,
    /// The hosts' ssh port, as the relay reaches them (ssh's default when absent).
    pub port: Option<u16>,
    /// A private key file ON THE RELAY for reaching the hosts (`-i`;
    /// default: the relay user's own ssh configuration).
    pub identity: Option<String>,
    /// A known_hosts file ON THE RELAY pinning the hosts' keys (default: the
    /// relay user's own `~/.ssh/known_hosts`).
    pub known_hosts: Option<String>,
}

fn bad(target: &str, problem: &str) -> DeployError {
    DeployError::BadTarget {
        target: target.escape_debug().to_string(),
        problem: problem.to_owned(),
    }
}

/// An absolute path on the relay usable as one word of rsync's `-e`.
fn relay_path_ok(path: &str) -> bool {
    path.starts_with('/')
        && safe_e_word(path)
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+@,=~%".contains(c))
        && !path.split('/').any(|part| part == ".." || part.starts_with('-'))
}

impl Relay {
    /// Parses and validates a relay as a host group stores it: `target` an
    /// ssh target (`[user@]host:/path`), `identity` and `known_hosts`
    /// absolute paths on the relay (the target's character fence), `port` 1–65535.
    pub fn parse(
        target: &str,
        port: Option<u16>,
        identity: Option<&str>,
        known_hosts: Option<&str>,
    ) -> Result<Self, DeployError> {
        let parsed = Target::parse(target)?;
        if !matches!(parsed, Target::Ssh { .. }) {
            return Err(bad(target, "a relay must be an ssh target (user@host:/path)"));
        }
        if port == Some(0) {
            return Err(bad(target, "the hosts' ssh port must be between 1 and 65535"));
        }
        for (what, path) in [("identity", identity), ("known_hosts", known_hosts)] {
            if let Some(p) = path.filter(|p| !relay_path_ok(p)) {
                return Err(bad(
                    p,
                    &format!("relay {what} must be an absolute path with letters, digits, `/._-+@,=~%` and no `..`"),
                ));
            }
        }
        Ok(Self {
            target: parsed,
            port,
            identity: identity.map(str::to_owned),
            known_hosts: known_hosts.map(str::to_owned),
        })
    }

    /// The relay's name in logs: its target, e.g. `deploy@relay1:/srv/relay`.
    pub fn name(&self) -> String {
        self.target.to_string()
    }

    /// `[user@]host` of the relay.
    pub(super) fn login(&self) -> String {
        login(&self.target)
    }

    /// The relay as a host of its own (the stage that brings it the release).
    pub(super) fn as_host(&self) -> DeployHost {
        DeployHost {
            name: format!("relay {}", self.name()),
            target: self.target.clone(),
            via: None,
        }
    }

    /// The ssh options the relay uses to reach a host: batch mode, strict
    /// host key checking, the connect timeout, then port, known_hosts and identity.
    pub(super) fn host_ssh_options(&self, connect_timeout_secs: u32) -> Vec<String> {
        let mut args = vec![
            "-o".to_owned(),
            "BatchMode=yes".to_owned(),
            "-o".to_owned(),
            "StrictHostKeyChecking=yes".to_owned(),
            "-o".to_owned(),
            format!("ConnectTimeout={connect_timeout_secs}"),
        ];
        if let Some(port) = self.port {
            args.extend(["-p".to_owned(), port.to_string()]);
        }
        if let Some(kh) = &self.known_hosts {
            args.extend([
                "-o".to_owned(),
                format!("UserKnownHostsFile={kh}"),
                "-o".to_owned(),
                "GlobalKnownHostsFile=/dev/null".to_owned(),
            ]);
        }
        if let Some(id) = &self.identity {
            args.extend([
                "-i".to_owned(),
                id.clone(),
                "-o".to_owned(),
                "IdentitiesOnly=yes".to_owned(),
            ]);
        }
        // The relay's connection to each host is shared by the commands and
        // rsyncs of a release (one handshake per host, not per step), and
        // closes a minute after its last use. When the socket cannot be
        // made, ssh goes on without sharing.
        args.extend([
            "-o".to_owned(),
            "ControlMaster=auto".to_owned(),
            "-o".to_owned(),
            format!("ControlPath={}/.slipway-mux-%C", self.target.dir()),
            "-o".to_owned(),
            format!("ControlPersist={RELAY_PERSIST_SECS}"),
        ]);
        args
    }

    /// The directory of release `version` on the relay.
    pub(super) fn release_dir(&self, version: &str) -> String {
        format!("{}/releases/{version}", self.target.dir())
    }
}

/// `[user@]host` of an ssh target (its host for other kinds).
pub(super) fn login(target: &Target) -> String {
    match target {
        Target::Ssh {
            user: Some(u), host, ..
        } => format!("{u}@{host}"),
        other => other.host_name().to_owned(),
    }
}

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
        let mut argv: Vec<String> = ["rsync", "-rlp", "--delete", "--mkpath", "--stats"]
            .map(str::to_owned)
            .to_vec();
        argv.extend(exclude_args(self.ctx.excludes)?);
        if checksum || link_dest.is_some() {
            argv.push("--checksum".to_owned());
        }
        if let Some(link) = link_dest {
            argv.push(format!("--link-dest={link}"));
        }
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
        let differences: Vec<&String> = lines.iter().filter(|l| !l.trim().is_empty()).collect();
        if differences.is_empty() {
            return Ok(());
        }
        Err(DeployError::Verify {
            host: self.name().to_owned(),
            count: differences.len(),
            first: differences
                .iter()
                .take(5)
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" / "),
        })
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

/// The distinct relays of `hosts`, each with the indexes of its hosts.
pub(super) fn relays_of(hosts: &[DeployHost]) -> Vec<(&Relay, Vec<usize>)> {
    let mut out: Vec<(&Relay, Vec<usize>)> = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        if let Some(relay) = &h.via {
            match out.iter_mut().find(|(r, _)| *r == relay) {
                Some((_, list)) => list.push(i),
                None => out.push((relay, vec![i])),
            }
        }
    }
    out
}

/// What the relay stage knows for a delta to the relay: the release most
/// of its hosts were recorded at is taken as the relay's record (the relay
/// received it for them); the relay's `current` is checked against it
/// before any change is sent, and a mismatch means a full upload (with
/// `--link-dest` to the relay's live release).
pub(super) fn relay_delta(delta: &super::Delta, relay: &DeployHost, hosts: &[&DeployHost]) -> super::Delta {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for h in hosts {
        if let Some(v) = delta.recorded.get(&h.name) {
            *counts.entry(v.as_str()).or_default() += 1;
        }
    }
    let mut out = super::Delta {
        recorded: HashMap::new(),
        changes: delta.changes.clone(),
    };
    if let Some((v, _)) = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0))) {
        out.recorded.insert(relay.name.clone(), v.to_owned());
    }
    out
}

/// The settings of the relay stage: the project's, without hooks, health
/// check or service restarts (the relay serves nothing), always atomic.
pub(super) fn relay_settings(s: &super::DeploySettings) -> super::DeploySettings {
    let mut out = s.clone();
    out.mode = DeployMode::Atomic;
    out.hooks = Default::default();
    out.health = None;
    out.restarts = Default::default();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_relays_within_the_fences() {
        let r = Relay::parse(
            "deploy@relay1:/srv/relay",
            Some(2222),
            Some("/home/deploy/.ssh/id_fanout"),
            None,
        )
        .expect("relay");
        assert_eq!(r.login(), "deploy@relay1");
        assert_eq!(r.release_dir("v3"), "/srv/relay/releases/v3");
        let opts = r.host_ssh_options(10);
        assert!(opts.contains(&"StrictHostKeyChecking=yes".to_owned()));
        assert!(opts.windows(2).any(|w| w == ["-p", "2222"]));
        assert!(Relay::parse("/srv/relay", None, None, None).is_err());
        assert!(Relay::parse("rsync://h/m", None, None, None).is_err());
        assert!(Relay::parse("r:/p", Some(0), None, None).is_err());
        for bad in ["relative", "/a b", "/a'b", "/a/../b", "/a;b", "/-x"] {
            assert!(Relay::parse("r:/p", None, Some(bad), None).is_err(), "{bad}");
            assert!(Relay::parse("r:/p", None, None, Some(bad)).is_err(), "{bad}");
        }
    }
}
