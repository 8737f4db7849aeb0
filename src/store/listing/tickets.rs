//! Ticket lists: the filtered, keyset-paginated list, a project's
//! released tickets, tickets and approvals by id.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::cached::in_ids;
use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::models::{ApprovalRow, TicketRow};
use crate::store::schema::{approvals, projects, ticket_events, tickets, users};
use crate::store::stored_time::StoredTime;

/// A ticket as lists show it.
#[derive(Debug, Clone, Queryable)]
pub struct TicketListRow {
    /// Id.
    pub id: i64,
    /// Project name.
    pub project: String,
    /// The project's version format (`v{n}`).
    pub version_format: String,
    /// `release` or `rollback`.
    pub kind: String,
    /// State name.
    pub state: String,
    /// Why.
    pub reason: String,
    /// Submitter's user name.
    pub submitter: String,
    /// Release version number.
    pub version: Option<i64>,
    /// Rollback target.
    pub target_version: Option<i64>,
    /// Created (UTC).
    #[diesel(deserialize_as = StoredTime)]
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    #[diesel(deserialize_as = StoredTime)]
    pub updated_at: NaiveDateTime,
}

/// Filters of the ticket list (ids already resolved from names).
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Only this project.
    pub project_id: Option<i64>,
    /// Only these states.
    pub states: Vec<String>,
    /// Only tickets filed by this user.
    pub submitter_id: Option<i64>,
    /// Keyset cursor: ids below (newest first) or above (oldest first) this.
    pub cursor: Option<i64>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Page size.
    pub limit: i64,
    /// Only tickets of these projects (the reader's visible ones); `None`: any.
    pub projects: Option<Vec<i64>>,
}

/// Tickets joined with their project and submitter, as every query that
/// loads [`TicketListRow`]s reads them (with `list_columns!`).
macro_rules! listed {
    () => {
        tickets::table
            .inner_join(projects::table)
            .inner_join(users::table.on(users::id.eq(tickets::submitter_id)))
    };
}

/// The columns of a [`TicketListRow`], over tickets joined with their
/// project and submitter: one list for every query that loads the rows.
macro_rules! list_columns {
    () => {
        (
            tickets::id,
            projects::name,
            projects::version_format,
            tickets::kind,
            tickets::state,
            tickets::reason,
            users::username,
            tickets::version,
            tickets::target_version,
            tickets::created_at,
            tickets::updated_at,
        )
    };
}

/// One page of tickets; `more` tells whether another page follows.
pub fn tickets(conn: &mut DbConn, filter: &TicketFilter) -> StoreResult<(Vec<TicketListRow>, bool)> {
    let mut query = listed!().select(list_columns!()).into_boxed();
    if let Some(p) = filter.project_id {
        query = query.filter(tickets::project_id.eq(p));
    }
    if let Some(ids) = &filter.projects {
        query = query.filter(tickets::project_id.eq_any(ids.clone()));
    }
    if !filter.states.is_empty() {
        query = query.filter(tickets::state.eq_any(filter.states.clone()));
    }
    if let Some(s) = filter.submitter_id {
        query = query.filter(tickets::submitter_id.eq(s));
    }
    match (filter.cursor, filter.oldest_first) {
        (Some(c), false) => query = query.filter(tickets::id.lt(c)),
        (Some(c), true) => query = query.filter(tickets::id.gt(c)),
        (None, _) => {}
    }
    query = if filter.oldest_first {
        query.order(tickets::id.asc())
    } else {
        query.order(tickets::id.desc())
    };
    let mut rows: Vec<TicketListRow> = query.limit(filter.limit + 1).load(conn)?;
    let more = rows.len() as i64 > filter.limit;
    rows.truncate(filter.limit as usize);
    Ok((rows, more))
}

/// A project's release tickets that got a version, newest first.
pub fn released(conn: &mut DbConn, project_id: i64, limit: i64) -> StoreResult<Vec<TicketListRow>> {
    Ok(listed!()
        .filter(tickets::project_id.eq(project_id))
        .filter(tickets::kind.eq("release"))
        .filter(tickets::state.eq_any(["released", "rolled_back"]))
        .order(tickets::version.desc())
        .limit(limit)
        .select(list_columns!())
        .load(conn)?)
}

/// These tickets as lists show them, newest first.
pub fn list_rows_by_ids(conn: &mut DbConn, ids: &[i64]) -> StoreResult<Vec<TicketListRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(listed!()
        .filter(in_ids(tickets::id, ids))
        .order(tickets::id.desc())
        .select(list_columns!())
        .load(conn)?)
}

/// The `limit` of these tickets changed last, as lists show them, the
/// latest changed first (then newest first): only those rows are read out.
pub fn latest_changed_by_ids(conn: &mut DbConn, ids: &[i64], limit: i64) -> StoreResult<Vec<TicketListRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(listed!()
        .filter(in_ids(tickets::id, ids))
        .order((tickets::updated_at.desc(), tickets::id.desc()))
        .limit(limit)
        .select(list_columns!())
        .load(conn)?)
}

/// What the domain needs to decide a listed ticket, beside its list row
/// (see [`candidates_by_ids`]).
#[derive(Debug, Clone, Queryable)]
pub struct DecideRow {
    /// Project.
    pub project_id: i64,
    /// Submitter.
    pub submitter_id: i64,
    /// Who marked it tested.
    pub tested_by: Option<i64>,
    /// Staging generation.
    pub stage_generation: i32,
    /// Snapshot order.
    pub snapshot_seq: Option<i64>,
    /// The state a failed ticket failed from.
    pub failed_from: Option<String>,
    /// The stored list of files outside the ticket's paths (JSON).
    pub outside_paths: String,
    /// Who confirmed those files.
    pub outside_paths_confirmed_by: Option<i64>,
}

/// These tickets as lists show them, each with what the domain needs to
/// decide it, newest first: one query instead of the full rows and then
/// the list rows of those kept.
pub fn candidates_by_ids(conn: &mut DbConn, ids: &[i64]) -> StoreResult<Vec<(TicketListRow, DecideRow)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(listed!()
        .filter(in_ids(tickets::id, ids))
        .order(tickets::id.desc())
        .select((
            list_columns!(),
            (
                tickets::project_id,
                tickets::submitter_id,
                tickets::tested_by,
                tickets::stage_generation,
                tickets::snapshot_seq,
                tickets::failed_from,
                tickets::outside_paths,
                tickets::outside_paths_confirmed_by,
            ),
        ))
        .load(conn)?)
}

/// Tickets by id (any order), for pages that decide over many at once.
pub fn tickets_by_ids(conn: &mut DbConn, ids: &[i64]) -> StoreResult<Vec<TicketRow>> {
    Ok(tickets::table
        .filter(tickets::id.eq_any(ids))
        .select(TicketRow::as_select())
        .load(conn)?)
}

/// The approvals of these tickets, oldest first.
pub fn approvals_of_tickets(conn: &mut DbConn, ids: &[i64]) -> StoreResult<Vec<ApprovalRow>> {
    Ok(approvals::table
        .filter(in_ids(approvals::ticket_id, ids))
        .order(approvals::id.asc())
        .select(ApprovalRow::as_select())
        .load(conn)?)
}

/// When each of these tickets last shipped (the `ship-succeeded` event).
pub fn shipped_at(conn: &mut DbConn, ticket_ids: &[i64]) -> StoreResult<Vec<(i64, NaiveDateTime)>> {
    Ok(ticket_events::table
        .filter(ticket_events::ticket_id.eq_any(ticket_ids))
        .filter(ticket_events::action.eq("ship-succeeded"))
        .select((ticket_events::ticket_id, ticket_events::created_at))
        .load(conn)?)
}

/// Approver names per ticket (all generations; the last counts).
pub fn approvers_of(conn: &mut DbConn, ticket_ids: &[i64]) -> StoreResult<Vec<(i64, String, i32)>> {
    Ok(approvals::table
        .inner_join(users::table.on(users::id.eq(approvals::user_id)))
        .filter(approvals::ticket_id.eq_any(ticket_ids))
        .order(approvals::id.asc())
        .select((approvals::ticket_id, users::username, approvals::generation))
        .load(conn)?)
}
