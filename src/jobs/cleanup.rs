//! The `log-cleanup` job: deletes job output older than the retention period.

use chrono::TimeDelta;

use crate::store::{jobs, timestamp_now};

use super::cron::LOG_CLEANUP;
use super::handler::{Handler, JobContext, JobError};

/// Deletes old job output.
pub struct LogCleanup {
    /// Days output is kept.
    pub retention_days: u32,
}

impl Handler for LogCleanup {
    fn kind(&self) -> &'static str {
        LOG_CLEANUP
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        let before = timestamp_now() - TimeDelta::days(i64::from(self.retention_days));
        let mut conn = ctx.pool.get().map_err(|e| JobError::Retryable(e.to_string()))?;
        let deleted = jobs::delete_logs_before(&mut conn, before).map_err(|e| JobError::Retryable(e.to_string()))?;
        ctx.log.info(&format!(
            "deleted {deleted} job output lines older than {} days",
            self.retention_days
        ));
        Ok(())
    }
}
