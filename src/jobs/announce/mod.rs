//! The event fan-out ("announce") jobs: the `notify` and `webhook` job
//! handlers, and the reminder scan the cron schedule runs. Mail and webhook
//! transport live in [`crate::notify`]; the recipient rules in
//! [`crate::notify::recipients`]. See docs/design.md#jobs.
//!
//! A `notify` job without a recipient fans out (one transaction, idempotent):
//! one `notify` job per recipient and one `webhook` job per project webhook.
//! A `notify` job with a recipient renders the mail in the recipient's
//! language and sends it; a down SMTP server makes it retry with backoff
//! (the worker's), so no mail is lost and no transition waits for mail.
//!
//! - [`mail`]: [`NotifyHandler`], fan-out and one message per recipient.
//! - [`webhook`]: [`WebhookHandler`], one post per event and webhook.
//! - [`reminders`]: [`enqueue_reminders`], approval reminders.
//! - [`drift`]: [`DriftNoticeHandler`], drift found on a host (not a ticket event).

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::EncodingKey;
use tera::Tera;

use crate::config::Config;
use crate::domain::VersionFormat;
use crate::notify::mail::Mailer;
use crate::notify::{templates, Kind};
use crate::store::models::{EventRow, ProjectRow, TicketRow, UserRow};
use crate::store::{projects, tickets, users, DbConn, StoreError};

use super::handler::{JobContext, JobError};
use super::job::{self, NotifyJob, Placement};

pub mod drift;
pub mod mail;
pub mod reminders;
pub mod webhook;

pub use drift::DriftNoticeHandler;
pub use mail::{NotifyHandler, PARK_LIMIT_DAYS};
pub use reminders::{enqueue_reminders, enqueue_reminders_at};
pub use webhook::WebhookHandler;

/// Enqueues the notifications of event `event_id` (call inside the
/// transaction that wrote the event, so they commit with it). The job is not
/// tied to the ticket: the ticket's job list and log show its pipeline only.
pub fn enqueue_event(
    conn: &mut DbConn,
    event_id: i64,
    project_id: i64,
    now: chrono::NaiveDateTime,
) -> crate::store::StoreResult<i64> {
    let notify = NotifyJob {
        event_id,
        user_id: None,
        reminder: None,
    };
    job::enqueue(conn, &notify, unbound(project_id, now))
}

/// Enqueues the fan-out of a drift notice (call inside the transaction that
/// recorded the drift).
pub fn enqueue_drift(
    conn: &mut DbConn,
    notice: &super::job::DriftNoticeJob,
    now: chrono::NaiveDateTime,
) -> crate::store::StoreResult<i64> {
    job::enqueue(conn, notice, unbound(notice.project_id, now))
}

/// Where an announce job runs: on `project_id`'s queue, tied to no ticket, due at `at`.
pub(super) fn unbound(project_id: i64, at: chrono::NaiveDateTime) -> Placement {
    Placement {
        project_id: Some(project_id),
        ticket_id: None,
        run_after: at,
    }
}

/// Settings shared by the notification handlers.
#[derive(Clone)]
pub struct NotifySettings {
    /// Where mail goes.
    pub mailer: Mailer,
    /// The From address.
    pub from: String,
    /// Base URL of links, without a trailing slash.
    pub public_url: String,
    /// Signs approval links.
    pub link_key: EncodingKey,
    /// Hours an approval link is valid.
    pub link_hours: u32,
    /// Posts webhooks.
    pub webhooks: crate::notify::webhook::Client,
    /// The email templates.
    pub tera: Arc<Tera>,
    /// The worker's tries per job (`worker.max_attempts`): a message that
    /// fails this often with a transient error is parked, not dropped.
    pub max_attempts: u32,
    /// How long a parked message waits before the next round of tries.
    pub park_delay: Duration,
}

impl NotifySettings {
    /// Settings from `config`, signing links with `signing_key` (the same key
    /// as sessions, see `keys::signing_key`).
    pub fn from_config(config: &Config, signing_key: &[u8]) -> Result<Self, String> {
        Ok(Self {
            mailer: Mailer::from_config(config)?,
            from: config.smtp.from.clone(),
            public_url: config.public_url().trim_end_matches('/').to_owned(),
            link_key: EncodingKey::from_secret(signing_key),
            link_hours: config.notify.approval_link_hours,
            webhooks: crate::notify::webhook::Client::with_timeouts(
                config.notify.webhook_ca_file.as_deref(),
                crate::outbound::Timeouts::new(
                    Duration::from_secs(config.notify.webhook_connect_timeout_secs),
                    Duration::from_secs(config.notify.webhook_timeout_secs),
                ),
            )?,
            tera: Arc::new(templates::load().map_err(|e| format!("email templates: {e:?}"))?),
            max_attempts: config.worker.max_attempts,
            park_delay: Duration::from_secs(config.worker.retry_cap_secs.max(60)),
        })
    }
}

pub(super) fn store_err(e: StoreError) -> JobError {
    JobError::Retryable(e.to_string())
}

pub(super) fn pool_conn(ctx: &JobContext) -> Result<crate::store::PooledConn, JobError> {
    ctx.pool
        .get()
        .map_err(|e| JobError::Retryable(format!("database: {e}")))
}

/// Everything an event's messages are made of.
pub(super) struct Loaded {
    /// The event.
    pub event: EventRow,
    /// Its ticket.
    pub ticket: TicketRow,
    /// The ticket's project.
    pub project: ProjectRow,
}

pub(super) fn load(conn: &mut DbConn, event_id: i64) -> Result<Option<Loaded>, StoreError> {
    let Some(event) = tickets::event(conn, event_id)? else {
        return Ok(None);
    };
    let Some(ticket) = tickets::by_id(conn, event.ticket_id)? else {
        return Ok(None);
    };
    let Some(project) = projects::by_id(conn, ticket.project_id)? else {
        return Ok(None);
    };
    Ok(Some(Loaded { event, ticket, project }))
}

pub(super) fn username(conn: &mut DbConn, id: Option<i64>) -> Result<String, StoreError> {
    Ok(match id {
        Some(id) => users::by_id(conn, id)?.map_or_else(|| format!("user #{id}"), |u| shown_name(&u)),
        None => "Slipway".to_owned(),
    })
}

pub(super) fn shown_name(user: &UserRow) -> String {
    if user.display_name.trim().is_empty() {
        user.username.clone()
    } else {
        user.display_name.clone()
    }
}

pub(super) fn version_name(project: &ProjectRow, ticket: &TicketRow) -> Option<String> {
    let n = ticket.version.or(ticket.target_version)?;
    Some(
        VersionFormat::parse(&project.version_format)
            .map(|f| f.render(n))
            .unwrap_or_else(|_| n.to_string()),
    )
}

pub(super) fn kind_of(event: &EventRow, payload: &NotifyJob) -> Option<Kind> {
    if payload.reminder.is_some() {
        Some(Kind::Reminder)
    } else if event.action == crate::service::schedules::EVENT_FAILED {
        Some(Kind::ScheduleFailed)
    } else if event.from_state.as_deref() == Some(event.to_state.as_str()) {
        // No state change (one of several approvals, a renewed approval): no mail.
        None
    } else {
        Kind::for_state(&event.to_state)
    }
}
