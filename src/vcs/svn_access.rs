//! Building an [`SvnClient`] for a project from the configuration: the svn
//! config dir, the named credentials of `[svn.credentials.*]` and the timeout.
//! See docs/design.md#layers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::svn::{SvnClient, SvnCredentials};
use crate::config::Config;
use crate::store::models::ProjectRow;

/// Why no client could be built for a project; both are configuration
/// mistakes that trying again cannot fix.
#[derive(Debug, thiserror::Error)]
pub enum SvnAccessError {
    /// The project's `svn_url` holds a password.
    #[error("project {project}: {source}")]
    Password {
        /// The project's name.
        project: String,
        /// The URL check's verdict.
        source: crate::domain::svn_url::SvnUrlError,
    },
    /// The project names credentials the configuration does not define.
    #[error(
        "project {project} names SVN credentials `{name}`, which the configuration does not define \
         (add [svn.credentials.{name}])"
    )]
    UnknownCredentials {
        /// The project's name.
        project: String,
        /// The credentials' name.
        name: String,
    },
}

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
    pub fn client_for(&self, project: &ProjectRow) -> Result<SvnClient, SvnAccessError> {
        if crate::domain::svn_url::has_password(&project.svn_url) {
            return Err(SvnAccessError::Password {
                project: project.name.clone(),
                source: crate::domain::svn_url::SvnUrlError::Password,
            });
        }
        let credentials = match &project.svn_credentials {
            None => None,
            Some(name) => {
                Some(
                    self.credentials
                        .get(name)
                        .cloned()
                        .ok_or_else(|| SvnAccessError::UnknownCredentials {
                            project: project.name.clone(),
                            name: name.clone(),
                        })?,
                )
            }
        };
        Ok(SvnClient::new(self.config_dir.clone(), credentials, self.timeout))
    }
}
