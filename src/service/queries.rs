//! Read models for the pages and the API: a ticket with everything its page
//! shows (timeline, approvals, what this user may do and why not); the
//! "my work" lists are in [`super::my_work`]. Reads only; the domain decides
//! what a user may do.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::{available_actions, decide, Action, Actor, ProjectRules, Request, TicketState, VersionFormat};
use crate::store::listing::{self, ApprovalWithName, EventWithActor, SvnRevisionRow};
use crate::store::models::{ApprovalRow, HostRow, JobRow, ProjectRow, TicketRow};
use crate::store::{projects, DbConn};

use super::error::{ServiceError, ServiceResult};
use super::facts;
use super::visibility::Reader;

/// Everything the ticket page and `GET /api/v1/tickets/{id}` show.
#[derive(Debug, Clone)]
pub struct TicketView {
    /// The ticket.
    pub ticket: TicketRow,
    /// Its project.
    pub project: ProjectRow,
    /// Who filed it.
    pub submitter: String,
    /// Who marked it tested.
    pub tested_by: Option<String>,
    /// The timeline.
    pub events: Vec<EventWithActor>,
    /// Approvals that count now.
    pub approvals: Vec<ApprovalWithName>,
    /// Approvals the project needs.
    pub approvals_required: u32,
    /// What the viewer may do now.
    pub actions: Vec<Action>,
    /// Why the viewer may not approve, when approval is what the ticket waits for.
    pub approve_refusal: Option<String>,
    /// Its stable code (`Refusal::code`), for a translated message.
    pub approve_refusal_code: Option<String>,
    /// What the viewer (an admin) may do only with an emergency override of
    /// the freeze window in force (and a reason): `release`, `execute`.
    pub override_actions: Vec<Action>,
    /// The freeze window in force now, if any.
    pub freeze: Option<String>,
    /// The actions the viewer would expect but may not take, with the
    /// domain's refusal of each ([`crate::domain::blocked_actions`]).
    pub blocked: Vec<crate::domain::Blocked>,
    /// The project's time zone (IANA name), for showing when a freeze ends.
    pub time_zone: chrono_tz::Tz,
    /// SVN commits in (base_revision, staged_revision].
    pub svn_commits: Vec<SvnRevisionRow>,
    /// The ticket's jobs, newest first.
    pub jobs: Vec<JobRow>,
    /// The hosts the project ships to (group, host).
    pub hosts: Vec<(String, HostRow)>,
    /// The version tag, once assigned.
    pub version_tag: Option<String>,
    /// The rollback target's tag.
    pub target_tag: Option<String>,
    /// Its newest schedule, unless cancelled (issue 14).
    pub schedule: Option<super::schedules::ScheduleView>,
    /// Whether the viewer may schedule (or change the schedule of) its release now.
    pub may_schedule: bool,
    /// When the project's next maintenance window starts, in its zone.
    pub next_window: Option<String>,
}

fn rules_parts(
    conn: &mut DbConn,
    project: &ProjectRow,
) -> ServiceResult<(crate::domain::ApprovalPolicy, crate::domain::FreezeCalendar)> {
    let policy = facts::policy(project);
    let freeze = facts::freeze_calendar(project, &projects::freeze_windows(conn, project.id)?)?;
    Ok((policy, freeze))
}

/// The ticket page's data for `reader`; "not found" when the reader does
/// not see the ticket's project.
pub fn ticket_view(
    conn: &mut DbConn,
    ticket_id: i64,
    reader: &Reader,
    now: DateTime<Utc>,
) -> ServiceResult<TicketView> {
    let ticket = reader.ticket(conn, ticket_id)?;
    view_of_ticket(conn, ticket, reader, now)
}

/// [`ticket_view`] of a ticket row already read through `reader`.
pub(super) fn view_of_ticket(
    conn: &mut DbConn,
    ticket: TicketRow,
    reader: &Reader,
    now: DateTime<Utc>,
) -> ServiceResult<TicketView> {
    let viewer = &reader.user;
    let project = projects::by_id(conn, ticket.project_id)?
        .ok_or_else(|| ServiceError::not_found("project", ticket.project_id))?;
    // One read serves the domain's facts and the names the page shows
    // (an approval's user row is never deleted: a foreign key keeps it).
    let named = listing::approvals(conn, ticket.id)?;
    let approvals: Vec<ApprovalRow> = named
        .iter()
        .map(|a| ApprovalRow {
            ticket_id: ticket.id,
            user_id: a.user_id,
            generation: a.generation,
            created_at: a.created_at,
        })
        .collect();
    let facts = facts::ticket_facts(&ticket, &approvals)?;
    let (policy, freeze) = rules_parts(conn, &project)?;
    let hosts = projects::hosts_of(conn, project.id)?;
    let rules = ProjectRules {
        policy: &policy,
        freeze: &freeze,
        production_snapshot_seq: facts::production_floor_among(conn, &project, &hosts)?.snapshot_seq,
    };
    let actor = facts::user_actor(conn, viewer, project.id).unwrap_or(Actor::System);
    let override_actions = match &actor {
        Actor::User(user) if user.is_admin && freeze.active(now).is_some() => [Action::Release, Action::Execute]
            .into_iter()
            .filter(|&action| {
                let request = Request {
                    action,
                    actor: &actor,
                    note: Some("(reason)"),
                    emergency_override: true,
                    confirm_outside_paths: true,
                    now,
                };
                decide(&facts, rules, request).is_ok()
            })
            .collect(),
        _ => Vec::new(),
    };
    let (actions, approve_refusal) = match &actor {
        Actor::User(_) => {
            let actions = available_actions(&facts, rules, &actor, now);
            let waits_for_approval = matches!(
                facts.state,
                TicketState::Tested
                    | TicketState::RollbackRequested
                    | TicketState::Approved
                    | TicketState::RollbackApproved
            );
            let refusal = if waits_for_approval && !actions.contains(&Action::Approve) {
                let request = Request {
                    action: Action::Approve,
                    actor: &actor,
                    note: Some("(note)"),
                    emergency_override: false,
                    confirm_outside_paths: true,
                    now,
                };
                decide(&facts, rules, request).err().filter(|r| {
                    // "already fully approved" is not a reason worth showing.
                    !matches!(r, crate::domain::Refusal::WrongState { .. })
                })
            } else {
                None
            };
            (actions, refusal)
        }
        Actor::System => (Vec::new(), None::<crate::domain::Refusal>),
    };
    let blocked = crate::domain::blocked_actions(&facts, rules, &actor, now);
    let valid = policy.valid_approvers(&facts.approvals, facts.generation, now);
    let mut counted: Vec<ApprovalWithName> = Vec::new();
    for a in named {
        if a.generation == ticket.stage_generation && valid.contains(&a.user_id) {
            counted.retain(|c| c.user_id != a.user_id);
            counted.push(a);
        }
    }
    let names: HashMap<i64, String> = listing::usernames(
        conn,
        &[Some(ticket.submitter_id), ticket.tested_by]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
    )?
    .into_iter()
    .collect();
    let svn_commits = match (ticket.base_revision, ticket.staged_revision) {
        (Some(base), Some(staged)) if staged > base => listing::svn_revisions(conn, project.id, base, staged)?,
        (None, Some(staged)) => listing::svn_revisions(conn, project.id, staged - 1, staged)?,
        _ => Vec::new(),
    };
    let format = VersionFormat::parse(&project.version_format).unwrap_or_default();
    let may_schedule = crate::domain::schedule::may_schedule(&facts, rules, &actor, now).is_ok();
    let schedule = super::schedules::view(conn, &ticket, &project)?;
    let next_window = super::schedules::next_window(&project, now)?;
    Ok(TicketView {
        schedule,
        may_schedule,
        next_window,
        submitter: names.get(&ticket.submitter_id).cloned().unwrap_or_default(),
        tested_by: ticket.tested_by.and_then(|id| names.get(&id).cloned()),
        events: listing::events(conn, ticket.id)?,
        approvals: counted,
        approvals_required: policy.required,
        actions,
        approve_refusal_code: approve_refusal.as_ref().map(|r| r.code().to_owned()),
        approve_refusal: approve_refusal.map(|r| r.to_string()),
        override_actions,
        freeze: freeze.active(now).map(ToString::to_string),
        blocked,
        time_zone: freeze.zone,
        svn_commits,
        jobs: listing::ticket_jobs(conn, ticket.id)?,
        hosts,
        version_tag: ticket.version.map(|v| format.render(v)),
        target_tag: ticket.target_version.map(|v| format.render(v)),
        ticket,
        project,
    })
}
