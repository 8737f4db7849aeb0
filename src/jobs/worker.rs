//! The worker loop: claim a runnable job with a lease, run its handler on a
//! blocking thread while a heartbeat keeps the lease, and record the
//! outcome (done, retry with backoff, or failed for good). Up to
//! `concurrency` jobs run at once; a wake-up or the poll interval starts the
//! next claim.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use tokio::sync::Semaphore;

use crate::store::jobs::{self as queue, Claim, ClaimRequest, Outcome};
use crate::store::{timestamp_now, Pool};

use super::backoff;
use super::handler::{JobContext, JobError, Registry};
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
        }
    }

    /// Claims one job, if any is runnable (blocking).
    pub fn claim(&self) -> Result<Option<Claim>, crate::store::StoreError> {
        let kinds = self.registry.kinds();
        let locking = self.registry.locking_kinds();
        let now = timestamp_now();
        let request = ClaimRequest {
            kinds: &kinds,
            locking_kinds: &locking,
            worker: &self.options.name,
            now,
            lease_until: now + to_delta(self.options.lease),
        };
        let mut conn = self.pool.get()?;
        queue::claim(&mut conn, &request)
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
        let heartbeat = self.start_heartbeat(job.id);
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| handler.run(&mut ctx)))
            .unwrap_or_else(|_| Err(JobError::Retryable("the job panicked".into())));
        drop(heartbeat);
        match result {
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
                ctx.log.info(&format!("failed: {error}"));
                handler.give_up(&mut ctx, &error);
                ctx.log.flush();
                self.record(job.id, Outcome::Failed { error: &error })
            }
        }
    }

    fn record(&self, job_id: i64, outcome: Outcome<'_>) -> JobOutcome {
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

    fn start_heartbeat(&self, job_id: i64) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let pool = self.pool.clone();
        let name = self.options.name.clone();
        let lease = self.options.lease;
        let every = lease / 3;
        let thread = std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                let until = timestamp_now() + to_delta(lease);
                let renewed = pool
                    .get()
                    .map_err(crate::store::StoreError::from)
                    .and_then(|mut conn| queue::heartbeat(&mut conn, job_id, &name, until));
                match renewed {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = job_id, "lease lost to another worker");
                        break;
                    }
                    Err(error) => tracing::warn!(job = job_id, %error, "cannot renew the lease"),
                }
            }
        });
        Heartbeat {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

/// Stops the heartbeat thread when dropped.
struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
