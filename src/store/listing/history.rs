//! SVN history and job output of a ticket: commits, log lines, its jobs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::json::Json;
use crate::store::models::JobRow;
use crate::store::schema::{job_logs, jobs, svn_revisions};

/// A changed path of an SVN commit, as `svn_revisions.paths` stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct StoredPathChange {
    /// `A`, `M`, `D`, `R`.
    #[serde(default)]
    pub action: String,
    /// The repository path.
    #[serde(default)]
    pub path: String,
}

/// One SVN commit.
#[derive(Debug, Clone, Queryable)]
pub struct SvnRevisionRow {
    /// Revision number.
    pub revision: i64,
    /// Author.
    pub author: String,
    /// When (UTC).
    pub committed_at: Option<NaiveDateTime>,
    /// Log message.
    pub message: String,
    /// JSON list of {action, path}; a malformed stored value is an error
    /// when read ([`Json::get`]), never "no paths".
    #[diesel(deserialize_as = String)]
    pub paths: Json<Vec<StoredPathChange>>,
}

/// The SVN commits of a project in (after, upto], oldest first (at most 500).
pub fn svn_revisions(conn: &mut DbConn, project_id: i64, after: i64, upto: i64) -> StoreResult<Vec<SvnRevisionRow>> {
    Ok(svn_revisions::table
        .filter(svn_revisions::project_id.eq(project_id))
        .filter(svn_revisions::revision.gt(after))
        .filter(svn_revisions::revision.le(upto))
        .order(svn_revisions::revision.asc())
        .limit(500)
        .select((
            svn_revisions::revision,
            svn_revisions::author,
            svn_revisions::committed_at,
            svn_revisions::message,
            svn_revisions::paths,
        ))
        .load(conn)?)
}

/// One line of job output.
#[derive(Debug, Clone, Queryable)]
pub struct LogLine {
    /// Id (the SSE event id; increasing).
    pub id: i64,
    /// Job.
    pub job_id: i64,
    /// `stdout`, `stderr` or `info`.
    pub stream: String,
    /// The text.
    pub line: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

/// Log lines of a ticket's jobs after line id `after`, oldest first.
pub fn log_lines(conn: &mut DbConn, ticket_id: i64, after: i64, limit: i64) -> StoreResult<Vec<LogLine>> {
    Ok(job_logs::table
        .filter(job_logs::ticket_id.eq(ticket_id))
        .filter(job_logs::id.gt(after))
        .order(job_logs::id.asc())
        .limit(limit)
        .select((
            job_logs::id,
            job_logs::job_id,
            job_logs::stream,
            job_logs::line,
            job_logs::created_at,
        ))
        .load(conn)?)
}

/// Whether a job of the ticket is queued or running.
pub fn ticket_job_active(conn: &mut DbConn, ticket_id: i64) -> StoreResult<bool> {
    let n: i64 = jobs::table
        .filter(jobs::ticket_id.eq(ticket_id))
        .filter(crate::store::jobs::unfinished())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A ticket's jobs, newest first.
pub fn ticket_jobs(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<JobRow>> {
    Ok(jobs::table
        .filter(jobs::ticket_id.eq(ticket_id))
        .order(jobs::id.desc())
        .select(JobRow::as_select())
        .load(conn)?)
}
