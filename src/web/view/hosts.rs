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
    /// Regular files rsync transferred to it (absent: no statistics).
    pub files_sent: Option<u64>,
    /// Bytes rsync sent to it.
    pub bytes_sent: Option<u64>,
    /// The same, for people (`1.2 kB`).
    pub bytes_sent_text: String,
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
                    files_sent: None,
                    bytes_sent: None,
                    bytes_sent_text: String::new(),
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
        host.files_sent = st.files_sent;
        host.bytes_sent = st.bytes_sent;
        host.bytes_sent_text = st.bytes_sent.map(human_bytes).unwrap_or_default();
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

/// `bytes` for people: `512 B`, `1.2 kB`, `3.4 MB`, `1.0 GB` (powers of 1000).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn bytes_for_people() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1234), "1.2 kB");
        assert_eq!(human_bytes(3_400_000), "3.4 MB");
        assert_eq!(human_bytes(5_000_000_000_000_000), "5000.0 TB");
    }
}
