//! The handlers a Slipway process runs, built from the configuration.

use crate::config::Config;

use super::cleanup::LogCleanup;
use super::handler::Registry;

/// Every handler of this build.
pub fn registry(config: &Config) -> Registry {
    Registry::new().with(LogCleanup {
        retention_days: config.worker.log_retention_days,
    })
}
