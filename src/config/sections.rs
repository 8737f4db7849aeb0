//! The configuration's sections (`[server]`, `[database]`, `[worker]`,
//! `[cron]`, `[svn]`, `[auth]`, `[smtp]`, `[notify]`, `[log]`), as
//! [`super::Config`] holds them.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::Secret;

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
    /// Reverse proxies (IP addresses or CIDR ranges) whose
    /// `X-Forwarded-For` header names the client; empty: the TCP peer is
    /// the client and the header is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
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
    /// Seconds between looks for work.
    pub poll_interval_secs: u64,
    /// First retry delay in seconds.
    pub retry_base_secs: u64,
    /// Longest retry delay in seconds.
    pub retry_cap_secs: u64,
    /// Build command timeout in seconds.
    pub build_timeout_secs: u64,
    /// svn command timeout in seconds.
    pub svn_timeout_secs: u64,
    /// Days job output is kept.
    pub log_retention_days: u32,
    /// Unix user builds and local hooks run as when Slipway runs as root
    /// (empty: as Slipway itself).
    pub run_as: String,
    /// `PATH` of every child process.
    pub child_path: String,
}

/// `[cron]`: schedules in cron syntax with seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronConfig {
    /// Re-queue expired leases.
    pub sweep: String,
    /// Poll SVN.
    pub svn_poll: String,
    /// Delete old job output.
    pub log_cleanup: String,
    /// Look for tickets waiting too long for approval (reminders).
    pub notify_reminders: String,
    /// Start scheduled releases whose time has come.
    #[serde(default = "default_schedules")]
    pub schedules: String,
    /// Read the state of every project's services on its hosts.
    #[serde(default = "default_service_status")]
    pub service_status: String,
    /// Look for projects whose `verify_cron` is due (and enqueue their verify).
    #[serde(default = "default_verify_cron")]
    pub verify_cron: String,
}

fn default_verify_cron() -> String {
    "30 * * * * *".to_owned()
}

fn default_schedules() -> String {
    "*/15 * * * * *".to_owned()
}

fn default_service_status() -> String {
    "0 */5 * * * *".to_owned()
}

/// `[svn]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SvnConfig {
    /// Named credentials, referenced by projects.
    #[serde(default)]
    pub credentials: std::collections::BTreeMap<String, SvnCredentialConfig>,
}

/// One set of SVN credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SvnCredentialConfig {
    /// SVN user name.
    pub username: String,
    /// Its password.
    pub password: Option<Secret>,
    /// Read the password from this file instead.
    pub password_file: Option<PathBuf>,
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
    /// Who reads a project: `members` (its members, watchers and admins;
    /// the default) or `everyone` signed in.
    #[serde(default)]
    pub visibility: crate::service::Visibility,
    /// Directory sign-in (`[auth.ldap]`); `None`: local accounts only.
    #[serde(default)]
    pub ldap: Option<super::LdapConfig>,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or network).
    None,
    /// Plain, then STARTTLS (port 587).
    Starttls,
    /// TLS from the start (port 465).
    Tls,
}

/// `[smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Send mail over SMTP; false: write `.eml` files under `<data_dir>/mail/`.
    pub enabled: bool,
    /// SMTP server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// none, starttls or tls.
    pub security: SmtpSecurity,
    /// User name for AUTH (empty: no AUTH).
    pub username: String,
    /// Password for AUTH.
    pub password: Option<Secret>,
    /// Read `password` from this file instead.
    pub password_file: Option<PathBuf>,
    /// The From address, e.g. `Slipway <slipway@example.com>`.
    pub from: String,
    /// PEM file of an extra CA certificate to trust (an internal relay's CA).
    pub ca_file: Option<PathBuf>,
    /// Seconds to wait for the server.
    pub timeout_secs: u64,
}

/// `[notify]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Hours an emailed approval link stays valid.
    pub approval_link_hours: u32,
    /// Seconds one webhook post may take in all (and each read or write).
    pub webhook_timeout_secs: u64,
    /// Seconds the DNS lookup and the TCP connect to a receiver may take
    /// each (capped at `webhook_timeout_secs`).
    pub webhook_connect_timeout_secs: u64,
    /// PEM file of an extra CA to trust for https webhooks.
    pub webhook_ca_file: Option<PathBuf>,
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
