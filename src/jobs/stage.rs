//! The `stage` job: update the project's staging working copy from SVN
//! (checkout the first time), run the build command, snapshot the staged
//! tree in git, record the SVN commits it brings, and move the ticket to
//! `staged`. Safe to run twice: it does nothing once the ticket has left
//! `submitted`, svn update is idempotent and an unchanged tree is not
//! committed again.
//!
//! No pooled database connection is held while svn, the build or git run:
//! the job reads what it needs, lets the connection go, runs the programs,
//! and takes a connection again to write (a slow build must not starve the
//! web pages of connections).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::domain::{Action, Refusal, SvnPath};
use crate::process::CancelFlag;
use crate::service::outside;
use crate::service::tickets::{self, ActionInput, ActorRef, Snapshot};
use crate::service::ServiceError;
use crate::store::models::{ProjectRow, TicketRow, UserRow};
use crate::store::svn::{self as history, SvnRevisionRow};
use crate::store::{projects, tickets as ticket_rows, users, DbConn};
use crate::vcs::{OutputLine, ProcessSpec, Signature, SnapshotRepo, SvnAccess};

use super::handler::{Handler, JobContext, JobError};
use super::log::JobLog;
use super::svn_failure::classify;

/// Job kind.
pub const KIND: &str = <super::job::StageJob as super::job::Job>::KIND;

/// The stage job's settings.
#[derive(Clone)]
pub struct Stage {
    /// SVN access.
    pub svn: SvnAccess,
    /// Longest the build command may run.
    pub build_timeout: Duration,
}

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(e.to_string())
}

fn forward(log: &mut JobLog) -> impl FnMut(OutputLine) + '_ {
    move |line: OutputLine| log.line(line.stream.into(), &line.text)
}

struct Loaded {
    ticket: TicketRow,
    project: ProjectRow,
    submitter: UserRow,
}

fn load(conn: &mut DbConn, ticket_id: i64) -> Result<Loaded, JobError> {
    let ticket = ticket_rows::by_id(conn, ticket_id)
        .map_err(retry)?
        .ok_or_else(|| JobError::Permanent(format!("ticket #{ticket_id} does not exist")))?;
    let project = projects::by_id(conn, ticket.project_id)
        .map_err(retry)?
        .ok_or_else(|| JobError::Permanent(format!("project {} does not exist", ticket.project_id)))?;
    let submitter = users::by_id(conn, ticket.submitter_id)
        .map_err(retry)?
        .ok_or_else(|| JobError::Permanent(format!("user {} does not exist", ticket.submitter_id)))?;
    Ok(Loaded {
        ticket,
        project,
        submitter,
    })
}

impl Stage {
    fn update_staging(&self, l: &Loaded, log: &mut JobLog, cancel: &CancelFlag) -> Result<i64, JobError> {
        let svn = self.svn.client_for(&l.project)?.with_cancel(Arc::clone(cancel));
        let wc = Path::new(&l.project.staging_dir);
        let paths = l
            .ticket
            .svn_paths
            .get()
            .map_err(|e| JobError::Permanent(format!("ticket #{} svn_paths: {e}", l.ticket.id)))?;
        let paths = SvnPath::parse_list(paths).map_err(|e| JobError::Permanent(e.to_string()))?;
        if !wc.join(".svn").is_dir() {
            log.info(&format!("checking out {} into {}", l.project.svn_url, wc.display()));
            if let Some(parent) = wc.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| JobError::Permanent(format!("{}: {e}", parent.display())))?;
            }
            return svn
                .checkout(&l.project.svn_url, wc, l.ticket.svn_revision, &mut forward(log))
                .map_err(classify);
        }
        let info = svn.wc_info(wc).map_err(classify)?;
        if info.url.trim_end_matches('/') != l.project.svn_url.trim_end_matches('/') {
            return Err(JobError::Permanent(format!(
                "the staging directory {} is a checkout of {}, not of the project's {}",
                wc.display(),
                info.url,
                l.project.svn_url
            )));
        }
        let what = if paths.is_empty() {
            "the whole working copy".to_owned()
        } else {
            paths.iter().map(SvnPath::as_str).collect::<Vec<_>>().join(", ")
        };
        let target = l.ticket.svn_revision.map_or("HEAD".to_owned(), |r| format!("r{r}"));
        log.info(&format!("svn update of {what} to {target}"));
        svn.update(wc, &paths, l.ticket.svn_revision, &mut forward(log))
            .map_err(classify)
    }

    fn build(&self, project: &ProjectRow, log: &mut JobLog, cancel: &CancelFlag) -> Result<(), JobError> {
        let argv = project
            .build_command
            .get()
            .map_err(|e| JobError::Permanent(format!("project `{}` build_command: {e}", project.name)))?;
        let Some((program, args)) = argv.split_first() else {
            return Ok(());
        };
        log.info(&format!("build: {}", argv.join(" ")));
        // With `worker.run_as` the build runs as that user: it gets the
        // working copy, never the data dir.
        crate::process::env::hand_over(Path::new(&project.staging_dir))
            .map_err(|e| JobError::Permanent(format!("build: {e}")))?;
        let spec = ProcessSpec::new(program)
            .args(args)
            .cwd(&project.staging_dir)
            .env("SLIPWAY_PROJECT", &project.name)
            .timeout(self.build_timeout)
            .as_build_user()
            .cancel_on(Some(Arc::clone(cancel)));
        let outcome =
            crate::process::run(&spec, &mut forward(log)).map_err(|e| JobError::Permanent(format!("build: {e}")))?;
        if outcome.success() {
            Ok(())
        } else {
            Err(JobError::Permanent(format!(
                "the build command failed ({})",
                outcome.status
            )))
        }
    }

    fn record_history(
        &self,
        pool: &crate::store::Pool,
        l: &Loaded,
        base: Option<i64>,
        revision: i64,
        log: &mut JobLog,
    ) -> Result<(), JobError> {
        let from = base.unwrap_or(revision - 1).max(0);
        if from >= revision {
            return Ok(());
        }
        let svn = self.svn.client_for(&l.project)?;
        let entries = svn.log(&l.project.svn_url, from, revision).map_err(classify)?;
        // svn has finished: now a connection to write.
        let mut conn = pool.get().map_err(retry)?;
        for entry in &entries {
            let row = SvnRevisionRow {
                project_id: l.project.id,
                revision: entry.revision,
                author: entry.author.clone(),
                committed_at: entry.date.map(|d| d.naive_utc()),
                message: entry.message.clone(),
                paths: serde_json::to_string(&entry.paths).unwrap_or_else(|_| "[]".into()),
            };
            history::record(&mut conn, &row).map_err(retry)?;
        }
        log.info(&format!(
            "this ticket brings {} SVN commit(s) in r{}..r{revision}",
            entries.len(),
            from + 1
        ));
        Ok(())
    }
}

impl Stage {
    /// The files the snapshot changes on production outside the ticket's
    /// SVN paths (issue 12). Best effort: a failure is logged and shows no
    /// list rather than failing a stage that succeeded.
    fn outside_paths(
        &self,
        ctx: &mut JobContext,
        l: &Loaded,
        repo: &SnapshotRepo,
        commit: &str,
        revision: i64,
    ) -> Vec<outside::OutsidePath> {
        let result = (|| -> Result<Vec<outside::OutsidePath>, String> {
            let base = {
                let mut conn = ctx.pool.get().map_err(|e| e.to_string())?;
                outside::production_base(&mut conn, &l.project).map_err(|e| e.to_string())?
            };
            let from = base.as_ref().map(|(c, _)| c.as_str());
            let changed = repo.changed_files(from, commit).map_err(|e| e.to_string())?;
            let mut conn = ctx.pool.get().map_err(|e| e.to_string())?;
            outside::compute(&mut conn, &l.ticket, &changed, base.and_then(|(_, r)| r), revision)
                .map_err(|e| e.to_string())
        })();
        match result {
            Ok(files) => {
                if !files.is_empty() {
                    ctx.log.info(&format!(
                        "this release also changes {} file(s) outside the ticket's SVN paths: {}",
                        files.len(),
                        files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                }
                files
            }
            Err(error) => {
                ctx.log
                    .info(&format!("could not list the files outside the ticket's paths: {error}"));
                Vec::new()
            }
        }
    }
}

impl Handler for Stage {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn locks_project(&self) -> bool {
        true
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        let ticket_id = ctx
            .job
            .ticket_id
            .ok_or_else(|| JobError::Permanent("stage job without a ticket".into()))?;
        let loaded = {
            let mut conn = ctx.pool.get().map_err(retry)?;
            load(&mut conn, ticket_id)?
        };
        if loaded.ticket.state != "submitted" {
            ctx.log.info(&format!(
                "ticket #{ticket_id} is {}; nothing to stage",
                loaded.ticket.state
            ));
            return Ok(());
        }
        let revision = self.update_staging(&loaded, &mut ctx.log, &ctx.cancel)?;
        ctx.log.info(&format!("staging is at r{revision}"));
        self.build(&loaded.project, &mut ctx.log, &ctx.cancel)?;
        let repo = SnapshotRepo::open_or_init(&crate::vcs::snapshot_repo_path(&ctx.data_dir, &loaded.project.name))
            .map_err(retry)?;
        let excludes: Vec<String> = loaded
            .project
            .excludes
            .get()
            .map_err(|e| JobError::Permanent(format!("project `{}` excludes: {e}", loaded.project.name)))?
            .clone();
        let author = Signature {
            name: if loaded.submitter.display_name.is_empty() {
                loaded.submitter.username.clone()
            } else {
                loaded.submitter.display_name.clone()
            },
            email: if loaded.submitter.email.is_empty() {
                format!("{}@slipway", loaded.submitter.username)
            } else {
                loaded.submitter.email.clone()
            },
        };
        let message = format!("ticket #{ticket_id}: {}", loaded.ticket.reason);
        let snapshot = repo
            .snapshot(Path::new(&loaded.project.staging_dir), &excludes, &message, &author)
            .map_err(|e| JobError::Permanent(e.to_string()))?;
        if snapshot.changed {
            ctx.log.info(&format!("snapshot {} committed", snapshot.commit));
        } else {
            ctx.log.info(&format!(
                "the staged tree is unchanged since {}; no new commit",
                snapshot.commit
            ));
        }
        let base = {
            let mut conn = ctx.pool.get().map_err(retry)?;
            history::last_staged_revision(&mut conn, loaded.project.id, ticket_id).map_err(retry)?
        };
        if let Err(error) = self.record_history(&ctx.pool, &loaded, base, revision, &mut ctx.log) {
            // The commit list is for people; staging itself succeeded.
            ctx.log.info(&format!("could not record the SVN log: {error}"));
        }
        let outside_paths = self.outside_paths(ctx, &loaded, &repo, &snapshot.commit, revision);
        if ctx.cancelled() {
            return Err(retry("stopped before the end: the job's lease could not be renewed"));
        }
        let mut input = ActionInput::new(Action::StageSucceeded, ActorRef::System);
        input.snapshot = Some(Snapshot {
            revision,
            commit: snapshot.commit,
            base_revision: base,
            outside_paths,
        });
        let mut conn = ctx.pool.get().map_err(retry)?;
        match tickets::apply(&mut conn, ticket_id, &input, Utc::now()) {
            Ok(_) => {
                ctx.log.info(&format!("ticket #{ticket_id} is staged"));
                Ok(())
            }
            Err(ServiceError::Refused(Refusal::WrongState { state, .. })) => {
                ctx.log
                    .info(&format!("ticket #{ticket_id} became {state} meanwhile; leaving it"));
                Ok(())
            }
            Err(error) => Err(retry(error)),
        }
    }

    fn give_up(&self, ctx: &mut JobContext, error: &str) {
        mark_failed(ctx, error);
    }
}

/// Moves the job's ticket to `failed` with `error` as the reason (if it is
/// still waiting on this job).
pub fn mark_failed(ctx: &mut JobContext, error: &str) {
    let Some(ticket_id) = ctx.job.ticket_id else { return };
    // The service makes a system note readable (escapes stripped, cut), never refuses it.
    let input = ActionInput::new(Action::JobFailed, ActorRef::System).with_note(error);
    let result = ctx
        .pool
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut conn| tickets::apply(&mut conn, ticket_id, &input, Utc::now()).map_err(|e| e.to_string()));
    if let Err(error) = result {
        ctx.log.info(&format!("ticket #{ticket_id} not marked failed: {error}"));
    }
}
