//! Who is acting: project roles, admins, and the system (jobs).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::state::UnknownName;

/// A user's role in one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Approves or rejects tested tickets and rollbacks.
    Lead,
    /// Files, resubmits, releases; may mark tested or return.
    Developer,
    /// Marks staged builds tested or returns them.
    Tester,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Lead, Role::Developer, Role::Tester];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Lead => "lead",
            Role::Developer => "developer",
            Role::Tester => "tester",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "role",
                name: s.to_owned(),
            })
    }
}

/// A person acting on one project's ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserActor {
    /// The user's id.
    pub id: i64,
    /// Admins manage the system; on tickets they may cancel, retry and give
    /// a freeze-window override, nothing more.
    pub is_admin: bool,
    /// The user's roles in the ticket's project.
    pub roles: BTreeSet<Role>,
}

impl UserActor {
    /// Whether the user holds `role` in the project.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Who performs an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user.
    User(UserActor),
    /// A Slipway job reporting its result.
    System,
}

impl Actor {
    /// The user id, or `None` for the system.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User(user) => Some(user.id),
            Actor::System => None,
        }
    }
}
