//! Typed jobs: each job kind is a [`Job`] type with a constant
//! [`Job::KIND`] and a serde payload. Jobs are enqueued with
//! [`enqueue`] and read back with [`payload`]; the stored format stays
//! `kind` text + `payload` JSON, so no migration is needed.
//!
//! The pipeline kinds take their names from the domain's
//! [`JobKind`], so a transition's job and the
//! handler that runs it cannot drift apart.

use chrono::NaiveDateTime;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::domain::JobKind;
use crate::store::models::{JobRow, NewJob};
use crate::store::{jobs, DbConn, StoreResult};

use super::handler::JobError;

/// A job kind: its stable name and its payload type (the implementing type).
pub trait Job: Serialize + DeserializeOwned {
    /// The kind name stored in `jobs.kind`.
    const KIND: &'static str;
}

/// Where and when an enqueued job runs.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// The project it serialises on (pipeline jobs take its lock).
    pub project_id: Option<i64>,
    /// The ticket it works for (its page shows the job's log).
    pub ticket_id: Option<i64>,
    /// Not before (UTC); also the creation time.
    pub run_after: NaiveDateTime,
}

/// Stage a ticket: update staging from SVN, build, snapshot in git.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageJob {
    /// The ticket.
    pub ticket_id: i64,
}

/// Tag a ticket's tested snapshot and ship it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseJob {
    /// The ticket.
    pub ticket_id: i64,
}

/// Switch production back to a rollback ticket's target version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackJob {
    /// The ticket.
    pub ticket_id: i64,
}

/// Take a scheduled release's action now (issue 14): enqueued by the cron
/// entry when the schedule's time comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledJob {
    /// The schedule (`release_schedules.id`).
    pub schedule_id: i64,
}

/// Record a project's new SVN revisions (the project is the job's `project_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SvnPollJob {}

/// Delete job output older than the retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCleanupJob {}

/// Tell people about an event (kind `notify`). Without `user_id` it fans
/// out into one `notify` job per recipient and one [`WebhookJob`] per
/// project webhook; with it, it sends one mail. Serialised
/// deterministically: the fan-out looks for an existing job with the same
/// payload ([`exists`]) before it enqueues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyJob {
    /// The event told about.
    pub event_id: i64,
    /// The recipient (per-recipient jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// Reminder level (1: approvers again; 2: also admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<i32>,
}

/// Post one event to one project webhook (kind `webhook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookJob {
    /// The event posted.
    pub event_id: i64,
    /// The webhook.
    pub webhook_id: i64,
}

/// Tell a project's leads and watchers, and its webhooks, about drift found
/// on a host (kind `drift-notice`). Without `user_id` and `webhook_id` it
/// fans out into one job per recipient and per webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftNoticeJob {
    /// The project.
    pub project_id: i64,
    /// The host.
    pub host: String,
    /// The release the host was compared with.
    pub version: String,
    /// Files changed.
    pub changed: i32,
    /// Files missing.
    pub missing: i32,
    /// Files added.
    pub added: i32,
    /// The first paths (`changed PATH`, …).
    pub paths: Vec<String>,
    /// When it was found (RFC 3339, UTC).
    pub found_at: String,
    /// The recipient (per-recipient jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// The webhook (per-webhook jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<i64>,
}

impl Job for StageJob {
    const KIND: &'static str = JobKind::Stage.as_str();
}
impl Job for ReleaseJob {
    const KIND: &'static str = JobKind::Release.as_str();
}
impl Job for RollbackJob {
    const KIND: &'static str = JobKind::Rollback.as_str();
}
impl Job for ScheduledJob {
    const KIND: &'static str = "scheduled";
}
impl Job for SvnPollJob {
    const KIND: &'static str = "svn-poll";
}
impl Job for LogCleanupJob {
    const KIND: &'static str = "log-cleanup";
}
impl Job for NotifyJob {
    const KIND: &'static str = "notify";
}
impl Job for DriftNoticeJob {
    const KIND: &'static str = "drift-notice";
}
impl Job for WebhookJob {
    const KIND: &'static str = "webhook";
}

/// The pipeline job a transition asked for, for `ticket_id`, as a row to
/// insert (kind and payload JSON).
pub fn pipeline_job(kind: JobKind, ticket_id: i64) -> (&'static str, String) {
    fn row<J: Job>(job: J) -> (&'static str, String) {
        (J::KIND, to_json(&job))
    }
    match kind {
        JobKind::Stage => row(StageJob { ticket_id }),
        JobKind::Release => row(ReleaseJob { ticket_id }),
        JobKind::Rollback => row(RollbackJob { ticket_id }),
    }
}

/// The payload JSON stored for `job`.
pub fn to_json<J: Job>(job: &J) -> String {
    // The payload types are plain structs of numbers: serialising cannot fail.
    serde_json::to_string(job).unwrap_or_else(|_| "{}".to_owned())
}

/// Enqueues `job` (in the caller's transaction, if any); returns its id.
pub fn enqueue<J: Job>(conn: &mut DbConn, job: &J, at: Placement) -> StoreResult<i64> {
    insert(conn, J::KIND, to_json(job), at)
}

/// Whether a job of kind `J` with exactly `job`'s payload exists (any
/// state): a fan-out that may run twice enqueues each child once.
pub fn exists<J: Job>(conn: &mut DbConn, job: &J) -> StoreResult<bool> {
    jobs::exists(conn, J::KIND, &to_json(job))
}

/// Inserts a job row of `kind` with `payload` JSON.
pub fn insert(conn: &mut DbConn, kind: &str, payload: String, at: Placement) -> StoreResult<i64> {
    jobs::insert(
        conn,
        &NewJob {
            kind: kind.to_owned(),
            payload,
            project_id: at.project_id,
            ticket_id: at.ticket_id,
            run_after: at.run_after,
            created_at: at.run_after,
            updated_at: at.run_after,
        },
    )
}

/// The payload of a claimed job of kind `J`; a job of another kind or a
/// malformed payload is a permanent failure.
pub fn payload<J: Job>(job: &JobRow) -> Result<J, JobError> {
    if job.kind != J::KIND {
        return Err(JobError::Permanent(format!(
            "job #{} is a `{}` job, not `{}`",
            job.id,
            job.kind,
            J::KIND
        )));
    }
    serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Permanent(format!("job #{} has a malformed `{}` payload: {e}", job.id, J::KIND)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_keep_the_stored_format() {
        assert_eq!(
            pipeline_job(JobKind::Stage, 7),
            ("stage", r#"{"ticket_id":7}"#.to_owned())
        );
        assert_eq!(pipeline_job(JobKind::Release, 7).0, "release");
        assert_eq!(pipeline_job(JobKind::Rollback, 7).0, "rollback");
        assert_eq!(to_json(&SvnPollJob {}), "{}");
        assert_eq!(to_json(&LogCleanupJob {}), "{}");
        let notify = NotifyJob {
            event_id: 3,
            user_id: Some(4),
            reminder: None,
        };
        assert_eq!(to_json(&notify), r#"{"event_id":3,"user_id":4}"#);
        assert_eq!(NotifyJob::KIND, "notify");
        assert_eq!(WebhookJob::KIND, "webhook");
        assert_eq!(
            serde_json::from_str::<StageJob>(r#"{"ticket_id":3}"#).ok(),
            Some(StageJob { ticket_id: 3 })
        );
    }
}
