//! Queries on the job queue: enqueue, claim with a lease (PostgreSQL:
//! `FOR UPDATE SKIP LOCKED`; SQLite: the immediate write transaction), the
//! per-project pipeline lock, heartbeats, completion, retry and the sweep of
//! expired leases; and job output lines.

use chrono::{NaiveDateTime, SubsecRound};
use diesel::prelude::*;

use super::db::{write_tx, DbConn};
use super::error::StoreResult;
use super::models::{JobLogRow, JobRow, NewJob, NewJobLog};
use super::schema::{job_logs, jobs, projects};

/// The states of a job that has not ended.
pub const UNFINISHED: [&str; 2] = ["queued", "running"];

/// `jobs.state` is one of [`UNFINISHED`], written as two comparisons: a
/// statement that holds it stays in SQLite's statement cache, which one
/// with an `IN` list never does.
pub fn unfinished(
) -> diesel::dsl::Or<diesel::dsl::Eq<jobs::state, &'static str>, diesel::dsl::Eq<jobs::state, &'static str>> {
    jobs::state.eq(UNFINISHED[0]).or(jobs::state.eq(UNFINISHED[1]))
}

/// PostgreSQL channel a new job is announced on.
pub const NOTIFY_CHANNEL: &str = "slipway_jobs";

/// Enqueues a job; returns its id. On PostgreSQL it also announces the job
/// (delivered when the surrounding transaction commits).
pub fn insert(conn: &mut DbConn, job: &NewJob) -> StoreResult<i64> {
    let id = diesel::insert_into(jobs::table)
        .values(job)
        .returning(jobs::id)
        .get_result(conn)?;
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query(format!("NOTIFY {NOTIFY_CHANNEL}")).execute(pg)?;
    }
    Ok(id)
}

/// The jobs of a ticket, oldest first.
pub fn for_ticket(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<JobRow>> {
    Ok(jobs::table
        .filter(jobs::ticket_id.eq(ticket_id))
        .order(jobs::id.asc())
        .select(JobRow::as_select())
        .load(conn)?)
}

/// The job with `id`.
pub fn by_id(conn: &mut DbConn, id: i64) -> StoreResult<Option<JobRow>> {
    Ok(jobs::table
        .find(id)
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether a job of `kind` for `project_id` is waiting or running.
pub fn pending_exists(conn: &mut DbConn, kind: &str, project_id: i64) -> StoreResult<bool> {
    let count: i64 = jobs::table
        .filter(jobs::kind.eq(kind))
        .filter(jobs::project_id.eq(project_id))
        .filter(jobs::state.eq_any(UNFINISHED))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// Whether a job of `kind` with exactly `payload` exists (any state).
pub fn exists(conn: &mut DbConn, kind: &str, payload: &str) -> StoreResult<bool> {
    let n: i64 = jobs::table
        .filter(jobs::kind.eq(kind))
        .filter(jobs::payload.eq(payload))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The database's clock (UTC), which every lease is measured on, so workers
/// on machines whose clocks disagree still agree on when a lease ends.
/// SQLite lives on this machine: its clock is this machine's.
pub fn db_now(conn: &mut DbConn) -> StoreResult<NaiveDateTime> {
    match conn {
        DbConn::Pg(pg) => {
            let now: NaiveDateTime = diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamp>(
                "(clock_timestamp() AT TIME ZONE 'UTC')",
            ))
            .get_result(pg)?;
            Ok(now.trunc_subsecs(6))
        }
        DbConn::Sqlite(_) => Ok(super::timestamp_now()),
    }
}

/// Whether a job of `kind` for ticket `ticket_id` is waiting or running.
pub fn active_for_ticket(conn: &mut DbConn, ticket_id: i64, kind: &str) -> StoreResult<bool> {
    let count: i64 = jobs::table
        .filter(jobs::ticket_id.eq(ticket_id))
        .filter(jobs::kind.eq(kind))
        .filter(jobs::state.eq_any(UNFINISHED))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

/// The newest job of `kind` for ticket `ticket_id`, if any.
pub fn newest_for_ticket(conn: &mut DbConn, ticket_id: i64, kind: &str) -> StoreResult<Option<JobRow>> {
    Ok(jobs::table
        .filter(jobs::ticket_id.eq(ticket_id))
        .filter(jobs::kind.eq(kind))
        .order(jobs::id.desc())
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// A claimed job and the lease it holds.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The job as claimed (state `running`, attempts counted).
    pub job: JobRow,
    /// Whether it holds its project's pipeline lock.
    pub holds_project_lock: bool,
    /// This machine's monotonic time no later than the lease's start (the
    /// lease ends at most `lease` after it, whatever the wall clocks say).
    pub leased_at: std::time::Instant,
}

/// What to claim.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// Job kinds this worker runs.
    pub kinds: &'a [&'a str],
    /// Kinds that take their project's pipeline lock (at most one at a time per project).
    pub locking_kinds: &'a [&'a str],
    /// The worker's name (recorded as `locked_by`).
    pub worker: &'a str,
    /// Now (UTC).
    pub now: NaiveDateTime,
    /// Lease end (UTC).
    pub lease_until: NaiveDateTime,
}

fn candidates(conn: &mut DbConn, request: &ClaimRequest<'_>) -> StoreResult<Vec<JobRow>> {
    // Queued and due, or running with an expired lease (its worker died).
    let runnable = jobs::state
        .eq("queued")
        .and(jobs::run_after.le(request.now))
        .nullable()
        .or(jobs::state
            .eq("running")
            .nullable()
            .and(jobs::locked_until.lt(request.now)));
    macro_rules! query {
        () => {
            jobs::table
                .filter(jobs::kind.eq_any(request.kinds))
                .filter(runnable)
                .order(jobs::id.asc())
                .limit(50)
                .select(JobRow::as_select())
        };
    }
    Ok(match conn {
        DbConn::Pg(pg) => query!().for_update().skip_locked().load(pg)?,
        DbConn::Sqlite(sqlite) => query!().load(sqlite)?,
    })
}

fn try_lock_project(conn: &mut DbConn, project_id: i64, job_id: i64, request: &ClaimRequest<'_>) -> StoreResult<bool> {
    let free = projects::lock_job_id
        .is_null()
        .nullable()
        .or(projects::lock_until.lt(request.now))
        .or(projects::lock_job_id.eq(job_id));
    let taken = diesel::update(projects::table.find(project_id).filter(free))
        .set((
            projects::lock_job_id.eq(job_id),
            projects::lock_until.eq(request.lease_until),
        ))
        .execute(conn)?;
    Ok(taken == 1)
}

/// Claims the oldest runnable job of the requested kinds whose project is
/// not busy with another pipeline job; `None` when there is nothing to do.
pub fn claim(conn: &mut DbConn, request: &ClaimRequest<'_>) -> StoreResult<Option<Claim>> {
    let leased_at = std::time::Instant::now();
    write_tx(conn, |conn| {
        for job in candidates(conn, request)? {
            let locking = request.locking_kinds.contains(&job.kind.as_str());
            if let (true, Some(project_id)) = (locking, job.project_id) {
                if !try_lock_project(conn, project_id, job.id, request)? {
                    continue;
                }
            }
            let claimed = diesel::update(
                jobs::table
                    .find(job.id)
                    .filter(jobs::state.eq(&job.state))
                    .filter(jobs::attempts.eq(job.attempts)),
            )
            .set((
                jobs::state.eq("running"),
                jobs::attempts.eq(job.attempts + 1),
                jobs::locked_until.eq(request.lease_until),
                jobs::locked_by.eq(request.worker),
                jobs::updated_at.eq(request.now),
            ))
            .execute(conn)?;
            if claimed == 1 {
                let job = jobs::table.find(job.id).select(JobRow::as_select()).first(conn)?;
                return Ok(Some(Claim {
                    job,
                    holds_project_lock: locking,
                    leased_at,
                }));
            }
        }
        Ok(None)
    })
}

/// Extends the lease of a job this worker holds (and its project lock).
/// Returns false when the lease was lost (another worker took the job over).
pub fn heartbeat(conn: &mut DbConn, job_id: i64, worker: &str, until: NaiveDateTime) -> StoreResult<bool> {
    write_tx(conn, |conn| {
        let kept = diesel::update(
            jobs::table
                .find(job_id)
                .filter(jobs::state.eq("running"))
                .filter(jobs::locked_by.eq(worker)),
        )
        .set(jobs::locked_until.eq(until))
        .execute(conn)?;
        if kept == 1 {
            diesel::update(projects::table.filter(projects::lock_job_id.eq(job_id)))
                .set(projects::lock_until.eq(until))
                .execute(conn)?;
        }
        Ok(kept == 1)
    })
}

/// How a job ended.
#[derive(Debug, Clone)]
pub enum Outcome<'a> {
    /// Done.
    Done,
    /// Failed; try again at the given time.
    Retry {
        /// The error.
        error: &'a str,
        /// Not before (UTC).
        at: NaiveDateTime,
    },
    /// Failed for good.
    Failed {
        /// The error.
        error: &'a str,
    },
}

/// Records how a job this worker holds ended and frees its project lock.
/// Returns false when this worker no longer held the job.
pub fn finish(
    conn: &mut DbConn,
    job_id: i64,
    worker: &str,
    outcome: Outcome<'_>,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    write_tx(conn, |conn| {
        let held = jobs::table
            .find(job_id)
            .filter(jobs::state.eq("running"))
            .filter(jobs::locked_by.eq(worker));
        let changed = match outcome {
            Outcome::Done => diesel::update(held)
                .set((
                    jobs::state.eq("done"),
                    jobs::locked_until.eq(None::<NaiveDateTime>),
                    jobs::updated_at.eq(now),
                ))
                .execute(conn)?,
            Outcome::Retry { error, at } => diesel::update(held)
                .set((
                    jobs::state.eq("queued"),
                    jobs::run_after.eq(at),
                    jobs::last_error.eq(error),
                    jobs::locked_until.eq(None::<NaiveDateTime>),
                    jobs::locked_by.eq(None::<String>),
                    jobs::updated_at.eq(now),
                ))
                .execute(conn)?,
            Outcome::Failed { error } => diesel::update(held)
                .set((
                    jobs::state.eq("failed"),
                    jobs::last_error.eq(error),
                    jobs::locked_until.eq(None::<NaiveDateTime>),
                    jobs::updated_at.eq(now),
                ))
                .execute(conn)?,
        };
        diesel::update(projects::table.filter(projects::lock_job_id.eq(job_id)))
            .set((
                projects::lock_job_id.eq(None::<i64>),
                projects::lock_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(changed == 1)
    })
}

/// Puts jobs whose lease expired back in the queue; returns how many.
pub fn requeue_expired(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<usize> {
    Ok(diesel::update(
        jobs::table
            .filter(jobs::state.eq("running"))
            .filter(jobs::locked_until.lt(now)),
    )
    .set((
        jobs::state.eq("queued"),
        jobs::locked_by.eq(None::<String>),
        jobs::run_after.eq(now),
        jobs::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// Queue depth: (jobs waiting, oldest waiting job's creation time).
pub fn queue_depth(conn: &mut DbConn) -> StoreResult<(i64, Option<NaiveDateTime>)> {
    let waiting = jobs::table.filter(jobs::state.eq("queued"));
    let count: i64 = waiting.count().get_result(conn)?;
    let oldest: Option<NaiveDateTime> = waiting.select(diesel::dsl::min(jobs::created_at)).first(conn)?;
    Ok((count, oldest))
}

/// Appends output lines.
pub fn append_logs(conn: &mut DbConn, lines: &[NewJobLog]) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    // Multi-row INSERT is backend-specific in diesel, so dispatch here.
    match conn {
        DbConn::Pg(pg) => diesel::insert_into(job_logs::table).values(lines).execute(pg)?,
        DbConn::Sqlite(sqlite) => diesel::insert_into(job_logs::table).values(lines).execute(sqlite)?,
    };
    Ok(())
}

/// A ticket's job output after line id `after`, oldest first, at most `limit` lines.
pub fn logs_for_ticket(conn: &mut DbConn, ticket_id: i64, after: i64, limit: i64) -> StoreResult<Vec<JobLogRow>> {
    Ok(job_logs::table
        .filter(job_logs::ticket_id.eq(ticket_id))
        .filter(job_logs::id.gt(after))
        .order(job_logs::id.asc())
        .limit(limit)
        .select(JobLogRow::as_select())
        .load(conn)?)
}

/// A job's output, oldest first.
pub fn logs_for_job(conn: &mut DbConn, job_id: i64) -> StoreResult<Vec<JobLogRow>> {
    Ok(job_logs::table
        .filter(job_logs::job_id.eq(job_id))
        .order(job_logs::id.asc())
        .select(JobLogRow::as_select())
        .load(conn)?)
}

/// Deletes output lines older than `before`; returns how many.
pub fn delete_logs_before(conn: &mut DbConn, before: NaiveDateTime) -> StoreResult<usize> {
    Ok(diesel::delete(job_logs::table.filter(job_logs::created_at.lt(before))).execute(conn)?)
}
