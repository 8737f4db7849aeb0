//! Building an [`SvnClient`] for a project from the configuration.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::store::models::ProjectRow;
use crate::vcs::{SvnClient, SvnCredentials};

use super::handler::JobError;

/// How Slipway reaches SVN: the config dir, named credentials, a timeout.
#[derive(Clone)]
pub struct SvnAccess {
    config_dir: PathBuf,
    credentials: BTreeMap<String, SvnCredentials>,
    timeout: Duration,
}

impl SvnAccess {
    /// From the configuration.
    pub fn from_config(config: &Config) -> Self {
        let credentials = config
            .svn
            .credentials
            .iter()
            .map(|(name, c)| {
                let password = c.password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
                (
                    name.clone(),
                    SvnCredentials {
                        username: c.username.clone(),
                        password,
                    },
                )
            })
            .collect();
        Self {
            config_dir: config.data_dir.join("svn-config"),
            credentials,
            timeout: Duration::from_secs(config.worker.svn_timeout_secs),
        }
    }

    /// Explicit settings (tests).
    pub fn new(config_dir: PathBuf, credentials: BTreeMap<String, SvnCredentials>, timeout: Duration) -> Self {
        Self {
            config_dir,
            credentials,
            timeout,
        }
    }

    /// A client for `project`, with its named credentials.
    /// A project whose `svn_url` holds a password (stored before that was
    /// refused) is refused here too.
    pub fn client_for(&self, project: &ProjectRow) -> Result<SvnClient, JobError> {
        if crate::domain::svn_url::has_password(&project.svn_url) {
            return Err(JobError::Permanent(format!(
                "project {}: {}",
                project.name,
                crate::domain::svn_url::SvnUrlError::Password
            )));
        }
        let credentials = match &project.svn_credentials {
            None => None,
            Some(name) => Some(self.credentials.get(name).cloned().ok_or_else(|| {
                JobError::Permanent(format!(
                    "project {} names SVN credentials `{name}`, which the configuration does not define \
                     (add [svn.credentials.{name}])",
                    project.name
                ))
            })?),
        };
        Ok(SvnClient::new(self.config_dir.clone(), credentials, self.timeout))
    }
}

/// Sorts an svn failure into retry-worthy or not: a network problem, a
/// timeout or a lock may pass; a revision or path that does not exist, bad
/// credentials, a conflict or output we cannot read fail at once with the
/// message (issue 9, defect 8).
pub fn classify(error: crate::vcs::SvnError) -> JobError {
    use crate::vcs::SvnError as E;
    match error {
        E::Failed(_) | E::Timeout(_) | E::Io(_) | E::Cancelled | E::Locked(_) => JobError::Retryable(error.to_string()),
        E::Auth(_) | E::Conflict(_) | E::MissingPath { .. } | E::NoSuchRevision { .. } | E::Parse(_) => {
            JobError::Permanent(error.to_string())
        }
    }
}
