//! "Why can't I?": the actions a person would expect to take on a ticket but
//! may not, each with the refusal the transition table gives. Nothing here
//! restates a rule: every reason is what [`decide`] answers, either now or
//! for the state the ticket has not reached yet.

use chrono::{DateTime, Utc};

use super::action::Action;
use super::decision::{ProjectRules, Refusal, Request, TicketFacts};
use super::role::Actor;
use super::state::{TicketKind, TicketState};
use super::transition::decide;

/// An action the viewer may not take, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The action.
    pub action: Action,
    /// The table's refusal of it now.
    pub refusal: Refusal,
    /// When the refusal is only "not in this state": the state the ticket
    /// must reach first, in which the table would let this viewer try.
    pub waits_for: Option<TicketState>,
}

/// The decisions people look for on a ticket, with the state in which the
/// table takes each (the happy path of each kind).
const EXPECTED: [(TicketKind, Action, TicketState); 5] = [
    (TicketKind::Release, Action::MarkTested, TicketState::Staged),
    (TicketKind::Release, Action::Approve, TicketState::Tested),
    (TicketKind::Release, Action::Release, TicketState::Approved),
    (TicketKind::Rollback, Action::Approve, TicketState::RollbackRequested),
    (TicketKind::Rollback, Action::Execute, TicketState::RollbackApproved),
];

/// The happy path of each kind, in order.
fn path(kind: TicketKind) -> &'static [TicketState] {
    match kind {
        TicketKind::Release => &[
            TicketState::Submitted,
            TicketState::Staged,
            TicketState::Tested,
            TicketState::Approved,
        ],
        TicketKind::Rollback => &[TicketState::RollbackRequested, TicketState::RollbackApproved],
    }
}

/// Whether the ticket is still before `state` on its kind's happy path.
fn before(kind: TicketKind, now: TicketState, state: TicketState) -> bool {
    let steps = path(kind);
    let at = |s| steps.iter().position(|&x| x == s);
    matches!((at(now), at(state)), (Some(a), Some(b)) if a < b)
}

/// The expected actions `actor` may not take on `t` now, with the reasons.
///
/// Left out: refusals for lack of a role, except to the submitter or a
/// project member at the step where the action is due; and actions the
/// ticket has gone past.
pub fn blocked_actions(t: &TicketFacts, rules: ProjectRules<'_>, actor: &Actor, now: DateTime<Utc>) -> Vec<Blocked> {
    let Actor::User(user) = actor else {
        return Vec::new();
    };
    let involved = user.id == t.submitter_id || !user.roles.is_empty();
    let request = |action| Request {
        action,
        actor,
        note: Some("(note)"),
        emergency_override: false,
        confirm_outside_paths: true,
        now,
    };
    let mut out = Vec::new();
    for (kind, action, state) in EXPECTED {
        if kind != t.kind {
            continue;
        }
        let refusal = match decide(t, rules, request(action)) {
            Ok(_) => continue,
            Err(refusal) => refusal,
        };
        match refusal {
            Refusal::WrongState { .. } => {
                if !before(t.kind, t.state, state) {
                    continue;
                }
                // Would the table let this viewer try once the ticket gets there?
                let later = TicketFacts { state, ..t.clone() };
                if matches!(
                    decide(&later, rules, request(action)),
                    Err(Refusal::NotPermitted { .. })
                ) {
                    continue;
                }
                out.push(Blocked {
                    action,
                    refusal,
                    waits_for: Some(state),
                });
            }
            // Not theirs to do: worth saying only to people on the ticket's
            // project, at the step where the action is due.
            Refusal::NotPermitted { .. } if !involved || t.state != state => {}
            refusal => out.push(Blocked {
                action,
                refusal,
                waits_for: None,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::freeze::{FreezeCalendar, FreezeWindow};
    use crate::domain::policy::ApprovalPolicy;
    use crate::domain::role::{Role, UserActor};

    fn facts(state: TicketState) -> TicketFacts {
        TicketFacts {
            kind: TicketKind::Release,
            state,
            submitter_id: 1,
            tested_by: Some(2),
            generation: 1,
            snapshot_seq: Some(1),
            approvals: Vec::new(),
            failed_from: None,
            has_outside_paths: false,
            outside_paths_confirmed: false,
        }
    }

    fn user(id: i64, roles: &[Role]) -> Actor {
        Actor::User(UserActor {
            id,
            is_admin: false,
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        })
    }

    #[test]
    fn reasons_come_from_the_table() {
        let policy = ApprovalPolicy {
            required: 1,
            allow_self_approval: false,
            tested_by_may_approve: true,
            require_outside_paths_confirmation: false,
            expiry: None,
        };
        let now = Utc::now();
        let freeze = FreezeCalendar {
            windows: vec![FreezeWindow::Range {
                from: now - chrono::Duration::hours(1),
                to: now + chrono::Duration::hours(1),
            }],
            ..FreezeCalendar::default()
        };
        let open = FreezeCalendar::default();
        let rules = |freeze| ProjectRules {
            policy: &policy,
            freeze,
            production_snapshot_seq: None,
        };
        // A lead who filed the ticket may not approve it.
        let lead_dev = user(1, &[Role::Lead, Role::Developer]);
        let blocked = blocked_actions(&facts(TicketState::Tested), rules(&open), &lead_dev, now);
        assert!(blocked
            .iter()
            .any(|b| b.action == Action::Approve && b.refusal == Refusal::SelfApproval));
        // The submitter cannot release before approval: it waits for `approved`.
        let dev = user(1, &[Role::Developer]);
        let blocked = blocked_actions(&facts(TicketState::Tested), rules(&open), &dev, now);
        assert!(blocked
            .iter()
            .any(|b| b.action == Action::Release && b.waits_for == Some(TicketState::Approved)));
        // A tester is not told about releasing, which is never theirs.
        let tester = user(3, &[Role::Tester]);
        let blocked = blocked_actions(&facts(TicketState::Tested), rules(&open), &tester, now);
        assert!(!blocked.iter().any(|b| b.action == Action::Release));
        // An approved ticket during a freeze: frozen, with the end.
        let mut approved = facts(TicketState::Approved);
        approved.approvals.push(crate::domain::Approval {
            user_id: 9,
            generation: 1,
            at: now,
        });
        let blocked = blocked_actions(&approved, rules(&freeze), &dev, now);
        assert!(blocked.iter().any(
            |b| matches!(&b.refusal, Refusal::Frozen { until, .. } if *until == now + chrono::Duration::hours(1))
        ));
        // An outsider (no role, not the submitter) hears nothing.
        let outsider = user(7, &[]);
        assert!(blocked_actions(&approved, rules(&freeze), &outsider, now).is_empty());
    }
}
