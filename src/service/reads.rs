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
