//! The directory behind `[auth.ldap]` (OpenLDAP, Active Directory), over
//! the `ldap3` crate: finds a user with the service account, checks the
//! password by binding as the entry found, and reads name, email and admin
//! group membership. What Slipway then does with the answer (create or
//! update the account) is [`super::directory_users`].
//!
//! The typed user name only ever reaches the directory inside a filter
//! value escaped by [`ldap3::ldap_escape`], so `*)(uid=*` is a literal name
//! that matches no one; an empty password is refused before any bind (an
//! LDAP bind with an empty password is an anonymous bind, which succeeds).

use std::sync::Arc;
use std::time::Duration;

use ldap3::{ldap_escape, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

use crate::config::LdapConfig;

/// LDAP result code of a wrong password (RFC 4511).
const INVALID_CREDENTIALS: u32 = 49;
/// LDAP result code of a base DN that does not exist.
const NO_SUCH_OBJECT: u32 = 32;

/// A directory user whose password checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The entry's DN.
    pub dn: String,
    /// Its display name attribute (may be empty).
    pub display_name: String,
    /// Its email attribute (may be empty).
    pub email: String,
    /// Whether it is in the admin group; `None` when no admin group is configured.
    pub is_admin: Option<bool>,
}

/// Why the directory could not answer (never a wrong password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// No connection (refused, DNS, TLS, timeout).
    #[error("the directory server cannot be reached: {0}")]
    Unreachable(String),
    /// The directory answered with an error (e.g. the service bind was refused).
    #[error("the directory refused: {0}")]
    Refused(String),
}

/// The configured directory.
#[derive(Clone)]
pub struct Directory {
    config: LdapConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Directory({})", self.config.url)
    }
}

impl Directory {
    /// The directory of `config` (TLS trusts the Mozilla roots plus `ca_file`).
    pub fn new(config: &LdapConfig) -> Result<Self, String> {
        let tls = if config.url.starts_with("ldaps://") || config.starttls {
            Some(crate::outbound::tls_config(
                config.ca_file.as_deref(),
                "auth.ldap.ca_file",
            )?)
        } else {
            None
        };
        Ok(Self {
            config: config.clone(),
            tls,
        })
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_secs)
    }

    /// Checks `username` and `password` against the directory: `Ok(None)`
    /// for an empty password, an unknown or ambiguous name, or a wrong
    /// password; an error only when the directory cannot answer.
    pub async fn check(&self, username: &str, password: &str) -> Result<Option<DirectoryEntry>, DirectoryError> {
        if username.is_empty() || password.is_empty() {
            return Ok(None);
        }
        // Each step has its own limit; this bounds the whole conversation.
        let all = self.timeout() * 4;
        match tokio::time::timeout(all, self.converse(username, password)).await {
            Ok(result) => result,
            Err(_) => Err(DirectoryError::Unreachable(format!(
                "no answer within {} s",
                all.as_secs()
            ))),
        }
    }

    async fn converse(&self, username: &str, password: &str) -> Result<Option<DirectoryEntry>, DirectoryError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout())
            .set_starttls(self.config.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(Arc::clone(tls));
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.config.url)
            .await
            .map_err(|e| DirectoryError::Unreachable(e.to_string()))?;
        ldap3::drive!(conn);
        let refused = |what: &str, e: ldap3::LdapError| match e {
            ldap3::LdapError::LdapResult { result } => {
                DirectoryError::Refused(format!("{what}: result code {} {}", result.rc, result.text))
            }
            other => DirectoryError::Unreachable(format!("{what}: {other}")),
        };

        let service_password = self.config.bind_password.as_ref().map(|s| s.expose()).unwrap_or("");
        ldap.with_timeout(self.timeout())
            .simple_bind(&self.config.bind_dn, service_password)
            .await
            .and_then(|r| r.success())
            .map_err(|e| refused("service bind", e))?;

        let filter = self.config.user_filter.replace("{username}", &ldap_escape(username));
        let attrs = vec![self.config.name_attr.as_str(), self.config.email_attr.as_str()];
        let (found, _) = ldap
            .with_timeout(self.timeout())
            .search(&self.config.user_base, Scope::Subtree, &filter, attrs)
            .await
            .and_then(|r| r.success())
            .map_err(|e| refused("user search", e))?;
        let mut entries = found.into_iter().filter(|e| !e.is_ref()).map(SearchEntry::construct);
        let (Some(entry), None) = (entries.next(), entries.next()) else {
            // Nobody, or more than one entry: not a sign-in.
            let _ = ldap.unbind().await;
            return Ok(None);
        };

        let is_admin = if self.config.admin_group.is_empty() {
            None
        } else {
            Some(self.in_admin_group(&mut ldap, &entry.dn, username).await?)
        };

        let bind = ldap
            .with_timeout(self.timeout())
            .simple_bind(&entry.dn, password)
            .await
            .map_err(|e| refused("user bind", e))?;
        let _ = ldap.unbind().await;
        match bind.rc {
            0 => Ok(Some(DirectoryEntry {
                display_name: attribute(&entry, &self.config.name_attr),
                email: attribute(&entry, &self.config.email_attr),
                dn: entry.dn,
                is_admin,
            })),
            INVALID_CREDENTIALS => Ok(None),
            rc => Err(DirectoryError::Refused(format!(
                "user bind: result code {rc} {}",
                bind.text
            ))),
        }
    }

    /// Whether `dn` (or `username`, for posixGroup's memberUid) is a member
    /// of the admin group, read as the service account.
    async fn in_admin_group(&self, ldap: &mut ldap3::Ldap, dn: &str, username: &str) -> Result<bool, DirectoryError> {
        let dn = ldap_escape(dn);
        let filter = format!(
            "(|(member={dn})(uniqueMember={dn})(memberUid={}))",
            ldap_escape(username)
        );
        let answer = ldap
            .with_timeout(self.timeout())
            .search(&self.config.admin_group, Scope::Base, &filter, vec!["1.1"])
            .await
            .map_err(|e| DirectoryError::Unreachable(format!("admin group search: {e}")))?;
        match answer.1.rc {
            0 => Ok(answer.0.iter().any(|e| !e.is_ref())),
            NO_SUCH_OBJECT => {
                tracing::warn!(group = %self.config.admin_group, "auth.ldap.admin_group does not exist");
                Ok(false)
            }
            rc => Err(DirectoryError::Refused(format!(
                "admin group search: result code {rc} {}",
                answer.1.text
            ))),
        }
    }
}

/// The first value of attribute `name` (matched case-insensitively, as LDAP does).
fn attribute(entry: &SearchEntry, name: &str) -> String {
    entry
        .attrs
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, values)| values.first())
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hostile_name_stays_a_literal_filter_value() {
        let filter = "(uid={username})".replace("{username}", &super::ldap_escape("*)(uid=*"));
        assert_eq!(filter, "(uid=\\2a\\29\\28uid=\\2a)");
    }
}
