//! Queries on the job queue (enqueueing; claiming and leases come with the
//! worker).

use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::models::{JobRow, NewJob};
use super::schema::jobs;

/// Enqueues a job; returns its id.
pub fn insert(conn: &mut DbConn, job: &NewJob) -> StoreResult<i64> {
    Ok(diesel::insert_into(jobs::table)
        .values(job)
        .returning(jobs::id)
        .get_result(conn)?)
}

/// The jobs of a ticket, oldest first.
pub fn for_ticket(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<JobRow>> {
    Ok(jobs::table
        .filter(jobs::ticket_id.eq(ticket_id))
        .order(jobs::id.asc())
        .select(JobRow::as_select())
        .load(conn)?)
}
