//! A cheap fingerprint of everything the ticket page shows that a job or
//! another user can change: the live page polls it and re-reads the page
//! only when it moved.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max};
use diesel::prelude::*;

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
}

/// Counts and newest change times of ticket `id`'s events, approvals, jobs
/// and release hosts (four indexed aggregate queries).
pub fn ticket_activity(conn: &mut DbConn, id: i64) -> StoreResult<TicketActivity> {
    let events: i64 = ticket_events::table
        .filter(ticket_events::ticket_id.eq(id))
        .select(count_star())
        .get_result(conn)?;
    let approvals: i64 = approvals::table
        .filter(approvals::ticket_id.eq(id))
        .select(count_star())
        .get_result(conn)?;
    let (jobs, jobs_updated): (i64, Option<NaiveDateTime>) = jobs::table
        .filter(jobs::ticket_id.eq(id))
        .select((count_star(), max(jobs::updated_at)))
        .get_result(conn)?;
    let hosts_updated: Option<NaiveDateTime> = release_hosts::table
        .filter(release_hosts::ticket_id.eq(id))
        .select(max(release_hosts::updated_at))
        .get_result(conn)?;
    Ok(TicketActivity {
        events,
        approvals,
        jobs,
        jobs_updated,
        hosts_updated,
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
