//! "Why can't I?" on the ticket page and in `GET /api/v1/tickets/{id}`:
//! the actions the viewer would expect but may not take, each with the
//! domain's refusal code (the translation key under `[refusal]` and
//! `[why]`), its English message, and for a freeze the time it ends, in the
//! project's time zone and in UTC (pages turn the UTC time into the
//! viewer's local time).

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{Blocked, Refusal};

/// One action the viewer may not take now, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BlockedOut {
    /// The action (`approve`, `release`, `mark-tested`, `execute`).
    pub action: String,
    /// The domain's stable refusal code (`self_approval`, `frozen`, `wrong_state`, …).
    pub code: String,
    /// The refusal in English.
    pub message: String,
    /// For `wrong_state`: the state the ticket must reach first.
    pub waits_for: Option<String>,
    /// For `frozen`: when releasing is allowed again (UTC, RFC 3339).
    pub until: Option<String>,
    /// For `frozen`: the same time in the project's time zone (`2026-11-30 09:00`).
    pub until_project_time: Option<String>,
    /// For `frozen`: the project's time zone (IANA name).
    pub time_zone: Option<String>,
    /// For `frozen`: an admin may act now with an emergency override and a reason.
    pub admin_override: bool,
}

/// The page's and the API's form of the domain's [`Blocked`] list.
pub fn blocked_out(blocked: &[Blocked], zone: chrono_tz::Tz) -> Vec<BlockedOut> {
    blocked
        .iter()
        .map(|b| {
            let until = match &b.refusal {
                Refusal::Frozen { until, .. } => Some(*until),
                _ => None,
            };
            BlockedOut {
                action: b.action.as_str().to_owned(),
                code: b.refusal.code().to_owned(),
                message: b.refusal.to_string(),
                waits_for: b.waits_for.map(|s| s.as_str().to_owned()),
                until: until.map(|u| super::view::ts(u.naive_utc())),
                until_project_time: until.map(|u| u.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()),
                time_zone: until.map(|_| zone.name().to_owned()),
                admin_override: until.is_some(),
            }
        })
        .collect()
}
