//! Queries on tickets, their events and approvals.

use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::models::{ApprovalRow, EventRow, NewEvent, NewTicket, TicketRow};
use super::schema::{approvals, ticket_events, tickets};

/// Inserts a ticket; returns it.
pub fn insert(conn: &mut DbConn, ticket: &NewTicket) -> StoreResult<TicketRow> {
    // `RETURNING` of a whole row is not supported over MultiConnection; an id is.
    let id: i64 = diesel::insert_into(tickets::table)
        .values(ticket)
        .returning(tickets::id)
        .get_result(conn)?;
    Ok(tickets::table.find(id).select(TicketRow::as_select()).first(conn)?)
}

/// The ticket with `id`.
pub fn by_id(conn: &mut DbConn, id: i64) -> StoreResult<Option<TicketRow>> {
    Ok(tickets::table
        .find(id)
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes `row` back if nobody changed the ticket since `row.lock_version`
/// was read, bumping the lock version. Returns whether it was written.
pub fn update_if_unchanged(conn: &mut DbConn, row: &TicketRow) -> StoreResult<bool> {
    let changed = diesel::update(
        tickets::table
            .find(row.id)
            .filter(tickets::lock_version.eq(row.lock_version)),
    )
    .set((
        tickets::state.eq(&row.state),
        tickets::staged_revision.eq(row.staged_revision),
        tickets::base_revision.eq(row.base_revision),
        tickets::snapshot_commit.eq(&row.snapshot_commit),
        tickets::snapshot_seq.eq(row.snapshot_seq),
        tickets::stage_generation.eq(row.stage_generation),
        tickets::tested_by.eq(row.tested_by),
        tickets::failed_from.eq(&row.failed_from),
        tickets::last_error.eq(&row.last_error),
        tickets::version.eq(row.version),
        tickets::abort_requested.eq(row.abort_requested),
        tickets::abort_revert.eq(row.abort_revert),
        tickets::outside_paths.eq(&row.outside_paths),
        tickets::outside_paths_confirmed_by.eq(row.outside_paths_confirmed_by),
        tickets::lock_version.eq(row.lock_version + 1),
        tickets::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Every ticket in one of `states`, oldest first.
pub fn in_states(conn: &mut DbConn, states: &[&str]) -> StoreResult<Vec<TicketRow>> {
    Ok(tickets::table
        .filter(tickets::state.eq_any(states))
        .order(tickets::id.asc())
        .select(TicketRow::as_select())
        .load(conn)?)
}

/// Released tickets of a project whose version is above `version`.
pub fn released_after(conn: &mut DbConn, project_id: i64, version: i64) -> StoreResult<Vec<TicketRow>> {
    Ok(tickets::table
        .filter(tickets::project_id.eq(project_id))
        .filter(tickets::kind.eq("release"))
        .filter(tickets::state.eq("released"))
        .filter(tickets::version.gt(version))
        .order(tickets::id.asc())
        .select(TicketRow::as_select())
        .load(conn)?)
}

/// The release ticket that shipped `version` of a project.
pub fn by_version(conn: &mut DbConn, project_id: i64, version: i64) -> StoreResult<Option<TicketRow>> {
    Ok(tickets::table
        .filter(tickets::project_id.eq(project_id))
        .filter(tickets::kind.eq("release"))
        .filter(tickets::version.eq(version))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?)
}

/// The recent staged tickets of a project other than `except`: (id, stored
/// JSON list of SVN paths), newest first (at most 200).
pub fn staged_paths(conn: &mut DbConn, project_id: i64, except: i64) -> StoreResult<Vec<(i64, String)>> {
    Ok(tickets::table
        .filter(tickets::project_id.eq(project_id))
        .filter(tickets::id.ne(except))
        .filter(tickets::kind.eq("release"))
        .filter(tickets::snapshot_commit.is_not_null())
        .order(tickets::id.desc())
        .limit(200)
        .select((tickets::id, tickets::svn_paths))
        .load(conn)?)
}

/// The newest release ticket of project `project_id` that shipped a
/// version older than `version` (released, or released and later rolled
/// back).
pub fn shipped_before(conn: &mut DbConn, project_id: i64, version: i64) -> StoreResult<Option<TicketRow>> {
    Ok(tickets::table
        .filter(tickets::project_id.eq(project_id))
        .filter(tickets::kind.eq("release"))
        .filter(tickets::version.lt(version))
        .filter(tickets::state.eq_any(["released", "rolled_back"]))
        .order(tickets::version.desc())
        .select(TicketRow::as_select())
        .first(conn)
        .optional()?)
}

/// Appends an event; returns its id.
pub fn insert_event(conn: &mut DbConn, event: &NewEvent) -> StoreResult<i64> {
    Ok(diesel::insert_into(ticket_events::table)
        .values(event)
        .returning(ticket_events::id)
        .get_result(conn)?)
}

/// A ticket's events, oldest first.
pub fn events(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<EventRow>> {
    Ok(ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .order(ticket_events::id.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}

/// Records an approval.
pub fn insert_approval(conn: &mut DbConn, approval: &ApprovalRow) -> StoreResult<()> {
    diesel::insert_into(approvals::table).values(approval).execute(conn)?;
    Ok(())
}

/// A ticket's approvals, oldest first.
pub fn approvals(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<ApprovalRow>> {
    Ok(approvals::table
        .filter(approvals::ticket_id.eq(ticket_id))
        .order(approvals::id.asc())
        .select(ApprovalRow::as_select())
        .load(conn)?)
}

/// How many tickets of a project are not in a final state.
pub fn count_open(conn: &mut DbConn, project_id: i64) -> StoreResult<i64> {
    Ok(tickets::table
        .filter(tickets::project_id.eq(project_id))
        .filter(tickets::state.ne_all(["released", "rejected", "cancelled", "rolled_back"]))
        .count()
        .get_result(conn)?)
}

/// The event with `id`.
pub fn event(conn: &mut DbConn, id: i64) -> StoreResult<Option<EventRow>> {
    Ok(ticket_events::table
        .find(id)
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

/// The latest event of `ticket_id` that entered `state` from another state.
pub fn last_event_into(conn: &mut DbConn, ticket_id: i64, state: &str) -> StoreResult<Option<EventRow>> {
    Ok(ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .filter(ticket_events::to_state.eq(state))
        .filter(
            ticket_events::from_state
                .is_null()
                .or(ticket_events::from_state.ne(state)),
        )
        .order(ticket_events::id.desc())
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

/// Tickets waiting for approval (tested releases, requested rollbacks).
pub fn awaiting_approval(conn: &mut DbConn) -> StoreResult<Vec<TicketRow>> {
    Ok(tickets::table
        .filter(tickets::state.eq_any(["tested", "rollback_requested"]))
        .order(tickets::id.asc())
        .select(TicketRow::as_select())
        .load(conn)?)
}
