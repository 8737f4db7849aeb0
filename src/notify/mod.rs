//! Notifications: email (lettre over SMTP, or `.eml` files when SMTP is off)
//! and webhooks, sent by jobs; one-click approval links.
//!
//! A transition enqueues one `notify` job per event in its own transaction
//! ([`crate::jobs::announce::enqueue_event`]). That job works out who is told (and which webhooks
//! fire) and fans out into one `notify` job per recipient and one `webhook`
//! job per URL, so each delivery is retried on its own and none is sent
//! twice by a retry of another. The jobs themselves are in
//! [`crate::jobs::announce`]; see docs/design.md#jobs.

pub mod chat;
pub mod chat_sign;
pub mod drift;
pub mod links;
pub mod mail;
pub mod recipients;
pub mod templates;
pub mod webhook;

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
    /// A scheduled release was refused at its time (the scheduler).
    ScheduleFailed,
    /// A verify found a host's tree changed by hand (leads, watchers).
    Drift,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 11] = [
        Kind::Staged,
        Kind::ApprovalRequested,
        Kind::Approved,
        Kind::Rejected,
        Kind::Returned,
        Kind::Released,
        Kind::Failed,
        Kind::RolledBack,
        Kind::Reminder,
        Kind::ScheduleFailed,
        Kind::Drift,
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
            Kind::ScheduleFailed => "schedule_failed",
            Kind::Drift => "drift",
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
            Kind::ScheduleFailed => "schedule_failed",
            Kind::Drift => "drift",
        }
    }

    /// Whether the mail carries Approve/Reject links.
    pub fn has_links(self) -> bool {
        matches!(self, Kind::ApprovalRequested | Kind::Reminder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::for_state("tested"), Some(Kind::ApprovalRequested));
        assert_eq!(Kind::for_state("releasing"), None);
    }
}
