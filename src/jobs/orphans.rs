//! The backstop of invariant 5 ("no ticket stuck"): a ticket in a state that
//! a job owns (`submitted`, `releasing`, `rolling_back`) whose job is no
//! longer queued or running is failed with the job's last error. Normally a
//! job's `give_up` does this; the sweep catches every way that can miss
//! (a refused or lost write, a job without a handler, a crash in between).

use chrono::Utc;

use crate::domain::transition::job_for;
use crate::domain::{Action, TicketState};
use crate::service::tickets::{self as service, ActionInput, ActorRef};
use crate::store::{jobs, tickets, Pool, StoreError};

/// The states a job owns.
pub const JOB_OWNED_STATES: [TicketState; 3] =
    [TicketState::Submitted, TicketState::Releasing, TicketState::RollingBack];

/// Fails every ticket left in a job-owned state without a live job; returns
/// how many were failed.
pub fn fail_orphaned(pool: &Pool) -> Result<usize, StoreError> {
    let mut conn = pool.get()?;
    let states: Vec<&str> = JOB_OWNED_STATES.iter().map(|s| s.as_str()).collect();
    let mut failed = 0;
    for ticket in tickets::in_states(&mut conn, &states)? {
        let Some(kind) = ticket.state.parse::<TicketState>().ok().and_then(job_for) else {
            continue;
        };
        // Read after the ticket: a retry that enqueued a job in the meantime
        // is seen here, and one that comes later changes the lock version
        // this write is guarded by.
        if jobs::active_for_ticket(&mut conn, ticket.id, kind.as_str())? {
            continue;
        }
        let reason = match jobs::newest_for_ticket(&mut conn, ticket.id, kind.as_str())? {
            Some(job) => format!(
                "its {} job #{} is {}: {}",
                job.kind,
                job.id,
                job.state,
                job.last_error.as_deref().unwrap_or("no error was recorded")
            ),
            None => format!("no {} job exists for it", kind.as_str()),
        };
        let mut input = ActionInput::new(Action::JobFailed, ActorRef::System).with_note(reason);
        input.expected_lock_version = Some(ticket.lock_version);
        match service::apply(&mut conn, ticket.id, &input, Utc::now()) {
            Ok(_) => {
                tracing::warn!(ticket = ticket.id, "sweep: failed a ticket its job had left behind");
                failed += 1;
            }
            // It moved on meanwhile: nothing is stuck.
            Err(error) => tracing::debug!(ticket = ticket.id, %error, "sweep: ticket changed meanwhile"),
        }
    }
    Ok(failed)
}
