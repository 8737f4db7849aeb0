//! The figures `/metrics` reports: tickets and jobs by state, the oldest
//! due job, expired leases.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{jobs, tickets};

/// Tickets per state.
pub fn ticket_counts(conn: &mut DbConn) -> StoreResult<Vec<(String, i64)>> {
    Ok(tickets::table
        .group_by(tickets::state)
        .select((tickets::state, count_star()))
        .load(conn)?)
}

/// Jobs per state, with the oldest `created_at` per state.
pub fn job_counts(conn: &mut DbConn) -> StoreResult<Vec<(String, i64, Option<NaiveDateTime>)>> {
    Ok(jobs::table
        .group_by(jobs::state)
        .select((jobs::state, count_star(), min(jobs::run_after)))
        .load(conn)?)
}

/// The oldest `run_after` of a queued job that is due by `now` (None: nothing waits).
pub fn oldest_due_job(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<Option<NaiveDateTime>> {
    Ok(jobs::table
        .filter(jobs::state.eq("queued"))
        .filter(jobs::run_after.le(now))
        .select(min(jobs::run_after))
        .first::<Option<NaiveDateTime>>(conn)?)
}

/// Running jobs whose lease has expired (their worker is gone; the sweep re-queues them).
pub fn expired_leases(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<i64> {
    Ok(jobs::table
        .filter(jobs::state.eq("running"))
        .filter(jobs::locked_until.lt(now))
        .count()
        .get_result(conn)?)
}
