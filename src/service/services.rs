//! Use cases of a project's services: the services page (each host × service
//! with its last state read, who may act, the recent requests), a request
//! (refresh, start, stop, restart, log) checked and recorded with its job in
//! one transaction, and a request's job with its output.
//!
//! Who may start, stop and restart is the project's `service_actions`
//! setting: leads (default) or also developers; admins always may. Reading
//! states and logs needs only sight of the project. Stopping or restarting
//! every host of a group (more than one) needs a reason and a confirmation.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::error::{codes as error_codes, ServiceError, ServiceResult};
use super::Reader;
use crate::deploy::service_spec::{parse_list, ServiceAccess, ServiceAction, ServiceSpec, MAX_LOG_LINES};
use crate::domain::validate::codes;
use crate::domain::InvalidInput;
use crate::jobs::job::{enqueue, Placement};
use crate::jobs::service_job::ServiceJob;
use crate::store::models::{JobLogRow, JobRow, ProjectRow};
use crate::store::services::{self as store, NewServiceAction, ServiceActionRow, ServiceStateRow};
use crate::store::{jobs, projects, write_tx, DbConn};

/// Most hosts per batch, and the longest pause between batches in seconds.
const MAX_BATCH: usize = 1000;
const MAX_PAUSE_SECS: u32 = 3600;

/// The services page of a project.
#[derive(Debug, Clone)]
pub struct ServicesPage {
    /// The project.
    pub project: ProjectRow,
    /// Its services.
    pub services: Vec<ServiceSpec>,
    /// Its hosts as (group, host name).
    pub hosts: Vec<(String, String)>,
    /// The last state read of each (host, service).
    pub states: Vec<ServiceStateRow>,
    /// Whether the reader may start, stop and restart.
    pub may_act: bool,
    /// The newest requests with the actor's name, newest first.
    pub recent: Vec<(ServiceActionRow, Option<String>)>,
}

/// A request about a project's services (page form and API body).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceRequest {
    /// `status` (refresh), `start`, `stop`, `restart` or `log`.
    pub op: String,
    /// The service; optional for `status` (every service).
    #[serde(default)]
    pub service: Option<String>,
    /// One host; without it, every host of the service's group.
    #[serde(default)]
    pub host: Option<String>,
    /// Hosts per batch, one batch after the other (0 or absent: all at once).
    #[serde(default)]
    pub batch_size: usize,
    /// Seconds to pause between batches.
    #[serde(default)]
    pub pause_secs: u32,
    /// `log`: how many lines (default 100, at most 1000).
    #[serde(default)]
    pub lines: Option<usize>,
    /// Why (required to stop or restart every host).
    #[serde(default)]
    pub reason: String,
    /// Confirms a stop or restart of every host.
    #[serde(default)]
    pub confirm: bool,
}

/// A request's job and its output.
#[derive(Debug, Clone)]
pub struct ServiceJobView {
    /// The job.
    pub job: JobRow,
    /// The request it does.
    pub request: Option<ServiceActionRow>,
    /// Its output lines.
    pub lines: Vec<JobLogRow>,
}

fn bad(detail: impl Into<String>) -> ServiceError {
    let detail = detail.into();
    ServiceError::Invalid(InvalidInput::new("service", codes::SERVICE_REQUEST, detail.clone()).with("detail", detail))
}

fn corrupt(project: &ProjectRow, e: String) -> ServiceError {
    ServiceError::Store(crate::store::StoreError::Corrupt(format!(
        "services of project {}: {e}",
        project.name
    )))
}

/// Whether the reader may start, stop and restart the project's services.
pub fn may_act(conn: &mut DbConn, reader: &Reader, project: &ProjectRow) -> ServiceResult<bool> {
    if reader.user.is_admin {
        return Ok(true);
    }
    let access = ServiceAccess::parse(&project.service_actions).unwrap_or_default();
    let roles: Vec<String> = projects::members(conn, project.id)?
        .into_iter()
        .filter(|(id, _)| *id == reader.user.id)
        .map(|(_, role)| role)
        .collect();
    Ok(roles
        .iter()
        .any(|r| r == "lead" || (r == "developer" && access == ServiceAccess::Developers)))
}

/// The services page of project `name`.
pub fn services_page(conn: &mut DbConn, reader: &Reader, name: &str) -> ServiceResult<ServicesPage> {
    let project = reader.project(conn, name)?;
    let services = parse_list(&project.services).map_err(|e| corrupt(&project, e))?;
    let hosts = projects::hosts_of(conn, project.id)?
        .into_iter()
        .map(|(g, h)| (g, h.name))
        .collect();
    let states = store::states(conn, project.id)?;
    let may_act = may_act(conn, reader, &project)?;
    let recent = store::recent_actions(conn, project.id, 20)?;
    Ok(ServicesPage {
        project,
        services,
        hosts,
        states,
        may_act,
        recent,
    })
}

/// Checks `req` against the project, records it and enqueues its job in one
/// transaction; returns the job's id.
pub fn request(
    conn: &mut DbConn,
    reader: &Reader,
    name: &str,
    req: &ServiceRequest,
    now: NaiveDateTime,
) -> ServiceResult<i64> {
    let page = services_page(conn, reader, name)?;
    let op = req.op.trim();
    let action = ServiceAction::parse(op);
    if action.is_none() && op != "status" && op != "log" {
        return Err(bad(format!(
            "`{}` is not one of status, start, stop, restart, log",
            op.escape_debug()
        )));
    }
    if action.is_some() && !page.may_act {
        let who = match ServiceAccess::parse(&page.project.service_actions).unwrap_or_default() {
            ServiceAccess::Leads => "the project's leads and admins",
            ServiceAccess::Developers => "the project's leads, developers and admins",
        };
        return Err(ServiceError::Forbidden(
            error_codes::SERVICE_FORBIDDEN,
            format!("only {who} may {op} services"),
        ));
    }
    let service = req.service.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let specs: Vec<&ServiceSpec> = match service {
        Some(s) => {
            let found: Vec<&ServiceSpec> = page.services.iter().filter(|x| x.name == s).collect();
            if found.is_empty() {
                return Err(ServiceError::not_found("service", s.escape_debug()));
            }
            found
        }
        None if op == "status" => page.services.iter().collect(),
        None => return Err(bad(format!("{op} needs a service"))),
    };
    if specs.is_empty() {
        return Err(bad("this project declares no services"));
    }
    let in_scope: Vec<&String> = page
        .hosts
        .iter()
        .filter(|(g, _)| specs.iter().any(|s| &s.group == g))
        .map(|(_, h)| h)
        .collect();
    let hosts: Vec<String> = match req.host.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => match in_scope.iter().find(|x| x.as_str() == h) {
            Some(found) => vec![(*found).clone()],
            None => return Err(ServiceError::not_found("host", h.escape_debug())),
        },
        None => in_scope.iter().map(|h| (*h).clone()).collect(),
    };
    if hosts.is_empty() {
        return Err(bad("no host runs this service"));
    }
    if req.batch_size > MAX_BATCH || req.pause_secs > MAX_PAUSE_SECS {
        return Err(bad(format!(
            "batch_size at most {MAX_BATCH}, pause_secs at most {MAX_PAUSE_SECS}"
        )));
    }
    let lines = req.lines.unwrap_or(100);
    if op == "log" && !(1..=MAX_LOG_LINES).contains(&lines) {
        return Err(bad(format!("lines must be between 1 and {MAX_LOG_LINES}")));
    }
    let reason = crate::service::settings::check_text("reason", &req.reason, 1000, true)?;
    let every_host = req.host.as_deref().is_none_or(|h| h.trim().is_empty()) && hosts.len() > 1;
    let drastic = matches!(action, Some(ServiceAction::Stop | ServiceAction::Restart));
    if every_host && drastic && (reason.trim().is_empty() || !req.confirm) {
        return Err(ServiceError::Invalid(InvalidInput::new(
            "reason",
            codes::SERVICE_CONFIRM,
            "stopping or restarting every host needs a reason and a confirmation",
        )));
    }
    let scope = match (&req.host, req.batch_size) {
        (Some(h), _) if !h.trim().is_empty() => h.trim().to_owned(),
        (_, 0) => format!("all {} hosts", hosts.len()),
        (_, n) => format!(
            "all {} hosts in batches of {n}, {} s apart",
            hosts.len(),
            req.pause_secs
        ),
    };
    let job = ServiceJob {
        op: op.to_owned(),
        service: service.map(str::to_owned),
        hosts,
        batch_size: req.batch_size,
        pause_secs: req.pause_secs,
        lines,
    };
    let project_id = page.project.id;
    let actor = reader.user.id;
    write_tx(conn, |conn| {
        let action_id = store::insert_action(
            conn,
            &NewServiceAction {
                project_id,
                job_id: None,
                actor_id: Some(actor),
                service: service.unwrap_or_default().to_owned(),
                action: op.to_owned(),
                scope,
                reason,
                created_at: now,
            },
        )?;
        let job_id = enqueue(
            conn,
            &job,
            Placement {
                project_id: Some(project_id),
                ticket_id: None,
                run_after: now,
            },
        )?;
        store::set_action_job(conn, action_id, job_id)?;
        Ok(job_id)
    })
}

/// Job `job_id` of project `name` (a `service` job) with its output.
pub fn job(conn: &mut DbConn, reader: &Reader, name: &str, job_id: i64) -> ServiceResult<ServiceJobView> {
    let project = reader.project(conn, name)?;
    let job = jobs::by_id(conn, job_id)?
        .filter(|j| j.project_id == Some(project.id) && j.kind == "service")
        .ok_or_else(|| ServiceError::not_found("job", job_id))?;
    let request = store::action_of_job(conn, job_id)?;
    let lines = jobs::logs_for_job(conn, job_id)?;
    Ok(ServiceJobView { job, request, lines })
}
