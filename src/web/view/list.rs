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

/// A ticket as the HTML lists show it ([`ticket_table`](fn@super::ticket_table)):
/// only what the table prints, each cell's text worked out in Rust, which
/// is much cheaper than tera lookups, tests and filters per cell (the list
/// page and "my work" are the hot pages).
#[derive(Debug, Clone, Serialize)]
pub struct TicketRowHtml {
    /// Id.
    pub id: i64,
    /// Whether it is a rollback (the table marks those).
    pub rollback: bool,
    /// Project name.
    pub project: String,
    /// The state's key for its badge and label: a release undone by a
    /// rollback reads `reverted` (issue 12), anything else its state.
    pub state_key: String,
    /// The state's label in the page's language (see [`with_state_labels`]).
    pub state_label: String,
    /// At most 80 characters of the reason.
    pub reason_short: String,
    /// Who filed it.
    pub submitter: String,
    /// The version column: the release version (`v3`), a rollback's
    /// target (`→ v2`) or nothing.
    pub version_text: String,
    /// Filed (UTC, RFC 3339).
    pub created_at: String,
    /// `created_at` as `2026-11-25 12:00 UTC` (app.js shows local time).
    pub created_utc: String,
    /// When its release is scheduled, in its project's zone (issue 14).
    pub scheduled_at: Option<String>,
}

/// Marks the rows that have a pending scheduled release with its time.
pub fn with_schedules(rows: &mut [TicketRowHtml], times: &[(i64, String)]) {
    for row in rows {
        row.scheduled_at = times.iter().find(|(id, _)| *id == row.id).map(|(_, at)| at.clone());
    }
}

/// Gives each row its state's label from `catalogue` (a language's
/// messages, whose `state` table names every state); a missing label
/// reads as the key.
pub fn with_state_labels(rows: &mut [TicketRowHtml], catalogue: &serde_json::Value) {
    for row in rows {
        row.state_label = catalogue
            .get("state")
            .and_then(|states| states.get(&row.state_key))
            .and_then(serde_json::Value::as_str)
            .unwrap_or(&row.state_key)
            .to_owned();
    }
}

impl From<TicketListRow> for TicketRowHtml {
    fn from(r: TicketListRow) -> Self {
        let format = VersionFormat::parse(&r.version_format).unwrap_or_default();
        let version_text = match (r.version, r.target_version) {
            (Some(v), _) => format.render(v),
            (None, Some(t)) => format!("→ {}", format.render(t)),
            (None, None) => String::new(),
        };
        let state_key = if r.kind == "release" && r.state == "rolled_back" {
            "reverted".to_owned()
        } else {
            r.state
        };
        Self {
            id: r.id,
            rollback: r.kind == "rollback",
            project: r.project,
            state_label: String::new(),
            state_key,
            reason_short: shorten(&r.reason, 80),
            submitter: r.submitter,
            version_text,
            created_at: ts(r.created_at),
            created_utc: utc_minutes(r.created_at),
            scheduled_at: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, state: &str, version: Option<i64>, target_version: Option<i64>) -> TicketListRow {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
            .and_then(|d| d.and_hms_opt(12, 0, 5))
            .expect("date");
        TicketListRow {
            id: 7,
            project: "shop".into(),
            version_format: "v{n}".into(),
            kind: kind.into(),
            state: state.into(),
            reason: "x".repeat(90),
            submitter: "dev".into(),
            version,
            target_version,
            created_at: at,
            updated_at: at,
        }
    }

    /// The cells the table used to work out in tera: the rollback mark, a
    /// reverted release, the version column.
    #[test]
    fn cells_as_the_table_showed_them() {
        let undone = TicketRowHtml::from(row("release", "rolled_back", Some(3), None));
        assert!(!undone.rollback);
        assert_eq!(undone.state_key, "reverted");
        assert_eq!(undone.version_text, "v3");
        assert_eq!(undone.reason_short, format!("{}…", "x".repeat(80)));
        assert_eq!(undone.created_at, "2026-11-25T12:00:05Z");
        assert_eq!(undone.created_utc, "2026-11-25 12:00 UTC");

        let rollback = TicketRowHtml::from(row("rollback", "rolled_back", None, Some(2)));
        assert!(rollback.rollback);
        assert_eq!(rollback.state_key, "rolled_back");
        assert_eq!(rollback.version_text, "→ v2");

        let plain = TicketRowHtml::from(row("release", "staged", None, None));
        assert_eq!(plain.state_key, "staged");
        assert_eq!(plain.version_text, "");

        let catalogue = serde_json::json!({ "state": { "reverted": "Reverted", "staged": "Staged" } });
        let mut rows = vec![undone, rollback, plain];
        with_state_labels(&mut rows, &catalogue);
        let labels: Vec<&str> = rows.iter().map(|r| r.state_label.as_str()).collect();
        assert_eq!(labels, ["Reverted", "rolled_back", "Staged"]);
    }
}
