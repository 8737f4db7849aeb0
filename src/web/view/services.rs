//! A project's services as the services page and the API show them: each
//! host with the last state read of each of its group's services, the
//! recent requests, a request's job with its output, and what runs where.

use serde::Serialize;
use utoipa::ToSchema;

use crate::deploy::ServiceSpec;
use crate::service::services::{ServiceJobView, ServicesPage};
use crate::service::where_runs::HostRuns;

use super::ts;

/// One service on one host, as last read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceStateOut {
    /// The service.
    pub service: String,
    /// `RUNNING`, `STOPPED`, `FATAL`, … `UNKNOWN`, or empty when never read.
    pub state: String,
    /// Process id.
    pub pid: Option<i64>,
    /// Uptime as the manager printed it.
    pub uptime: Option<String>,
    /// The rest of the manager's line.
    pub detail: String,
    /// When it was read (UTC, RFC 3339).
    pub read_at: Option<String>,
}

/// A host and its services.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceHostOut {
    /// The host's group.
    pub group: String,
    /// The host.
    pub host: String,
    /// Its group's services, in the order declared.
    pub services: Vec<ServiceStateOut>,
}

/// A recorded service request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceActionOut {
    /// Its job.
    pub job_id: Option<i64>,
    /// Who asked.
    pub actor: Option<String>,
    /// The service (empty: every service).
    pub service: String,
    /// `status`, `start`, `stop`, `restart` or `log`.
    pub action: String,
    /// Which hosts.
    pub scope: String,
    /// Why.
    pub reason: String,
    /// When (UTC, RFC 3339).
    pub at: String,
}

/// `GET /api/v1/projects/{name}/services`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServicesOut {
    /// The project.
    pub project: String,
    /// Its services.
    pub services: Vec<ServiceSpec>,
    /// `leads` or `developers`: who may start, stop and restart besides admins.
    pub service_actions: String,
    /// Whether the caller may start, stop and restart.
    pub may_act: bool,
    /// Each host with its services.
    pub hosts: Vec<ServiceHostOut>,
    /// The newest requests, newest first.
    pub recent: Vec<ServiceActionOut>,
}

impl From<ServicesPage> for ServicesOut {
    fn from(p: ServicesPage) -> Self {
        let hosts = p
            .hosts
            .iter()
            .filter(|(g, _)| p.services.iter().any(|s| &s.group == g))
            .map(|(group, host)| ServiceHostOut {
                group: group.clone(),
                host: host.clone(),
                services: p
                    .services
                    .iter()
                    .filter(|s| &s.group == group)
                    .map(|s| {
                        let read = p.states.iter().find(|r| &r.host == host && r.service == s.name);
                        ServiceStateOut {
                            service: s.name.clone(),
                            state: read.map(|r| r.state.clone()).unwrap_or_default(),
                            pid: read.and_then(|r| r.pid),
                            uptime: read.and_then(|r| r.uptime.clone()),
                            detail: read.map(|r| r.detail.clone()).unwrap_or_default(),
                            read_at: read.map(|r| ts(r.read_at)),
                        }
                    })
                    .collect(),
            })
            .collect();
        Self {
            project: p.project.name,
            services: p.services,
            service_actions: p.project.service_actions,
            may_act: p.may_act,
            hosts,
            recent: p
                .recent
                .into_iter()
                .map(|(a, actor)| ServiceActionOut {
                    job_id: a.job_id,
                    actor,
                    service: a.service,
                    action: a.action,
                    scope: a.scope,
                    reason: a.reason,
                    at: ts(a.created_at),
                })
                .collect(),
        }
    }
}

/// One output line of a service job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceLineOut {
    /// Line id.
    pub id: i64,
    /// `stdout`, `stderr` or `info`.
    pub stream: String,
    /// The text.
    pub line: String,
}

/// `GET /api/v1/projects/{name}/services/jobs/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceJobOut {
    /// The job.
    pub id: i64,
    /// `queued`, `running`, `done`, `failed`, …
    pub state: String,
    /// Whether it has finished (either way).
    pub finished: bool,
    /// Why it failed.
    pub error: Option<String>,
    /// The request it does.
    pub request: Option<ServiceActionOut>,
    /// Its output so far.
    pub lines: Vec<ServiceLineOut>,
}

impl From<ServiceJobView> for ServiceJobOut {
    fn from(v: ServiceJobView) -> Self {
        let finished = !matches!(v.job.state.as_str(), "queued" | "running");
        Self {
            id: v.job.id,
            state: v.job.state,
            finished,
            error: v.job.last_error.filter(|_| finished),
            request: v.request.map(|a| ServiceActionOut {
                job_id: a.job_id,
                actor: None,
                service: a.service,
                action: a.action,
                scope: a.scope,
                reason: a.reason,
                at: ts(a.created_at),
            }),
            lines: v
                .lines
                .into_iter()
                .map(|l| ServiceLineOut {
                    id: l.id,
                    stream: l.stream,
                    line: l.line,
                })
                .collect(),
        }
    }
}

/// What runs on one host (`GET /api/v1/projects/{name}/where`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HostRunsOut {
    /// Its group.
    pub group: String,
    /// The host.
    pub host: String,
    /// The release `current` pointed at when read (null: none, or the host did not answer).
    pub live: Option<String>,
    /// When it was read (UTC, RFC 3339; null: never).
    pub read_at: Option<String>,
    /// What Slipway recorded as running there.
    pub recorded: Option<String>,
    /// The ticket that released `live`.
    pub ticket_id: Option<i64>,
    /// Who approved that ticket.
    pub approvers: Vec<String>,
    /// Read, and not what Slipway recorded.
    pub differs_from_recorded: bool,
    /// The read hosts of its group run different releases.
    pub group_disagrees: bool,
    /// The drift last found against the recorded release, until a clean
    /// verify or another release.
    pub drift: Option<DriftOut>,
}

/// A host's drift: files changed, missing and added, and the first paths.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DriftOut {
    /// Files changed on the host.
    pub changed: i32,
    /// Files of the release missing on the host.
    pub missing: i32,
    /// Files added on the host.
    pub added: i32,
    /// The first paths (`changed PATH`, `missing PATH`, `added PATH`).
    pub paths: Vec<String>,
}

impl From<HostRuns> for HostRunsOut {
    fn from(h: HostRuns) -> Self {
        Self {
            group: h.group,
            host: h.host,
            live: h.live,
            read_at: h.read_at.map(ts),
            recorded: h.recorded,
            ticket_id: h.ticket_id,
            approvers: h.approvers,
            differs_from_recorded: h.differs_from_recorded,
            group_disagrees: h.group_disagrees,
            drift: h.drift.map(|(changed, missing, added, paths)| DriftOut {
                changed,
                missing,
                added,
                paths,
            }),
        }
    }
}
