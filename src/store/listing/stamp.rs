//! A cheap fingerprint of everything the ticket page shows that a job or
//! another user can change: the live page polls it and re-reads the page
//! only when it moved.

use chrono::NaiveDateTime;
use diesel::dsl::max;
use diesel::prelude::*;

use crate::store::cached::eq_plus;
use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{approvals, job_logs, jobs, release_hosts, ticket_events};

/// The parts of a ticket's fingerprint that live outside the ticket row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketActivity {
    /// Events so far (every state change and note writes one).
    pub events: i64,
    /// Approval rows.
    pub approvals: i64,
    /// Jobs.
    pub jobs: i64,
    /// The newest change of any job.
    pub jobs_updated: Option<NaiveDateTime>,
    /// The newest change of any host's part in its release or rollback.
    pub hosts_updated: Option<NaiveDateTime>,
    /// Whether a job of the ticket is queued or running.
    pub job_active: bool,
}

/// Counts and newest change times of ticket `id`'s events, approvals, jobs
/// and release hosts, and whether a job of it is queued or running: one
/// statement of indexed subqueries (one round trip on PostgreSQL, one
/// cached statement on SQLite), as the live page asks it every few seconds.
pub fn ticket_activity(conn: &mut DbConn, id: i64) -> StoreResult<TicketActivity> {
    let events = ticket_events::table
        .filter(eq_plus(ticket_events::ticket_id, id))
        .count()
        .single_value();
    let approvals = approvals::table
        .filter(eq_plus(approvals::ticket_id, id))
        .count()
        .single_value();
    let jobs = jobs::table.filter(eq_plus(jobs::ticket_id, id)).count().single_value();
    let jobs_updated = jobs::table
        .filter(eq_plus(jobs::ticket_id, id))
        .select(max(jobs::updated_at))
        .single_value();
    let hosts_updated = release_hosts::table
        .filter(eq_plus(release_hosts::ticket_id, id))
        .select(max(release_hosts::updated_at))
        .single_value();
    let active = jobs::table
        .filter(eq_plus(jobs::ticket_id, id))
        .filter(crate::store::jobs::unfinished())
        .count()
        .single_value();
    type Row = (
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<i64>,
    );
    let (events, approvals, jobs, jobs_updated, hosts_updated, active): Row =
        diesel::select((events, approvals, jobs, jobs_updated, hosts_updated, active)).get_result(conn)?;
    Ok(TicketActivity {
        events: events.unwrap_or(0),
        approvals: approvals.unwrap_or(0),
        jobs: jobs.unwrap_or(0),
        jobs_updated,
        hosts_updated,
        job_active: active.unwrap_or(0) > 0,
    })
}

/// The lines of job `job_id`'s output that contain any of `needles` (e.g.
/// rsync's `Total bytes sent:`), oldest first, at most `limit`; the text
/// only.
pub fn job_lines_containing(conn: &mut DbConn, job_id: i64, needles: &[&str], limit: i64) -> StoreResult<Vec<String>> {
    let mut query = job_logs::table
        .filter(job_logs::job_id.eq(job_id))
        .select(job_logs::line)
        .order(job_logs::id.asc())
        .limit(limit)
        .into_boxed();
    let mut any: Option<Box<dyn BoxableExpression<job_logs::table, _, SqlType = diesel::sql_types::Bool>>> = None;
    for needle in needles {
        let pattern = format!(
            "%{}%",
            needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
        );
        let this = job_logs::line.like(pattern).escape('\\');
        any = Some(match any {
            Some(before) => Box::new(before.or(this)),
            None => Box::new(this),
        });
    }
    if let Some(filter) = any {
        query = query.filter(filter);
    }
    Ok(query.load(conn)?)
}
