//! The hosts of a ticket as the page and the API show them: each one's
//! state in the ticket's release or rollback, the version it runs, its last
//! error and its timed steps.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::VersionFormat;
use crate::service::recovery::HostState;

/// A production host and how this ticket went there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HostOut {
    /// Host group.
    pub group: String,
    /// Host name.
    pub name: String,
    /// rsync target.
    pub target: String,
    /// Its state in this ticket's release or rollback: `pending`,
    /// `uploading`, `live`, `switched`, `failed`, `skipped`, `reverted`
    /// (`pending` until the release pipeline reports).
    pub status: String,
    /// The version it runs after this ticket's work, in the project's
    /// format (`v3`).
    pub version: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// The steps of its last run, with their durations.
    pub steps: Vec<StepOut>,
}

/// One timed step of a host's release pipeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepOut {
    /// The step (`read live`, `prepare dir`, `upload`, `switch`…).
    pub step: String,
    /// How long it took, in milliseconds.
    pub millis: u64,
}

/// Puts each host's recorded state, version, error and steps on the
/// host list; hosts that shipped but left the project since are listed
/// after the others, without a group.
pub fn merge(hosts: &mut Vec<HostOut>, states: Vec<HostState>, format: &VersionFormat) {
    for st in states {
        let idx = match hosts.iter().position(|h| h.name == st.name) {
            Some(i) => i,
            None => {
                hosts.push(HostOut {
                    group: String::new(),
                    name: st.name.clone(),
                    target: String::new(),
                    status: String::new(),
                    version: None,
                    error: None,
                    steps: Vec::new(),
                });
                hosts.len() - 1
            }
        };
        let Some(host) = hosts.get_mut(idx) else {
            continue;
        };
        host.status = st.state;
        host.version = st.version.map(|v| format.render(v));
        host.error = st.error;
        host.steps = st
            .steps
            .into_iter()
            .map(|s| StepOut {
                step: s.step,
                millis: s.millis,
            })
            .collect();
    }
}
