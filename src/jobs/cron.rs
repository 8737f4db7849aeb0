//! The periodic schedule (tokio-cron-scheduler). Each entry only enqueues
//! work or puts expired leases back in the queue; workers do the work.

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::store::{jobs, projects, timestamp_now, Pool};

use super::job::{self, Job as _, LogCleanupJob, SvnPollJob};
use super::wake::Waker;

/// Schedules.
#[derive(Debug, Clone)]
pub struct CronOptions {
    /// When to put jobs with expired leases back in the queue.
    pub sweep: String,
    /// When to poll each project's SVN for new revisions.
    pub svn_poll: String,
    /// When to delete old job output.
    pub log_cleanup: String,
    /// When to look for tickets waiting too long for approval.
    pub notify_reminders: String,
    /// When to start scheduled releases whose time has come.
    pub schedules: String,
    /// When to read the state of every project's services.
    pub service_status: String,
    /// When to look for projects whose verify cron is due.
    pub verify_cron: String,
}

/// Job kind of the SVN poller.
pub const SVN_POLL: &str = SvnPollJob::KIND;
/// Job kind of the log cleanup.
pub const LOG_CLEANUP: &str = LogCleanupJob::KIND;

/// Puts expired leases back in the queue, then fails every ticket left in a
/// job-owned state without a live job ([`super::orphans`]); returns how
/// many jobs and tickets it changed.
pub fn sweep(pool: &Pool) -> Result<usize, crate::store::StoreError> {
    let requeued = {
        let mut conn = pool.get()?;
        let now = jobs::db_now(&mut conn)?;
        jobs::requeue_expired(&mut conn, now)?
    };
    Ok(requeued + super::orphans::fail_orphaned(pool)?)
}

/// Enqueues an SVN poll for every project that has none waiting.
pub fn enqueue_svn_polls(pool: &Pool) -> Result<usize, crate::store::StoreError> {
    let mut conn = pool.get()?;
    let mut queued = 0;
    for project in projects::list(&mut conn)? {
        if !jobs::pending_exists(&mut conn, SVN_POLL, project.id)? {
            enqueue(&mut conn, &SvnPollJob {}, Some(project.id))?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Starts every scheduled release whose time has come (one `scheduled`
/// job each; see [`crate::service::schedules::run`]).
pub fn enqueue_due_schedules(pool: &Pool) -> Result<usize, crate::store::StoreError> {
    let mut conn = pool.get()?;
    crate::service::schedules::run::start_due(&mut conn, chrono::Utc::now()).map_err(|e| match e {
        crate::service::ServiceError::Store(e) => e,
        other => crate::store::StoreError::Corrupt(other.to_string()),
    })
}

/// Enqueues one log cleanup unless one is waiting.
pub fn enqueue_log_cleanup(pool: &Pool) -> Result<(), crate::store::StoreError> {
    let mut conn = pool.get()?;
    let waiting: bool = {
        use crate::store::schema::jobs as j;
        use diesel::prelude::*;
        j::table
            .filter(j::kind.eq(LOG_CLEANUP))
            .filter(j::state.eq_any(crate::store::jobs::UNFINISHED))
            .count()
            .get_result::<i64>(&mut conn)?
            > 0
    };
    if !waiting {
        enqueue(&mut conn, &LogCleanupJob {}, None)?;
    }
    Ok(())
}

fn enqueue<J: job::Job>(
    conn: &mut crate::store::DbConn,
    payload: &J,
    project_id: Option<i64>,
) -> Result<i64, crate::store::StoreError> {
    let at = job::Placement {
        project_id,
        ticket_id: None,
        run_after: timestamp_now(),
    };
    job::enqueue(conn, payload, at)
}

fn blocking_entry(
    schedule: &str,
    pool: Pool,
    waker: Waker,
    what: &'static str,
    work: fn(&Pool) -> Result<usize, crate::store::StoreError>,
) -> Result<Job, JobSchedulerError> {
    Job::new_async(schedule, move |_id, _scheduler| {
        let pool = pool.clone();
        let waker = waker.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || work(&pool)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(count)) => {
                    tracing::debug!(count, "cron: {what}");
                    waker.wake();
                }
                Ok(Err(error)) => tracing::warn!(%error, "cron: {what} failed"),
                Err(error) => tracing::warn!(%error, "cron: {what} panicked"),
            }
        })
    })
}

/// Starts the schedule; keep the returned scheduler alive.
pub async fn start(pool: Pool, waker: Waker, options: &CronOptions) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    scheduler
        .add(blocking_entry(
            &options.sweep,
            pool.clone(),
            waker.clone(),
            "re-queued expired leases and failed orphaned tickets",
            sweep,
        )?)
        .await?;
    scheduler
        .add(blocking_entry(
            &options.svn_poll,
            pool.clone(),
            waker.clone(),
            "queued SVN polls",
            enqueue_svn_polls,
        )?)
        .await?;
    scheduler
        .add(blocking_entry(
            &options.notify_reminders,
            pool.clone(),
            waker.clone(),
            "queued approval reminders",
            super::announce::enqueue_reminders,
        )?)
        .await?;
    scheduler
        .add(blocking_entry(
            &options.schedules,
            pool.clone(),
            waker.clone(),
            "started scheduled releases",
            enqueue_due_schedules,
        )?)
        .await?;
    scheduler
        .add(blocking_entry(
            &options.service_status,
            pool.clone(),
            waker.clone(),
            "queued service status reads",
            super::service_job::enqueue_status_reads,
        )?)
        .await?;
    scheduler
        .add(blocking_entry(
            &options.verify_cron,
            pool.clone(),
            waker.clone(),
            "queued verifies (drift)",
            super::verify::enqueue_due_verifies,
        )?)
        .await?;
    scheduler
        .add(blocking_entry(
            &options.log_cleanup,
            pool,
            waker,
            "queued log cleanup",
            |pool| enqueue_log_cleanup(pool).map(|()| 1),
        )?)
        .await?;
    scheduler.start().await?;
    Ok(scheduler)
}
