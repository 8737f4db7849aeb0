//! The actions that move a ticket, with their stable kebab-case names (used
//! in the API path `/tickets/{id}/actions/{action}` and the event log).

use std::fmt;
use std::str::FromStr;

use super::state::UnknownName;

/// Something a person or a job does to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// File a release ticket (creates it).
    Submit,
    /// Ask to go back to a released version (creates a rollback ticket).
    RequestRollback,
    /// A tester or developer confirms the staged build works.
    MarkTested,
    /// Send the ticket back for changes (note required).
    Return,
    /// The submitter sends a returned ticket in again.
    Resubmit,
    /// A lead approves (one of possibly several approvals).
    Approve,
    /// A lead refuses (note required).
    Reject,
    /// Ship an approved ticket.
    Release,
    /// Carry out an approved rollback.
    Execute,
    /// Withdraw an open ticket.
    Cancel,
    /// Run a failed job again.
    Retry,
    /// Ask a running release or rollback to stop after the current host
    /// (hosts not yet switched stay as they are).
    Abort,
    /// System: the stage job put the ticket's snapshot in staging.
    StageSucceeded,
    /// System: the release or rollback job finished on every host.
    ShipSucceeded,
    /// System: a job gave up (note = the reason).
    JobFailed,
    /// System: a later rollback took production back past this release.
    Supersede,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 16] = [
        Action::Submit,
        Action::RequestRollback,
        Action::MarkTested,
        Action::Return,
        Action::Resubmit,
        Action::Approve,
        Action::Reject,
        Action::Release,
        Action::Execute,
        Action::Cancel,
        Action::Retry,
        Action::Abort,
        Action::StageSucceeded,
        Action::ShipSucceeded,
        Action::JobFailed,
        Action::Supersede,
    ];

    /// Actions a person may take on an existing ticket (the buttons).
    pub const BY_PEOPLE: [Action; 10] = [
        Action::MarkTested,
        Action::Return,
        Action::Resubmit,
        Action::Approve,
        Action::Reject,
        Action::Release,
        Action::Execute,
        Action::Cancel,
        Action::Retry,
        Action::Abort,
    ];

    /// The stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::RequestRollback => "request-rollback",
            Action::MarkTested => "mark-tested",
            Action::Return => "return",
            Action::Resubmit => "resubmit",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Release => "release",
            Action::Execute => "execute",
            Action::Cancel => "cancel",
            Action::Retry => "retry",
            Action::Abort => "abort",
            Action::StageSucceeded => "stage-succeeded",
            Action::ShipSucceeded => "ship-succeeded",
            Action::JobFailed => "job-failed",
            Action::Supersede => "supersede",
        }
    }

    /// Whether only a job may take this action.
    pub fn is_system(self) -> bool {
        matches!(
            self,
            Action::StageSucceeded | Action::ShipSucceeded | Action::JobFailed | Action::Supersede
        )
    }

    /// Whether the action needs a note (the reason).
    pub fn needs_note(self) -> bool {
        matches!(self, Action::Return | Action::Reject | Action::JobFailed)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "action",
                name: s.to_owned(),
            })
    }
}
