//! What a job kind does: the [`Handler`] trait, the context a handler gets,
//! and the registry of handlers a worker runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::process::CancelFlag;
use crate::store::models::JobRow;
use crate::store::Pool;

use super::log::JobLog;

/// How a job failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth trying again (network, timeout, a busy resource).
    #[error("{0}")]
    Retryable(String),
    /// Trying again will not help (bad credentials, a conflict, a failing build).
    #[error("{0}")]
    Permanent(String),
}

/// Everything a handler needs to run one job.
pub struct JobContext {
    /// The database.
    pub pool: Pool,
    /// The job as claimed.
    pub job: JobRow,
    /// Where Slipway keeps its files.
    pub data_dir: PathBuf,
    /// The job's output.
    pub log: JobLog,
    /// Set by the worker when it could not renew the job's lease: the
    /// handler stops at once, writes nothing more, and hands this flag to
    /// every external program it runs so they are killed (invariant 11).
    pub cancel: CancelFlag,
}

impl JobContext {
    /// Whether the worker fenced this job off (its lease is about to run out).
    pub fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A job kind's behaviour. `run` must be safe to run twice: a job whose
/// worker died is run again, so every step checks recorded state first.
pub trait Handler: Send + Sync {
    /// The job kind this handler runs.
    fn kind(&self) -> &'static str;

    /// Whether jobs of this kind take their project's pipeline lock.
    fn locks_project(&self) -> bool {
        false
    }

    /// Does the work.
    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError>;

    /// Called once when the job fails for good (e.g. mark the ticket failed).
    fn give_up(&self, _ctx: &mut JobContext, _error: &str) {}
}

/// The handlers a worker runs, by kind.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<&'static str, Arc<dyn Handler>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a handler.
    pub fn with(mut self, handler: impl Handler + 'static) -> Self {
        self.handlers.insert(handler.kind(), Arc::new(handler));
        self
    }

    /// The handler of `kind`.
    pub fn get(&self, kind: &str) -> Option<Arc<dyn Handler>> {
        self.handlers.get(kind).cloned()
    }

    /// The kinds handled.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.handlers.keys().copied().collect()
    }

    /// The kinds that take the project lock.
    pub fn locking_kinds(&self) -> Vec<&'static str> {
        self.handlers
            .values()
            .filter(|h| h.locks_project())
            .map(|h| h.kind())
            .collect()
    }
}
