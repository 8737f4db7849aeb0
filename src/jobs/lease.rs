//! Keeping a running job's lease, and self-fencing when that fails
//! (invariant 11).
//!
//! A renewer thread extends the lease every third of its length, on the
//! database's clock. Each success moves the *fence* to `lease − margin`
//! after the moment the renewal was sent (this machine's monotonic clock, so
//! no wall clock is trusted). A watchdog thread sets the job's cancel flag
//! when the fence is reached — the renewals failed (database down, a stalled
//! connection, a lock on the job row) for almost a whole lease — or at once
//! when a renewal finds the job taken over. The flag kills the job's running
//! programs and stops the handler before another worker may claim the job.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::TimeDelta;

use crate::process::CancelFlag;
use crate::store::jobs as queue;
use crate::store::Pool;

/// How long before the lease ends a worker that could not renew it stops
/// the job: a quarter of the lease (at least 200 ms), time enough to kill
/// its programs.
pub fn fence_margin(lease: Duration) -> Duration {
    (lease / 4).max(Duration::from_millis(200)).min(lease)
}

fn to_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// What the heartbeat needs to know about one running job.
pub struct LeaseSpec {
    /// The job.
    pub job_id: i64,
    /// The worker holding it (`locked_by`).
    pub worker: String,
    /// Lease length.
    pub lease: Duration,
    /// No later than the lease's start, on this machine's monotonic clock.
    pub leased_at: Instant,
    /// Set to stop the job.
    pub cancel: CancelFlag,
    /// Test hook: while set, every renewal counts as failed.
    pub fault: Option<Arc<AtomicBool>>,
}

/// Renews a job's lease while it runs and fences the job off when it cannot;
/// stops when dropped.
pub struct Heartbeat {
    stop: Vec<mpsc::Sender<()>>,
    watchdog: Option<std::thread::JoinHandle<()>>,
}

fn renew(pool: &Pool, spec: &LeaseSpec) -> Result<bool, String> {
    if spec.fault.as_ref().is_some_and(|f| f.load(Ordering::SeqCst)) {
        return Err("lease renewal blocked (fault injected)".into());
    }
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let now = queue::db_now(&mut conn).map_err(|e| e.to_string())?;
    queue::heartbeat(&mut conn, spec.job_id, &spec.worker, now + to_delta(spec.lease)).map_err(|e| e.to_string())
}

impl Heartbeat {
    /// Starts the renewer and the watchdog for `spec`.
    pub fn start(pool: Pool, spec: LeaseSpec) -> Self {
        let margin = fence_margin(spec.lease);
        let fence = Arc::new(Mutex::new(spec.leased_at + spec.lease - margin));
        let (stop_renewer, renewer_stopped) = mpsc::channel::<()>();
        let (stop_watchdog, watchdog_stopped) = mpsc::channel::<()>();
        let every = (spec.lease / 3).max(Duration::from_millis(10));
        let poll = (spec.lease / 50).clamp(Duration::from_millis(10), Duration::from_millis(200));
        let cancel = Arc::clone(&spec.cancel);
        let job_id = spec.job_id;
        let watch_fence = Arc::clone(&fence);
        let watchdog = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = watchdog_stopped.recv_timeout(poll) {
                let at = *watch_fence.lock().unwrap_or_else(|e| e.into_inner());
                if Instant::now() >= at {
                    tracing::error!(
                        job = job_id,
                        "the lease could not be renewed; stopping the job before it runs out"
                    );
                    cancel.store(true, Ordering::SeqCst);
                    break;
                }
            }
        });
        // Not joined on drop: a renewal may hang on a stalled database, and
        // the job must not wait for it. Its late write is refused anyway
        // (the job is no longer `running` under this worker's name).
        std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = renewer_stopped.recv_timeout(every) {
                if spec.cancel.load(Ordering::SeqCst) {
                    break;
                }
                let sent = Instant::now();
                match renew(&pool, &spec) {
                    Ok(true) => *fence.lock().unwrap_or_else(|e| e.into_inner()) = sent + spec.lease - margin,
                    Ok(false) => {
                        tracing::warn!(job = spec.job_id, "lease lost to another worker; stopping the job");
                        spec.cancel.store(true, Ordering::SeqCst);
                        break;
                    }
                    Err(error) => tracing::warn!(job = spec.job_id, %error, "cannot renew the lease"),
                }
            }
        });
        Heartbeat {
            stop: vec![stop_renewer, stop_watchdog],
            watchdog: Some(watchdog),
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.clear();
        if let Some(thread) = self.watchdog.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_a_quarter_of_the_lease_within_bounds() {
        assert_eq!(fence_margin(Duration::from_secs(60)), Duration::from_secs(15));
        assert_eq!(fence_margin(Duration::from_millis(400)), Duration::from_millis(200));
        assert_eq!(fence_margin(Duration::from_millis(100)), Duration::from_millis(100));
    }
}
