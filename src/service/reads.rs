//! Lists and logs as a [`Reader`] may see them: every list the pages and the
//! API show (tickets, audit, project names, job logs) is scoped here to the
//! reader's visible projects (see [`super::visibility`]), so no handler
//! can forget to.

use crate::store::listing::{self, AuditFilter, AuditRow, LogLine, TicketFilter, TicketListRow};
use crate::store::{visibility as store, DbConn};

use super::error::ServiceResult;
use super::visibility::Reader;

/// One page of tickets the reader sees; `more` tells whether another follows.
pub fn tickets(
    conn: &mut DbConn,
    reader: &Reader,
    mut filter: TicketFilter,
) -> ServiceResult<(Vec<TicketListRow>, bool)> {
    filter.projects = reader.scope(conn)?.ids();
    Ok(listing::tickets(conn, &filter)?)
}

/// One page of the audit log, only events of projects the reader sees.
pub fn audit(conn: &mut DbConn, reader: &Reader, mut filter: AuditFilter) -> ServiceResult<(Vec<AuditRow>, bool)> {
    filter.projects = reader.scope(conn)?.ids();
    Ok(listing::audit(conn, &filter)?)
}

/// Names of the projects the reader sees, sorted.
pub fn project_names(conn: &mut DbConn, reader: &Reader) -> ServiceResult<Vec<String>> {
    let ids = reader.scope(conn)?.ids();
    Ok(store::project_names_in(conn, ids.as_deref())?)
}

/// A ticket's job output after line `after` (at most `limit` lines) and
/// whether no job of it is queued or running; "not found" when the reader
/// does not see the ticket.
pub fn job_log(
    conn: &mut DbConn,
    reader: &Reader,
    ticket_id: i64,
    after: i64,
    limit: i64,
) -> ServiceResult<(Vec<LogLine>, bool)> {
    reader.ticket(conn, ticket_id)?;
    let lines = listing::log_lines(conn, ticket_id, after, limit)?;
    let done = !listing::ticket_job_active(conn, ticket_id)?;
    Ok((lines, done))
}

/// "Not found" when `name` is a well-formed project name the reader does
/// not see; a malformed name passes, for the service call to refuse it as
/// invalid input. Guards the writes that name a project (file a ticket,
/// request a rollback) so that they too do not tell an outsider it exists.
pub fn guard_project_name(conn: &mut DbConn, reader: &Reader, name: &str) -> ServiceResult<()> {
    match crate::domain::ProjectName::parse(name.trim()) {
        Ok(valid) => reader.project(conn, valid.as_str()).map(|_| ()),
        Err(_) => Ok(()),
    }
}

/// A ticket list query by names, its parameters already checked.
#[derive(Debug, Clone, Default)]
pub struct TicketQuery {
    /// Only these states (empty: all).
    pub states: Vec<String>,
    /// Page size.
    pub limit: i64,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Only this project (by name).
    pub project: Option<String>,
    /// Only this submitter (by user name).
    pub submitter: Option<String>,
    /// The id the previous page ended at.
    pub cursor: Option<i64>,
}

/// One page of the tickets matching `query` that the reader sees, and the
/// cursor of the next page (keyset pagination on the id; `None` on the last
/// page). An unknown project or submitter matches nothing.
pub fn ticket_page(
    conn: &mut DbConn,
    reader: &Reader,
    query: TicketQuery,
) -> ServiceResult<(Vec<TicketListRow>, Option<i64>)> {
    let project_id = match &query.project {
        Some(p) => match listing::project_id(conn, p)? {
            Some(id) => Some(id),
            None => return Ok((vec![], None)),
        },
        None => None,
    };
    let submitter_id = match &query.submitter {
        Some(u) => match listing::user_id(conn, u)? {
            Some(id) => Some(id),
            None => return Ok((vec![], None)),
        },
        None => None,
    };
    let filter = TicketFilter {
        project_id,
        states: query.states,
        submitter_id,
        cursor: query.cursor,
        oldest_first: query.oldest_first,
        limit: query.limit,
        projects: None,
    };
    let (rows, more) = tickets(conn, reader, filter)?;
    let next_cursor = if more { rows.last().map(|r| r.id) } else { None };
    Ok((rows, next_cursor))
}

/// [`ticket_page`] and the names of the projects the reader sees (the
/// ticket list page's filter), in one call.
pub fn ticket_list_page(
    conn: &mut DbConn,
    reader: &Reader,
    query: TicketQuery,
) -> ServiceResult<(Vec<TicketListRow>, Option<i64>, Vec<String>)> {
    let (rows, next) = ticket_page(conn, reader, query)?;
    Ok((rows, next, project_names(conn, reader)?))
}
