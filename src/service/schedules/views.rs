//! A ticket's schedule as pages, the API and lists show it: times in the
//! project's zone, who scheduled it, and the project's next maintenance
//! window for the one-click button.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::schedule as rules;
use crate::store::models::{ProjectRow, ScheduleRow, TicketRow};
use crate::store::{projects, schedules, users, DbConn};

use super::super::error::ServiceResult;
use super::{local_text, maintenance_windows};

/// A schedule as pages and the API show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleView {
    /// Id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// `release` or `execute`.
    pub action: String,
    /// When (UTC).
    pub run_at: DateTime<Utc>,
    /// When, in the project's zone (`2026-12-03 06:00 CET`).
    pub run_at_local: String,
    /// The same as typed into the form (`2026-12-03T06:00`).
    pub run_at_input: String,
    /// The project's time zone.
    pub time_zone: String,
    /// Who scheduled it.
    pub scheduled_by: String,
    /// `pending`, `started`, `done`, `failed` or `cancelled`.
    pub state: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The stable code of why it failed (a translation key), when it was refused.
    pub error_code: Option<String>,
}

/// The newest schedule of `ticket` (of `project`), none when it has none
/// or the newest was cancelled. The caller has checked that its reader
/// sees the ticket.
pub(in crate::service) fn view(
    conn: &mut DbConn,
    ticket: &TicketRow,
    project: &ProjectRow,
) -> ServiceResult<Option<ScheduleView>> {
    let Some(row) = schedules::latest_for(conn, ticket.id)?.filter(|s| s.state != schedules::CANCELLED) else {
        return Ok(None);
    };
    Ok(Some(view_of(conn, ticket, project, row)?))
}

fn view_of(
    conn: &mut DbConn,
    ticket: &TicketRow,
    project: &ProjectRow,
    row: ScheduleRow,
) -> ServiceResult<ScheduleView> {
    let zone = crate::domain::parse_zone(&project.time_zone).unwrap_or(Tz::UTC);
    let at = row.run_at.and_utc();
    let by =
        users::by_id(conn, row.scheduled_by)?.map_or_else(|| format!("user #{}", row.scheduled_by), |u| u.username);
    let kind = ticket
        .kind
        .parse::<crate::domain::TicketKind>()
        .unwrap_or(crate::domain::TicketKind::Release);
    Ok(ScheduleView {
        id: row.id,
        ticket_id: row.ticket_id,
        action: rules::scheduled_action(kind).as_str().to_owned(),
        run_at: at,
        run_at_local: local_text(at, zone),
        run_at_input: at.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string(),
        time_zone: zone.name().to_owned(),
        scheduled_by: by,
        state: row.state,
        error: row.error,
        error_code: row.error_code,
    })
}

/// When each of `ticket_ids` is scheduled to release (pending schedules),
/// in its project's zone: for lists.
pub fn pending_times(conn: &mut DbConn, ticket_ids: &[i64]) -> ServiceResult<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for row in schedules::pending_of(conn, ticket_ids)? {
        let zone = projects::by_id(conn, row.project_id)?
            .and_then(|p| crate::domain::parse_zone(&p.time_zone))
            .unwrap_or(Tz::UTC);
        out.push((row.ticket_id, local_text(row.run_at.and_utc(), zone)));
    }
    Ok(out)
}

/// The next maintenance window's start for `project`, in its zone (for
/// the one-click button), if it declares any.
pub(in crate::service) fn next_window(project: &ProjectRow, now: DateTime<Utc>) -> ServiceResult<Option<String>> {
    let zone = crate::domain::parse_zone(&project.time_zone).unwrap_or(Tz::UTC);
    Ok(rules::next_window_start(&maintenance_windows(project)?, zone, now).map(|at| local_text(at, zone)))
}
