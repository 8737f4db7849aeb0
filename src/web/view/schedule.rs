//! A ticket's scheduled release as pages and the API show it ([`ScheduleOut`]).

use serde::Serialize;
use utoipa::ToSchema;

use crate::service::schedules::ScheduleView;

/// A scheduled release (or rollback execution) of a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleOut {
    /// Id.
    pub id: i64,
    /// The action it takes: `release` or `execute`.
    pub action: String,
    /// When (UTC, RFC 3339).
    pub run_at: String,
    /// When, in the project's time zone (`2026-12-03 06:00 CET`).
    pub run_at_local: String,
    /// The same for a `datetime-local` input (`2026-12-03T06:00`).
    pub run_at_input: String,
    /// The project's IANA time zone.
    pub time_zone: String,
    /// Who scheduled it (the release is theirs).
    pub scheduled_by: String,
    /// `pending` (can be changed or cancelled), `started`, `done` or `failed`.
    pub state: String,
    /// Why it failed (pages: in the reader's language when it has a code).
    pub error: Option<String>,
    /// The stable code of why it failed (`refusal.frozen`, …), when it was refused.
    pub error_code: Option<String>,
}

impl From<ScheduleView> for ScheduleOut {
    fn from(v: ScheduleView) -> Self {
        Self {
            id: v.id,
            action: v.action,
            run_at: super::ts(v.run_at.naive_utc()),
            run_at_local: v.run_at_local,
            run_at_input: v.run_at_input,
            time_zone: v.time_zone,
            scheduled_by: v.scheduled_by,
            state: v.state,
            error: v.error,
            error_code: v.error_code,
        }
    }
}
