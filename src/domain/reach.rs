//! Where an action can be waiting for someone: the states it starts from
//! (the transition table) and whose tickets a user may take it on (the
//! role checks), without looking at any one ticket. Lets the "my work"
//! page look only where an action may be available, in bounded, indexed
//! queries; whether it is available on a ticket is still [`super::decide`]'s
//! answer.

use super::action::Action;
use super::decision::{Request, TicketFacts};
use super::role::{Actor, UserActor};
use super::state::{TicketKind, TicketState};
use super::transition::{check_actor, target_state};

/// Whose tickets a user may take an action on, by their roles alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Anyone's in the project.
    Any,
    /// Only the tickets they filed.
    Own,
    /// None.
    Nothing,
}

fn facts(kind: TicketKind, state: TicketState, submitter_id: i64) -> TicketFacts {
    TicketFacts {
        kind,
        state,
        submitter_id,
        tested_by: None,
        generation: 0,
        snapshot_seq: None,
        approvals: Vec::new(),
        failed_from: None,
        has_outside_paths: false,
        outside_paths_confirmed: false,
    }
}

/// Whose tickets `user` (with their roles in one project) may take
/// `action` on, without an emergency override.
pub fn reach(action: Action, user: &UserActor) -> Reach {
    let actor = Actor::User(user.clone());
    let allowed = |submitter_id: i64| {
        let request = Request {
            action,
            actor: &actor,
            note: Some("(note)"),
            emergency_override: false,
            confirm_outside_paths: true,
            now: chrono::DateTime::UNIX_EPOCH,
        };
        check_actor(
            &facts(TicketKind::Release, TicketState::Submitted, submitter_id),
            request,
        )
        .is_ok()
    };
    // Someone else's ticket.
    if allowed(user.id.wrapping_add(1)) {
        Reach::Any
    } else if allowed(user.id) {
        Reach::Own
    } else {
        Reach::Nothing
    }
}

/// The states `action` starts from, for a ticket of any kind.
pub fn states_for(action: Action) -> Vec<TicketState> {
    TicketState::ALL
        .into_iter()
        .filter(|&state| {
            [TicketKind::Release, TicketKind::Rollback]
                .into_iter()
                .any(|kind| target_state(&facts(kind, state, 0), action).is_some())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::Role;

    fn user(roles: &[Role]) -> UserActor {
        UserActor {
            id: 7,
            is_admin: false,
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        }
    }

    #[test]
    fn reach_follows_the_role_checks() {
        assert_eq!(reach(Action::Approve, &user(&[Role::Lead])), Reach::Any);
        assert_eq!(reach(Action::Approve, &user(&[Role::Developer])), Reach::Nothing);
        assert_eq!(reach(Action::MarkTested, &user(&[Role::Tester])), Reach::Any);
        assert_eq!(reach(Action::MarkTested, &user(&[Role::Developer])), Reach::Any);
        assert_eq!(reach(Action::MarkTested, &user(&[Role::Lead])), Reach::Nothing);
        assert_eq!(reach(Action::Release, &user(&[Role::Developer])), Reach::Own);
        assert_eq!(reach(Action::Release, &user(&[Role::Lead])), Reach::Any);
        assert_eq!(reach(Action::Execute, &user(&[Role::Tester])), Reach::Own);
    }

    #[test]
    fn states_follow_the_table() {
        use TicketState as S;
        assert_eq!(states_for(Action::MarkTested), [S::Staged]);
        assert_eq!(
            states_for(Action::Approve),
            [S::Tested, S::Approved, S::RollbackRequested, S::RollbackApproved]
        );
        assert_eq!(states_for(Action::Release), [S::Approved]);
        assert_eq!(states_for(Action::Execute), [S::RollbackApproved]);
    }
}
