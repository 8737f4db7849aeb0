//! Typed configuration, loaded in layers: the built-in `config/default.toml`,
//! an optional file, then `SLIPWAY_*` environment variables. Secrets may come
//! from `<key>_file` paths. The loaded [`Config`] is passed to what needs
//! it; there is no global.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;

/// The built-in defaults (the documented file).
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Top-level sections, the only keys taken from `SLIPWAY_*` variables.
const SECTIONS: [&str; 10] = [
    "data_dir", "server", "database", "worker", "cron", "svn", "auth", "log", "smtp", "notify",
];

/// A secret string: never printed by `Debug` or `Display`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// All settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where Slipway keeps its files.
    pub data_dir: PathBuf,
    /// The web server.
    pub server: ServerConfig,
    /// The database.
    pub database: DatabaseConfig,
    /// Job workers.
    pub worker: WorkerConfig,
    /// Periodic schedules.
    pub cron: CronConfig,
    /// SVN access.
    #[serde(default)]
    pub svn: SvnConfig,
    /// Sessions and tokens.
    pub auth: AuthConfig,
    /// Logging.
    pub log: LogConfig,
    /// Outgoing mail.
    pub smtp: SmtpConfig,
    /// Notifications and one-click approval links.
    pub notify: NotifyConfig,
}

/// A configuration problem, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config error: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads the layers: defaults, `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, Env::prefixed("SLIPWAY_"))
    }

    /// Like [`Config::load`] with a given environment provider (for tests).
    pub fn load_from(file: Option<&Path>, env: Env) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!("--config {}: no such file", path.display())));
            }
            figment = figment.merge(Toml::file(path));
        }
        let env = env
            .filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                SECTIONS.iter().any(|s| key == *s || key.starts_with(&format!("{s}__")))
            })
            .split("__");
        let mut config: Config = figment.merge(env).extract().map_err(|e| {
            // One line: the first error, which names the key and its source.
            ConfigError(e.into_iter().next().map(|e| e.to_string()).unwrap_or_default())
        })?;
        config.database.url = read_secret(
            "database.url",
            config.database.url.take(),
            config.database.url_file.as_deref(),
        )?;
        config.auth.jwt_secret = read_secret(
            "auth.jwt_secret",
            config.auth.jwt_secret.take(),
            config.auth.jwt_secret_file.as_deref(),
        )?;
        config.smtp.password = read_secret(
            "smtp.password",
            config.smtp.password.take(),
            config.smtp.password_file.as_deref(),
        )?;
        if let Some(ldap) = &mut config.auth.ldap {
            ldap.bind_password = read_secret(
                "auth.ldap.bind_password",
                ldap.bind_password.take(),
                ldap.bind_password_file.as_deref(),
            )?;
        }
        for (name, credential) in &mut config.svn.credentials {
            let key = format!("svn.credentials.{name}.password");
            credential.password = read_secret(&key, credential.password.take(), credential.password_file.as_deref())?;
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, problem: &str| Err(ConfigError(format!("{key}: {problem}")));
        if self.database.pool_size == 0 {
            return bad("database.pool_size", "must be at least 1");
        }
        if self.server.http_workers == 0 {
            return bad("server.http_workers", "must be at least 1");
        }
        if self.worker.concurrency == 0 {
            return bad("worker.concurrency", "must be at least 1");
        }
        if self.worker.lease_secs < 5 {
            return bad("worker.lease_secs", "must be at least 5");
        }
        if self.worker.max_attempts == 0 {
            return bad("worker.max_attempts", "must be at least 1");
        }
        if self.worker.child_path.trim().is_empty() || self.worker.child_path.split(':').any(|d| !d.starts_with('/')) {
            return bad(
                "worker.child_path",
                "must be a `:`-separated list of absolute directories",
            );
        }
        if self.worker.poll_interval_secs == 0 {
            return bad("worker.poll_interval_secs", "must be at least 1");
        }
        for (key, schedule) in [
            ("cron.sweep", &self.cron.sweep),
            ("cron.svn_poll", &self.cron.svn_poll),
            ("cron.log_cleanup", &self.cron.log_cleanup),
            ("cron.notify_reminders", &self.cron.notify_reminders),
            ("cron.schedules", &self.cron.schedules),
            ("cron.service_status", &self.cron.service_status),
            ("cron.verify_cron", &self.cron.verify_cron),
        ] {
            if schedule.split_whitespace().count() != 6 {
                return Err(ConfigError(format!(
                    "{key}: `{schedule}` must have six fields: sec min hour day-of-month month day-of-week"
                )));
            }
        }
        if self.auth.session_hours == 0 {
            return bad("auth.session_hours", "must be at least 1");
        }
        if let Some(ldap) = &self.auth.ldap {
            ldap.validate()?;
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError(format!("log.level: {e}")));
        }
        if self.smtp.enabled {
            if self.smtp.host.trim().is_empty() {
                return bad("smtp.host", "must be set when smtp.enabled = true");
            }
            if self.smtp.port == 0 {
                return bad("smtp.port", "must be a port number");
            }
        }
        if self.smtp.from.parse::<lettre::message::Mailbox>().is_err() {
            return bad("smtp.from", "must be an address like `Slipway <slipway@example.com>`");
        }
        if self.notify.approval_link_hours == 0 {
            return bad("notify.approval_link_hours", "must be at least 1");
        }
        for (key, file) in [
            ("smtp.ca_file", &self.smtp.ca_file),
            ("notify.webhook_ca_file", &self.notify.webhook_ca_file),
        ] {
            if let Some(path) = file {
                if !path.is_file() {
                    return Err(ConfigError(format!("{key}: {} is not a file", path.display())));
                }
            }
        }
        if self.notify.webhook_timeout_secs == 0 {
            return bad("notify.webhook_timeout_secs", "must be at least 1");
        }
        if self.notify.webhook_connect_timeout_secs == 0 {
            return bad("notify.webhook_connect_timeout_secs", "must be at least 1");
        }
        let url = &self.server.public_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return bad("server.public_url", "must start with http:// or https://");
        }
        Ok(())
    }

    /// The URL users open.
    pub fn public_url(&self) -> String {
        if self.server.public_url.is_empty() {
            format!("http://{}/", self.server.bind)
        } else {
            self.server.public_url.clone()
        }
    }
}

fn read_secret(key: &str, value: Option<Secret>, file: Option<&Path>) -> Result<Option<Secret>, ConfigError> {
    match (value, file) {
        (Some(_), Some(_)) => Err(ConfigError(format!("{key}: set either {key} or {key}_file, not both"))),
        (value, None) => Ok(value),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| Some(Secret(s.trim_end_matches(['\n', '\r']).to_owned())))
            .map_err(|e| ConfigError(format!("{key}_file: cannot read {}: {e}", path.display()))),
    }
}

mod ldap;
mod sections;
#[cfg(test)]
mod tests;

pub use ldap::LdapConfig;
pub use sections::*;
