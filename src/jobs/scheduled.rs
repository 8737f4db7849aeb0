//! The `scheduled` job (issue 14): a schedule's time came and the cron
//! entry started it; take the ticket's action now as its scheduler
//! ([`crate::service::schedules::run`]). A refusal fails the schedule (and
//! tells the scheduler); a database error is retried, and a job that gives
//! up fails the schedule with its last error.

use chrono::Utc;

use crate::service::schedules::run::{self, RunOutcome};

use super::handler::{Handler, JobContext, JobError};
use super::job::{self, Job, ScheduledJob};

/// Runs scheduled releases.
pub struct Scheduled;

impl Handler for Scheduled {
    fn kind(&self) -> &'static str {
        ScheduledJob::KIND
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        let payload: ScheduledJob = job::payload(&ctx.job)?;
        let mut conn = ctx
            .pool
            .get()
            .map_err(|e| JobError::Retryable(format!("database: {e}")))?;
        match run::run(&mut conn, payload.schedule_id, Utc::now()) {
            Ok(RunOutcome::Started) => {
                ctx.log
                    .info(&format!("schedule #{}: the release was started", payload.schedule_id));
                Ok(())
            }
            Ok(RunOutcome::Refused(reason)) => {
                ctx.log
                    .info(&format!("schedule #{} refused: {reason}", payload.schedule_id));
                Ok(())
            }
            Ok(RunOutcome::Nothing) => Ok(()),
            Err(e) => Err(JobError::Retryable(e.to_string())),
        }
    }

    fn give_up(&self, ctx: &mut JobContext, error: &str) {
        let Ok(payload) = job::payload::<ScheduledJob>(&ctx.job) else {
            return;
        };
        let Ok(mut conn) = ctx.pool.get() else {
            return;
        };
        if let Err(e) = run::give_up(&mut conn, payload.schedule_id, error, Utc::now()) {
            tracing::warn!(error = %e, "schedule #{}: could not record the failure", payload.schedule_id);
        }
    }
}
