//! Tickets in lists (the API's [`TicketSummary`], the HTML lists'
//! [`TicketRowHtml`]) and audit log rows ([`AuditOut`]).

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::VersionFormat;
use crate::service::rows::{AuditRow, TicketListRow};

use super::ticket::EventOut;
use super::{shorten, ts, utc_minutes};

/// A ticket in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketSummary {
    /// Id.
    pub id: i64,
    /// Project name.
    pub project: String,
    /// `release` or `rollback`.
    pub kind: String,
    /// State.
    pub state: String,
    /// Why.
    pub reason: String,
    /// Who filed it.
    pub submitter: String,
    /// Release version number.
    pub version: Option<i64>,
    /// Rollback target version.
    pub target_version: Option<i64>,
    /// The release version in the project's format (`v3`).
    pub version_tag: Option<String>,
    /// The rollback target in the project's format.
    pub target_tag: Option<String>,
    /// Filed (UTC).
    pub created_at: String,
    /// Last change (UTC).
    pub updated_at: String,
}

impl From<TicketListRow> for TicketSummary {
    fn from(r: TicketListRow) -> Self {
        let format = VersionFormat::parse(&r.version_format).unwrap_or_default();
        Self {
            version_tag: r.version.map(|v| format.render(v)),
            target_tag: r.target_version.map(|v| format.render(v)),
            id: r.id,
            project: r.project,
            kind: r.kind,
            state: r.state,
            reason: r.reason,
            submitter: r.submitter,
            version: r.version,
            target_version: r.target_version,
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
        }
    }
}

/// A ticket as the HTML lists show it: the reason shortened and the time
/// formatted in Rust, which is much cheaper than tera filters per cell
/// (the list page is the hot page).
#[derive(Debug, Clone, Serialize)]
pub struct TicketRowHtml {
    /// The ticket.
    #[serde(flatten)]
    pub ticket: TicketSummary,
    /// At most 80 characters of the reason.
    pub reason_short: String,
    /// `created_at` as `2026-11-25 12:00 UTC` (app.js shows local time).
    pub created_utc: String,
    /// When its release is scheduled, in its project's zone (issue 14).
    pub scheduled_at: Option<String>,
}

/// Marks the rows that have a pending scheduled release with its time.
pub fn with_schedules(rows: &mut [TicketRowHtml], times: &[(i64, String)]) {
    for row in rows {
        row.scheduled_at = times
            .iter()
            .find(|(id, _)| *id == row.ticket.id)
            .map(|(_, at)| at.clone());
    }
}

impl From<TicketListRow> for TicketRowHtml {
    fn from(r: TicketListRow) -> Self {
        let reason_short = shorten(&r.reason, 80);
        let created_utc = utc_minutes(r.created_at);
        Self {
            ticket: TicketSummary::from(r),
            reason_short,
            created_utc,
            scheduled_at: None,
        }
    }
}

impl From<TicketSummary> for TicketRowHtml {
    fn from(t: TicketSummary) -> Self {
        let created_utc = chrono::DateTime::parse_from_rfc3339(&t.created_at)
            .map(|d| d.to_utc().format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|_| t.created_at.clone());
        Self {
            reason_short: shorten(&t.reason, 80),
            created_utc,
            scheduled_at: None,
            ticket: t,
        }
    }
}

/// An event with its project, as the audit log shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditOut {
    /// Project.
    pub project: String,
    /// The event.
    #[serde(flatten)]
    pub event: EventOut,
}

impl From<AuditRow> for AuditOut {
    fn from(r: AuditRow) -> Self {
        Self {
            project: r.project,
            event: EventOut {
                id: r.event.id,
                ticket_id: r.event.ticket_id,
                action: r.event.action,
                from_state: r.event.from_state,
                to_state: r.event.to_state,
                actor: r.actor,
                note: r.event.note,
                emergency_override: r.event.emergency_override,
                at: ts(r.event.created_at),
            },
        }
    }
}
