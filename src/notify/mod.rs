//! Notifications: email (lettre over SMTP, or `.eml` files when SMTP is off)
//! and webhooks, sent by jobs; one-click approval links.
//!
//! A transition enqueues one `notify` job per event in its own transaction
//! ([`enqueue_event`]). That job works out who is told (and which webhooks
//! fire) and fans out into one `notify` job per recipient and one `webhook`
//! job per URL, so each delivery is retried on its own and none is sent
//! twice by a retry of another. The jobs themselves are in
//! [`crate::jobs::announce`]; see docs/design.md#jobs.

pub mod links;
pub mod mail;
pub mod recipients;
pub mod templates;
pub mod webhook;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::store::models::NewJob;
use crate::store::{jobs, DbConn, StoreResult};

/// Job kind that sends notifications.
pub const NOTIFY_JOB: &str = "notify";
/// Job kind that posts to one webhook.
pub const WEBHOOK_JOB: &str = "webhook";

/// A kind of notification; users turn each off on their profile page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Staged: ready to test (submitter, testers).
    Staged,
    /// Tested: approval requested (leads).
    ApprovalRequested,
    /// Approved (submitter).
    Approved,
    /// Rejected (submitter).
    Rejected,
    /// Returned for changes (submitter).
    Returned,
    /// Released (submitter, approvers, watchers).
    Released,
    /// Failed (submitter, approvers, watchers).
    Failed,
    /// Rolled back (submitter, approvers, watchers).
    RolledBack,
    /// Still waiting for approval (approvers; later also admins).
    Reminder,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 9] = [
        Kind::Staged,
        Kind::ApprovalRequested,
        Kind::Approved,
        Kind::Rejected,
        Kind::Returned,
        Kind::Released,
        Kind::Failed,
        Kind::RolledBack,
        Kind::Reminder,
    ];

    /// The stable name (stored in `notification_prefs.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Staged => "staged",
            Kind::ApprovalRequested => "approval_requested",
            Kind::Approved => "approved",
            Kind::Rejected => "rejected",
            Kind::Returned => "returned",
            Kind::Released => "released",
            Kind::Failed => "failed",
            Kind::RolledBack => "rolled_back",
            Kind::Reminder => "reminder",
        }
    }

    /// The kind with this name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// What an event entering `state` tells people, if anything.
    pub fn for_state(state: &str) -> Option<Self> {
        Some(match state {
            "staged" => Kind::Staged,
            "tested" | "rollback_requested" => Kind::ApprovalRequested,
            "approved" | "rollback_approved" => Kind::Approved,
            "rejected" => Kind::Rejected,
            "returned" => Kind::Returned,
            "released" => Kind::Released,
            "failed" => Kind::Failed,
            "rolled_back" => Kind::RolledBack,
            _ => return None,
        })
    }

    /// The template directory under `templates/email/`.
    pub fn template(self) -> &'static str {
        match self {
            Kind::Staged => "staged",
            Kind::ApprovalRequested => "approval_requested",
            Kind::Approved | Kind::Rejected | Kind::Returned => "decision",
            Kind::Released | Kind::Failed | Kind::RolledBack => "finished",
            Kind::Reminder => "reminder",
        }
    }

    /// Whether the mail carries Approve/Reject links.
    pub fn has_links(self) -> bool {
        matches!(self, Kind::ApprovalRequested | Kind::Reminder)
    }
}

/// Arguments of a `notify` job. Without `user_id` it fans out; with it, it
/// sends one mail. Serialised deterministically (the fan-out looks for an
/// existing job with the same payload before it enqueues).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyPayload {
    /// The event told about.
    pub event_id: i64,
    /// The recipient (per-recipient jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// Reminder level (1: approvers again; 2: also admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<i32>,
}

impl NotifyPayload {
    /// The JSON stored in the job row.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Arguments of a `webhook` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// The event posted.
    pub event_id: i64,
    /// The webhook.
    pub webhook_id: i64,
}

/// Inserts a job row of `kind` with `payload`, due now.
pub fn insert_job(
    conn: &mut DbConn,
    kind: &str,
    payload: String,
    project_id: Option<i64>,
    now: NaiveDateTime,
) -> StoreResult<i64> {
    jobs::insert(
        conn,
        &NewJob {
            kind: kind.to_owned(),
            payload,
            project_id,
            // Not tied to the ticket: the ticket's job list and log show its pipeline only.
            ticket_id: None,
            run_after: now,
            created_at: now,
            updated_at: now,
        },
    )
}

/// Enqueues the notifications of event `event_id` (call inside the
/// transaction that wrote the event, so they commit with it).
pub fn enqueue_event(conn: &mut DbConn, event_id: i64, project_id: i64, now: NaiveDateTime) -> StoreResult<i64> {
    let payload = NotifyPayload {
        event_id,
        user_id: None,
        reminder: None,
    };
    insert_job(conn, NOTIFY_JOB, payload.to_json(), Some(project_id), now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_payloads_are_stable() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::for_state("tested"), Some(Kind::ApprovalRequested));
        assert_eq!(Kind::for_state("releasing"), None);
        let p = NotifyPayload {
            event_id: 3,
            user_id: Some(4),
            reminder: None,
        };
        assert_eq!(p.to_json(), r#"{"event_id":3,"user_id":4}"#);
    }
}
