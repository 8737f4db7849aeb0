//! A ticket's timeline and approvals, and the audit log.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::models::EventRow;
use crate::store::schema::{approvals, projects, ticket_events, tickets, users};

/// An event with the actor's user name (None: Slipway itself).
#[derive(Debug, Clone)]
pub struct EventWithActor {
    /// The event.
    pub event: EventRow,
    /// Who.
    pub actor: Option<String>,
}

/// A ticket's events with actor names, oldest first.
pub fn events(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<EventWithActor>> {
    let rows: Vec<(EventRow, Option<String>)> = ticket_events::table
        .left_join(users::table.on(users::id.nullable().eq(ticket_events::actor_id)))
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .order(ticket_events::id.asc())
        .select((EventRow::as_select(), users::username.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(event, actor)| EventWithActor { event, actor })
        .collect())
}

/// An audit line: an event with its ticket's project and the actor.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// The event.
    pub event: EventRow,
    /// Project name.
    pub project: String,
    /// Who (None: Slipway).
    pub actor: Option<String>,
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this project.
    pub project_id: Option<i64>,
    /// Only this actor.
    pub actor_id: Option<i64>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this ticket.
    pub ticket_id: Option<i64>,
    /// Events with ids below this.
    pub cursor: Option<i64>,
    /// Page size.
    pub limit: i64,
    /// Only events of these projects (the reader's visible ones); `None`: any.
    pub projects: Option<Vec<i64>>,
}

/// One page of the audit log, newest first.
pub fn audit(conn: &mut DbConn, filter: &AuditFilter) -> StoreResult<(Vec<AuditRow>, bool)> {
    let mut query = ticket_events::table
        .inner_join(tickets::table.inner_join(projects::table))
        .left_join(users::table.on(users::id.nullable().eq(ticket_events::actor_id)))
        .select((EventRow::as_select(), projects::name, users::username.nullable()))
        .into_boxed();
    if let Some(p) = filter.project_id {
        query = query.filter(tickets::project_id.eq(p));
    }
    if let Some(ids) = &filter.projects {
        query = query.filter(tickets::project_id.eq_any(ids.clone()));
    }
    if let Some(a) = filter.actor_id {
        query = query.filter(ticket_events::actor_id.eq(a));
    }
    if let Some(a) = &filter.action {
        query = query.filter(ticket_events::action.eq(a.clone()));
    }
    if let Some(t) = filter.ticket_id {
        query = query.filter(ticket_events::ticket_id.eq(t));
    }
    if let Some(c) = filter.cursor {
        query = query.filter(ticket_events::id.lt(c));
    }
    let rows: Vec<(EventRow, String, Option<String>)> = query
        .order(ticket_events::id.desc())
        .limit(filter.limit + 1)
        .load(conn)?;
    let more = rows.len() as i64 > filter.limit;
    Ok((
        rows.into_iter()
            .take(filter.limit as usize)
            .map(|(event, project, actor)| AuditRow { event, project, actor })
            .collect(),
        more,
    ))
}

/// An approval with the approver's name.
#[derive(Debug, Clone, Queryable)]
pub struct ApprovalWithName {
    /// Approver id.
    pub user_id: i64,
    /// Approver name.
    pub username: String,
    /// Generation approved.
    pub generation: i32,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A ticket's approvals with names, oldest first.
pub fn approvals(conn: &mut DbConn, ticket_id: i64) -> StoreResult<Vec<ApprovalWithName>> {
    Ok(approvals::table
        .inner_join(users::table.on(users::id.eq(approvals::user_id)))
        .filter(approvals::ticket_id.eq(ticket_id))
        .order(approvals::id.asc())
        .select((
            approvals::user_id,
            users::username,
            approvals::generation,
            approvals::created_at,
        ))
        .load(conn)?)
}
