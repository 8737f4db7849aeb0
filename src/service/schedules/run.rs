//! A schedule's time comes: the cron entry starts each due schedule by
//! enqueueing a `scheduled` job ([`start_due`]), and the job takes the
//! ticket's action as the scheduler through [`tickets::apply_with`]
//! ([`run`]), so freeze windows, approval expiry, the project lock and
//! "never older than production" apply exactly as to a release by hand.
//! The schedule is marked done in the action's own transaction; a refusal
//! marks it failed with the reason and writes a `schedule-failed` event,
//! whose notification goes to the scheduler.

use chrono::{DateTime, Utc};

use crate::domain::schedule::scheduled_action;
use crate::domain::TicketKind;
use crate::jobs::job::{self, Placement, ScheduledJob};
use crate::store::models::NewEvent;
use crate::store::{schedules, tickets as ticket_rows, write_tx, DbConn};

use super::super::error::{codes as error_codes, ErrorKind, ServiceError, ServiceResult};
use super::super::tickets::{self, ActionInput, ActorRef};
use super::EVENT_FAILED;

/// Starts every pending schedule due at `now`: marks it `started` and
/// enqueues its job in one transaction (a schedule another instance started
/// first is skipped). Returns how many it started.
pub fn start_due(conn: &mut DbConn, now: DateTime<Utc>) -> ServiceResult<usize> {
    let naive_now = now.naive_utc();
    let mut started = 0;
    for due in schedules::due(conn, naive_now)? {
        let took = write_tx(conn, |conn| -> ServiceResult<bool> {
            let job_id = job::enqueue(
                conn,
                &ScheduledJob { schedule_id: due.id },
                Placement {
                    project_id: None,
                    ticket_id: None,
                    run_after: naive_now,
                },
            )?;
            if !schedules::advance(
                conn,
                due.id,
                schedules::PENDING,
                schedules::STARTED,
                None,
                Some(job_id),
                naive_now,
            )? {
                // Cancelled or started meanwhile: undo the job with the transaction.
                return Err(ServiceError::Conflict(error_codes::RACE, "schedule moved on".into()));
            }
            Ok(true)
        });
        match took {
            Ok(_) => started += 1,
            Err(ServiceError::Conflict(..)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(started)
}

/// What running a started schedule came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The ticket's action was taken (the release or rollback job is queued).
    Started,
    /// The action was refused: the schedule failed with this reason.
    Refused(String),
    /// Nothing to do (not started, or already finished: a re-run).
    Nothing,
}

/// Takes the action of started schedule `schedule_id` at `now`. A
/// database error is returned for the job to retry; a refusal fails the
/// schedule (it is not retried: the scheduler decides what next).
pub fn run(conn: &mut DbConn, schedule_id: i64, now: DateTime<Utc>) -> ServiceResult<RunOutcome> {
    let Some(schedule) = schedules::by_id(conn, schedule_id)? else {
        return Ok(RunOutcome::Nothing);
    };
    if schedule.state != schedules::STARTED {
        return Ok(RunOutcome::Nothing);
    }
    let kind = match ticket_rows::by_id(conn, schedule.ticket_id)? {
        Some(t) => t.kind.parse::<TicketKind>().unwrap_or(TicketKind::Release),
        None => return fail(conn, &schedule, "the ticket is gone".into(), None, now),
    };
    let input = ActionInput::new(scheduled_action(kind), ActorRef::User(schedule.scheduled_by))
        .with_note(format!("scheduled release (schedule #{})", schedule.id));
    let job_id = schedule.job_id;
    let applied = tickets::apply_with(conn, schedule.ticket_id, &input, now, |conn| {
        if schedules::advance(
            conn,
            schedule.id,
            schedules::STARTED,
            schedules::DONE,
            None,
            job_id,
            now.naive_utc(),
        )? {
            Ok(())
        } else {
            Err(ServiceError::Conflict(
                error_codes::RACE,
                "the schedule moved on".into(),
            ))
        }
    });
    match applied {
        Ok(_) => Ok(RunOutcome::Started),
        // The database failed, or another request changed the ticket at the
        // same moment: the job tries again.
        Err(e) if e.kind() == ErrorKind::Internal || e.code() == error_codes::RACE => Err(e),
        Err(e) => {
            let reason = e.to_string();
            fail(conn, &schedule, reason, Some(&e.code()), now)
        }
    }
}

fn fail(
    conn: &mut DbConn,
    schedule: &crate::store::models::ScheduleRow,
    reason: String,
    code: Option<&str>,
    now: DateTime<Utc>,
) -> ServiceResult<RunOutcome> {
    let naive_now = now.naive_utc();
    write_tx(conn, |conn| -> ServiceResult<()> {
        if !schedules::advance(
            conn,
            schedule.id,
            schedules::STARTED,
            schedules::FAILED,
            Some(&reason),
            schedule.job_id,
            naive_now,
        )? {
            return Ok(());
        }
        if let Some(code) = code {
            schedules::set_error_code(conn, schedule.id, code)?;
        }
        let Some(ticket) = ticket_rows::by_id(conn, schedule.ticket_id)? else {
            return Ok(());
        };
        tickets::write_event(
            conn,
            schedule.project_id,
            &NewEvent {
                ticket_id: ticket.id,
                actor_id: None,
                action: EVENT_FAILED.to_owned(),
                from_state: Some(ticket.state.clone()),
                to_state: ticket.state.clone(),
                note: Some(format!("the scheduled release did not start: {reason}")),
                emergency_override: false,
                created_at: naive_now,
            },
        )?;
        Ok(())
    })?;
    Ok(RunOutcome::Refused(reason))
}

/// The `scheduled` job gave up (the database kept failing): the schedule
/// fails with `error`, if it is still started.
pub fn give_up(conn: &mut DbConn, schedule_id: i64, error: &str, now: DateTime<Utc>) -> ServiceResult<()> {
    if let Some(schedule) = schedules::by_id(conn, schedule_id)?.filter(|s| s.state == schedules::STARTED) {
        fail(conn, &schedule, error.to_owned(), None, now)?;
    }
    Ok(())
}
