//! The `rollback` job, for a ticket in `rolling_back`: in one run of the
//! project's strategy, switch each host back to the target version where
//! that release is still kept (no copy) and upload the exported target tag
//! where it was pruned, then `rolled_back`. Each host's running version is recorded as it switches
//! (see `jobs/ship_record.rs`).

use std::sync::Arc;

use crate::deploy;
use crate::domain::TicketKind;
use crate::vcs::{snapshot_repo_path, SnapshotRepo};

use super::export::export;
use super::handler::{Handler, JobContext, JobError};
use super::release::{deploy_inputs, finish, outcome, permanent, retry, shipping_handler, start, Work};
use super::ship_record::{hosts_to_do, Recorder};
use super::stage::mark_failed;

/// Job kind of a rollback.
pub const ROLLBACK: &str = <super::job::RollbackJob as super::job::Job>::KIND;

/// Runs rollbacks.
pub struct Rollback;

impl Rollback {
    fn rollback(&self, ctx: &mut JobContext, work: Work) -> Result<(), JobError> {
        let ticket = &work.ticket;
        if ticket.kind != TicketKind::Rollback.as_str() {
            return Err(permanent("not a rollback ticket"));
        }
        let target = ticket
            .target_version
            .ok_or_else(|| permanent("rollback without a target version"))?;
        let version = work.format.render(target);
        let repo = SnapshotRepo::open_or_init(&snapshot_repo_path(&ctx.data_dir, &work.project.name)).map_err(retry)?;
        let targets = hosts_to_do(&ctx.pool, ticket, &work.hosts, target)?;
        // Hosts that pruned the release get it uploaded: export the tag once
        // (a stored export is reused). Without it, such hosts fail NotKept
        // and the hosts that keep the release are still switched.
        let dir = match export(&repo, &ctx.data_dir, &work.project.name, &version, &version, &mut |l| {
            ctx.log.info(l)
        }) {
            Ok(dir) => Some(dir),
            Err(JobError::Retryable(error)) => return Err(retry(error)),
            Err(JobError::Permanent(error)) => {
                ctx.log.info(&format!(
                    "cannot export {version} ({error}); only hosts that keep it can switch"
                ));
                None
            }
        };
        let inputs = deploy_inputs(&work, &ctx.data_dir, &version, &ctx.cancel);
        let pool = ctx.pool.clone();
        let cancel = Arc::clone(&ctx.cancel);
        let recorder = Recorder::new(pool.clone(), ticket.id, &work.hosts, &mut ctx.log, Arc::clone(&cancel));
        recorder.switching_to(target);
        recorder.info(&format!("switching {} host(s) back to {version}", targets.len()));
        inputs.run(&recorder, |deploy_ctx| {
            let report = deploy::restore(deploy_ctx, &version, dir.as_deref(), &targets);
            recorder.record_steps(&report);
            recorder.reconcile(deploy_ctx, &report, &targets, &work.format);
            outcome(&report, &format!("rollback to {version}"))
        })?;
        drop(recorder);
        finish(&pool, ticket.id, &mut ctx.log, &cancel)
    }
}

shipping_handler!(Rollback, ROLLBACK, "rolling_back", rollback);
