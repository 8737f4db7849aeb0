//! The `notify` and `webhook` job handlers, and the reminder scan the cron
//! schedule runs.
//!
//! A `notify` job without a recipient fans out (one transaction, idempotent):
//! one `notify` job per recipient and one `webhook` job per project webhook.
//! A `notify` job with a recipient renders the mail in the recipient's
//! language and sends it; a down SMTP server makes it retry with backoff
//! (the worker's), so no mail is lost and no transition waits for mail.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use jsonwebtoken::EncodingKey;
use tera::{Context, Tera};

use crate::config::Config;
use crate::domain::VersionFormat;
use crate::notify::links::{self, LinkClaims};
use crate::notify::mail::{self, MailError, Mailer};
use crate::notify::webhook::{self, EventFacts, PostError};
use crate::notify::{insert_job, recipients, templates, Kind, NotifyPayload, WebhookPayload, NOTIFY_JOB, WEBHOOK_JOB};
use crate::store::models::{EventRow, NewJob, ProjectRow, TicketRow, UserRow};
use crate::store::{notify, projects, tickets, timestamp_now, users, write_tx, DbConn, Pool, StoreError};

use super::handler::{Handler, JobContext, JobError};

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
    pub webhooks: webhook::Client,
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
            webhooks: webhook::Client::with_timeouts(
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

fn store_err(e: StoreError) -> JobError {
    JobError::Retryable(e.to_string())
}

fn pool_conn(ctx: &JobContext) -> Result<crate::store::PooledConn, JobError> {
    ctx.pool
        .get()
        .map_err(|e| JobError::Retryable(format!("database: {e}")))
}

/// Everything an event's messages are made of.
struct Loaded {
    event: EventRow,
    ticket: TicketRow,
    project: ProjectRow,
}

fn load(conn: &mut DbConn, event_id: i64) -> Result<Option<Loaded>, StoreError> {
    let Some(event) = notify::event(conn, event_id)? else {
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

fn username(conn: &mut DbConn, id: Option<i64>) -> Result<String, StoreError> {
    Ok(match id {
        Some(id) => users::by_id(conn, id)?.map_or_else(|| format!("user #{id}"), |u| shown_name(&u)),
        None => "Slipway".to_owned(),
    })
}

fn shown_name(user: &UserRow) -> String {
    if user.display_name.trim().is_empty() {
        user.username.clone()
    } else {
        user.display_name.clone()
    }
}

fn version_name(project: &ProjectRow, ticket: &TicketRow) -> Option<String> {
    let n = ticket.version.or(ticket.target_version)?;
    Some(
        VersionFormat::parse(&project.version_format)
            .map(|f| f.render(n))
            .unwrap_or_else(|_| n.to_string()),
    )
}

fn kind_of(event: &EventRow, payload: &NotifyPayload) -> Option<Kind> {
    if payload.reminder.is_some() {
        Some(Kind::Reminder)
    } else if event.from_state.as_deref() == Some(event.to_state.as_str()) {
        // No state change (one of several approvals, a renewed approval): no mail.
        None
    } else {
        Kind::for_state(&event.to_state)
    }
}

/// Sends notification mail (kind `notify`).
pub struct NotifyHandler {
    /// Settings.
    pub settings: NotifySettings,
}

impl Handler for NotifyHandler {
    fn kind(&self) -> &'static str {
        NOTIFY_JOB
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        let payload: NotifyPayload = serde_json::from_str(&ctx.job.payload)
            .map_err(|e| JobError::Permanent(format!("bad notify payload: {e}")))?;
        match payload.user_id {
            None => self.fan_out(ctx, &payload),
            Some(user_id) => self.send_one(ctx, &payload, user_id),
        }
    }
}

impl NotifyHandler {
    fn fan_out(&self, ctx: &mut JobContext, payload: &NotifyPayload) -> Result<(), JobError> {
        let mut conn = pool_conn(ctx)?;
        let now = timestamp_now();
        let (mails, hooks) = write_tx(&mut conn, |conn| -> Result<(usize, usize), StoreError> {
            let Some(Loaded { event, ticket, project }) = load(conn, payload.event_id)? else {
                return Ok((0, 0));
            };
            let mut mails = 0;
            if let Some(kind) = kind_of(&event, payload) {
                let level = payload.reminder.unwrap_or(0);
                for user_id in recipients::for_event(conn, kind, level, &event, &project, &ticket)? {
                    let child = NotifyPayload {
                        user_id: Some(user_id),
                        ..payload.clone()
                    }
                    .to_json();
                    if !notify::job_exists(conn, NOTIFY_JOB, &child)? {
                        insert_job(conn, NOTIFY_JOB, child, Some(project.id), now)?;
                        mails += 1;
                    }
                }
            }
            let mut hooks = 0;
            if payload.reminder.is_none() {
                for hook in notify::webhooks(conn, project.id)? {
                    let child = serde_json::to_string(&WebhookPayload {
                        event_id: event.id,
                        webhook_id: hook.id,
                    })
                    .unwrap_or_default();
                    if !notify::job_exists(conn, WEBHOOK_JOB, &child)? {
                        insert_job(conn, WEBHOOK_JOB, child, Some(project.id), now)?;
                        hooks += 1;
                    }
                }
            }
            Ok((mails, hooks))
        })
        .map_err(store_err)?;
        ctx.log.info(&format!(
            "event #{}: {mails} message(s) and {hooks} webhook post(s) queued",
            payload.event_id
        ));
        Ok(())
    }

    fn send_one(&self, ctx: &mut JobContext, payload: &NotifyPayload, user_id: i64) -> Result<(), JobError> {
        let mut conn = pool_conn(ctx)?;
        let Some(Loaded { event, ticket, project }) = load(&mut conn, payload.event_id).map_err(store_err)? else {
            ctx.log.info("the event is gone; nothing to send");
            return Ok(());
        };
        let Some(kind) = kind_of(&event, payload) else {
            return Ok(());
        };
        let Some(user) = users::by_id(&mut conn, user_id).map_err(store_err)? else {
            return Ok(());
        };
        if !recipients::wants(&mut conn, user_id, kind).map_err(store_err)? {
            ctx.log.info(&format!(
                "{} turned {} mail off; not sent",
                user.username,
                kind.as_str()
            ));
            return Ok(());
        }
        let mut c = Context::new();
        if kind.has_links() {
            if ticket.state != event.to_state {
                ctx.log.info("the ticket moved on; the approval request is not sent");
                return Ok(());
            }
            let may_approve = recipients::approvers(&mut conn, &project, &ticket)
                .map_err(store_err)?
                .contains(&user_id);
            if may_approve {
                let now = links::unix_now();
                for action in ["approve", "reject"] {
                    let claims = LinkClaims::new(
                        ticket.id,
                        user_id,
                        action,
                        &ticket.state,
                        ticket.stage_generation,
                        ticket.lock_version,
                        now,
                        self.settings.link_hours,
                    );
                    let token = links::sign(&self.settings.link_key, &claims).map_err(JobError::Permanent)?;
                    c.insert(
                        format!("{action}_url"),
                        &format!("{}/approve/{token}", self.settings.public_url),
                    );
                }
            } else if kind == Kind::ApprovalRequested {
                ctx.log
                    .info(&format!("{} may no longer approve; not sent", user.username));
                return Ok(());
            }
            c.insert("to_admin", &(!may_approve && user.is_admin));
        }
        let lang = if user.locale == "zh-CN" { "zh-CN" } else { "en" };
        let base = &self.settings.public_url;
        c.insert("lang", lang);
        c.insert("name", &shown_name(&user));
        c.insert("project", &project.name);
        c.insert(
            "ticket",
            &serde_json::json!({
                "id": ticket.id,
                "kind": ticket.kind,
                "reason": ticket.reason,
                "state": ticket.state,
            }),
        );
        c.insert("ticket_url", &format!("{base}/tickets/{}", ticket.id));
        c.insert("profile_url", &format!("{base}/profile"));
        c.insert("staging_url", &project.staging_url);
        c.insert(
            "submitter",
            &username(&mut conn, Some(ticket.submitter_id)).map_err(store_err)?,
        );
        c.insert("actor", &username(&mut conn, event.actor_id).map_err(store_err)?);
        c.insert("note", event.note.as_deref().unwrap_or(""));
        c.insert("to_state", &event.to_state);
        c.insert("version", &version_name(&project, &ticket).unwrap_or_default());
        c.insert("link_hours", &self.settings.link_hours);
        let waited = (Utc::now().naive_utc() - event.created_at).num_hours().max(0);
        c.insert("waited_hours", &waited);
        drop(conn);
        let rendered = templates::render(&self.settings.tera, kind.template(), &c)
            .map_err(|e| JobError::Permanent(format!("email template {}: {e:?}", kind.template())))?;
        let message = mail::build(&self.settings.from, &shown_name(&user), &user.email, &rendered)
            .map_err(|e| JobError::Permanent(e.to_string()))?;
        match self.settings.mailer.send(&message) {
            Ok(path) => {
                let whereto = path.map(|p| format!(" ({})", p.display())).unwrap_or_default();
                ctx.log.info(&format!(
                    "{} mail for ticket #{} sent to {} in {lang}{whereto}",
                    kind.as_str(),
                    ticket.id,
                    user.username
                ));
                Ok(())
            }
            Err(MailError::Transient(e)) => self.retry_or_park(ctx, &event, e),
            Err(MailError::Permanent(e)) => Err(JobError::Permanent(e)),
        }
    }

    /// A transient failure is retried by the worker; on the job's last try
    /// the message is parked instead: a new job with the same payload, due
    /// after `park_delay`, so a long SMTP outage loses no mail. Messages about
    /// events older than [`PARK_LIMIT_DAYS`] are given up.
    fn retry_or_park(&self, ctx: &mut JobContext, event: &EventRow, error: String) -> Result<(), JobError> {
        let last_try = u32::try_from(ctx.job.attempts).unwrap_or(0) >= self.settings.max_attempts;
        let age = Utc::now().naive_utc() - event.created_at;
        if !last_try || age > chrono::TimeDelta::days(PARK_LIMIT_DAYS) {
            return Err(JobError::Retryable(error));
        }
        let at = timestamp_now() + chrono::TimeDelta::from_std(self.settings.park_delay).unwrap_or_default();
        let mut conn = pool_conn(ctx)?;
        let job = NewJob {
            kind: NOTIFY_JOB.to_owned(),
            payload: ctx.job.payload.clone(),
            project_id: ctx.job.project_id,
            ticket_id: None,
            run_after: at,
            created_at: timestamp_now(),
            updated_at: timestamp_now(),
        };
        let id = crate::store::jobs::insert(&mut conn, &job).map_err(store_err)?;
        ctx.log.info(&format!(
            "{error}; still failing after {} tries: parked as job #{id}, due {at} UTC",
            ctx.job.attempts
        ));
        Ok(())
    }
}

/// Days a message keeps being retried while the mail server is unreachable.
pub const PARK_LIMIT_DAYS: i64 = 7;

/// Posts one event to one webhook (kind `webhook`).
pub struct WebhookHandler {
    /// Base URL of ticket links, without a trailing slash.
    pub public_url: String,
    /// Posts (TLS settings, timeout).
    pub client: webhook::Client,
}

impl Handler for WebhookHandler {
    fn kind(&self) -> &'static str {
        WEBHOOK_JOB
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        let payload: WebhookPayload = serde_json::from_str(&ctx.job.payload)
            .map_err(|e| JobError::Permanent(format!("bad webhook payload: {e}")))?;
        let mut conn = pool_conn(ctx)?;
        let Some(hook) = notify::webhook(&mut conn, payload.webhook_id).map_err(store_err)? else {
            ctx.log.info("the webhook was removed; nothing to post");
            return Ok(());
        };
        let Some(Loaded { event, ticket, project }) = load(&mut conn, payload.event_id).map_err(store_err)? else {
            return Ok(());
        };
        let actor = match event.actor_id {
            Some(id) => users::by_id(&mut conn, id).map_err(store_err)?.map(|u| u.username),
            None => None,
        };
        drop(conn);
        let facts = EventFacts {
            event_id: event.id,
            ticket_id: ticket.id,
            ticket_kind: ticket.kind.clone(),
            project: project.name.clone(),
            reason: ticket.reason.clone(),
            action: event.action.clone(),
            from: event.from_state.clone(),
            to: event.to_state.clone(),
            actor,
            note: event.note.clone(),
            version: version_name(&project, &ticket),
            at: event.created_at.and_utc().to_rfc3339(),
            url: format!("{}/tickets/{}", self.public_url, ticket.id),
        };
        let body = serde_json::to_vec(&webhook::body(&hook.preset, &facts)).unwrap_or_default();
        match self.client.post(&hook.url, &hook.secret, &body) {
            Ok(status) => {
                ctx.log.info(&format!(
                    "event #{} posted to webhook #{} ({}): {status}",
                    event.id, hook.id, hook.preset
                ));
                Ok(())
            }
            Err(PostError::Transient(e)) => Err(JobError::Retryable(format!("webhook #{}: {e}", hook.id))),
            Err(PostError::Permanent(e)) => Err(JobError::Permanent(format!("webhook #{}: {e}", hook.id))),
        }
    }
}

/// Queues reminders for tickets that wait for approval longer than their
/// project's interval (level 1: approvers; after twice the interval, level
/// 2: approvers and admins). Each level is sent once per approval request.
/// Returns how many reminder jobs were queued.
pub fn enqueue_reminders(pool: &Pool) -> Result<usize, StoreError> {
    enqueue_reminders_at(pool, timestamp_now())
}

/// [`enqueue_reminders`] as of `now` (tests).
pub fn enqueue_reminders_at(pool: &Pool, now: NaiveDateTime) -> Result<usize, StoreError> {
    let mut conn = pool.get()?;
    write_tx(&mut conn, |conn| {
        let mut queued = 0;
        for ticket in notify::awaiting_approval(conn)? {
            let Some(event) = notify::last_event_into(conn, ticket.id, &ticket.state)? else {
                continue;
            };
            let interval = i64::from(notify::reminder_minutes(conn, ticket.project_id)?);
            let waited = (now - event.created_at).num_minutes();
            let due = if waited >= 2 * interval {
                2
            } else if waited >= interval {
                1
            } else {
                0
            };
            for level in 1..=due {
                // A level that came due together with a higher one is recorded, not sent.
                if notify::record_reminder(conn, event.id, level, now)? && level == due {
                    let payload = NotifyPayload {
                        event_id: event.id,
                        user_id: None,
                        reminder: Some(level),
                    };
                    // Due at once (`now` is only the clock the waiting is measured by).
                    insert_job(
                        conn,
                        NOTIFY_JOB,
                        payload.to_json(),
                        Some(ticket.project_id),
                        timestamp_now(),
                    )?;
                    queued += 1;
                }
            }
        }
        Ok(queued)
    })
}
