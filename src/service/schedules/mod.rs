//! Scheduled releases (issue 14): schedule an approved ticket's release
//! (or a rollback's execution) for a time, change or cancel it until it
//! starts, and show it. Each call is one transaction that writes the
//! schedule row and its audit event. The domain decides who may and which
//! times are acceptable ([`crate::domain::schedule`]); at the time, the
//! cron entry and the `scheduled` job ([`run`]) take the ticket's action
//! through [`super::tickets::apply`] like a release by hand.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::domain::schedule::{self as rules, MaintenanceWindow};
use crate::domain::validate::codes;
use crate::domain::{Actor, InvalidInput, ProjectRules, TicketFacts};
use crate::store::models::{NewEvent, NewSchedule, ProjectRow, ScheduleRow, TicketRow};
use crate::store::{projects, schedules, tickets, users, write_tx, DbConn};

use super::error::{codes as error_codes, ServiceError, ServiceResult};
use super::facts;
use super::visibility::Reader;

pub mod run;
mod views;

pub(in crate::service) use views::{next_window, view};
pub use views::{pending_times, ScheduleView};

/// Audit event of a new schedule.
pub const EVENT_SCHEDULE: &str = "schedule";
/// Audit event of a changed schedule.
pub const EVENT_RESCHEDULE: &str = "reschedule";
/// Audit event of a cancelled schedule.
pub const EVENT_UNSCHEDULE: &str = "unschedule";
/// Event of a schedule refused at its time (the scheduler is told).
pub const EVENT_FAILED: &str = "schedule-failed";
/// Every event name of schedules (the audit log filters by them).
pub const EVENTS: [&str; 4] = [EVENT_SCHEDULE, EVENT_RESCHEDULE, EVENT_UNSCHEDULE, EVENT_FAILED];

/// When to release, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// A wall-clock time in the project's time zone, as typed
    /// (`2026-12-03 06:00` or `2026-12-03T06:00`).
    Local(String),
    /// An instant (RFC 3339 with an offset, from the API).
    Instant(DateTime<Utc>),
    /// The start of the project's next maintenance window.
    NextWindow,
}

impl When {
    /// What a form or API body asks for: `next_window`, or `at` as an RFC
    /// 3339 instant (with an offset) or a wall-clock time in the project's
    /// zone (`2026-12-03T06:00`).
    pub fn from_input(at: Option<&str>, next_window: bool) -> Result<Self, InvalidInput> {
        match (at.map(str::trim).filter(|a| !a.is_empty()), next_window) {
            (None, true) => Ok(When::NextWindow),
            (Some(at), false) => Ok(DateTime::parse_from_rfc3339(at)
                .map(|t| When::Instant(t.with_timezone(&Utc)))
                .unwrap_or_else(|_| When::Local(at.to_owned()))),
            (Some(_), true) => Err(InvalidInput::new(
                "at",
                codes::INVALID,
                "give either a time or next_window, not both",
            )),
            (None, false) => Err(InvalidInput::new(
                "at",
                codes::EMPTY,
                "give a time (in the project's time zone) or next_window",
            )),
        }
    }
}

/// What a reader asks of a ticket's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Schedule its release.
    Schedule(When),
    /// Move the pending schedule.
    Change(When),
    /// Cancel the pending schedule.
    Cancel,
}

/// Carries out `request` on ticket `ticket_id` as `reader` (who must see
/// the ticket: "not found" otherwise, before any problem with the request
/// itself, the caller's parse); the ticket as they see it after.
pub fn request<E: From<ServiceError>>(
    conn: &mut DbConn,
    reader: &Reader,
    ticket_id: i64,
    request: Result<Request, E>,
    now: DateTime<Utc>,
) -> Result<super::queries::TicketView, E> {
    reader.ticket(conn, ticket_id)?;
    let request = request?;
    let user = reader.user.id;
    match &request {
        Request::Schedule(when) => {
            schedule(conn, ticket_id, user, when, now)?;
        }
        Request::Change(when) => {
            change(conn, ticket_id, user, when, now)?;
        }
        Request::Cancel => cancel(conn, ticket_id, user, now)?,
    }
    Ok(super::queries::ticket_view(conn, ticket_id, reader, now)?)
}

/// Everything the checks need about a ticket and its project.
struct Loaded {
    ticket: TicketRow,
    project: ProjectRow,
    facts: TicketFacts,
    policy: crate::domain::ApprovalPolicy,
    freeze: crate::domain::FreezeCalendar,
    production_seq: Option<i64>,
    actor: Actor,
}

impl Loaded {
    fn rules(&self) -> ProjectRules<'_> {
        ProjectRules {
            policy: &self.policy,
            freeze: &self.freeze,
            production_snapshot_seq: self.production_seq,
        }
    }
}

fn load(conn: &mut DbConn, ticket_id: i64, user_id: i64) -> ServiceResult<Loaded> {
    let ticket = tickets::by_id(conn, ticket_id)?.ok_or_else(|| ServiceError::not_found("ticket", ticket_id))?;
    let project = projects::by_id(conn, ticket.project_id)?
        .ok_or_else(|| ServiceError::not_found("project", ticket.project_id))?;
    let user = users::by_id(conn, user_id)?.ok_or_else(|| ServiceError::not_found("user", user_id))?;
    let actor = facts::user_actor(conn, &user, project.id)?;
    let approvals = tickets::approvals(conn, ticket.id)?;
    let facts = facts::ticket_facts(&ticket, &approvals)?;
    let policy = facts::policy(&project);
    let freeze = facts::freeze_calendar(&project, &projects::freeze_windows(conn, project.id)?)?;
    let production_seq = facts::production_floor(conn, &project)?.snapshot_seq;
    Ok(Loaded {
        ticket,
        project,
        facts,
        policy,
        freeze,
        production_seq,
        actor,
    })
}

/// The project's maintenance windows.
pub fn maintenance_windows(project: &ProjectRow) -> ServiceResult<Vec<MaintenanceWindow>> {
    super::settings::maintenance::from_stored(&project.maintenance_windows).ok_or_else(|| {
        ServiceError::Store(crate::store::StoreError::Corrupt(format!(
            "maintenance windows of project {}",
            project.name
        )))
    })
}

/// The time `when` means for a project in `zone` with `windows`, checked
/// against `now`.
fn resolve(when: &When, zone: Tz, windows: &[MaintenanceWindow], now: DateTime<Utc>) -> ServiceResult<DateTime<Utc>> {
    let at = match when {
        When::Instant(at) => *at,
        When::NextWindow => rules::next_window_start(windows, zone, now)
            .ok_or(rules::ScheduleProblem::NoWindows)
            .map_err(InvalidInput::from)?,
        When::Local(text) => {
            let t = text.trim();
            let local = [
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
            .ok_or_else(|| {
                InvalidInput::new(
                    "at",
                    codes::SCHEDULE_TIME,
                    format!("`{}` is not a date and time like `2026-12-03 06:00`", t.escape_debug()),
                )
                .with("value", t.escape_debug())
            })?;
            rules::local_to_utc(local, zone).map_err(InvalidInput::from)?
        }
    };
    rules::check_time(at, now, zone).map_err(InvalidInput::from)?;
    Ok(at)
}

fn event(conn: &mut DbConn, l: &Loaded, action: &str, note: String, now: NaiveDateTime) -> ServiceResult<i64> {
    super::tickets::write_event(
        conn,
        l.project.id,
        &NewEvent {
            ticket_id: l.ticket.id,
            actor_id: l.actor.user_id(),
            action: action.to_owned(),
            from_state: Some(l.ticket.state.clone()),
            to_state: l.ticket.state.clone(),
            note: Some(note),
            emergency_override: false,
            created_at: now,
        },
    )
}

fn local_text(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// Schedules ticket `ticket_id`'s release (or execution) for `when`, as
/// user `user_id`.
pub fn schedule(
    conn: &mut DbConn,
    ticket_id: i64,
    user_id: i64,
    when: &When,
    now: DateTime<Utc>,
) -> ServiceResult<ScheduleRow> {
    write_tx(conn, |conn| {
        let l = load(conn, ticket_id, user_id)?;
        rules::may_schedule(&l.facts, l.rules(), &l.actor, now)?;
        let at = resolve(when, l.freeze.zone, &maintenance_windows(&l.project)?, now)?;
        if schedules::open_for(conn, ticket_id)?.is_some() {
            return Err(ServiceError::Conflict(
                error_codes::ALREADY_SCHEDULED,
                format!("ticket #{ticket_id} is scheduled already; change or cancel that schedule"),
            ));
        }
        let naive_now = now.naive_utc();
        let id = schedules::insert(
            conn,
            &NewSchedule {
                ticket_id,
                project_id: l.project.id,
                run_at: at.naive_utc(),
                scheduled_by: user_id,
                state: schedules::PENDING.to_owned(),
                created_at: naive_now,
                updated_at: naive_now,
            },
        )?;
        event(
            conn,
            &l,
            EVENT_SCHEDULE,
            format!("scheduled for {}", local_text(at, l.freeze.zone)),
            naive_now,
        )?;
        schedules::by_id(conn, id)?.ok_or_else(|| ServiceError::not_found("schedule", id))
    })
}

/// Moves ticket `ticket_id`'s pending schedule to `when` (who may schedule
/// it may change it; the release becomes theirs).
pub fn change(
    conn: &mut DbConn,
    ticket_id: i64,
    user_id: i64,
    when: &When,
    now: DateTime<Utc>,
) -> ServiceResult<ScheduleRow> {
    write_tx(conn, |conn| {
        let l = load(conn, ticket_id, user_id)?;
        rules::may_schedule(&l.facts, l.rules(), &l.actor, now)?;
        let at = resolve(when, l.freeze.zone, &maintenance_windows(&l.project)?, now)?;
        let pending = pending(conn, ticket_id)?;
        let naive_now = now.naive_utc();
        if !schedules::reschedule(conn, pending.id, at.naive_utc(), naive_now)? {
            return Err(not_scheduled(ticket_id));
        }
        let from = local_text(pending.run_at.and_utc(), l.freeze.zone);
        event(
            conn,
            &l,
            EVENT_RESCHEDULE,
            format!("moved from {from} to {}", local_text(at, l.freeze.zone)),
            naive_now,
        )?;
        schedules::by_id(conn, pending.id)?.ok_or_else(|| ServiceError::not_found("schedule", pending.id))
    })
}

/// Cancels ticket `ticket_id`'s pending schedule (its maker, an admin, or
/// whoever may schedule the ticket).
pub fn cancel(conn: &mut DbConn, ticket_id: i64, user_id: i64, now: DateTime<Utc>) -> ServiceResult<()> {
    write_tx(conn, |conn| {
        let l = load(conn, ticket_id, user_id)?;
        let pending = pending(conn, ticket_id)?;
        rules::may_cancel(&l.facts, l.rules(), &l.actor, pending.scheduled_by, now)?;
        let naive_now = now.naive_utc();
        if !schedules::advance(
            conn,
            pending.id,
            schedules::PENDING,
            schedules::CANCELLED,
            None,
            None,
            naive_now,
        )? {
            return Err(not_scheduled(ticket_id));
        }
        let at = local_text(pending.run_at.and_utc(), l.freeze.zone);
        event(
            conn,
            &l,
            EVENT_UNSCHEDULE,
            format!("cancelled the release scheduled for {at}"),
            naive_now,
        )?;
        Ok(())
    })
}

/// Cancels ticket `ticket_id`'s pending schedule, if any, because `action`
/// took the ticket out of its approved state by hand (called in that
/// action's transaction; the action's own event is the audit record).
pub fn drop_pending(
    conn: &mut DbConn,
    ticket_id: i64,
    action: crate::domain::Action,
    now: NaiveDateTime,
) -> ServiceResult<()> {
    if let Some(p) = schedules::open_for(conn, ticket_id)?.filter(|s| s.state == schedules::PENDING) {
        let why = format!("not needed: the ticket was moved on by hand ({action})");
        schedules::advance(
            conn,
            p.id,
            schedules::PENDING,
            schedules::CANCELLED,
            Some(&why),
            None,
            now,
        )?;
    }
    Ok(())
}

fn pending(conn: &mut DbConn, ticket_id: i64) -> ServiceResult<ScheduleRow> {
    schedules::open_for(conn, ticket_id)?
        .filter(|s| s.state == schedules::PENDING)
        .ok_or_else(|| not_scheduled(ticket_id))
}

fn not_scheduled(ticket_id: i64) -> ServiceError {
    ServiceError::Conflict(
        error_codes::NOT_SCHEDULED,
        format!("ticket #{ticket_id} has no schedule waiting to start"),
    )
}
