//! A signed-in reader's requests on tickets, as the pages and the API make
//! them: file a release, request a rollback, act on a ticket. Each first
//! checks that the reader sees the project or ticket (so an outsider learns
//! nothing, not even from a malformed request), then goes through
//! [`super::tickets`], and answers with the ticket as the reader sees it.

use chrono::{DateTime, Utc};

use crate::store::DbConn;

use super::error::{ServiceError, ServiceResult};
use super::queries::{self, TicketView};
use super::reads;
use super::tickets::{self, ActionInput, ActorRef, NewRelease};
use super::visibility::Reader;

/// Files a release ticket as the reader; the new ticket as they see it.
pub fn submit(
    conn: &mut DbConn,
    reader: &Reader,
    release: &NewRelease,
    now: DateTime<Utc>,
) -> ServiceResult<TicketView> {
    reads::guard_project_name(conn, reader, release.project)?;
    let applied = tickets::submit(conn, ActorRef::User(reader.user.id), release, now)?;
    queries::ticket_view(conn, applied.ticket.id, reader, now)
}

/// Requests a rollback of `project` to `version` as the reader; the new
/// ticket as they see it.
pub fn request_rollback(
    conn: &mut DbConn,
    reader: &Reader,
    project: &str,
    version: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> ServiceResult<TicketView> {
    reads::guard_project_name(conn, reader, project)?;
    let applied = tickets::request_rollback(conn, ActorRef::User(reader.user.id), project, version, reason, now)?;
    queries::ticket_view(conn, applied.ticket.id, reader, now)
}

/// Applies `input` to ticket `id` as the reader; the ticket as they see it
/// afterwards. `input` is the caller's parse of the request: its error is
/// answered only once the reader is known to see the ticket ("not found"
/// otherwise).
pub fn act<E: From<ServiceError>>(
    conn: &mut DbConn,
    reader: &Reader,
    id: i64,
    input: Result<ActionInput, E>,
    now: DateTime<Utc>,
) -> Result<TicketView, E> {
    reader.ticket(conn, id)?;
    let input = input?;
    tickets::apply(conn, id, &input, now)?;
    Ok(queries::ticket_view(conn, id, reader, now)?)
}
