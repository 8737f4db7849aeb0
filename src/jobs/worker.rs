//! The worker loop: claim a runnable job with a lease, run its handler on a
//! blocking thread while a heartbeat keeps the lease, and record the
//! outcome (done, retry with backoff, or failed for good). Up to
//! `concurrency` jobs run at once; a wake-up or the poll interval starts the
//! next claim. A job whose lease could not be renewed is stopped before the
//! lease runs out and handed back ([`super::lease`], invariant 11).

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta};
use tokio::sync::Semaphore;

use crate::store::jobs::{self as queue, Claim, ClaimRequest, Outcome};
use crate::store::{timestamp_now, Pool};

use super::backoff;
use super::handler::{JobContext, JobError, Registry};
use super::lease::{Heartbeat, LeaseSpec};
use super::log::JobLog;
use super::wake::Waker;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Name recorded on claimed jobs (host and process).
    pub name: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// Lease length; the heartbeat renews it every third of it.
    pub lease: Duration,
    /// How often to look for work without a wake-up.
    pub poll_interval: Duration,
    /// Tries before a job fails for good.
    pub max_attempts: u32,
    /// First retry delay (doubles each time).
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
    /// Slipway's data directory.
    pub data_dir: PathBuf,
}

impl WorkerOptions {
    /// A worker name unique to this process.
    pub fn default_name() -> String {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    }
}

/// What happened to one claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// It succeeded.
    Done,
    /// It failed and will be retried.
    Retrying(String),
    /// It failed for good.
    Failed(String),
    /// The lease was lost before the outcome could be recorded.
    LeaseLost,
}

/// A job worker.
#[derive(Clone)]
pub struct Worker {
    pool: Pool,
    registry: Registry,
    options: Arc<WorkerOptions>,
    waker: Waker,
    renewal_fault: Option<Arc<AtomicBool>>,
}

fn to_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl Worker {
    /// A worker running `registry`'s handlers.
    pub fn new(pool: Pool, registry: Registry, options: WorkerOptions, waker: Waker) -> Self {
        Self {
            pool,
            registry,
            options: Arc::new(options),
            waker,
            renewal_fault: None,
        }
    }

    /// Fault injection for tests: while `fault` is set, every lease renewal
    /// of this worker fails as if the database could not be reached.
    pub fn with_renewal_fault(mut self, fault: Arc<AtomicBool>) -> Self {
        self.renewal_fault = Some(fault);
        self
    }

    /// Claims one job, if any is runnable (blocking).
    pub fn claim(&self) -> Result<Option<Claim>, crate::store::StoreError> {
        let kinds = self.registry.kinds();
        let locking = self.registry.locking_kinds();
        let mut conn = self.pool.get()?;
        // Leases are measured on the database's clock; the lease starts no
        // earlier than this instant on ours.
        let leased_at = Instant::now();
        let now = queue::db_now(&mut conn)?;
        let request = ClaimRequest {
            kinds: &kinds,
            locking_kinds: &locking,
            worker: &self.options.name,
            now,
            lease_until: now + to_delta(self.options.lease),
        };
        Ok(queue::claim(&mut conn, &request)?.map(|claim| Claim { leased_at, ..claim }))
    }

    /// Claims and runs one job on this thread; `None` when nothing was runnable.
    pub fn run_one(&self) -> Result<Option<(i64, JobOutcome)>, crate::store::StoreError> {
        Ok(self.claim()?.map(|claim| {
            let id = claim.job.id;
            (id, self.execute(claim))
        }))
    }

    /// Runs jobs until `shutdown` resolves, then waits for running jobs to
    /// finish (they are not interrupted mid-step).
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let slots = Arc::new(Semaphore::new(self.options.concurrency.max(1)));
        tokio::pin!(shutdown);
        tracing::info!(worker = %self.options.name, kinds = ?self.registry.kinds(), "worker started");
        loop {
            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                break;
            };
            let this = self.clone();
            let claimed = tokio::task::spawn_blocking(move || this.claim()).await;
            match claimed {
                Ok(Ok(Some(claim))) => {
                    let this = self.clone();
                    tokio::task::spawn_blocking(move || {
                        this.execute(claim);
                        drop(permit);
                    });
                    continue;
                }
                Ok(Ok(None)) => drop(permit),
                Ok(Err(error)) => {
                    drop(permit);
                    tracing::warn!(%error, "worker: cannot claim jobs");
                }
                Err(error) => {
                    drop(permit);
                    tracing::error!(%error, "worker: claim task failed");
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.waker.wait() => {}
                _ = tokio::time::sleep(self.options.poll_interval) => {}
            }
        }
        tracing::info!("worker stopping; waiting for running jobs");
        let all = u32::try_from(self.options.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = slots.acquire_many(all).await;
    }

    /// Runs a claimed job to its outcome (blocking).
    pub fn execute(&self, claim: Claim) -> JobOutcome {
        let leased_at = claim.leased_at;
        let job = claim.job;
        let Some(handler) = self.registry.get(&job.kind) else {
            return self.record(
                job.id,
                Outcome::Failed {
                    error: "no handler for this job kind",
                },
            );
        };
        // Webhooks added since (here or on another instance) are scrubbed too.
        crate::jobs::secrets::refresh(&self.pool);
        let mut ctx = JobContext {
            pool: self.pool.clone(),
            log: JobLog::new(self.pool.clone(), job.id, job.ticket_id),
            data_dir: self.options.data_dir.clone(),
            job: job.clone(),
            cancel: Arc::new(AtomicBool::new(false)),
        };
        let max = i32::try_from(self.options.max_attempts).unwrap_or(i32::MAX);
        if job.attempts > max {
            // Its worker died on the last allowed attempt.
            let error = format!(
                "gave up after {max} attempts; last error: {}",
                job.last_error.as_deref().unwrap_or("the worker stopped")
            );
            ctx.log.info(&error);
            handler.give_up(&mut ctx, &error);
            return self.record(job.id, Outcome::Failed { error: &error });
        }
        ctx.log.info(&format!(
            "{} job #{} started (attempt {} of {max}) by {}",
            job.kind, job.id, job.attempts, self.options.name
        ));
        let heartbeat = Heartbeat::start(
            self.pool.clone(),
            LeaseSpec {
                job_id: job.id,
                worker: self.options.name.clone(),
                lease: self.options.lease,
                leased_at,
                cancel: Arc::clone(&ctx.cancel),
                fault: self.renewal_fault.clone(),
            },
        );
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| handler.run(&mut ctx)))
            .unwrap_or_else(|_| Err(JobError::Retryable("the job panicked".into())));
        drop(heartbeat);
        match result {
            Err(error) if ctx.cancelled() => {
                // Fenced off: the lease could not be renewed. Its programs
                // were killed; hand the job back (refused if another worker
                // holds it by now) and leave the ticket to whoever runs it.
                let error = format!("stopped: the worker could not renew the job's lease ({error})");
                ctx.log.info(&error);
                ctx.log.flush();
                self.record(
                    job.id,
                    Outcome::Retry {
                        error: &error,
                        at: timestamp_now(),
                    },
                )
            }
            Ok(()) => {
                ctx.log.info(&format!("{} job #{} done", job.kind, job.id));
                ctx.log.flush();
                self.record(job.id, Outcome::Done)
            }
            Err(JobError::Retryable(error)) if job.attempts < max => {
                let wait = backoff::delay(
                    u32::try_from(job.attempts).unwrap_or(1),
                    self.options.retry_base,
                    self.options.retry_cap,
                );
                ctx.log
                    .info(&format!("failed: {error}; retrying in {} s", wait.as_secs()));
                ctx.log.flush();
                let at: NaiveDateTime = timestamp_now() + to_delta(wait);
                self.record(job.id, Outcome::Retry { error: &error, at })
            }
            Err(JobError::Retryable(error) | JobError::Permanent(error)) => {
                // The ticket's reason is shown to every reader: no known secret.
                let error = crate::process::scrub_known(&error);
                ctx.log.info(&format!("failed: {error}"));
                handler.give_up(&mut ctx, &error);
                ctx.log.flush();
                self.record(job.id, Outcome::Failed { error: &error })
            }
        }
    }

    fn record(&self, job_id: i64, outcome: Outcome<'_>) -> JobOutcome {
        // The job's error is shown on the ticket page like the ticket's
        // reason: readable (no escape sequences), cut when long.
        let readable = match &outcome {
            Outcome::Done => None,
            Outcome::Retry { error, .. } | Outcome::Failed { error } => {
                Some(crate::domain::system_reason(&crate::process::scrub_known(error)).into_string())
            }
        };
        let outcome = match (outcome, readable.as_deref()) {
            (Outcome::Retry { at, .. }, Some(error)) => Outcome::Retry { error, at },
            (Outcome::Failed { .. }, Some(error)) => Outcome::Failed { error },
            (outcome, _) => outcome,
        };
        let summary = match &outcome {
            Outcome::Done => JobOutcome::Done,
            Outcome::Retry { error, .. } => JobOutcome::Retrying((*error).to_owned()),
            Outcome::Failed { error } => JobOutcome::Failed((*error).to_owned()),
        };
        let recorded = self
            .pool
            .get()
            .map_err(crate::store::StoreError::from)
            .and_then(|mut conn| queue::finish(&mut conn, job_id, &self.options.name, outcome, timestamp_now()));
        match recorded {
            Ok(true) => summary,
            Ok(false) => {
                tracing::warn!(job = job_id, "lease lost before the outcome was recorded");
                JobOutcome::LeaseLost
            }
            Err(error) => {
                // The lease will expire and the job run again; its steps are idempotent.
                tracing::error!(job = job_id, %error, "cannot record the job's outcome");
                JobOutcome::LeaseLost
            }
        }
    }
}
