//! Approval reminders: the scan the cron schedule runs (see [`super`]).

use chrono::NaiveDateTime;

use crate::store::{subscriptions, tickets, timestamp_now, write_tx, Pool, StoreError};

use super::super::job::{self, NotifyJob};
use super::unbound;

/// Queues reminders for tickets that wait for approval longer than their
/// project's interval (level 1: approvers; after twice the interval, level
/// 2: approvers and admins). Each level is sent once per approval request.
/// Returns how many reminder jobs were queued.
pub fn enqueue_reminders(pool: &Pool) -> Result<usize, StoreError> {
    enqueue_reminders_at(pool, timestamp_now())
}

/// [`enqueue_reminders`] as of `now` (tests).
pub fn enqueue_reminders_at(pool: &Pool, now: NaiveDateTime) -> Result<usize, StoreError> {
    let mut conn = pool.get()?;
    write_tx(&mut conn, |conn| {
        let mut queued = 0;
        for ticket in tickets::awaiting_approval(conn)? {
            let Some(event) = tickets::last_event_into(conn, ticket.id, &ticket.state)? else {
                continue;
            };
            let interval = i64::from(subscriptions::reminder_minutes(conn, ticket.project_id)?);
            let waited = (now - event.created_at).num_minutes();
            let due = if waited >= 2 * interval {
                2
            } else if waited >= interval {
                1
            } else {
                0
            };
            for level in 1..=due {
                // A level that came due together with a higher one is recorded, not sent.
                if subscriptions::record_reminder(conn, event.id, level, now)? && level == due {
                    let notify = NotifyJob {
                        event_id: event.id,
                        user_id: None,
                        reminder: Some(level),
                    };
                    // Due at once (`now` is only the clock the waiting is measured by).
                    job::enqueue(conn, &notify, unbound(ticket.project_id, timestamp_now()))?;
                    queued += 1;
                }
            }
        }
        Ok(queued)
    })
}
