//! Typed configuration, loaded in layers: the built-in `config/default.toml`,
//! an optional file, then `SLIPWAY_*` environment variables. Secrets may come
//! from `<key>_file` paths. The loaded [`Config`] is passed to what needs
//! it; there is no global.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;

/// The built-in defaults (the documented file).
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Top-level sections, the only keys taken from `SLIPWAY_*` variables.
const SECTIONS: [&str; 6] = ["data_dir", "server", "database", "worker", "auth", "log"];

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
    /// Sessions and tokens.
    pub auth: AuthConfig,
    /// Logging.
    pub log: LogConfig,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address.
    pub bind: SocketAddr,
    /// The URL users open; empty means `http://<bind>/`.
    pub public_url: String,
    /// HTTP worker threads.
    pub http_workers: usize,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Database URL; `None` means SQLite under the data dir.
    pub url: Option<Secret>,
    /// Read `url` from this file instead.
    pub url_file: Option<PathBuf>,
    /// Pool size.
    pub pool_size: u32,
    /// Seconds to wait for a pooled connection.
    pub connect_timeout_secs: u64,
    /// Milliseconds SQLite waits for a lock.
    pub busy_timeout_ms: u64,
}

/// `[worker]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// Jobs at once per process.
    pub concurrency: usize,
    /// Lease length in seconds.
    pub lease_secs: u64,
    /// Tries before failing.
    pub max_attempts: u32,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Token signing key.
    pub jwt_secret: Option<Secret>,
    /// Read `jwt_secret` from this file instead.
    pub jwt_secret_file: Option<PathBuf>,
    /// Session length in hours.
    pub session_hours: u32,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// tracing filter directive.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
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
        if self.auth.session_hours == 0 {
            return bad("auth.session_hours", "must be at least 1");
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError(format!("log.level: {e}")));
        }
        if !self.server.public_url.is_empty()
            && !(self.server.public_url.starts_with("http://") || self.server.public_url.starts_with("https://"))
        {
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
