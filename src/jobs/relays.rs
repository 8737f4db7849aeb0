//! The relays of a project's host groups (issue 14), parsed for the deploy
//! layer: every job that reaches hosts (release, rollback, services) goes
//! through a group's relay when it has one, never around it.

use std::collections::HashMap;

use crate::deploy::{DeployError, Relay};
use crate::store::models::HostGroupRow;
use crate::store::{projects, DbConn};

use super::handler::JobError;

/// A group's relay, parsed (`Ok(None)`: the group ships directly).
pub fn relay_of(group: &HostGroupRow) -> Result<Option<Relay>, DeployError> {
    let Some(target) = group.relay.as_deref().filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let port = match group.relay_port {
        None => None,
        Some(p) => Some(u16::try_from(p).map_err(|_| DeployError::BadTarget {
            target: target.to_owned(),
            problem: format!("relay port {p} is not between 1 and 65535"),
        })?),
    };
    Relay::parse(
        target,
        port,
        group.relay_identity.as_deref(),
        group.relay_known_hosts.as_deref(),
    )
    .map(Some)
}

/// Group name → its relay, for the groups project `project_id` ships to.
/// A stored relay that no longer parses stops the job (shipping around it
/// would reach hosts Slipway may have no way to).
pub(super) fn of_project(conn: &mut DbConn, project_id: i64) -> Result<HashMap<String, Option<Relay>>, JobError> {
    let groups = projects::groups_of(conn, project_id).map_err(|e| JobError::Retryable(e.to_string()))?;
    groups
        .iter()
        .map(|g| {
            let relay = relay_of(g).map_err(|e| JobError::Permanent(format!("host group `{}` relay: {e}", g.name)))?;
            Ok((g.name.clone(), relay))
        })
        .collect()
}
