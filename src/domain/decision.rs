//! What the transition table works on and answers: a ticket's facts, the
//! project's rules, a request, and the decision (next state, effects, job)
//! or the refusal. See [`super::transition`] for the table itself.

use chrono::{DateTime, Utc};

use super::action::Action;
use super::freeze::FreezeCalendar;
use super::policy::{Approval, ApprovalPolicy};
use super::role::Actor;
use super::state::{TicketKind, TicketState};

/// A pipeline job that a transition asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Update staging from SVN, build, snapshot in git.
    Stage,
    /// Tag the tested snapshot and ship it.
    Release,
    /// Switch production back to an earlier version.
    Rollback,
}

impl JobKind {
    /// The stable name stored in the jobs table.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::Stage => "stage",
            JobKind::Release => "release",
            JobKind::Rollback => "rollback",
        }
    }
}

/// What the domain needs to know about a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    /// Release or rollback.
    pub kind: TicketKind,
    /// Current state.
    pub state: TicketState,
    /// Who filed it.
    pub submitter_id: i64,
    /// Who marked the current snapshot tested.
    pub tested_by: Option<i64>,
    /// Bumped by each successful stage; approvals are bound to it.
    pub generation: i32,
    /// The project-wide order of the staged snapshot (later = newer).
    pub snapshot_seq: Option<i64>,
    /// Approvals recorded on the ticket (of any generation).
    pub approvals: Vec<Approval>,
    /// The state a failed job left from (where `retry` goes back to).
    pub failed_from: Option<TicketState>,
    /// The staged snapshot changes files outside the ticket's SVN paths.
    pub has_outside_paths: bool,
    /// A tester confirmed those files for the current snapshot.
    pub outside_paths_confirmed: bool,
}

/// The project's rules in force.
#[derive(Debug, Clone, Copy)]
pub struct ProjectRules<'a> {
    /// Approval policy.
    pub policy: &'a ApprovalPolicy,
    /// Freeze windows.
    pub freeze: &'a FreezeCalendar,
    /// Snapshot order of what production runs now, if anything.
    pub production_snapshot_seq: Option<i64>,
}

/// One attempt to act on a ticket.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// What to do.
    pub action: Action,
    /// Who does it.
    pub actor: &'a Actor,
    /// The note (reason) given with it, already validated.
    pub note: Option<&'a str>,
    /// An admin's emergency override of a freeze window.
    pub emergency_override: bool,
    /// With `mark-tested`: the tester confirms the files outside the
    /// ticket's SVN paths.
    pub confirm_outside_paths: bool,
    /// The current time.
    pub now: DateTime<Utc>,
}

/// A side effect the service layer must write with the state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Record the actor's approval for the current generation.
    RecordApproval,
    /// Remember who marked the snapshot tested.
    SetTestedBy(i64),
    /// Remember that this tester confirmed the files outside the ticket's paths.
    ConfirmOutsidePaths(i64),
    /// Forget who tested it: a new snapshot is on its way.
    ClearTestedBy,
    /// A new snapshot is staged: bump the generation (voiding approvals) and
    /// give it the project's next snapshot sequence number.
    NewSnapshot,
    /// Give the ticket the project's next version number, unless it has one.
    AssignVersion,
    /// A retried release: give the ticket a fresh version number if its own
    /// is older than what production runs and no host runs it
    /// ([`super::version::needs_fresh_number`]).
    RenewVersionIfBehind,
    /// Remember where the failed job left from.
    RememberFailedFrom(TicketState),
    /// The failure is being retried.
    ClearFailedFrom,
    /// An admin released inside a freeze window (audited on the event).
    EmergencyOverride,
    /// Production now runs this ticket's version (or, for a rollback, its target).
    Shipped,
    /// Ask the running job to stop at its next safe point.
    RequestAbort,
}

/// An allowed transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// State before.
    pub from: TicketState,
    /// State after (may equal `from`, e.g. the first of two approvals).
    pub to: TicketState,
    /// The job to enqueue in the same transaction.
    pub enqueue: Option<JobKind>,
    /// Other writes that go with it.
    pub effects: Vec<Effect>,
}

/// Whether a refusal is about the caller, the input, or the ticket's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The actor may not do this (HTTP 403).
    Forbidden,
    /// The request lacks something (HTTP 400).
    Invalid,
    /// Not now: the state or the calendar does not allow it (HTTP 409).
    Conflict,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The action does not apply in this state.
    #[error("cannot {action} a {kind} ticket that is {state}")]
    WrongState {
        /// The action tried.
        action: Action,
        /// The ticket's kind.
        kind: TicketKind,
        /// The ticket's state.
        state: TicketState,
    },
    /// The actor lacks the role or relation the action needs.
    #[error("not allowed to {action}: {why}")]
    NotPermitted {
        /// The action tried.
        action: Action,
        /// Who may.
        why: &'static str,
    },
    /// The project bans approving one's own ticket.
    #[error("you submitted this ticket, and this project does not allow self-approval")]
    SelfApproval,
    /// The project bans the tester approving what they tested.
    #[error("you marked this build tested, and this project requires another lead to approve it")]
    TesterApproval,
    /// The project requires a tester to confirm the files the release
    /// changes outside the ticket's SVN paths, and nobody has.
    #[error("this release also changes files outside the ticket's SVN paths, and this project requires a tester to confirm them (mark tested again with the confirmation)")]
    OutsidePathsUnconfirmed,
    /// The actor's approval is already counted.
    #[error("you have already approved this snapshot")]
    AlreadyApproved,
    /// The action needs a reason.
    #[error("{action} needs a note giving the reason")]
    NoteRequired {
        /// The action tried.
        action: Action,
    },
    /// A freeze window is in force.
    #[error("release is frozen ({window}); an admin may release with an emergency override and a reason")]
    Frozen {
        /// The window, in words.
        window: String,
        /// When releasing is allowed again (the end of the freeze in force).
        until: DateTime<Utc>,
    },
    /// Production already runs this snapshot or a newer one.
    #[error("production already runs this build or a newer one; go back with a rollback instead")]
    OlderThanProduction,
    /// Approvals expired before the release.
    #[error("approvals have expired ({valid} of {required} still valid); the leads must approve again")]
    ApprovalsExpired {
        /// Approvals still valid.
        valid: usize,
        /// Approvals required.
        required: u32,
    },
}

impl Refusal {
    /// A stable snake_case name of the reason (for translated messages).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::WrongState { .. } => "wrong_state",
            Refusal::NotPermitted { .. } => "not_permitted",
            Refusal::SelfApproval => "self_approval",
            Refusal::TesterApproval => "tester_approval",
            Refusal::AlreadyApproved => "already_approved",
            Refusal::OutsidePathsUnconfirmed => "outside_paths_unconfirmed",
            Refusal::NoteRequired { .. } => "note_required",
            Refusal::Frozen { .. } => "frozen",
            Refusal::OlderThanProduction => "older_than_production",
            Refusal::ApprovalsExpired { .. } => "approvals_expired",
        }
    }

    /// The class of refusal, for mapping to HTTP answers.
    pub fn kind(&self) -> RefusalKind {
        match self {
            Refusal::NotPermitted { .. } | Refusal::SelfApproval | Refusal::TesterApproval => RefusalKind::Forbidden,
            Refusal::NoteRequired { .. } => RefusalKind::Invalid,
            Refusal::WrongState { .. }
            | Refusal::AlreadyApproved
            | Refusal::OutsidePathsUnconfirmed
            | Refusal::Frozen { .. }
            | Refusal::OlderThanProduction
            | Refusal::ApprovalsExpired { .. } => RefusalKind::Conflict,
        }
    }
}
