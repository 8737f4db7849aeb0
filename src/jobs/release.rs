//! The `release` job (and what the `rollback` job in [`super::rollback`]
//! shares with it).
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
//! target version where that release is still kept (no copy) and ship the
//! exported target tag where it was pruned, in one run of the strategy,
//! then `rolled_back`.
//!
//! Both stop at the next host or batch when someone aborts; hosts not yet
//! switched are left as they are, and the ticket fails with the reason.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::Utc;

use super::export::export;
use crate::deploy::{self, Context, DeployHost, DeploySettings, HostState, ShipReport, Target};
use crate::domain::{Action, Refusal, VersionFormat};
use crate::service::tickets::{self as service, ActionInput, ActorRef};
use crate::service::ServiceError;
use crate::store::models::{ProjectRow, TicketRow};
use crate::store::{projects, releases, tickets, timestamp_now, users, Pool};
use crate::vcs::{snapshot_repo_path, Signature, SnapshotRepo};

use super::handler::{Handler, JobContext, JobError};
use super::log::JobLog;
use super::ship_record::{hosts_to_do, DeployInputs, ProjectHost, Recorder};
use super::stage::mark_failed;

pub use super::rollback::{Rollback, ROLLBACK};

/// Job kind of a release.
pub const RELEASE: &str = <super::job::ReleaseJob as super::job::Job>::KIND;

pub(super) fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(e.to_string())
}

pub(super) fn permanent(e: impl std::fmt::Display) -> JobError {
    JobError::Permanent(e.to_string())
}

/// Ships releases.
pub struct Release;

/// What both jobs load.
pub(super) struct Work {
    pub(super) ticket: TicketRow,
    pub(super) project: ProjectRow,
    pub(super) settings: DeploySettings,
    pub(super) hosts: Vec<ProjectHost>,
    pub(super) format: VersionFormat,
    /// The project's rsync excludes (checked when loaded).
    pub(super) excludes: Vec<String>,
}

pub(super) fn load(ctx: &JobContext, expect_state: &str) -> Result<Option<Work>, JobError> {
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
    let mut settings = DeploySettings::from_json(&project.deploy).map_err(permanent)?;
    let services = crate::deploy::service_spec::parse_list(&project.services).map_err(permanent)?;
    // A malformed exclude list stops the job here: shipping with no
    // excludes would overwrite or delete host-only files.
    let excludes = project
        .excludes
        .get()
        .map_err(|e| permanent(format!("project `{}` excludes: {e}", project.name)))?
        .clone();
    let rows = projects::hosts_of(&mut conn, project.id).map_err(retry)?;
    settings.restarts =
        crate::deploy::service_spec::restarts(&services, rows.iter().map(|(g, h)| (g.as_str(), h.name.as_str())));
    let relays = super::relays::of_project(&mut conn, project.id)?;
    let hosts = rows
        .into_iter()
        .map(|(group, host)| {
            let parsed = Target::parse(&host.target).map_err(permanent)?;
            Ok(ProjectHost {
                id: host.id,
                target: host.target,
                deploy: DeployHost {
                    name: host.name,
                    target: parsed,
                    via: relays.get(&group).cloned().flatten(),
                },
            })
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
        excludes,
    }))
}

pub(super) fn env_for(project: &ProjectRow, ticket: &TicketRow, version: &str) -> Vec<(String, String)> {
    vec![
        ("SLIPWAY_PROJECT".into(), project.name.clone()),
        ("SLIPWAY_VERSION".into(), version.to_owned()),
        ("SLIPWAY_TICKET".into(), ticket.id.to_string()),
    ]
}

/// Turns a report that is not a full success into the job's error.
pub(super) fn outcome(report: &ShipReport, what: &str) -> Result<(), JobError> {
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
    let message = format!("{what} {why}: {}", failed.join("; "));
    // Hosts that could not be reached may be next time: retry (the retry
    // ships only the hosts not switched yet). Anything else fails at once.
    let mut failures = report.hosts.iter().filter(|h| h.state == HostState::Failed).peekable();
    let transient = !report.aborted
        && failures.peek().is_some()
        && failures.all(|h| {
            h.error
                .as_deref()
                .is_some_and(super::transient::is_transient_host_error)
        });
    Err(if transient { retry(message) } else { permanent(message) })
}

/// Ends a release or rollback job after its hosts were shipped: when
/// `cancel` is set (the lease could not be renewed) the job is handed back
/// for a retry, since another worker may hold it now; otherwise the ticket
/// is marked shipped (a ticket that moved on meanwhile is left as it is).
pub(super) fn finish(pool: &Pool, ticket_id: i64, log: &mut JobLog, cancel: &AtomicBool) -> Result<(), JobError> {
    if cancel.load(Ordering::SeqCst) {
        // The worker could not renew the lease: another may hold the job now.
        return Err(retry("stopped before the end: the job's lease could not be renewed"));
    }
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

impl Release {
    fn release(&self, ctx: &mut JobContext, work: Work) -> Result<(), JobError> {
        let (ticket, project) = (&work.ticket, &work.project);
        let number = ticket
            .version
            .ok_or_else(|| permanent("releasing ticket has no version number"))?;
        let version = work.format.render(number);
        let commit = ticket
            .snapshot_commit
            .clone()
            .ok_or_else(|| permanent("no staged snapshot to release"))?;
        let repo = SnapshotRepo::open_or_init(&snapshot_repo_path(&ctx.data_dir, &project.name)).map_err(retry)?;
        let mut conn = ctx.pool.get().map_err(retry)?;
        super::release_gate::check(&mut conn, &repo, project, number, &commit, &work.format)?;
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
        let dir = export(&repo, &ctx.data_dir, &project.name, &version, &version, &mut |l| {
            ctx.log.info(l)
        })?;
        let targets = hosts_to_do(&ctx.pool, ticket, &work.hosts, number)?;
        let delta = super::delta_plan::plan(&ctx.pool, &repo, project.id, &work.hosts, &work.format, &commit)?;
        ctx.log.info(&format!(
            "shipping {version} to {} of {} host(s)",
            targets.len(),
            work.hosts.len()
        ));
        let inputs = deploy_inputs(&work, &ctx.data_dir, &version, &ctx.cancel);
        let pool = ctx.pool.clone();
        let cancel = Arc::clone(&ctx.cancel);
        let recorder = Recorder::new(pool.clone(), ticket.id, &work.hosts, &mut ctx.log, Arc::clone(&cancel));
        recorder.switching_to(number);
        inputs.run(&recorder, |deploy_ctx| {
            let report = deploy::ship(deploy_ctx, &version, &dir, Some(&delta), &targets);
            recorder.record_steps(&report);
            recorder.reconcile(deploy_ctx, &report, &targets, &work.format);
            if report.aborted && ticket_wants_revert(&pool, ticket.id) {
                revert_switched(deploy_ctx, &pool, &work, &report, &recorder);
            }
            outcome(&report, &format!("release {version}"))?;
            deploy::run_local_hooks(deploy_ctx, &work.settings.hooks.after_release).map_err(|error| {
                recorder.info(&format!("after_release hook failed: {error}"));
                permanent(error)
            })
        })?;
        drop(recorder);
        finish(&pool, ticket.id, &mut ctx.log, &ctx.cancel)
    }
}

pub(super) fn deploy_inputs<'a>(
    work: &'a Work,
    data_dir: &Path,
    version: &str,
    cancel: &crate::process::CancelFlag,
) -> DeployInputs<'a> {
    DeployInputs {
        settings: &work.settings,
        excludes: work.excludes.clone(),
        env: env_for(&work.project, &work.ticket, version),
        known_hosts: DeployInputs::known_hosts(data_dir),
        cancel: Arc::clone(cancel),
    }
}

fn ticket_wants_revert(pool: &Pool, ticket_id: i64) -> bool {
    pool.get()
        .ok()
        .and_then(|mut conn| tickets::by_id(&mut conn, ticket_id).ok().flatten())
        .is_some_and(|t| t.abort_revert)
}

/// After an abort with "revert switched hosts": switch every host whose
/// `current` moved back to what production ran before (each recorded as it
/// switches back).
fn revert_switched(deploy_ctx: &Context<'_>, pool: &Pool, work: &Work, report: &ShipReport, recorder: &Recorder<'_>) {
    let Some(previous) = work.project.production_version else {
        recorder.info("nothing ran before this release; switched hosts stay");
        return;
    };
    let moved = recorder.went_live();
    let switched: Vec<DeployHost> = report
        .hosts
        .iter()
        .filter(|r| r.state == HostState::Switched || (moved.contains(&r.host) && r.state == HostState::Failed))
        .filter_map(|r| {
            work.hosts
                .iter()
                .find(|h| h.deploy.name == r.host)
                .map(|h| h.deploy.clone())
        })
        .collect();
    recorder.switching_to(previous);
    let back = deploy::switch_to(deploy_ctx, &work.format.render(previous), &switched);
    recorder.reconcile(deploy_ctx, &back, &switched, &work.format);
    if let Ok(mut conn) = pool.get() {
        for result in back.hosts.iter().filter(|r| r.state == HostState::Switched) {
            let reverted = HostState::Reverted.as_str();
            let _ = releases::set_state(&mut conn, work.ticket.id, &result.host, reverted, None, timestamp_now());
        }
    }
}

/// Loads the work, or says why there is none: the ticket moved on (done) or
/// an abort came before any host was touched (failed).
/// Implements [`Handler`] for a job that ships a ticket's snapshot to its
/// hosts (a release, a rollback): it holds its project's pipeline lock, moves
/// the ticket into `$state` (or learns there is nothing left to do), calls
/// `self.$ship(ctx, work)`, and fails the ticket when the job gives up.
macro_rules! shipping_handler {
    ($job:ty, $kind:expr, $state:literal, $ship:ident) => {
        impl Handler for $job {
            fn kind(&self) -> &'static str {
                $kind
            }

            fn locks_project(&self) -> bool {
                true
            }

            fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
                match start(ctx, $state)? {
                    Some(work) => self.$ship(ctx, work),
                    None => Ok(()),
                }
            }

            fn give_up(&self, ctx: &mut JobContext, error: &str) {
                mark_failed(ctx, error);
            }
        }
    };
}
pub(super) use shipping_handler;

pub(super) fn start(ctx: &mut JobContext, expect_state: &str) -> Result<Option<Work>, JobError> {
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

shipping_handler!(Release, RELEASE, "releasing", release);
