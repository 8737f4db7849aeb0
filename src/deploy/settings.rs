//! A project's deploy settings: stored as JSON in `projects.deploy` (`'{}'` =
//! all defaults) and written as `[project.deploy]` in the project import TOML.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::DeployError;

/// How a release lands on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployMode {
    /// Upload into `<path>/releases/<version>`, then switch `<path>/current`
    /// (a symlink) by atomic rename.
    #[default]
    Atomic,
    /// `rsync --delete` straight into `<path>` (for apps that cannot follow a symlink).
    Inplace,
}

/// In which order hosts are shipped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// All hosts at once, at most `parallelism` at a time (one batch).
    #[default]
    Parallel,
    /// One host after the other (each host its own batch).
    Serial,
    /// `canary` hosts first, then batches of `batch_size`.
    Batches,
}

/// ssh options for `user@host:/path` targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SshSettings {
    /// Port (default: ssh's, 22).
    pub port: Option<u16>,
    /// Private key file (`-i`).
    pub identity_file: Option<PathBuf>,
    /// Extra `-o Key=Value` options (only that form; `StrictHostKeyChecking`,
    /// `UserKnownHostsFile`, `ProxyCommand`, `LocalCommand`… are refused).
    pub options: Vec<String>,
    /// `ConnectTimeout` in seconds.
    pub connect_timeout_secs: u32,
}

impl Default for SshSettings {
    fn default() -> Self {
        Self {
            port: None,
            identity_file: None,
            options: Vec::new(),
            connect_timeout_secs: 10,
        }
    }
}

/// Commands (argument vectors) run around the switch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hooks {
    /// Run on each host (over ssh; locally for local targets) before the switch.
    pub before_switch: Vec<Vec<String>>,
    /// Run on each host after the switch; a failure fails that host.
    pub after_switch: Vec<Vec<String>>,
    /// Run locally (on the Slipway machine) after a successful release.
    pub after_release: Vec<Vec<String>>,
}

/// An HTTP health check run against each host after its switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// `http://` URL; `{host}` is replaced by the host's address.
    pub url: String,
    /// Seconds to wait for a 2xx answer (retrying) before the host fails.
    #[serde(default = "default_health_timeout")]
    pub timeout_secs: u32,
    /// In `batches`: when the canary fails its check, switch it back.
    #[serde(default)]
    pub revert_canary: bool,
}

fn default_health_timeout() -> u32 {
    10
}

/// A project's deploy settings (see the field docs for defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeploySettings {
    /// `atomic` (default) or `inplace`.
    pub mode: DeployMode,
    /// `parallel` (default), `serial` or `batches`.
    pub strategy: Strategy,
    /// Hosts shipped to at once (parallel, and within a batch). Default 4.
    pub parallelism: usize,
    /// `batches`: hosts in the first (canary) batch. Default 1.
    pub canary: usize,
    /// `batches`: hosts per later batch. Default 4.
    pub batch_size: usize,
    /// Atomic mode: releases kept per host (default 5); the live and the
    /// previous release are never pruned.
    pub keep_releases: usize,
    /// ssh options.
    pub ssh: SshSettings,
    /// Password file for `rsync://` targets (`--password-file`).
    pub rsync_password_file: Option<PathBuf>,
    /// Hooks.
    pub hooks: Hooks,
    /// Optional health check after each host's switch.
    pub health: Option<HealthCheck>,
    /// Atomic mode: after each upload, compare the new release directory
    /// with the release by checksum (an rsync dry run) and fail the host on
    /// any difference, before the switch. Off by default (it reads every
    /// file on both sides).
    pub verify: bool,
    /// Services to restart after the switch, by host name, each waited on
    /// until RUNNING: filled by the release job from the project's services
    /// (`restart_after_release`), never stored with these settings.
    #[serde(skip)]
    pub restarts: std::collections::BTreeMap<String, Vec<super::service_spec::ServiceSpec>>,
}

impl Default for DeploySettings {
    fn default() -> Self {
        Self {
            mode: DeployMode::Atomic,
            strategy: Strategy::Parallel,
            parallelism: 4,
            canary: 1,
            batch_size: 4,
            keep_releases: 5,
            ssh: SshSettings::default(),
            rsync_password_file: None,
            hooks: Hooks::default(),
            health: None,
            verify: false,
            restarts: Default::default(),
        }
    }
}

/// ssh `-o` keys that would undo the pinned host keys or run local commands.
const FORBIDDEN_SSH_OPTIONS: &[&str] = &[
    "stricthostkeychecking",
    "userknownhostsfile",
    "globalknownhostsfile",
    "proxycommand",
    "localcommand",
    "permitlocalcommand",
    "knownhostscommand",
    "batchmode",
    "controlpath",
    "controlmaster",
];

fn bad(message: impl Into<String>) -> DeployError {
    DeployError::Settings(message.into())
}

/// Whether `s` is safe as one word of an rsync `-e` command line (rsync splits
/// it on spaces; it does not run a shell).
pub(crate) fn safe_e_word(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\'' || c == '"' || c == '\\')
}

impl DeploySettings {
    /// Parses the JSON stored in `projects.deploy` and validates it.
    pub fn from_json(s: &str) -> Result<Self, DeployError> {
        let s = if s.trim().is_empty() { "{}" } else { s };
        let settings: Self = serde_json::from_str(s).map_err(|e| bad(format!("deploy settings: {e}")))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks the values: bounds, ssh options of the `Key=Value` form, paths
    /// usable in rsync's `-e`, non-empty hook argument vectors, an `http://` health URL.
    pub fn validate(&self) -> Result<(), DeployError> {
        if !(1..=256).contains(&self.parallelism) {
            return Err(bad("deploy.parallelism must be between 1 and 256"));
        }
        if !(1..=1000).contains(&self.canary) {
            return Err(bad("deploy.canary must be between 1 and 1000"));
        }
        if !(1..=1000).contains(&self.batch_size) {
            return Err(bad("deploy.batch_size must be between 1 and 1000"));
        }
        if !(1..=1000).contains(&self.keep_releases) {
            return Err(bad("deploy.keep_releases must be between 1 and 1000"));
        }
        if !(1..=600).contains(&self.ssh.connect_timeout_secs) {
            return Err(bad("deploy.ssh.connect_timeout_secs must be between 1 and 600"));
        }
        if self.ssh.port == Some(0) {
            return Err(bad("deploy.ssh.port must be between 1 and 65535"));
        }
        for (name, path) in [
            ("deploy.ssh.identity_file", &self.ssh.identity_file),
            ("deploy.rsync_password_file", &self.rsync_password_file),
        ] {
            if let Some(path) = path {
                let text = path.to_string_lossy();
                if !path.is_absolute() || !safe_e_word(&text) {
                    return Err(bad(format!(
                        "{name} `{}` must be an absolute path without spaces or quotes",
                        text.escape_debug()
                    )));
                }
            }
        }
        for option in &self.ssh.options {
            let (key, value) = option.split_once('=').unwrap_or(("", ""));
            let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric());
            if !key_ok || !safe_e_word(value) || option.starts_with('-') {
                return Err(bad(format!(
                    "deploy.ssh.options: `{}` must be Key=Value (letters and digits, no spaces or quotes)",
                    option.escape_debug()
                )));
            }
            if FORBIDDEN_SSH_OPTIONS.contains(&key.to_ascii_lowercase().as_str()) {
                return Err(bad(format!(
                    "deploy.ssh.options: `{key}` is managed by Slipway and may not be set"
                )));
            }
        }
        for (name, hooks) in [
            ("before_switch", &self.hooks.before_switch),
            ("after_switch", &self.hooks.after_switch),
            ("after_release", &self.hooks.after_release),
        ] {
            for argv in hooks {
                let ok = argv
                    .first()
                    .is_some_and(|p| !p.is_empty() && !p.starts_with('-') && !p.contains('='))
                    && argv.iter().all(|a| !a.contains('\0'));
                if !ok {
                    return Err(bad(format!(
                        "deploy.hooks.{name}: each hook is a non-empty argument vector whose program does not start with `-` nor contain `=`"
                    )));
                }
            }
        }
        if let Some(health) = &self.health {
            let url = &health.url;
            if !url.starts_with("http://") || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad(format!(
                    "deploy.health.url `{}` must be an http:// URL without spaces",
                    url.escape_debug()
                )));
            }
            if !(1..=600).contains(&health.timeout_secs) {
                return Err(bad("deploy.health.timeout_secs must be between 1 and 600"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_gives_the_defaults() {
        assert_eq!(DeploySettings::from_json("{}").unwrap(), DeploySettings::default());
        assert_eq!(DeploySettings::from_json("").unwrap(), DeploySettings::default());
    }

    #[test]
    fn parses_and_round_trips() {
        let s = DeploySettings::from_json(
            r#"{"mode":"inplace","strategy":"batches","canary":2,"ssh":{"port":2222,"options":["Compression=yes"]},
               "hooks":{"after_switch":[["supervisorctl","restart","app"]]},
               "health":{"url":"http://{host}:8080/health","revert_canary":true}}"#,
        )
        .unwrap();
        assert_eq!(s.mode, DeployMode::Inplace);
        assert_eq!(s.strategy, Strategy::Batches);
        assert_eq!(s.canary, 2);
        assert_eq!(s.batch_size, 4);
        assert_eq!(s.health.as_ref().unwrap().timeout_secs, 10);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(DeploySettings::from_json(&json).unwrap(), s);
    }

    #[test]
    fn refuses_bad_values() {
        for json in [
            r#"{"mode":"fast"}"#,
            r#"{"unknown":1}"#,
            r#"{"parallelism":0}"#,
            r#"{"ssh":{"options":["StrictHostKeyChecking=no"]}}"#,
            r#"{"ssh":{"options":["ProxyCommand=sh -c x"]}}"#,
            r#"{"ssh":{"options":["-oFoo=bar"]}}"#,
            r#"{"ssh":{"identity_file":"/a b/key"}}"#,
            r#"{"ssh":{"identity_file":"relative/key"}}"#,
            r#"{"hooks":{"after_switch":[[]]}}"#,
            r#"{"health":{"url":"ftp://x"}}"#,
        ] {
            assert!(DeploySettings::from_json(json).is_err(), "{json} accepted");
        }
    }
}
