//! The handlers a Slipway process runs, built from the configuration.

use std::time::Duration;

use crate::config::Config;

use super::cleanup::LogCleanup;
use super::handler::Registry;
use super::release::{Release, Rollback};
use super::stage::Stage;
use super::svn_access::SvnAccess;
use super::svn_poll::SvnPoll;

/// Every handler of this build.
pub fn registry(config: &Config) -> Registry {
    let svn = SvnAccess::from_config(config);
    Registry::new()
        .with(Stage {
            svn: svn.clone(),
            build_timeout: Duration::from_secs(config.worker.build_timeout_secs),
        })
        .with(SvnPoll { svn })
        .with(Release)
        .with(Rollback)
        .with(LogCleanup {
            retention_days: config.worker.log_retention_days,
        })
}
