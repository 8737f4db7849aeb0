//! Queries on scheduled releases (issue 14). A schedule moves only
//! forward, each step guarded by the state it leaves (`pending` →
//! `started` → `done`/`failed`, or `pending` → `cancelled`), so two
//! instances never start the same schedule twice.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::models::{NewSchedule, ScheduleRow};
use super::schema::release_schedules as s;

/// Waiting for its time.
pub const PENDING: &str = "pending";
/// Its time came; the job that releases is queued or running.
pub const STARTED: &str = "started";
/// The release (or rollback) was started.
pub const DONE: &str = "done";
/// Refused at its time (see `error`).
pub const FAILED: &str = "failed";
/// Cancelled before it started.
pub const CANCELLED: &str = "cancelled";

/// Inserts a schedule; returns its id.
pub fn insert(conn: &mut DbConn, row: &NewSchedule) -> StoreResult<i64> {
    Ok(diesel::insert_into(s::table)
        .values(row)
        .returning(s::id)
        .get_result(conn)?)
}

/// The schedule with `id`.
pub fn by_id(conn: &mut DbConn, id: i64) -> StoreResult<Option<ScheduleRow>> {
    Ok(s::table
        .find(id)
        .select(ScheduleRow::as_select())
        .first(conn)
        .optional()?)
}

/// The ticket's pending or started schedule, if any.
pub fn open_for(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Option<ScheduleRow>> {
    Ok(s::table
        .filter(s::ticket_id.eq(ticket_id))
        .filter(s::state.eq_any([PENDING, STARTED]))
        .order(s::id.desc())
        .select(ScheduleRow::as_select())
        .first(conn)
        .optional()?)
}

/// The ticket's newest schedule in any state.
pub fn latest_for(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Option<ScheduleRow>> {
    Ok(s::table
        .filter(s::ticket_id.eq(ticket_id))
        .order(s::id.desc())
        .select(ScheduleRow::as_select())
        .first(conn)
        .optional()?)
}

/// The pending schedules of `ticket_ids` (for lists).
pub fn pending_of(conn: &mut DbConn, ticket_ids: &[i64]) -> StoreResult<Vec<ScheduleRow>> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(s::table
        .filter(s::ticket_id.eq_any(ticket_ids))
        .filter(s::state.eq(PENDING))
        .select(ScheduleRow::as_select())
        .load(conn)?)
}

/// Pending schedules due at `now`, earliest first.
pub fn due(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<Vec<ScheduleRow>> {
    Ok(s::table
        .filter(s::state.eq(PENDING))
        .filter(s::run_at.le(now))
        .order((s::run_at.asc(), s::id.asc()))
        .select(ScheduleRow::as_select())
        .load(conn)?)
}

/// Moves schedule `id` from state `from` to `to`, recording `error` and
/// `job_id` when given; returns whether it was in `from`.
pub fn advance(
    conn: &mut DbConn,
    id: i64,
    from: &str,
    to: &str,
    error: Option<&str>,
    job_id: Option<i64>,
    now: NaiveDateTime,
) -> StoreResult<bool> {
    let target = s::table.find(id).filter(s::state.eq(from));
    let changed = diesel::update(target)
        .set((
            s::state.eq(to),
            s::error.eq(error),
            s::job_id.eq(job_id),
            s::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Records the stable code of schedule `id`'s failure (a translation key).
pub fn set_error_code(conn: &mut DbConn, id: i64, code: &str) -> StoreResult<()> {
    diesel::update(s::table.find(id))
        .set(s::error_code.eq(code))
        .execute(conn)?;
    Ok(())
}

/// Moves a pending schedule to `run_at`; returns whether it was pending.
pub fn reschedule(conn: &mut DbConn, id: i64, run_at: NaiveDateTime, now: NaiveDateTime) -> StoreResult<bool> {
    let changed = diesel::update(s::table.find(id).filter(s::state.eq(PENDING)))
        .set((s::run_at.eq(run_at), s::updated_at.eq(now)))
        .execute(conn)?;
    Ok(changed == 1)
}
