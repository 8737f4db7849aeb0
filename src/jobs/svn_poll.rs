//! The `svn-poll` job: records a project's new SVN revisions and their log,
//! so the pages can show what is waiting to be shipped. No pooled database
//! connection is held while svn runs.

use crate::store::projects;
use crate::store::svn::{self as history, SvnRevisionRow};

use super::cron::SVN_POLL;
use super::handler::{Handler, JobContext, JobError};
use super::svn_failure::classify;
use crate::vcs::SvnAccess;

/// How far back the first poll of a project looks.
const FIRST_POLL_DEPTH: i64 = 50;

/// Polls SVN.
pub struct SvnPoll {
    /// SVN access.
    pub svn: SvnAccess,
}

impl Handler for SvnPoll {
    fn kind(&self) -> &'static str {
        SVN_POLL
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        let project_id = ctx
            .job
            .project_id
            .ok_or_else(|| JobError::Permanent("svn-poll without a project".into()))?;
        let retry = |e: crate::store::StoreError| JobError::Retryable(e.to_string());
        let connect = || ctx.pool.get().map_err(|e| JobError::Retryable(e.to_string()));
        let (project, known) = {
            let mut conn = connect()?;
            let Some(project) = projects::by_id(&mut conn, project_id).map_err(retry)? else {
                return Ok(());
            };
            let known = history::latest(&mut conn, project.id).map_err(retry)?;
            (project, known)
        };
        // svn runs with no connection taken from the pool.
        let svn = self.svn.client_for(&project)?;
        let head = svn.head_revision(&project.svn_url).map_err(classify)?;
        let from = known.unwrap_or((head - FIRST_POLL_DEPTH).max(0));
        if from >= head {
            return Ok(());
        }
        let entries = svn.log(&project.svn_url, from, head).map_err(classify)?;
        let mut conn = connect()?;
        let mut new = 0;
        for entry in entries {
            let row = SvnRevisionRow {
                project_id: project.id,
                revision: entry.revision,
                author: entry.author,
                committed_at: entry.date.map(|d| d.naive_utc()),
                message: entry.message,
                paths: serde_json::to_string(&entry.paths).unwrap_or_else(|_| "[]".into()),
            };
            if history::record(&mut conn, &row).map_err(retry)? {
                new += 1;
            }
        }
        ctx.log
            .info(&format!("{}: {new} new SVN revision(s) up to r{head}", project.name));
        Ok(())
    }
}
