//! Rows of the job queue and job output.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::schema::jobs;

/// A job to enqueue.
#[derive(Debug, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob {
    /// Kind name.
    pub kind: String,
    /// JSON arguments.
    pub payload: String,
    /// Project it serialises on.
    pub project_id: Option<i64>,
    /// Ticket it works for.
    pub ticket_id: Option<i64>,
    /// Not before (UTC).
    pub run_after: NaiveDateTime,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A job as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    /// Id.
    pub id: i64,
    /// Kind name.
    pub kind: String,
    /// JSON arguments.
    pub payload: String,
    /// Project.
    pub project_id: Option<i64>,
    /// Ticket.
    pub ticket_id: Option<i64>,
    /// `queued`, `running`, `done`, `failed`, `cancelled`.
    pub state: String,
    /// Tries so far.
    pub attempts: i32,
    /// Tries allowed.
    pub max_attempts: i32,
    /// Not before (UTC).
    pub run_after: NaiveDateTime,
    /// Lease end (UTC).
    pub locked_until: Option<NaiveDateTime>,
    /// Worker holding the lease.
    pub locked_by: Option<String>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A line of job output to store.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = crate::store::schema::job_logs)]
pub struct NewJobLog {
    /// The job.
    pub job_id: i64,
    /// Its ticket, for the ticket page.
    pub ticket_id: Option<i64>,
    /// `stdout`, `stderr` or `info` (Slipway's own lines).
    pub stream: String,
    /// The text, secrets scrubbed.
    pub line: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// A stored line of job output.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::store::schema::job_logs)]
pub struct JobLogRow {
    /// Id (increasing; the SSE cursor).
    pub id: i64,
    /// The job.
    pub job_id: i64,
    /// Its ticket.
    pub ticket_id: Option<i64>,
    /// `stdout`, `stderr` or `info`.
    pub stream: String,
    /// The text.
    pub line: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}
