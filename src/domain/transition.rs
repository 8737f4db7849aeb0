//! The transition table: given a ticket's facts, the project's rules, an
//! action and an actor, decide the next state and what else must happen, or
//! refuse with a reason. Pure: the service layer loads the facts and writes
//! the decision (state + event + effects + job) in one transaction.

use chrono::{DateTime, Utc};

use super::action::Action;
use super::freeze::FreezeWindow;
use super::policy::ApprovalPolicy;
use super::role::{Actor, Role, UserActor};
use super::state::{TicketKind, TicketState};

pub use super::decision::{Decision, Effect, JobKind, ProjectRules, Refusal, RefusalKind, Request, TicketFacts};

/// The state a new ticket starts in, and its first job, if `actor` may file it.
pub fn decide_create(kind: TicketKind, actor: &Actor) -> Result<Decision, Refusal> {
    let user = match actor {
        Actor::User(user) => user,
        Actor::System => {
            return Err(Refusal::NotPermitted {
                action: create_action(kind),
                why: "tickets are filed by people",
            })
        }
    };
    match kind {
        TicketKind::Release if user.has(Role::Developer) => Ok(Decision {
            from: TicketState::Submitted,
            to: TicketState::Submitted,
            enqueue: Some(JobKind::Stage),
            effects: Vec::new(),
        }),
        TicketKind::Release => Err(Refusal::NotPermitted {
            action: Action::Submit,
            why: "only the project's developers file release tickets",
        }),
        TicketKind::Rollback if user.has(Role::Developer) || user.has(Role::Lead) => Ok(Decision {
            from: TicketState::RollbackRequested,
            to: TicketState::RollbackRequested,
            enqueue: None,
            effects: Vec::new(),
        }),
        TicketKind::Rollback => Err(Refusal::NotPermitted {
            action: Action::RequestRollback,
            why: "only the project's developers and leads request rollbacks",
        }),
    }
}

/// The action that creates a ticket of `kind`.
pub fn create_action(kind: TicketKind) -> Action {
    match kind {
        TicketKind::Release => Action::Submit,
        TicketKind::Rollback => Action::RequestRollback,
    }
}

/// Whether a rollback to `target` is a step back from `production`.
pub fn rollback_target_ok(production_version: Option<i64>, target: i64) -> bool {
    production_version.is_some_and(|current| target < current)
}

/// Decides `request` on ticket `t` under `rules`.
pub fn decide(t: &TicketFacts, rules: ProjectRules<'_>, request: Request<'_>) -> Result<Decision, Refusal> {
    let action = request.action;
    let to = target_state(t, action).ok_or(Refusal::WrongState {
        action,
        kind: t.kind,
        state: t.state,
    })?;
    check_actor(t, request)?;
    if action.needs_note() && request.note.is_none() {
        return Err(Refusal::NoteRequired { action });
    }
    let mut decision = Decision {
        from: t.state,
        to,
        enqueue: None,
        effects: Vec::new(),
    };
    let user_id = request.actor.user_id();
    match action {
        Action::MarkTested => mark_tested(t, rules.policy, request, user_id, &mut decision)?,
        Action::Resubmit => {
            decision.enqueue = Some(JobKind::Stage);
            decision.effects.push(Effect::ClearTestedBy);
        }
        Action::Approve => approve(t, rules.policy, request, &mut decision)?,
        Action::Release => {
            // An admin's override lifts a freeze window; it is no licence to
            // release someone else's ticket when nothing is frozen.
            let submitter_or_lead =
                matches!(request.actor, Actor::User(user) if user.id == t.submitter_id || user.has(Role::Lead));
            if !submitter_or_lead && rules.freeze.active(request.now).is_none() {
                return Err(Refusal::NotPermitted {
                    action,
                    why: "only the submitter or a project lead releases; an admin's override is for freeze windows",
                });
            }
            check_still_approved(t, rules.policy, request.now)?;
            check_release_start(t, rules, request, &mut decision)?;
            decision.effects.push(Effect::AssignVersion);
            decision.enqueue = Some(JobKind::Release);
        }
        Action::Execute => {
            check_still_approved(t, rules.policy, request.now)?;
            decision.enqueue = Some(JobKind::Rollback);
        }
        Action::Retry => {
            if to == TicketState::Releasing {
                // Retrying a failed release starts the release again.
                check_release_start(t, rules, request, &mut decision)?;
                decision.effects.push(Effect::RenewVersionIfBehind);
            }
            decision.effects.push(Effect::ClearFailedFrom);
            decision.enqueue = job_for(to);
            if to == TicketState::Submitted {
                decision.effects.push(Effect::ClearTestedBy);
            }
        }
        Action::StageSucceeded => decision.effects.extend([Effect::NewSnapshot, Effect::ClearTestedBy]),
        Action::ShipSucceeded => decision.effects.push(Effect::Shipped),
        Action::Abort => decision.effects.push(Effect::RequestAbort),
        Action::JobFailed => decision.effects.push(Effect::RememberFailedFrom(t.state)),
        Action::Return
        | Action::Reject
        | Action::Cancel
        | Action::Supersede
        | Action::Submit
        | Action::RequestRollback => {}
    }
    Ok(decision)
}

/// The people's actions `actor` may take on `t` now (the buttons to show).
/// Actions that need a note are listed; the form asks for it.
pub fn available_actions(t: &TicketFacts, rules: ProjectRules<'_>, actor: &Actor, now: DateTime<Utc>) -> Vec<Action> {
    Action::BY_PEOPLE
        .into_iter()
        .filter(|&action| {
            let request = Request {
                action,
                actor,
                note: Some("(note)"),
                emergency_override: false,
                // The form asks for the confirmation where it is needed.
                confirm_outside_paths: true,
                now,
            };
            decide(t, rules, request).is_ok()
        })
        .collect()
}

/// The job that runs a ticket in `state`, if a job owns that state.
pub fn job_for(state: TicketState) -> Option<JobKind> {
    match state {
        TicketState::Submitted => Some(JobKind::Stage),
        TicketState::Releasing => Some(JobKind::Release),
        TicketState::RollingBack => Some(JobKind::Rollback),
        _ => None,
    }
}

/// The table itself: where `action` takes a ticket of this kind in this state.
pub(super) fn target_state(t: &TicketFacts, action: Action) -> Option<TicketState> {
    use Action as A;
    use TicketKind::{Release, Rollback};
    use TicketState as S;
    let next = match (t.kind, t.state, action) {
        (Release, S::Staged, A::MarkTested) => S::Tested,
        (Release, S::Staged | S::Tested, A::Return) => S::Returned,
        (Release, S::Returned, A::Resubmit) => S::Submitted,
        (Release, S::Tested | S::Approved, A::Approve) => S::Approved,
        (Release, S::Tested, A::Reject) => S::Rejected,
        (Release, S::Approved, A::Release) => S::Releasing,
        (Rollback, S::RollbackRequested | S::RollbackApproved, A::Approve) => S::RollbackApproved,
        (Rollback, S::RollbackRequested, A::Reject) => S::Rejected,
        (Rollback, S::RollbackApproved, A::Execute) => S::RollingBack,
        (Release, S::Submitted | S::Staged | S::Tested | S::Approved | S::Returned | S::Failed, A::Cancel)
        | (Rollback, S::RollbackRequested | S::RollbackApproved | S::Failed, A::Cancel) => S::Cancelled,
        (_, S::Failed, A::Retry) => t.failed_from.filter(|s| job_for(*s).is_some())?,
        (Release, S::Submitted, A::StageSucceeded) => S::Staged,
        (Release, S::Releasing, A::ShipSucceeded) => S::Released,
        (Rollback, S::RollingBack, A::ShipSucceeded) => S::RolledBack,
        (Release, S::Submitted | S::Releasing, A::JobFailed) | (Rollback, S::RollingBack, A::JobFailed) => S::Failed,
        (Release, S::Released, A::Supersede) => S::RolledBack,
        (Release, S::Releasing, A::Abort) => S::Releasing,
        (Rollback, S::RollingBack, A::Abort) => S::RollingBack,
        _ => return None,
    };
    Some(next)
}

pub(super) fn check_actor(t: &TicketFacts, request: Request<'_>) -> Result<(), Refusal> {
    let action = request.action;
    let user = match (request.actor, action.is_system()) {
        (Actor::System, true) => return Ok(()),
        (Actor::System, false) => {
            return Err(Refusal::NotPermitted {
                action,
                why: "only people take this action",
            })
        }
        (Actor::User(_), true) => {
            return Err(Refusal::NotPermitted {
                action,
                why: "only Slipway's jobs report this",
            })
        }
        (Actor::User(user), false) => user,
    };
    let own = user.id == t.submitter_id;
    let (allowed, why) = match action {
        Action::MarkTested => (
            user.has(Role::Tester) || user.has(Role::Developer),
            "only the project's testers and developers mark builds tested",
        ),
        Action::Return => (
            user.has(Role::Tester) || user.has(Role::Developer) || user.has(Role::Lead),
            "only the project's testers, developers and leads return tickets",
        ),
        Action::Resubmit => (own, "only the submitter resubmits a ticket"),
        Action::Approve | Action::Reject => (user.has(Role::Lead), "only the project's leads approve or reject"),
        Action::Release => (
            own || user.has(Role::Lead) || (request.emergency_override && user.is_admin),
            "only the submitter or a project lead releases",
        ),
        Action::Execute => (
            own || user.has(Role::Lead),
            "only the requester or a project lead executes a rollback",
        ),
        Action::Cancel => (own || user.is_admin, "only the submitter or an admin cancels a ticket"),
        Action::Retry => (
            own || user.has(Role::Lead) || user.is_admin,
            "only the submitter, a project lead or an admin retries",
        ),
        Action::Abort => (
            own || user.has(Role::Lead) || user.is_admin,
            "only the submitter, a project lead or an admin aborts a running release",
        ),
        _ => (false, "not an action on an existing ticket"),
    };
    if !allowed {
        return Err(Refusal::NotPermitted { action, why });
    }
    if request.emergency_override {
        if !user.is_admin {
            return Err(Refusal::NotPermitted {
                action,
                why: "only an admin gives an emergency override",
            });
        }
        if request.note.is_none() {
            return Err(Refusal::NoteRequired { action });
        }
    }
    Ok(())
}

/// Marking tested records the tester and, when the snapshot changes files
/// outside the ticket's SVN paths, their confirmation of those files, which
/// the project may require (issue 12).
fn mark_tested(
    t: &TicketFacts,
    policy: &ApprovalPolicy,
    request: Request<'_>,
    user_id: Option<i64>,
    decision: &mut Decision,
) -> Result<(), Refusal> {
    if t.has_outside_paths && !request.confirm_outside_paths && policy.require_outside_paths_confirmation {
        return Err(Refusal::OutsidePathsUnconfirmed);
    }
    decision.effects.extend(user_id.map(Effect::SetTestedBy));
    if t.has_outside_paths && request.confirm_outside_paths {
        decision.effects.extend(user_id.map(Effect::ConfirmOutsidePaths));
    }
    Ok(())
}

fn approve(
    t: &TicketFacts,
    policy: &ApprovalPolicy,
    request: Request<'_>,
    decision: &mut Decision,
) -> Result<(), Refusal> {
    let Actor::User(UserActor { id, .. }) = request.actor else {
        return Err(Refusal::NotPermitted {
            action: Action::Approve,
            why: "only people approve",
        });
    };
    let valid = policy.valid_approvers(&t.approvals, t.generation, request.now);
    let already_approved_state = matches!(t.state, TicketState::Approved | TicketState::RollbackApproved);
    if already_approved_state && valid.len() as u64 >= u64::from(policy.required) {
        // Fully approved and nothing expired: nothing to renew.
        return Err(Refusal::WrongState {
            action: Action::Approve,
            kind: t.kind,
            state: t.state,
        });
    }
    if *id == t.submitter_id && !policy.allow_self_approval {
        return Err(Refusal::SelfApproval);
    }
    if t.tested_by == Some(*id) && !policy.tested_by_may_approve {
        return Err(Refusal::TesterApproval);
    }
    if valid.contains(id) {
        return Err(Refusal::AlreadyApproved);
    }
    if policy.require_outside_paths_confirmation && t.has_outside_paths && !t.outside_paths_confirmed {
        return Err(Refusal::OutsidePathsUnconfirmed);
    }
    decision.effects.push(Effect::RecordApproval);
    if (valid.len() as u64) + 1 < u64::from(policy.required) {
        decision.to = t.state;
    }
    Ok(())
}

fn check_still_approved(t: &TicketFacts, policy: &ApprovalPolicy, now: DateTime<Utc>) -> Result<(), Refusal> {
    let valid = policy.valid_approvers(&t.approvals, t.generation, now).len();
    if (valid as u64) < u64::from(policy.required) {
        return Err(Refusal::ApprovalsExpired {
            valid,
            required: policy.required,
        });
    }
    Ok(())
}

/// What every start of a release needs: a snapshot newer than production's
/// (an older one only goes back by a rollback), and no freeze window in force
/// unless an admin overrides it.
fn check_release_start(
    t: &TicketFacts,
    rules: ProjectRules<'_>,
    request: Request<'_>,
    decision: &mut Decision,
) -> Result<(), Refusal> {
    // A retry may find production running this very snapshot (every host
    // switched, then a later step failed): finishing it is no step back.
    let same_allowed = request.action == Action::Retry;
    if rules.production_snapshot_seq.is_some_and(|prod| {
        t.snapshot_seq
            .is_none_or(|seq| seq < prod || (seq == prod && !same_allowed))
    }) {
        return Err(Refusal::OlderThanProduction);
    }
    if let Some(window) = rules.freeze.active(request.now) {
        if !is_emergency_override(request) {
            return Err(Refusal::Frozen {
                window: describe(window),
                until: rules.freeze.frozen_until(request.now).unwrap_or(request.now),
            });
        }
        decision.effects.push(Effect::EmergencyOverride);
    }
    Ok(())
}

fn is_emergency_override(request: Request<'_>) -> bool {
    request.emergency_override && request.note.is_some() && matches!(request.actor, Actor::User(user) if user.is_admin)
}

fn describe(window: &FreezeWindow) -> String {
    window.to_string()
}
