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

use super::settings::safe_e_word;
use super::{DeployError, DeployHost, Target};

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
