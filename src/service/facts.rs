//! Turning stored rows into the domain's view of a ticket, a project's
//! rules and an actor.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDateTime};

use crate::domain::{
    Actor, Approval, ApprovalPolicy, FreezeCalendar, FreezeWindow, Role, TicketFacts, TicketKind, TicketState,
    UserActor, WeekTime,
};
use crate::store::listing::{DecideRow, TicketListRow};
use crate::store::models::{ApprovalRow, FreezeWindowRow, HostRow, ProjectRow, TicketRow, UserRow};
use crate::store::{users, DbConn, StoreError};

use super::error::{ServiceError, ServiceResult};

fn corrupt(what: impl std::fmt::Display) -> ServiceError {
    ServiceError::Store(StoreError::Corrupt(what.to_string()))
}

/// Parses the stored state name.
pub fn state_of(ticket: &TicketRow) -> ServiceResult<TicketState> {
    ticket.state.parse().map_err(corrupt)
}

/// The domain's facts about a ticket.
pub fn ticket_facts(ticket: &TicketRow, approvals: &[ApprovalRow]) -> ServiceResult<TicketFacts> {
    facts_of(
        &ticket.kind,
        &ticket.state,
        &DecideRow {
            project_id: ticket.project_id,
            submitter_id: ticket.submitter_id,
            tested_by: ticket.tested_by,
            stage_generation: ticket.stage_generation,
            snapshot_seq: ticket.snapshot_seq,
            failed_from: None,
            outside_paths: String::new(),
            outside_paths_confirmed_by: ticket.outside_paths_confirmed_by,
        },
        ticket.failed_from.as_deref(),
        !super::outside::stored(ticket).is_empty(),
        approvals,
    )
}

/// The domain's facts about a listed ticket (its list row and
/// [`DecideRow`]), as [`ticket_facts`] gives them for the full row.
pub fn listed_facts(row: &TicketListRow, decide: &DecideRow, approvals: &[ApprovalRow]) -> ServiceResult<TicketFacts> {
    facts_of(
        &row.kind,
        &row.state,
        decide,
        decide.failed_from.as_deref(),
        super::outside::any_stored(&decide.outside_paths),
        approvals,
    )
}

fn facts_of(
    kind: &str,
    state: &str,
    d: &DecideRow,
    failed_from: Option<&str>,
    has_outside_paths: bool,
    approvals: &[ApprovalRow],
) -> ServiceResult<TicketFacts> {
    Ok(TicketFacts {
        kind: kind.parse::<TicketKind>().map_err(corrupt)?,
        state: state.parse::<TicketState>().map_err(corrupt)?,
        submitter_id: d.submitter_id,
        tested_by: d.tested_by,
        generation: d.stage_generation,
        snapshot_seq: d.snapshot_seq,
        approvals: approvals
            .iter()
            .map(|a| Approval {
                user_id: a.user_id,
                generation: a.generation,
                at: a.created_at.and_utc(),
            })
            .collect(),
        failed_from: failed_from.map(str::parse).transpose().map_err(corrupt)?,
        has_outside_paths,
        outside_paths_confirmed: d.outside_paths_confirmed_by.is_some(),
    })
}

/// The project's approval policy.
pub fn policy(project: &ProjectRow) -> ApprovalPolicy {
    ApprovalPolicy {
        required: u32::try_from(project.approvals_required.max(1)).unwrap_or(1),
        allow_self_approval: project.allow_self_approval,
        tested_by_may_approve: project.tested_by_may_approve,
        require_outside_paths_confirmation: project.require_outside_paths_confirmation,
        expiry: project.approval_expiry_minutes.map(|m| Duration::minutes(i64::from(m))),
    }
}

/// The project's freeze calendar.
pub fn freeze_calendar(project: &ProjectRow, rows: &[FreezeWindowRow]) -> ServiceResult<FreezeCalendar> {
    let windows = rows
        .iter()
        .map(|row| freeze_window(row).ok_or_else(|| corrupt(format!("freeze window of project {}", project.name))))
        .collect::<ServiceResult<Vec<_>>>()?;
    let zone = crate::domain::parse_zone(&project.time_zone)
        .ok_or_else(|| corrupt(format!("time zone `{}` of project {}", project.time_zone, project.name)))?;
    Ok(FreezeCalendar { windows, zone })
}

fn freeze_window(row: &FreezeWindowRow) -> Option<FreezeWindow> {
    let week = |m: Option<i32>| m.and_then(|m| u32::try_from(m).ok()).and_then(WeekTime::from_minutes);
    let utc = |t: Option<NaiveDateTime>| t.map(|t| t.and_utc());
    match row.kind.as_str() {
        "range" => Some(FreezeWindow::Range {
            from: utc(row.starts_at)?,
            to: utc(row.ends_at)?,
        }),
        "weekly" => Some(FreezeWindow::Weekly {
            from: week(row.weekly_from)?,
            to: week(row.weekly_to)?,
        }),
        _ => None,
    }
}

/// The acting user with their roles in `project_id`; a disabled user may not act.
pub fn user_actor(conn: &mut DbConn, user: &UserRow, project_id: i64) -> ServiceResult<Actor> {
    if user.disabled {
        return Err(ServiceError::Disabled(user.username.clone()));
    }
    let roles = users::roles_in_project(conn, user.id, project_id)?
        .iter()
        .map(|r| r.parse::<Role>().map_err(corrupt))
        .collect::<ServiceResult<BTreeSet<Role>>>()?;
    Ok(Actor::User(UserActor {
        id: user.id,
        is_admin: user.is_admin,
        roles,
    }))
}

/// What production runs, for the "never older than production" gate
/// (invariants 3 and 10): the newest version number and the newest
/// snapshot order among the last full release and every version any of
/// the project's hosts runs (a failed release may have switched them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProductionFloor {
    /// The highest version number running anywhere.
    pub version: Option<i64>,
    /// The newest snapshot order running anywhere.
    pub snapshot_seq: Option<i64>,
}

/// The [`ProductionFloor`] of `project`.
pub fn production_floor(conn: &mut DbConn, project: &ProjectRow) -> ServiceResult<ProductionFloor> {
    let hosts = crate::store::projects::hosts_of(conn, project.id)?;
    production_floor_among(conn, project, &hosts)
}

/// The [`ProductionFloor`] of `project` whose hosts (as
/// [`crate::store::projects::hosts_of`] reads them) the caller has read.
pub fn production_floor_among(
    conn: &mut DbConn,
    project: &ProjectRow,
    hosts: &[(String, HostRow)],
) -> ServiceResult<ProductionFloor> {
    let mut floor = ProductionFloor {
        version: project.production_version,
        snapshot_seq: project.production_snapshot_seq,
    };
    for version in crate::store::releases::versions_run_by(hosts) {
        floor.version = floor.version.max(Some(version));
        let seq = crate::store::tickets::by_version(conn, project.id, version)?.and_then(|t| t.snapshot_seq);
        floor.snapshot_seq = floor.snapshot_seq.max(seq);
    }
    Ok(floor)
}

/// The [`ProductionFloor`] of each of `projects` (by project id), in two
/// queries whatever their number.
pub fn production_floors(
    conn: &mut DbConn,
    projects: &[ProjectRow],
) -> ServiceResult<std::collections::HashMap<i64, ProductionFloor>> {
    use crate::store::listing;
    let ids: Vec<i64> = projects.iter().map(|p| p.id).collect();
    let running = listing::running_versions_of(conn, &ids)?;
    let versions: Vec<i64> = running.iter().map(|&(_, v)| v).collect();
    let seqs = if running.is_empty() {
        Vec::new()
    } else {
        listing::snapshot_seqs_of_versions(conn, &ids, &versions)?
    };
    let mut floors: std::collections::HashMap<i64, ProductionFloor> = projects
        .iter()
        .map(|p| {
            let floor = ProductionFloor {
                version: p.production_version,
                snapshot_seq: p.production_snapshot_seq,
            };
            (p.id, floor)
        })
        .collect();
    for (project_id, version) in running {
        if let Some(floor) = floors.get_mut(&project_id) {
            floor.version = floor.version.max(Some(version));
            let seq = seqs
                .iter()
                .find(|&&(p, v, _)| p == project_id && v == version)
                .and_then(|&(_, _, s)| s);
            floor.snapshot_seq = floor.snapshot_seq.max(seq);
        }
    }
    Ok(floors)
}
