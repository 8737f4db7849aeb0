//! `[auth.ldap]`: signing in with a directory account (OpenLDAP, Active
//! Directory). Present means on; see `config/default.toml` for the keys.

use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, Secret};

/// `[auth.ldap]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// PEM file of an extra CA to trust (the directory's own CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The service account that searches for users (empty: anonymous search).
    #[serde(default)]
    pub bind_dn: String,
    /// Its password.
    #[serde(default)]
    pub bind_password: Option<Secret>,
    /// Read `bind_password` from this file instead.
    #[serde(default)]
    pub bind_password_file: Option<PathBuf>,
    /// Where users are searched (subtree), e.g. `ou=people,dc=example,dc=com`.
    pub user_base: String,
    /// The search filter; `{username}` is replaced by the escaped user name.
    #[serde(default = "default_filter")]
    pub user_filter: String,
    /// Attribute holding the display name.
    #[serde(default = "default_name_attr")]
    pub name_attr: String,
    /// Attribute holding the email address.
    #[serde(default = "default_email_attr")]
    pub email_attr: String,
    /// DN of a group whose members are Slipway admins (empty: the admin
    /// flag is managed in Slipway only).
    #[serde(default)]
    pub admin_group: String,
    /// Seconds the connect and each LDAP operation may take.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_filter() -> String {
    "(uid={username})".into()
}

fn default_name_attr() -> String {
    "cn".into()
}

fn default_email_attr() -> String {
    "mail".into()
}

fn default_timeout() -> u64 {
    5
}

impl LdapConfig {
    /// Checks the section; errors name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, problem: &str| Err(ConfigError(format!("auth.ldap.{key}: {problem}")));
        let ldaps = self.url.starts_with("ldaps://");
        if !(ldaps || self.url.starts_with("ldap://")) || self.url.len() <= "ldaps://".len() {
            return bad("url", "must be ldap://host[:port] or ldaps://host[:port]");
        }
        if ldaps && self.starttls {
            return bad("starttls", "is for ldap:// URLs; ldaps:// is TLS from the start");
        }
        if self.user_base.trim().is_empty() {
            return bad("user_base", "must name where users are searched");
        }
        let filter = self.user_filter.trim();
        if !(filter.contains("{username}") && filter.starts_with('(') && filter.ends_with(')')) {
            return bad("user_filter", "must be a filter in parentheses containing {username}");
        }
        for (key, value) in [("name_attr", &self.name_attr), ("email_attr", &self.email_attr)] {
            if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';') {
                return bad(key, "must be an attribute name");
            }
        }
        if self.timeout_secs == 0 {
            return bad("timeout_secs", "must be at least 1");
        }
        if let Some(path) = &self.ca_file {
            if !path.is_file() {
                return bad("ca_file", &format!("{} is not a file", path.display()));
            }
        }
        if !self.bind_dn.is_empty() && self.bind_password.is_none() {
            return bad("bind_password", "must be set (or bind_password_file) when bind_dn is");
        }
        Ok(())
    }
}
