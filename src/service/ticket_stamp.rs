//! The live ticket page's question "did anything change?": a short
//! fingerprint of the ticket row, its events, approvals, jobs and hosts,
//! read in two statements, and whether the ticket can still change.

use std::str::FromStr;

use serde::Serialize;

use crate::domain::TicketState;
use crate::store::models::TicketRow;
use crate::store::{listing, DbConn};

use super::error::ServiceResult;
use super::visibility::Reader;

/// What the live ticket page polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketStamp {
    /// Changes whenever anything the ticket page shows changes.
    pub stamp: String,
    /// The ticket's state.
    pub state: String,
    /// No action leaves this state and no job runs: polling may stop.
    pub settled: bool,
}

/// The [`TicketStamp`] of ticket `id`; "not found" when `reader` does not
/// see it.
pub fn ticket_stamp(conn: &mut DbConn, reader: &Reader, id: i64) -> ServiceResult<TicketStamp> {
    let ticket = reader.ticket(conn, id)?;
    stamp_of(conn, &ticket)
}

/// The [`TicketStamp`] of a ticket row already read through a reader.
pub(super) fn stamp_of(conn: &mut DbConn, ticket: &TicketRow) -> ServiceResult<TicketStamp> {
    let a = listing::ticket_activity(conn, ticket.id)?;
    let time = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.and_utc().timestamp_micros()).unwrap_or(0);
    let stamp = format!(
        "{}.{}.{}.{}.{}.{}.{}.{}",
        ticket.lock_version,
        ticket.updated_at.and_utc().timestamp_micros(),
        a.events,
        a.approvals,
        a.jobs,
        time(a.jobs_updated),
        time(a.hosts_updated),
        ticket.state,
    );
    let fin = TicketState::from_str(&ticket.state).is_ok_and(TicketState::is_final);
    Ok(TicketStamp {
        stamp,
        settled: fin && !a.job_active,
        state: ticket.state.clone(),
    })
}
