//! The `release` and `rollback` jobs.
//!
//! Release, for a ticket in `releasing`: check that the snapshot recorded at
//! staging exists and descends from what production runs (invariants 2
//! and 3), tag it with the ticket's version, export the tagged tree into a
//! release directory (never the live staging dir), ship it to every host of
//! the project with the project's mode and strategy, record each host's
//! result, and on full success move the ticket to `released`. A retry ships
//! only the hosts that have not switched yet.
//!
//! Rollback, for a ticket in `rolling_back`: switch every host back to the
//! target version where that release is still kept (no copy), re-export the
//! target tag and ship it where it was pruned, then `rolled_back`.
//!
//! Both stop at the next host or batch when someone aborts; hosts not yet
//! switched are left as they are, and the ticket fails with the reason.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::deploy::{self, Context, DeployHost, DeploySettings, HostEvent, HostState, ShipReport, Target};
use crate::domain::{Action, Refusal, TicketKind, VersionFormat};
use crate::service::tickets::{self as service, ActionInput, ActorRef};
use crate::service::ServiceError;
use crate::store::models::{ProjectRow, TicketRow};
use crate::store::{projects, releases, tickets, timestamp_now, users, Pool};
use crate::vcs::{OutputLine, Signature, SnapshotRepo};

use super::handler::{Handler, JobContext, JobError};
use super::log::{JobLog, LogStream};
use super::stage::{mark_failed, snapshot_repo_path};

/// Job kind of a release.
pub const RELEASE: &str = "release";
/// Job kind of a rollback.
pub const ROLLBACK: &str = "rollback";

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(e.to_string())
}

fn permanent(e: impl std::fmt::Display) -> JobError {
    JobError::Permanent(e.to_string())
}

/// Ships releases.
pub struct Release;

/// Runs rollbacks.
pub struct Rollback;

/// What both jobs load.
struct Work {
    ticket: TicketRow,
    project: ProjectRow,
    settings: DeploySettings,
    hosts: Vec<(i64, DeployHost)>,
    format: VersionFormat,
}

fn load(ctx: &JobContext, expect_state: &str) -> Result<Option<Work>, JobError> {
    let ticket_id = ctx.job.ticket_id.ok_or_else(|| permanent("job without a ticket"))?;
    let mut conn = ctx.pool.get().map_err(retry)?;
    let ticket = tickets::by_id(&mut conn, ticket_id)
        .map_err(retry)?
        .ok_or_else(|| permanent("no such ticket"))?;
    if ticket.state != expect_state {
        return Ok(None);
    }
    let project = projects::by_id(&mut conn, ticket.project_id)
        .map_err(retry)?
        .ok_or_else(|| permanent("no such project"))?;
    let settings = DeploySettings::from_json(&project.deploy).map_err(permanent)?;
    let hosts = projects::hosts_of(&mut conn, project.id)
        .map_err(retry)?
        .into_iter()
        .map(|(_, host)| {
            let target = Target::parse(&host.target).map_err(permanent)?;
            Ok((
                host.id,
                DeployHost {
                    name: host.name,
                    target,
                },
            ))
        })
        .collect::<Result<Vec<_>, JobError>>()?;
    if hosts.is_empty() {
        return Err(permanent(format!(
            "project {} has no hosts to ship to (give it a host group)",
            project.name
        )));
    }
    let format = VersionFormat::parse(&project.version_format).map_err(permanent)?;
    Ok(Some(Work {
        ticket,
        project,
        settings,
        hosts,
        format,
    }))
}

/// Writes each host's progress to `release_hosts` and the job log.
struct Recorder<'a> {
    pool: Pool,
    ticket_id: i64,
    log: Mutex<&'a mut JobLog>,
    abort_checked: Mutex<(Instant, bool)>,
}

impl<'a> Recorder<'a> {
    fn new(pool: Pool, ticket_id: i64, log: &'a mut JobLog) -> Self {
        Self {
            pool,
            ticket_id,
            log: Mutex::new(log),
            abort_checked: Mutex::new((Instant::now() - Duration::from_secs(60), false)),
        }
    }

    fn event(&self, event: HostEvent) {
        let now = timestamp_now();
        let written = self.pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
            releases::set_state(
                &mut conn,
                self.ticket_id,
                &event.host,
                event.state.as_str(),
                event.error.as_deref(),
                now,
            )
            .map_err(|e| e.to_string())
        });
        let mut line = format!("[{}] {}", event.host, event.state.as_str());
        if let Some(error) = &event.error {
            line.push_str(&format!(": {error}"));
        }
        if let Err(error) = written {
            line.push_str(&format!(" (not recorded: {error})"));
        }
        if let Ok(mut log) = self.log.lock() {
            log.info(&line);
        }
    }

    fn line(&self, host: &str, line: OutputLine) {
        let stream = match line.stream {
            crate::vcs::Stream::Stdout => LogStream::Stdout,
            crate::vcs::Stream::Stderr => LogStream::Stderr,
        };
        if let Ok(mut log) = self.log.lock() {
            log.line(stream, &format!("[{host}] {}", line.text));
        }
    }

    /// Whether someone asked to abort (asks the database at most twice a second).
    fn aborted(&self) -> bool {
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

    fn info(&self, text: &str) {
        if let Ok(mut log) = self.log.lock() {
            log.info(text);
        }
    }
}

fn env_for(project: &ProjectRow, ticket: &TicketRow, version: &str) -> Vec<(String, String)> {
    vec![
        ("SLIPWAY_PROJECT".into(), project.name.clone()),
        ("SLIPWAY_VERSION".into(), version.to_owned()),
        ("SLIPWAY_TICKET".into(), ticket.id.to_string()),
    ]
}

/// Exports `rev` into `<data_dir>/releases/<project>/<version>` unless a
/// complete export is there; returns the directory.
fn export(repo: &SnapshotRepo, data_dir: &Path, project: &str, version: &str, rev: &str) -> Result<PathBuf, JobError> {
    let parent = data_dir.join("releases").join(project);
    let dir = parent.join(version);
    // The marker sits beside the export, so it is never shipped.
    let done = parent.join(format!("{version}.complete"));
    if done.exists() {
        return Ok(dir);
    }
    let partial = parent.join(format!("{version}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| retry(format!("{}: {e}", partial.display())))?;
    repo.export(rev, &partial).map_err(permanent)?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&partial, &dir).map_err(|e| retry(format!("{}: {e}", dir.display())))?;
    std::fs::write(&done, b"").map_err(|e| retry(format!("{}: {e}", done.display())))?;
    Ok(dir)
}

/// Records the hosts of a ticket as pending (first run) and returns the ones
/// still to do (a retry skips hosts already switched).
fn hosts_to_do(
    pool: &Pool,
    ticket: &TicketRow,
    hosts: &[(i64, DeployHost)],
    raw_targets: &[String],
) -> Result<Vec<(i64, DeployHost)>, JobError> {
    let mut conn = pool.get().map_err(retry)?;
    let now = timestamp_now();
    for ((id, host), target) in hosts.iter().zip(raw_targets) {
        releases::ensure(&mut conn, ticket.id, *id, &host.name, target, now).map_err(retry)?;
    }
    let done: Vec<String> = releases::for_ticket(&mut conn, ticket.id)
        .map_err(retry)?
        .into_iter()
        .filter(|h| h.state == HostState::Switched.as_str())
        .map(|h| h.host_name)
        .collect();
    Ok(hosts.iter().filter(|(_, h)| !done.contains(&h.name)).cloned().collect())
}

fn record_running(
    pool: &Pool,
    ticket_id: i64,
    report: &ShipReport,
    hosts: &[(i64, DeployHost)],
    version: i64,
) -> Result<(), JobError> {
    let mut conn = pool.get().map_err(retry)?;
    for result in report.hosts.iter().filter(|r| r.state == HostState::Switched) {
        let host_id = hosts.iter().find(|(_, h)| h.name == result.host).map(|(id, _)| *id);
        releases::set_running(&mut conn, ticket_id, &result.host, host_id, Some(version)).map_err(retry)?;
    }
    Ok(())
}

/// Turns a report that is not a full success into the job's error.
fn outcome(report: &ShipReport, what: &str) -> Result<(), JobError> {
    if report.all_switched() {
        return Ok(());
    }
    let failed: Vec<String> = report
        .hosts
        .iter()
        .filter(|h| h.state != HostState::Switched)
        .map(|h| {
            format!(
                "{} {}{}",
                h.host,
                h.state.as_str(),
                h.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
            )
        })
        .collect();
    let why = if report.aborted { "aborted" } else { "failed" };
    Err(permanent(format!("{what} {why}: {}", failed.join("; "))))
}

fn finish(pool: &Pool, ticket_id: i64, log: &mut JobLog) -> Result<(), JobError> {
    let mut conn = pool.get().map_err(retry)?;
    match service::apply(
        &mut conn,
        ticket_id,
        &ActionInput::new(Action::ShipSucceeded, ActorRef::System),
        Utc::now(),
    ) {
        Ok(applied) => {
            log.info(&format!("ticket #{ticket_id} is {}", applied.ticket.state));
            Ok(())
        }
        Err(ServiceError::Refused(Refusal::WrongState { state, .. })) => {
            log.info(&format!("ticket #{ticket_id} became {state} meanwhile"));
            Ok(())
        }
        Err(error) => Err(retry(error)),
    }
}

fn known_hosts(data_dir: &Path) -> PathBuf {
    data_dir.join("ssh").join("known_hosts")
}

impl Release {
    fn release(&self, ctx: &mut JobContext, work: Work) -> Result<(), JobError> {
        let Work {
            ticket,
            project,
            settings,
            hosts,
            format,
        } = work;
        let number = ticket
            .version
            .ok_or_else(|| permanent("releasing ticket has no version number"))?;
        let version = format.render(number);
        let commit = ticket
            .snapshot_commit
            .clone()
            .ok_or_else(|| permanent("no staged snapshot to release"))?;
        let repo = SnapshotRepo::open_or_init(&snapshot_repo_path(&ctx.data_dir, &project.name)).map_err(retry)?;
        // Invariant 3: production's snapshot must be an ancestor of this one.
        let mut conn = ctx.pool.get().map_err(retry)?;
        if let Some(prod) = project.production_version {
            let prod_commit = tickets::by_version(&mut conn, project.id, prod)
                .map_err(retry)?
                .and_then(|t| t.snapshot_commit);
            if let Some(prod_commit) = prod_commit {
                if !repo.is_ancestor(&prod_commit, &commit).map_err(permanent)? {
                    return Err(permanent(format!(
                        "snapshot {commit} does not descend from production's {prod_commit}; an older build only goes back by a rollback"
                    )));
                }
            }
        }
        let submitter = users::by_id(&mut conn, ticket.submitter_id)
            .map_err(retry)?
            .map(|u| u.username)
            .unwrap_or_default();
        let approvers: Vec<String> = tickets::approvals(&mut conn, ticket.id)
            .map_err(retry)?
            .into_iter()
            .filter(|a| a.generation == ticket.stage_generation)
            .filter_map(|a| users::by_id(&mut conn, a.user_id).ok().flatten().map(|u| u.username))
            .collect();
        drop(conn);
        let message = format!(
            "{version}: ticket #{}\n\n{}\n\nsubmitted by {submitter}; approved by {}",
            ticket.id,
            ticket.reason,
            approvers.join(", ")
        );
        let tagger = Signature {
            name: "Slipway".into(),
            email: "slipway@localhost".into(),
        };
        repo.tag(&commit, &version, &message, &tagger).map_err(permanent)?;
        ctx.log.info(&format!("tagged {commit} as {version}"));
        let dir = export(&repo, &ctx.data_dir, &project.name, &version, &version)?;
        let raw: Vec<String> = raw_targets(&ctx.pool, project.id)?;
        let todo = hosts_to_do(&ctx.pool, &ticket, &hosts, &raw)?;
        ctx.log.info(&format!(
            "shipping {version} to {} of {} host(s)",
            todo.len(),
            hosts.len()
        ));
        let excludes: Vec<String> = serde_json::from_str(&project.excludes).unwrap_or_default();
        let env = env_for(&project, &ticket, &version);
        let known = known_hosts(&ctx.data_dir);
        let pool = ctx.pool.clone();
        let recorder = Recorder::new(pool.clone(), ticket.id, &mut ctx.log);
        let on_event = |e: HostEvent| recorder.event(e);
        let on_line = |h: &str, l: OutputLine| recorder.line(h, l);
        let should_abort = || recorder.aborted();
        let deploy_ctx = Context {
            settings: &settings,
            excludes: &excludes,
            env: &env,
            known_hosts: &known,
            on_event: &on_event,
            on_line: &on_line,
            should_abort: &should_abort,
        };
        let targets: Vec<DeployHost> = todo.iter().map(|(_, h)| h.clone()).collect();
        let report = deploy::ship(&deploy_ctx, &version, &dir, &targets);
        record_running(&pool, ticket.id, &report, &hosts, number)?;
        if report.aborted && ticket_wants_revert(&pool, ticket.id) {
            revert_switched(
                &deploy_ctx,
                &pool,
                &ticket,
                &hosts,
                &report,
                &format,
                project.production_version,
                &recorder,
            );
        }
        outcome(&report, &format!("release {version}"))?;
        if let Err(error) = deploy::run_local_hooks(&deploy_ctx, &settings.hooks.after_release) {
            recorder.info(&format!("after_release hook failed: {error}"));
            return Err(permanent(error));
        }
        drop(recorder);
        finish(&pool, ticket.id, &mut ctx.log)
    }
}

fn ticket_wants_revert(pool: &Pool, ticket_id: i64) -> bool {
    pool.get()
        .ok()
        .and_then(|mut conn| tickets::by_id(&mut conn, ticket_id).ok().flatten())
        .is_some_and(|t| t.abort_revert)
}

/// After an abort with "revert switched hosts": switch them back to what
/// production ran before.
#[allow(clippy::too_many_arguments)]
fn revert_switched(
    deploy_ctx: &Context<'_>,
    pool: &Pool,
    ticket: &TicketRow,
    hosts: &[(i64, DeployHost)],
    report: &ShipReport,
    format: &VersionFormat,
    previous: Option<i64>,
    recorder: &Recorder<'_>,
) {
    let Some(previous) = previous else {
        recorder.info("nothing ran before this release; switched hosts stay");
        return;
    };
    let switched: Vec<DeployHost> = report
        .hosts
        .iter()
        .filter(|r| r.state == HostState::Switched)
        .filter_map(|r| hosts.iter().find(|(_, h)| h.name == r.host).map(|(_, h)| h.clone()))
        .collect();
    let back = deploy::switch_to(deploy_ctx, &format.render(previous), &switched);
    if let Ok(mut conn) = pool.get() {
        for result in back.hosts.iter().filter(|r| r.state == HostState::Switched) {
            let host_id = hosts.iter().find(|(_, h)| h.name == result.host).map(|(id, _)| *id);
            let _ = releases::set_running(&mut conn, ticket.id, &result.host, host_id, Some(previous));
            let _ = releases::set_state(
                &mut conn,
                ticket.id,
                &result.host,
                HostState::Reverted.as_str(),
                None,
                timestamp_now(),
            );
        }
    }
}

/// Loads the work, or says why there is none: the ticket moved on (done) or
/// an abort came before any host was touched (failed).
fn start(ctx: &mut JobContext, expect_state: &str) -> Result<Option<Work>, JobError> {
    match load(ctx, expect_state)? {
        None => {
            ctx.log
                .info(&format!("the ticket is no longer {expect_state}; nothing to do"));
            Ok(None)
        }
        Some(work) if work.ticket.abort_requested => Err(permanent("aborted before any host was touched")),
        Some(work) => Ok(Some(work)),
    }
}

fn raw_targets(pool: &Pool, project_id: i64) -> Result<Vec<String>, JobError> {
    let mut conn = pool.get().map_err(retry)?;
    Ok(projects::hosts_of(&mut conn, project_id)
        .map_err(retry)?
        .into_iter()
        .map(|(_, h)| h.target)
        .collect())
}

impl Handler for Release {
    fn kind(&self) -> &'static str {
        RELEASE
    }

    fn locks_project(&self) -> bool {
        true
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        match start(ctx, "releasing")? {
            Some(work) => self.release(ctx, work),
            None => Ok(()),
        }
    }

    fn give_up(&self, ctx: &mut JobContext, error: &str) {
        mark_failed(ctx, error);
    }
}

impl Rollback {
    fn rollback(&self, ctx: &mut JobContext, work: Work) -> Result<(), JobError> {
        let Work {
            ticket,
            project,
            settings,
            hosts,
            format,
        } = work;
        if ticket.kind != TicketKind::Rollback.as_str() {
            return Err(permanent("not a rollback ticket"));
        }
        let target = ticket
            .target_version
            .ok_or_else(|| permanent("rollback without a target version"))?;
        let version = format.render(target);
        let repo = SnapshotRepo::open_or_init(&snapshot_repo_path(&ctx.data_dir, &project.name)).map_err(retry)?;
        let raw = raw_targets(&ctx.pool, project.id)?;
        let todo = hosts_to_do(&ctx.pool, &ticket, &hosts, &raw)?;
        let excludes: Vec<String> = serde_json::from_str(&project.excludes).unwrap_or_default();
        let env = env_for(&project, &ticket, &version);
        let known = known_hosts(&ctx.data_dir);
        let pool = ctx.pool.clone();
        let data_dir = ctx.data_dir.clone();
        let recorder = Recorder::new(pool.clone(), ticket.id, &mut ctx.log);
        recorder.info(&format!("switching {} host(s) back to {version}", todo.len()));
        let on_event = |e: HostEvent| recorder.event(e);
        let on_line = |h: &str, l: OutputLine| recorder.line(h, l);
        let should_abort = || recorder.aborted();
        let deploy_ctx = Context {
            settings: &settings,
            excludes: &excludes,
            env: &env,
            known_hosts: &known,
            on_event: &on_event,
            on_line: &on_line,
            should_abort: &should_abort,
        };
        let targets: Vec<DeployHost> = todo.iter().map(|(_, h)| h.clone()).collect();
        let mut report = deploy::switch_to(&deploy_ctx, &version, &targets);
        record_running(&pool, ticket.id, &report, &hosts, target)?;
        let not_kept: Vec<DeployHost> = report
            .hosts
            .iter()
            .filter(|r| r.state == HostState::Failed && r.error.as_deref().is_some_and(|e| e.contains(NOT_KEPT_MARK)))
            .filter_map(|r| targets.iter().find(|h| h.name == r.host).cloned())
            .collect();
        if !not_kept.is_empty() && !report.aborted {
            recorder.info(&format!(
                "{version} was pruned on {} host(s); exporting the tag and shipping it",
                not_kept.len()
            ));
            let dir = export(&repo, &data_dir, &project.name, &version, &version)?;
            let shipped = deploy::ship(&deploy_ctx, &version, &dir, &not_kept);
            record_running(&pool, ticket.id, &shipped, &hosts, target)?;
            report.hosts.retain(|r| !not_kept.iter().any(|h| h.name == r.host));
            report.aborted |= shipped.aborted;
            report.hosts.extend(shipped.hosts);
        }
        outcome(&report, &format!("rollback to {version}"))?;
        drop(recorder);
        finish(&pool, ticket.id, &mut ctx.log)
    }
}

/// Text that [`DeployError::NotKept`] messages contain.
const NOT_KEPT_MARK: &str = "no longer kept";

impl Handler for Rollback {
    fn kind(&self) -> &'static str {
        ROLLBACK
    }

    fn locks_project(&self) -> bool {
        true
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        match start(ctx, "rolling_back")? {
            Some(work) => self.rollback(ctx, work),
            None => Ok(()),
        }
    }

    fn give_up(&self, ctx: &mut JobContext, error: &str) {
        mark_failed(ctx, error);
    }
}
