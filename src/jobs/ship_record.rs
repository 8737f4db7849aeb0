//! What the release and rollback jobs write while a deploy runs: each host's
//! progress (`release_hosts`) and what it runs (`hosts.running_version`).
//!
//! Invariant 10: what Slipway records as running on a host equals what the
//! host's `current` points at. The version is recorded the moment the deploy
//! layer reports the host [`HostState::Live`] (its `current` just moved),
//! not when the whole release ends; after a run, hosts that did not end
//! `switched` are asked what they run ([`Recorder::reconcile`]), which
//! covers a switch back (a reverted canary) and anything the events missed.
//! A job fenced off by its worker ([`JobContext::cancelled`]) writes nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::deploy::{self, Context, DeployHost, DeploySettings, HostEvent, HostState, ShipReport};
use crate::domain::VersionFormat;
use crate::process::CancelFlag;
use crate::store::models::TicketRow;
use crate::store::releases::StepTiming;
use crate::store::{projects, releases, tickets, timestamp_now, Pool};
use crate::vcs::OutputLine;

use super::handler::JobError;
use super::log::JobLog;

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(e.to_string())
}

/// A host of the project: its id, its target as stored, and how to reach it.
#[derive(Clone)]
pub(crate) struct ProjectHost {
    pub id: i64,
    pub target: String,
    pub deploy: DeployHost,
}

/// Writes each host's progress to `release_hosts`, what it runs to `hosts`,
/// and lines to the job log.
pub(crate) struct Recorder<'a> {
    pool: Pool,
    ticket_id: i64,
    hosts: Vec<(String, i64)>,
    log: Mutex<&'a mut JobLog>,
    abort_checked: Mutex<(Instant, bool)>,
    /// The version number the running operation switches hosts to.
    version: AtomicI64,
    /// Hosts whose `current` moved during this job.
    went_live: Mutex<BTreeSet<String>>,
    cancel: CancelFlag,
}

impl<'a> Recorder<'a> {
    pub fn new(pool: Pool, ticket_id: i64, hosts: &[ProjectHost], log: &'a mut JobLog, cancel: CancelFlag) -> Self {
        Self {
            pool,
            ticket_id,
            hosts: hosts.iter().map(|h| (h.deploy.name.clone(), h.id)).collect(),
            log: Mutex::new(log),
            abort_checked: Mutex::new((Instant::now() - Duration::from_secs(60), false)),
            version: AtomicI64::new(0),
            went_live: Mutex::new(BTreeSet::new()),
            cancel,
        }
    }

    fn fenced(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// Sets the version number the next deploy operation switches hosts to.
    pub fn switching_to(&self, version: i64) {
        self.version.store(version, Ordering::SeqCst);
    }

    /// Hosts whose `current` moved to some version during this job.
    pub fn went_live(&self) -> BTreeSet<String> {
        self.went_live.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn host_id(&self, name: &str) -> Option<i64> {
        self.hosts.iter().find(|(n, _)| n == name).map(|(_, id)| *id)
    }

    /// Records that `host` runs `version` now.
    fn set_running(&self, host: &str, version: i64) -> Result<(), String> {
        if self.fenced() {
            return Err("the job was stopped; not recorded".into());
        }
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        releases::set_running(&mut conn, self.ticket_id, host, self.host_id(host), Some(version))
            .map_err(|e| e.to_string())
    }

    pub fn event(&self, event: HostEvent) {
        let now = timestamp_now();
        let mut line = format!("[{}] {}", event.host, event.state.as_str());
        if let Some(error) = &event.error {
            line.push_str(&format!(": {error}"));
        }
        let written = if self.fenced() {
            Err("the job was stopped".to_owned())
        } else {
            self.pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                releases::set_state(
                    &mut conn,
                    self.ticket_id,
                    &event.host,
                    event.state.as_str(),
                    event.error.as_deref(),
                    now,
                )
                .map_err(|e| e.to_string())
            })
        };
        let version = self.version.load(Ordering::SeqCst);
        let running = match event.state {
            HostState::Live | HostState::Switched if version > 0 => {
                if let Ok(mut live) = self.went_live.lock() {
                    live.insert(event.host.clone());
                }
                self.set_running(&event.host, version)
            }
            _ => Ok(()),
        };
        if let Err(error) = written.and(running) {
            line.push_str(&format!(" (not recorded: {error})"));
        }
        self.info(&line);
    }

    pub fn line(&self, host: &str, line: OutputLine) {
        if let Ok(mut log) = self.log.lock() {
            log.line(line.stream.into(), &format!("[{host}] {}", line.text));
        }
    }

    /// Whether someone asked to abort (asks the database at most twice a
    /// second), or the worker fenced the job off.
    pub fn aborted(&self) -> bool {
        if self.fenced() {
            return true;
        }
        let Ok(mut checked) = self.abort_checked.lock() else {
            return false;
        };
        if checked.1 || checked.0.elapsed() < Duration::from_millis(500) {
            return checked.1;
        }
        let requested = self
            .pool
            .get()
            .ok()
            .and_then(|mut conn| tickets::by_id(&mut conn, self.ticket_id).ok().flatten())
            .is_some_and(|t| t.abort_requested);
        *checked = (Instant::now(), requested);
        requested
    }

    pub fn info(&self, text: &str) {
        if let Ok(mut log) = self.log.lock() {
            log.info(text);
        }
    }

    /// Records each host's step timings (`release_hosts.steps`).
    pub fn record_steps(&self, report: &ShipReport) {
        if self.fenced() {
            return;
        }
        let Ok(mut conn) = self.pool.get() else {
            return;
        };
        for host in report.hosts.iter().filter(|h| !h.steps.is_empty()) {
            let steps: Vec<StepTiming> = host
                .steps
                .iter()
                .map(|s| StepTiming {
                    step: s.step.to_string(),
                    millis: s.millis,
                })
                .collect();
            if let Err(error) = releases::set_steps(&mut conn, self.ticket_id, &host.host, &steps) {
                self.info(&format!("[{}] step timings not recorded: {error}", host.host));
            }
        }
    }

    /// After a run that did not switch every host: asks the hosts that
    /// failed or were switched back what `current` points at, and records
    /// it. A host that cannot be asked keeps its record (which errs towards
    /// the newer version, so the "never older" gate stays shut).
    pub fn reconcile(
        &self,
        deploy_ctx: &Context<'_>,
        report: &ShipReport,
        targets: &[DeployHost],
        format: &VersionFormat,
    ) {
        let touched: Vec<DeployHost> = report
            .hosts
            .iter()
            .filter(|r| matches!(r.state, HostState::Failed | HostState::Reverted))
            .filter_map(|r| targets.iter().find(|h| h.name == r.host).cloned())
            .collect();
        if touched.is_empty() || self.fenced() {
            return;
        }
        for (host, live) in deploy::live_versions(deploy_ctx, &touched) {
            let Some(number) = live.as_deref().and_then(|l| format.number_of(l)) else {
                continue;
            };
            match self.set_running(&host, number) {
                Ok(()) => self.info(&format!("[{host}] runs {}", format.render(number))),
                Err(error) => self.info(&format!(
                    "[{host}] runs {} (not recorded: {error})",
                    format.render(number)
                )),
            }
        }
    }
}

/// Records the hosts of a ticket as pending (first run) and returns the ones
/// still to do: a retry skips hosts that switched in an earlier run and
/// still run `version` (a host that moved on since, or a ticket renumbered
/// since, is done again).
pub(crate) fn hosts_to_do(
    pool: &Pool,
    ticket: &TicketRow,
    hosts: &[ProjectHost],
    version: i64,
) -> Result<Vec<DeployHost>, JobError> {
    let mut conn = pool.get().map_err(retry)?;
    let now = timestamp_now();
    for host in hosts {
        releases::ensure(&mut conn, ticket.id, host.id, &host.deploy.name, &host.target, now).map_err(retry)?;
    }
    let running: Vec<(i64, Option<i64>)> = projects::hosts_of(&mut conn, ticket.project_id)
        .map_err(retry)?
        .into_iter()
        .map(|(_, h)| (h.id, h.running_version))
        .collect();
    let done: Vec<String> = releases::for_ticket(&mut conn, ticket.id)
        .map_err(retry)?
        .into_iter()
        .filter(|h| h.state == HostState::Switched.as_str())
        .filter(|h| {
            running
                .iter()
                .any(|(id, v)| Some(*id) == h.host_id && *v == Some(version))
        })
        .map(|h| h.host_name)
        .collect();
    Ok(hosts
        .iter()
        .filter(|h| !done.contains(&h.deploy.name))
        .map(|h| h.deploy.clone())
        .collect())
}

/// The pieces of a deploy [`Context`] that come from the ticket and project.
pub(crate) struct DeployInputs<'a> {
    pub settings: &'a DeploySettings,
    pub excludes: Vec<String>,
    pub env: Vec<(String, String)>,
    pub known_hosts: PathBuf,
    pub cancel: CancelFlag,
}

impl DeployInputs<'_> {
    /// The known-hosts file under `data_dir`.
    pub fn known_hosts(data_dir: &Path) -> PathBuf {
        deploy::reach::known_hosts_file(data_dir)
    }

    /// Runs `f` with a deploy context whose progress goes to `recorder`.
    pub fn run<R>(&self, recorder: &Recorder<'_>, f: impl FnOnce(&Context<'_>) -> R) -> R {
        let on_event = |e: HostEvent| recorder.event(e);
        let on_line = |h: &str, l: OutputLine| recorder.line(h, l);
        let should_abort = || recorder.aborted();
        f(&Context {
            settings: self.settings,
            excludes: &self.excludes,
            env: &self.env,
            known_hosts: &self.known_hosts,
            on_event: &on_event,
            on_line: &on_line,
            should_abort: &should_abort,
            cancel: Some(&self.cancel),
        })
    }
}
