//! Background work: the job queue in the database, the worker loop that
//! claims jobs with a lease and runs their handlers, the wake-up signal,
//! and the cron schedule that only enqueues. See docs/design.md#jobs for the
//! job model (queue table, lease, heartbeat and self-fencing, per-project
//! lock, retries, the orphan sweep).

pub mod announce;
pub mod backoff;
pub mod cleanup;
pub mod cron;
mod delta_plan;
mod export;
pub mod handler;
pub mod job;
pub mod lease;
pub mod log;
pub mod orphans;
pub mod pipeline;
pub mod relays;
pub mod release;
mod release_gate;
pub mod rollback;
pub mod scheduled;
pub mod secrets;
pub mod service_job;
mod ship_record;
pub mod stage;
pub mod svn_failure;
pub mod svn_poll;
pub mod transient;
pub mod verify;
pub mod wake;
pub mod worker;

pub use handler::{Handler, JobContext, JobError, Registry};
pub use wake::Waker;
pub use worker::{Worker, WorkerOptions};
