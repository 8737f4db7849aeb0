//! The handlers a Slipway process runs, built from the configuration.

use std::time::Duration;

use crate::config::Config;

use super::announce::{DriftNoticeHandler, NotifyHandler, NotifySettings, WebhookHandler};
use super::cleanup::LogCleanup;
use super::handler::Registry;
use super::release::{Release, Rollback};
use super::stage::Stage;
use super::svn_poll::SvnPoll;
use crate::vcs::SvnAccess;

/// Every handler of this build.
pub fn registry(config: &Config) -> Registry {
    let svn = SvnAccess::from_config(config);
    let registry = Registry::new()
        .with(Stage {
            svn: svn.clone(),
            build_timeout: Duration::from_secs(config.worker.build_timeout_secs),
        })
        .with(SvnPoll { svn })
        .with(Release)
        .with(Rollback)
        .with(super::scheduled::Scheduled)
        .with(super::service_job::ServiceHandler)
        .with(LogCleanup {
            retention_days: config.worker.log_retention_days,
        });
    with_notify(registry, config)
}

/// Adds the `notify`, `webhook` and `drift-notice` handlers. Without a signing key (an
/// unwritable data dir) they are left out and their jobs wait in the queue.
fn with_notify(registry: Registry, config: &Config) -> Registry {
    let settings = crate::keys::signing_key(config).and_then(|key| NotifySettings::from_config(config, &key));
    match settings {
        Ok(settings) => registry
            .with(WebhookHandler {
                public_url: settings.public_url.clone(),
                client: settings.webhooks.clone(),
            })
            .with(DriftNoticeHandler {
                settings: settings.clone(),
            })
            .with(NotifyHandler { settings }),
        Err(error) => {
            tracing::error!(%error, "notifications are off: cannot set up mail");
            registry
        }
    }
}
