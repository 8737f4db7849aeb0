//! Ticket states and kinds, with their stable string names (stored in the
//! database and used in URLs and the JSON API).

use std::fmt;
use std::str::FromStr;

/// What a ticket asks for: ship a new build, or go back to a released version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TicketKind {
    /// Stage, test, approve and ship a change from SVN.
    Release,
    /// Put a previously released version back on production.
    Rollback,
}

/// Every state a ticket can be in (DESIGN.md "The ticket").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TicketState {
    /// Filed; waiting for the stage job to update staging from SVN.
    Submitted,
    /// Staging holds the ticket's snapshot; waiting for a tester.
    Staged,
    /// Marked tested; collecting approvals from the project's leads.
    Tested,
    /// Enough approvals; the submitter may release.
    Approved,
    /// The release job is shipping the snapshot.
    Releasing,
    /// Production runs this ticket's version.
    Released,
    /// Sent back to the developer for changes.
    Returned,
    /// A lead refused the ticket (final).
    Rejected,
    /// Withdrawn (final).
    Cancelled,
    /// A job failed; retry or cancel.
    Failed,
    /// A later rollback took production back past this release (final).
    RolledBack,
    /// A rollback was requested; collecting approvals.
    RollbackRequested,
    /// The rollback is approved; waiting to be executed.
    RollbackApproved,
    /// The rollback job is switching production back.
    RollingBack,
}

impl TicketState {
    /// Every state, in lifecycle order.
    pub const ALL: [TicketState; 14] = [
        Self::Submitted,
        Self::Staged,
        Self::Tested,
        Self::Approved,
        Self::Releasing,
        Self::Released,
        Self::Returned,
        Self::Rejected,
        Self::Cancelled,
        Self::Failed,
        Self::RolledBack,
        Self::RollbackRequested,
        Self::RollbackApproved,
        Self::RollingBack,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Staged => "staged",
            Self::Tested => "tested",
            Self::Approved => "approved",
            Self::Releasing => "releasing",
            Self::Released => "released",
            Self::Returned => "returned",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
            Self::RolledBack => "rolled_back",
            Self::RollbackRequested => "rollback_requested",
            Self::RollbackApproved => "rollback_approved",
            Self::RollingBack => "rolling_back",
        }
    }

    /// A state that no action leaves, except the system's "superseded by a
    /// rollback" for `released`.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Released | Self::Rejected | Self::Cancelled | Self::RolledBack
        )
    }

    /// A state in which a job works on the ticket. People may still cancel a
    /// `submitted` ticket (its stage job then finds it cancelled and stops),
    /// but not one that is releasing or rolling back.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Submitted | Self::Releasing | Self::RollingBack)
    }
}

impl fmt::Display for TicketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state or kind name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`")]
pub struct UnknownName {
    /// What was being parsed ("state", "kind", "action", "role").
    pub what: &'static str,
    /// The text that did not match.
    pub name: String,
}

impl FromStr for TicketState {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "state",
                name: s.to_owned(),
            })
    }
}

impl TicketKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Rollback => "rollback",
        }
    }
}

impl fmt::Display for TicketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TicketKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "release" => Ok(Self::Release),
            "rollback" => Ok(Self::Rollback),
            _ => Err(UnknownName {
                what: "kind",
                name: s.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in TicketState::ALL {
            assert_eq!(state.as_str().parse::<TicketState>(), Ok(state));
        }
        assert!("nope".parse::<TicketState>().is_err());
        for kind in [TicketKind::Release, TicketKind::Rollback] {
            assert_eq!(kind.as_str().parse::<TicketKind>(), Ok(kind));
        }
    }
}
