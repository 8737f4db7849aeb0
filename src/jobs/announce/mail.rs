//! The `notify` job: fans an event out to one job per recipient and webhook,
//! and renders and sends one message (see [`super`]).

use chrono::Utc;
use tera::Context;

use crate::notify::links::{self, LinkClaims};
use crate::notify::mail::{self, MailError};
use crate::notify::{recipients, templates, Kind};
use crate::store::models::{EventRow, NewJob};
use crate::store::{subscriptions, timestamp_now, users, write_tx, StoreError};

use super::super::handler::{Handler, JobContext, JobError};
use super::super::job::{self, Job, NotifyJob, WebhookJob};
use super::{kind_of, load, pool_conn, shown_name, store_err, unbound, username, version_name, Loaded, NotifySettings};

/// Sends notification mail (kind `notify`).
pub struct NotifyHandler {
    /// Settings.
    pub settings: NotifySettings,
}

impl Handler for NotifyHandler {
    fn kind(&self) -> &'static str {
        NotifyJob::KIND
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        let payload: NotifyJob = job::payload(&ctx.job)?;
        match payload.user_id {
            None => self.fan_out(ctx, &payload),
            Some(user_id) => self.send_one(ctx, &payload, user_id),
        }
    }
}

impl NotifyHandler {
    fn fan_out(&self, ctx: &mut JobContext, payload: &NotifyJob) -> Result<(), JobError> {
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
                    let child = NotifyJob {
                        user_id: Some(user_id),
                        ..payload.clone()
                    };
                    if !job::exists(conn, &child)? {
                        job::enqueue(conn, &child, unbound(project.id, now))?;
                        mails += 1;
                    }
                }
            }
            let mut hooks = 0;
            if payload.reminder.is_none() {
                for hook in subscriptions::webhooks(conn, project.id)? {
                    let child = WebhookJob {
                        event_id: event.id,
                        webhook_id: hook.id,
                    };
                    if !job::exists(conn, &child)? {
                        job::enqueue(conn, &child, unbound(project.id, now))?;
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

    fn send_one(&self, ctx: &mut JobContext, payload: &NotifyJob, user_id: i64) -> Result<(), JobError> {
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
        c.insert("outside_paths", &crate::service::outside::stored(&ticket));
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
            kind: NotifyJob::KIND.to_owned(),
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
