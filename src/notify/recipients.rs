//! Who is told about an event:
//!
//! | kind | recipients |
//! |---|---|
//! | staged | the submitter and the project's testers |
//! | approval requested (tested, rollback requested) | the project's leads who may approve it |
//! | approved, rejected, returned | the submitter |
//! | released, failed, rolled back | the submitter, the ticket's approvers and the project's watchers |
//! | reminder level 1 / 2 | the leads who may approve it / and every admin |
//! | schedule failed | whoever scheduled the release |
//! | drift (not a ticket event) | the project's leads and watchers |
//!
//! The person who caused the event is not told about it; disabled users,
//! users without an email address and users who turned the kind off are
//! left out.

use std::collections::BTreeSet;

use crate::store::models::{EventRow, ProjectRow, TicketRow};
use crate::store::{projects, subscriptions, tickets, users, DbConn, StoreResult};

use super::Kind;

/// Leads who may still approve `ticket` (not its submitter unless the
/// project allows it; not those who approved this snapshot already).
pub fn approvers(conn: &mut DbConn, project: &ProjectRow, ticket: &TicketRow) -> StoreResult<BTreeSet<i64>> {
    let approved: BTreeSet<i64> = tickets::approvals(conn, ticket.id)?
        .into_iter()
        .filter(|a| a.generation == ticket.stage_generation)
        .map(|a| a.user_id)
        .collect();
    Ok(with_role(conn, project.id, "lead")?
        .into_iter()
        .filter(|id| project.allow_self_approval || *id != ticket.submitter_id)
        .filter(|id| !approved.contains(id))
        .collect())
}

fn with_role(conn: &mut DbConn, project_id: i64, role: &str) -> StoreResult<BTreeSet<i64>> {
    Ok(projects::members(conn, project_id)?
        .into_iter()
        .filter(|(_, r)| r == role)
        .map(|(id, _)| id)
        .collect())
}

/// The users to tell about `event` as `kind` (reminders: `level`).
pub fn for_event(
    conn: &mut DbConn,
    kind: Kind,
    level: i32,
    event: &EventRow,
    project: &ProjectRow,
    ticket: &TicketRow,
) -> StoreResult<Vec<i64>> {
    let mut ids: BTreeSet<i64> = BTreeSet::new();
    match kind {
        Kind::Staged => {
            ids.insert(ticket.submitter_id);
            ids.extend(with_role(conn, project.id, "tester")?);
        }
        Kind::ApprovalRequested => ids.extend(approvers(conn, project, ticket)?),
        Kind::Reminder => {
            ids.extend(approvers(conn, project, ticket)?);
            if level >= 2 {
                ids.extend(users::list(conn)?.into_iter().filter(|u| u.is_admin).map(|u| u.id));
            }
        }
        Kind::Approved | Kind::Rejected | Kind::Returned => {
            ids.insert(ticket.submitter_id);
        }
        Kind::ScheduleFailed => {
            if let Some(schedule) = crate::store::schedules::latest_for(conn, ticket.id)? {
                ids.insert(schedule.scheduled_by);
            }
        }
        Kind::Drift => {}
        Kind::Released | Kind::Failed | Kind::RolledBack => {
            ids.insert(ticket.submitter_id);
            ids.extend(tickets::approvals(conn, ticket.id)?.into_iter().map(|a| a.user_id));
            ids.extend(subscriptions::watchers(conn, project.id)?);
        }
    }
    if kind != Kind::Reminder {
        if let Some(actor) = event.actor_id {
            ids.remove(&actor);
        }
    }
    let mut out = Vec::new();
    for id in ids {
        if wants(conn, id, kind)? {
            out.push(id);
        }
    }
    Ok(out)
}

/// The users to tell about drift found on a host of project `project_id`:
/// its leads and watchers who want drift mail.
pub fn for_drift(conn: &mut DbConn, project_id: i64) -> StoreResult<Vec<i64>> {
    let mut ids = with_role(conn, project_id, "lead")?;
    ids.extend(subscriptions::watchers(conn, project_id)?);
    let mut out = Vec::new();
    for id in ids {
        if wants(conn, id, Kind::Drift)? {
            out.push(id);
        }
    }
    Ok(out)
}

/// Whether user `id` can and wants to receive `kind` now.
pub fn wants(conn: &mut DbConn, id: i64, kind: Kind) -> StoreResult<bool> {
    let Some(user) = users::by_id(conn, id)? else {
        return Ok(false);
    };
    if user.disabled || user.email.trim().is_empty() {
        return Ok(false);
    }
    Ok(!subscriptions::disabled_kinds(conn, id)?
        .iter()
        .any(|k| k == kind.as_str()))
}
