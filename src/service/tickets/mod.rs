//! Filing tickets and applying actions to them. Each call is one database
//! transaction that loads the ticket, asks the domain, and writes the new
//! state, exactly one event per state change, the effects and the job.

use crate::domain::validate::codes;
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::domain::{
    decide, Action, Actor, Effect, JobKind, ProjectName, ProjectRules, Reason, Request, TicketKind, TicketState,
};
use crate::jobs::job;
use crate::store::models::{ApprovalRow, NewEvent, ProjectRow, TicketRow};
use crate::store::{projects, tickets, users, write_tx, DbConn};

use super::error::{ServiceError, ServiceResult};
use super::facts;

mod file;

pub use file::{request_rollback, submit};

/// Who acts: a user (by id) or Slipway itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorRef {
    /// A signed-in user.
    User(i64),
    /// A job.
    System,
}

/// What staging produced, reported with [`Action::StageSucceeded`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// SVN revision staging was updated to.
    pub revision: i64,
    /// git commit id of the staged tree.
    pub commit: String,
    /// The revision staging was at before (the ticket brings the SVN commits after it).
    pub base_revision: Option<i64>,
    /// Files the snapshot changes on production outside the ticket's paths.
    pub outside_paths: Vec<super::outside::OutsidePath>,
}

/// One action to apply.
#[derive(Debug, Clone)]
pub struct ActionInput {
    /// The action.
    pub action: Action,
    /// Who.
    pub actor: ActorRef,
    /// Optional note (required for return, reject, job failure, override).
    pub note: Option<String>,
    /// Admin's emergency override of a freeze window.
    pub emergency_override: bool,
    /// The lock version the caller saw; a different one is a conflict.
    pub expected_lock_version: Option<i32>,
    /// With `stage-succeeded`: what was staged.
    pub snapshot: Option<Snapshot>,
    /// With `abort`: also switch hosts that already switched back.
    pub revert_switched: bool,
    /// With `mark-tested`: the tester confirms the files outside the ticket's paths.
    pub confirm_outside_paths: bool,
}

impl ActionInput {
    /// A plain action by `actor` with no note.
    pub fn new(action: Action, actor: ActorRef) -> Self {
        Self {
            action,
            actor,
            note: None,
            emergency_override: false,
            expected_lock_version: None,
            snapshot: None,
            revert_switched: false,
            confirm_outside_paths: false,
        }
    }

    /// The same, with a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// The outcome of a successful action.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The ticket after the change.
    pub ticket: TicketRow,
    /// The event written.
    pub event_id: i64,
    /// The job enqueued, if any.
    pub job_id: Option<i64>,
}

/// A new release ticket.
#[derive(Debug, Clone)]
pub struct NewRelease<'a> {
    /// Project name.
    pub project: &'a str,
    /// Why.
    pub reason: &'a str,
    /// SVN paths to update (empty: the whole working copy).
    pub svn_paths: &'a [String],
    /// Pin to this SVN revision instead of HEAD.
    pub svn_revision: Option<i64>,
}

fn to_naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

fn load_project(conn: &mut DbConn, name: &str) -> ServiceResult<ProjectRow> {
    let name = ProjectName::parse(name).map_err(|e| e.on("project"))?;
    projects::by_name(conn, name.as_str())?.ok_or_else(|| ServiceError::not_found("project", name))
}

fn load_actor(conn: &mut DbConn, actor: ActorRef, project_id: i64) -> ServiceResult<Actor> {
    match actor {
        ActorRef::System => Ok(Actor::System),
        ActorRef::User(id) => {
            let user = users::by_id(conn, id)?.ok_or_else(|| ServiceError::not_found("user", id))?;
            facts::user_actor(conn, &user, project_id)
        }
    }
}

fn enqueue(conn: &mut DbConn, kind: JobKind, ticket: &TicketRow, now: NaiveDateTime) -> ServiceResult<i64> {
    let (kind, payload) = job::pipeline_job(kind, ticket.id);
    let at = job::Placement {
        project_id: Some(ticket.project_id),
        ticket_id: Some(ticket.id),
        run_after: now,
    };
    Ok(job::insert(conn, kind, payload, at)?)
}

/// Applies `input` to ticket `ticket_id` at time `now`.
pub fn apply(conn: &mut DbConn, ticket_id: i64, input: &ActionInput, now: DateTime<Utc>) -> ServiceResult<Applied> {
    apply_with(conn, ticket_id, input, now, |_| Ok(()))
}

/// Like [`apply`], but runs `first` in the same transaction before the
/// action: when either fails, neither is written (an approval link is
/// marked used in the transaction that applies its action).
pub fn apply_with<F>(
    conn: &mut DbConn,
    ticket_id: i64,
    input: &ActionInput,
    now: DateTime<Utc>,
    first: F,
) -> ServiceResult<Applied>
where
    F: FnOnce(&mut DbConn) -> ServiceResult<()>,
{
    let note = match input.actor {
        // A reason Slipway writes (a job's failure) is made readable, never
        // refused: a refusal would leave the ticket stuck (invariant 5).
        ActorRef::System => input.note.as_deref().map(crate::domain::system_reason),
        ActorRef::User(_) => Reason::parse_optional("note", input.note.as_deref())?,
    };
    write_tx(conn, |conn| {
        first(conn)?;
        apply_in_tx(conn, ticket_id, input, note.as_ref(), now)
    })
}

fn apply_in_tx(
    conn: &mut DbConn,
    ticket_id: i64,
    input: &ActionInput,
    note: Option<&Reason>,
    now: DateTime<Utc>,
) -> ServiceResult<Applied> {
    let mut ticket = tickets::by_id(conn, ticket_id)?.ok_or_else(|| ServiceError::not_found("ticket", ticket_id))?;
    if input
        .expected_lock_version
        .is_some_and(|seen| seen != ticket.lock_version)
    {
        return Err(ServiceError::Conflict(
            super::error::codes::STALE,
            format!("ticket #{ticket_id} changed since you loaded it; reload and try again"),
        ));
    }
    let project = projects::by_id(conn, ticket.project_id)?
        .ok_or_else(|| ServiceError::not_found("project", ticket.project_id))?;
    let actor = load_actor(conn, input.actor, project.id)?;
    let approvals = tickets::approvals(conn, ticket.id)?;
    let facts = facts::ticket_facts(&ticket, &approvals)?;
    let policy = facts::policy(&project);
    let freeze = facts::freeze_calendar(&project, &projects::freeze_windows(conn, project.id)?)?;
    let rules = ProjectRules {
        policy: &policy,
        freeze: &freeze,
        production_snapshot_seq: facts::production_floor(conn, &project)?.snapshot_seq,
    };
    let request = Request {
        action: input.action,
        actor: &actor,
        note: note.map(Reason::as_str),
        emergency_override: input.emergency_override,
        confirm_outside_paths: input.confirm_outside_paths,
        now,
    };
    let decision = decide(&facts, rules, request)?;
    let naive_now = to_naive(now);
    let mut emergency_override = false;
    let mut shipped = false;
    let mut renumbered = None;
    for effect in &decision.effects {
        match effect {
            Effect::RecordApproval => tickets::insert_approval(
                conn,
                &ApprovalRow {
                    ticket_id: ticket.id,
                    user_id: actor.user_id().unwrap_or_default(),
                    generation: ticket.stage_generation,
                    created_at: naive_now,
                },
            )
            .map_err(|e| lost_race(e, ticket_id))?,
            Effect::SetTestedBy(user) => ticket.tested_by = Some(*user),
            Effect::ClearTestedBy => ticket.tested_by = None,
            Effect::ConfirmOutsidePaths(user) => ticket.outside_paths_confirmed_by = Some(*user),
            Effect::NewSnapshot => {
                let snapshot = input.snapshot.as_ref().ok_or_else(|| {
                    crate::domain::InvalidInput::new(
                        "snapshot",
                        codes::SNAPSHOT_MISSING,
                        "stage-succeeded must report the staged snapshot",
                    )
                })?;
                ticket.stage_generation += 1;
                ticket.snapshot_seq = Some(projects::next_stage_seq(conn, project.id)?);
                ticket.staged_revision = Some(snapshot.revision);
                ticket.snapshot_commit = Some(snapshot.commit.clone());
                ticket.base_revision = snapshot.base_revision;
                ticket.outside_paths = serde_json::to_string(&snapshot.outside_paths).unwrap_or_else(|_| "[]".into());
                ticket.outside_paths_confirmed_by = None;
            }
            Effect::AssignVersion => {
                if ticket.version.is_none() {
                    ticket.version = Some(projects::next_version(conn, project.id)?);
                }
            }
            Effect::RenewVersionIfBehind => {
                renumbered = super::renumber::renew_if_behind(conn, &project, &mut ticket)?;
            }
            Effect::RememberFailedFrom(state) => {
                ticket.failed_from = Some(state.as_str().to_owned());
                ticket.last_error = note.map(|n| n.as_str().to_owned());
            }
            Effect::ClearFailedFrom => {
                ticket.failed_from = None;
                ticket.last_error = None;
                ticket.abort_requested = false;
                ticket.abort_revert = false;
            }
            Effect::EmergencyOverride => emergency_override = true,
            Effect::Shipped => shipped = true,
            Effect::RequestAbort => {
                ticket.abort_requested = true;
                ticket.abort_revert = input.revert_switched;
            }
        }
    }
    ticket.state = decision.to.as_str().to_owned();
    ticket.updated_at = naive_now;
    // `ticket.lock_version` is still the one loaded above: the guard of the update.
    if !tickets::update_if_unchanged(conn, &ticket)? {
        return Err(lost_race_message(ticket_id));
    }
    ticket.lock_version += 1;
    let event_id = write_event(
        conn,
        project.id,
        &NewEvent {
            ticket_id: ticket.id,
            actor_id: actor.user_id(),
            action: input.action.as_str().to_owned(),
            from_state: Some(decision.from.as_str().to_owned()),
            to_state: decision.to.as_str().to_owned(),
            note: match (note, renumbered.or_else(|| confirmed_note(&decision.effects, &ticket))) {
                (Some(note), Some(renumbered)) => Some(format!("{}\n\n{renumbered}", note.as_str())),
                (note, renumbered) => renumbered.or_else(|| note.map(|n| n.as_str().to_owned())),
            },
            emergency_override,
            created_at: naive_now,
        },
    )?;
    if shipped {
        record_shipped(conn, &project, &ticket, naive_now)?;
    }
    if decision.from != decision.to && matches!(decision.from, TicketState::Approved | TicketState::RollbackApproved) {
        // Released, executed or cancelled by hand: a schedule waiting for
        // this ticket has nothing left to do.
        super::schedules::drop_pending(conn, ticket.id, input.action, naive_now)?;
    }
    let job_id = decision
        .enqueue
        .map(|kind| enqueue(conn, kind, &ticket, naive_now))
        .transpose()?;
    Ok(Applied {
        ticket,
        event_id,
        job_id,
    })
}

/// The event's record of a tester's confirmation of the files outside the
/// ticket's SVN paths.
fn confirmed_note(effects: &[Effect], ticket: &TicketRow) -> Option<String> {
    effects
        .iter()
        .any(|e| matches!(e, Effect::ConfirmOutsidePaths(_)))
        .then(|| {
            let files: Vec<String> = super::outside::stored(ticket).into_iter().map(|f| f.path).collect();
            format!(
                "confirmed the files outside the ticket's SVN paths: {}",
                files.join(", ")
            )
        })
}

/// Appends an event and, in the same transaction, the job that notifies
/// people about it: every event goes through here.
pub(crate) fn write_event(conn: &mut DbConn, project_id: i64, event: &NewEvent) -> ServiceResult<i64> {
    let event_id = tickets::insert_event(conn, event)?;
    crate::jobs::announce::enqueue_event(conn, event_id, project_id, event.created_at)?;
    Ok(event_id)
}

fn lost_race_message(ticket_id: i64) -> ServiceError {
    ServiceError::Conflict(
        super::error::codes::RACE,
        format!("ticket #{ticket_id} was changed by someone else at the same time; reload and try again"),
    )
}

fn lost_race(error: crate::store::StoreError, ticket_id: i64) -> ServiceError {
    if error.is_unique_violation() {
        lost_race_message(ticket_id)
    } else {
        error.into()
    }
}

/// Production now runs what `ticket` shipped: for a release its version;
/// for a rollback its target, and every release above the target becomes
/// `rolled_back` (one event each).
fn record_shipped(
    conn: &mut DbConn,
    project: &ProjectRow,
    ticket: &TicketRow,
    now: NaiveDateTime,
) -> ServiceResult<()> {
    match ticket
        .kind
        .parse::<TicketKind>()
        .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?
    {
        TicketKind::Release => projects::set_production(conn, project.id, ticket.version, ticket.snapshot_seq)?,
        TicketKind::Rollback => {
            let target = ticket
                .target_version
                .ok_or_else(|| crate::store::StoreError::Corrupt(format!("rollback #{} has no target", ticket.id)))?;
            let target_ticket = tickets::by_version(conn, project.id, target)?;
            projects::set_production(
                conn,
                project.id,
                Some(target),
                target_ticket.and_then(|t| t.snapshot_seq),
            )?;
            for undone in tickets::released_after(conn, project.id, target)? {
                let mut row = undone.clone();
                row.state = TicketState::RolledBack.as_str().to_owned();
                row.updated_at = now;
                if !tickets::update_if_unchanged(conn, &row)? {
                    return Err(lost_race_message(undone.id));
                }
                write_event(
                    conn,
                    project.id,
                    &NewEvent {
                        ticket_id: undone.id,
                        actor_id: None,
                        action: Action::Supersede.as_str().to_owned(),
                        from_state: Some(TicketState::Released.as_str().to_owned()),
                        to_state: TicketState::RolledBack.as_str().to_owned(),
                        note: Some(format!("rolled back by ticket #{}", ticket.id)),
                        emergency_override: false,
                        created_at: now,
                    },
                )?;
            }
        }
    }
    Ok(())
}
