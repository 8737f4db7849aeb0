//! What the health, readiness and metrics endpoints read: database
//! reachability, pending migrations, the job queue's state, and the
//! SQL-aggregated ticket and job figures.

use crate::store::metrics::DurationHistogram;
use crate::store::{listing, migrate, ping, timestamp_now, DbConn};

use super::error::ServiceResult;

/// The number of migrations not yet applied, after checking that the
/// database answers.
pub fn pending_migrations(conn: &mut DbConn) -> ServiceResult<usize> {
    ping(conn)?;
    Ok(migrate::pending_count(conn)?)
}

/// The figures of `GET /readyz`.
#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    /// Migrations not yet applied.
    pub pending_migrations: usize,
    /// Seconds the oldest due job has waited to be claimed.
    pub oldest_due_job_wait: Option<i64>,
    /// Running jobs whose lease expired.
    pub expired_leases: i64,
}

/// Reads the readiness figures (the database answered if this returns).
pub fn readiness(conn: &mut DbConn) -> ServiceResult<Readiness> {
    let pending_migrations = pending_migrations(conn)?;
    let now = timestamp_now();
    Ok(Readiness {
        pending_migrations,
        oldest_due_job_wait: listing::oldest_due_job(conn, now)?.map(|t| (now - t).num_seconds().max(0)),
        expired_leases: listing::expired_leases(conn, now)?,
    })
}

/// The ticket and job figures of `GET /metrics`, aggregated by the database
/// so a scrape costs the same with ten jobs or a million.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Tickets by state.
    pub tickets: Vec<(String, i64)>,
    /// Jobs by state, with the oldest `run_after` of each.
    pub jobs: Vec<(String, i64, Option<chrono::NaiveDateTime>)>,
    /// Seconds the oldest queued job has waited.
    pub oldest_queued_seconds: f64,
    /// Durations of jobs finished in the last 24 hours, by kind.
    pub job_durations: Vec<DurationHistogram>,
}

/// Reads the metrics figures; `buckets` are the job duration histogram's bounds.
pub fn figures(conn: &mut DbConn, buckets: &[f64]) -> ServiceResult<Figures> {
    let now = timestamp_now();
    let since = now - chrono::TimeDelta::hours(24);
    let jobs = listing::job_counts(conn)?;
    let oldest_queued_seconds = jobs
        .iter()
        .find(|(st, _, _)| st == "queued")
        .and_then(|j| j.2)
        .map_or(0.0, |t| ((now - t).num_milliseconds().max(0) as f64) / 1000.0);
    Ok(Figures {
        tickets: listing::ticket_counts(conn)?,
        jobs,
        oldest_queued_seconds,
        job_durations: crate::store::metrics::job_durations(conn, since, buckets)?,
    })
}
