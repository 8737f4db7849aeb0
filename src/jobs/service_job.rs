//! The `service` job: read the state of a project's services on its hosts,
//! start, stop or restart one service on some hosts (all at once or in
//! serial batches with a pause), or print the end of its log. Every host's
//! output goes to the job's log (its page follows it live); the states read
//! are stored for the services page. Enqueued by `service::services`.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::handler::{Handler, JobContext, JobError};
use super::job::{payload, Job};
use super::log::LogStream;
use super::ship_record::DeployInputs;
use crate::deploy::service_spec::{parse_list, ServiceAction, ServiceSpec};
use crate::deploy::{services, Context, DeployHost, DeploySettings, HostEvent, OutputLine, ServiceState, Target};
use crate::process::Stream;
use crate::store::services::{put_host_reads, put_states, HostReadRow, ServiceStateRow};
use crate::store::{projects, timestamp_now};

/// What a `service` job does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceJob {
    /// `status`, `start`, `stop`, `restart`, `log`, `where` (read which
    /// release `current` points at on each of `hosts`) or `verify` (drift
    /// of every host against its recorded release).
    pub op: String,
    /// The service (`None` with `status`: every service).
    #[serde(default)]
    pub service: Option<String>,
    /// The hosts, by name, in order.
    pub hosts: Vec<String>,
    /// Hosts per batch (0: all at once).
    #[serde(default)]
    pub batch_size: usize,
    /// Seconds to pause between batches.
    #[serde(default)]
    pub pause_secs: u32,
    /// `log`: how many lines.
    #[serde(default)]
    pub lines: usize,
}

impl ServiceJob {
    /// `op` on every service of `hosts` at once: no batches, no pause, no log lines.
    pub fn over(op: &str, hosts: Vec<String>) -> Self {
        Self {
            op: op.to_owned(),
            service: None,
            hosts,
            batch_size: 0,
            pause_secs: 0,
            lines: 0,
        }
    }
}

impl Job for ServiceJob {
    const KIND: &'static str = "service";
}

/// Runs `service` jobs.
pub struct ServiceHandler;

fn permanent(e: impl ToString) -> JobError {
    JobError::Permanent(e.to_string())
}

/// The project's hosts as (group, host) and its services.
type Loaded = (
    crate::store::models::ProjectRow,
    Vec<(String, DeployHost)>,
    Vec<ServiceSpec>,
);

fn load(ctx: &JobContext) -> Result<Loaded, JobError> {
    let project_id = ctx
        .job
        .project_id
        .ok_or_else(|| permanent("service job without a project"))?;
    let mut conn = ctx.pool.get().map_err(|e| JobError::Retryable(e.to_string()))?;
    let project = projects::by_id(&mut conn, project_id)
        .map_err(|e| JobError::Retryable(e.to_string()))?
        .ok_or_else(|| permanent("no such project"))?;
    let services = parse_list(&project.services).map_err(permanent)?;
    let relays = super::relays::of_project(&mut conn, project_id)?;
    let hosts = projects::hosts_of(&mut conn, project_id)
        .map_err(|e| JobError::Retryable(e.to_string()))?
        .into_iter()
        .map(|(group, h)| {
            let target = Target::parse(&h.target).map_err(permanent)?;
            let via = relays.get(&group).cloned().flatten();
            Ok((
                group,
                DeployHost {
                    name: h.name,
                    target,
                    via,
                },
            ))
        })
        .collect::<Result<Vec<_>, JobError>>()?;
    Ok((project, hosts, services))
}

/// The work of one host: its name, target and the services it runs that the job is about.
struct HostWork<'a> {
    host: &'a DeployHost,
    specs: Vec<&'a ServiceSpec>,
}

impl Handler for ServiceHandler {
    fn kind(&self) -> &'static str {
        ServiceJob::KIND
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        let job: ServiceJob = payload(&ctx.job)?;
        let (project, hosts, services) = load(ctx)?;
        let settings = DeploySettings::from_json(&project.deploy).map_err(permanent)?;
        if job.op == "where" {
            return read_where(ctx, &job, project.id, &settings, &hosts);
        }
        if job.op == "verify" {
            return super::verify::record(ctx, &project.name, project.id);
        }
        let chosen: Vec<&ServiceSpec> = services
            .iter()
            .filter(|s| job.service.as_deref().is_none_or(|n| s.name == n))
            .collect();
        if chosen.is_empty() {
            return Err(permanent(format!("project {} has no such service", project.name)));
        }
        let work: Vec<HostWork> = job
            .hosts
            .iter()
            .filter_map(|name| hosts.iter().find(|(_, h)| &h.name == name))
            .map(|(group, host)| HostWork {
                host,
                specs: chosen.iter().copied().filter(|s| &s.group == group).collect(),
            })
            .filter(|w| !w.specs.is_empty())
            .collect();
        let inputs = DeployInputs {
            settings: &settings,
            excludes: Vec::new(),
            env: Vec::new(),
            known_hosts: DeployInputs::known_hosts(&ctx.data_dir),
            cancel: ctx.cancel.clone(),
        };
        let log = Mutex::new(&mut ctx.log);
        let write = |stream: LogStream, text: &str| {
            if let Ok(mut log) = log.lock() {
                log.line(stream, text);
            }
        };
        let on_line = |host: &str, line: OutputLine| {
            let stream = match line.stream {
                Stream::Stdout => LogStream::Stdout,
                Stream::Stderr => LogStream::Stderr,
            };
            write(stream, &format!("[{host}] {}", line.text));
        };
        let on_event = |_: HostEvent| {};
        let should_abort = || false;
        let dctx = Context {
            settings: inputs.settings,
            excludes: &inputs.excludes,
            env: &inputs.env,
            known_hosts: &inputs.known_hosts,
            on_event: &on_event,
            on_line: &on_line,
            should_abort: &should_abort,
            cancel: Some(&inputs.cancel),
        };
        let batch = if job.batch_size == 0 {
            work.len().max(1)
        } else {
            job.batch_size
        };
        let mut states = Vec::new();
        let mut failures = Vec::new();
        for (i, chunk) in work.chunks(batch).enumerate() {
            if i > 0 && job.pause_secs > 0 {
                write(
                    LogStream::Info,
                    &format!("pausing {} s before the next batch", job.pause_secs),
                );
                std::thread::sleep(Duration::from_secs(u64::from(job.pause_secs)));
            }
            if job.batch_size > 0 {
                let names: Vec<&str> = chunk.iter().map(|w| w.host.name.as_str()).collect();
                write(LogStream::Info, &format!("batch {}: {}", i + 1, names.join(", ")));
            }
            let results: Vec<Result<Vec<ServiceState>, String>> = std::thread::scope(|scope| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|w| scope.spawn(|| one_host(&dctx, &job, w, &write)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err("the host's worker thread panicked".into()))
                    })
                    .collect()
            });
            for result in results {
                match result {
                    Ok(read) => states.extend(read),
                    Err(e) => failures.push(e),
                }
            }
            if !failures.is_empty() {
                break;
            }
        }
        store_states(ctx, project.id, &states)?;
        ctx.log.flush();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(permanent(failures.join("; ")))
        }
    }
}

/// Does the job's operation on one host; the states read, or the error.
fn one_host(
    dctx: &Context,
    job: &ServiceJob,
    w: &HostWork,
    write: &(dyn Fn(LogStream, &str) + Sync),
) -> Result<Vec<ServiceState>, String> {
    let name = &w.host.name;
    match job.op.as_str() {
        "status" => {
            let read = services::status(dctx, w.host, &w.specs);
            for s in &read {
                write(
                    LogStream::Info,
                    &format!("[{name}] {} {} {}", s.service, s.state, s.detail),
                );
            }
            Ok(read)
        }
        "log" => {
            // The manager's output is read whole, then only its last lines are logged.
            let quiet = |_: &str, _: OutputLine| {};
            let quiet_ctx = Context {
                on_line: &quiet,
                ..*dctx
            };
            for spec in &w.specs {
                let lines = services::tail(&quiet_ctx, w.host, spec, job.lines).map_err(|e| format!("{name}: {e}"))?;
                write(
                    LogStream::Info,
                    &format!("[{name}] last {} lines of {}", lines.len(), spec.name),
                );
                for line in lines {
                    write(LogStream::Stdout, &format!("[{name}] {line}"));
                }
            }
            Ok(Vec::new())
        }
        op => {
            let action = ServiceAction::parse(op).ok_or_else(|| format!("unknown service operation `{op}`"))?;
            let mut read = Vec::new();
            for spec in &w.specs {
                write(LogStream::Info, &format!("[{name}] {} {}", action.as_str(), spec.name));
                match services::act(dctx, w.host, spec, action) {
                    Ok(state) => {
                        write(
                            LogStream::Info,
                            &format!("[{name}] {} is {} {}", spec.name, state.state, state.detail),
                        );
                        read.push(state);
                    }
                    Err(e) => {
                        let msg = format!("{name}: {e}");
                        write(LogStream::Stderr, &msg);
                        return Err(msg);
                    }
                }
            }
            Ok(read)
        }
    }
}

/// Reads `current` on the job's hosts and stores what each points at.
fn read_where(
    ctx: &mut JobContext,
    job: &ServiceJob,
    project_id: i64,
    settings: &DeploySettings,
    hosts: &[(String, DeployHost)],
) -> Result<(), JobError> {
    let chosen: Vec<DeployHost> = hosts
        .iter()
        .filter(|(_, h)| job.hosts.contains(&h.name))
        .map(|(_, h)| h.clone())
        .collect();
    let known_hosts = DeployInputs::known_hosts(&ctx.data_dir);
    let log = Mutex::new(&mut ctx.log);
    let on_line = |host: &str, line: OutputLine| {
        if let Ok(mut log) = log.lock() {
            log.line(LogStream::Stderr, &format!("[{host}] {}", line.text));
        }
    };
    let on_event = |_: HostEvent| {};
    let should_abort = || false;
    let dctx = Context {
        settings,
        excludes: &[],
        env: &[],
        known_hosts: &known_hosts,
        on_event: &on_event,
        on_line: &on_line,
        should_abort: &should_abort,
        cancel: Some(&ctx.cancel),
    };
    let read = crate::deploy::live_versions(&dctx, &chosen);
    let now = timestamp_now();
    let rows: Vec<HostReadRow> = read
        .into_iter()
        .map(|(host, version)| HostReadRow {
            project_id,
            host,
            version,
            read_at: now,
        })
        .collect();
    if let Ok(mut log) = log.lock() {
        for r in &rows {
            log.line(
                LogStream::Info,
                &format!("[{}] current -> {}", r.host, r.version.as_deref().unwrap_or("(none)")),
            );
        }
    }
    let mut conn = ctx.pool.get().map_err(|e| JobError::Retryable(e.to_string()))?;
    crate::store::write_tx(&mut conn, |conn| put_host_reads(conn, &rows))
        .map_err(|e| JobError::Retryable(e.to_string()))?;
    ctx.log.flush();
    Ok(())
}

/// The cron entry: enqueues a `status` job for every project that declares
/// services and has hosts, unless a `service` job of it is waiting or running.
pub fn enqueue_status_reads(pool: &crate::store::Pool) -> Result<usize, crate::store::StoreError> {
    let mut conn = pool.get()?;
    let mut queued = 0;
    for project in projects::list(&mut conn)? {
        let services = parse_list(&project.services).unwrap_or_default();
        if services.is_empty() || crate::store::jobs::pending_exists(&mut conn, ServiceJob::KIND, project.id)? {
            continue;
        }
        let hosts: Vec<String> = projects::hosts_of(&mut conn, project.id)?
            .into_iter()
            .filter(|(g, _)| services.iter().any(|s| &s.group == g))
            .map(|(_, h)| h.name)
            .collect();
        if hosts.is_empty() {
            continue;
        }
        let job = ServiceJob::over("status", hosts);
        let at = super::job::Placement {
            project_id: Some(project.id),
            ticket_id: None,
            run_after: timestamp_now(),
        };
        super::job::enqueue(&mut conn, &job, at)?;
        queued += 1;
    }
    Ok(queued)
}

fn store_states(ctx: &JobContext, project_id: i64, states: &[ServiceState]) -> Result<(), JobError> {
    if states.is_empty() {
        return Ok(());
    }
    let now = timestamp_now();
    let rows: Vec<ServiceStateRow> = states
        .iter()
        .map(|s| ServiceStateRow {
            project_id,
            host: s.host.clone(),
            service: s.service.clone(),
            state: s.state.clone(),
            pid: s.pid.map(i64::from),
            uptime: s.uptime.clone(),
            detail: s.detail.chars().take(500).collect(),
            read_at: now,
        })
        .collect();
    let mut conn = ctx.pool.get().map_err(|e| JobError::Retryable(e.to_string()))?;
    crate::store::write_tx(&mut conn, |conn| put_states(conn, &rows)).map_err(|e| JobError::Retryable(e.to_string()))
}
