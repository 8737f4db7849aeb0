//! The `drift-notice` job: drift found on a host told to the project's leads
//! and watchers (one mail each, in their language) and posted to the
//! project's webhooks (one post each). The fan-out job (no recipient, no
//! webhook) enqueues the others in one transaction, each once.

use tera::Context;

use crate::notify::chat::Lang;
use crate::notify::drift::{self, DriftFacts};
use crate::notify::mail::{self, MailError};
use crate::notify::webhook::{self, PostError};
use crate::notify::{recipients, templates, Kind};
use crate::store::{projects, subscriptions, timestamp_now, users, write_tx, StoreError};

use super::super::handler::{Handler, JobContext, JobError};
use super::super::job::{self, DriftNoticeJob, Job};
use super::{pool_conn, shown_name, store_err, unbound, NotifySettings};

/// Tells people and webhooks about drift (kind `drift-notice`).
pub struct DriftNoticeHandler {
    /// Settings (mailer, public URL, webhook client, templates).
    pub settings: NotifySettings,
}

impl Handler for DriftNoticeHandler {
    fn kind(&self) -> &'static str {
        DriftNoticeJob::KIND
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        let payload: DriftNoticeJob = job::payload(&ctx.job)?;
        match (payload.user_id, payload.webhook_id) {
            (Some(user_id), _) => self.mail(ctx, &payload, user_id),
            (None, Some(hook_id)) => self.post(ctx, &payload, hook_id),
            (None, None) => fan_out(ctx, &payload),
        }
    }
}

fn fan_out(ctx: &mut JobContext, payload: &DriftNoticeJob) -> Result<(), JobError> {
    let mut conn = pool_conn(ctx)?;
    let now = timestamp_now();
    let (mails, hooks) = write_tx(&mut conn, |conn| -> Result<(usize, usize), StoreError> {
        let mut children = Vec::new();
        for user_id in recipients::for_drift(conn, payload.project_id)? {
            children.push(DriftNoticeJob {
                user_id: Some(user_id),
                ..payload.clone()
            });
        }
        let people = children.len();
        for hook in subscriptions::webhooks(conn, payload.project_id)? {
            children.push(DriftNoticeJob {
                webhook_id: Some(hook.id),
                ..payload.clone()
            });
        }
        let hooks = children.len() - people;
        for child in &children {
            if !job::exists(conn, child)? {
                job::enqueue(conn, child, unbound(payload.project_id, now))?;
            }
        }
        Ok((people, hooks))
    })
    .map_err(store_err)?;
    ctx.log.info(&format!(
        "drift on {}: {mails} message(s) and {hooks} webhook post(s) queued",
        payload.host
    ));
    Ok(())
}

impl DriftNoticeHandler {
    fn facts(&self, project: &str, p: &DriftNoticeJob) -> DriftFacts {
        DriftFacts {
            project: project.to_owned(),
            host: p.host.clone(),
            version: p.version.clone(),
            changed: p.changed,
            missing: p.missing,
            added: p.added,
            paths: p.paths.clone(),
            at: p.found_at.clone(),
            url: format!("{}/projects/{project}", self.settings.public_url),
        }
    }

    fn mail(&self, ctx: &mut JobContext, p: &DriftNoticeJob, user_id: i64) -> Result<(), JobError> {
        let mut conn = pool_conn(ctx)?;
        let Some(project) = projects::by_id(&mut conn, p.project_id).map_err(store_err)? else {
            return Ok(());
        };
        let Some(user) = users::by_id(&mut conn, user_id).map_err(store_err)? else {
            return Ok(());
        };
        if !recipients::wants(&mut conn, user_id, Kind::Drift).map_err(store_err)? {
            ctx.log
                .info(&format!("{} turned drift mail off; not sent", user.username));
            return Ok(());
        }
        drop(conn);
        let f = self.facts(&project.name, p);
        let lang = if user.locale == "zh-CN" { "zh-CN" } else { "en" };
        let mut c = Context::new();
        c.insert("lang", lang);
        c.insert("name", &shown_name(&user));
        c.insert("project", &f.project);
        c.insert("host", &f.host);
        c.insert("version", &f.version);
        c.insert("changed", &f.changed);
        c.insert("missing", &f.missing);
        c.insert("added", &f.added);
        c.insert("paths", &f.paths);
        c.insert("project_url", &f.url);
        c.insert("profile_url", &format!("{}/profile", self.settings.public_url));
        let rendered = templates::render(&self.settings.tera, Kind::Drift.template(), &c)
            .map_err(|e| JobError::Permanent(format!("email template drift: {e:?}")))?;
        let message = mail::build(&self.settings.from, &shown_name(&user), &user.email, &rendered)
            .map_err(|e| JobError::Permanent(e.to_string()))?;
        match self.settings.mailer.send(&message) {
            Ok(_) => {
                ctx.log.info(&format!(
                    "drift mail for {} sent to {} in {lang}",
                    p.host, user.username
                ));
                Ok(())
            }
            Err(MailError::Transient(e)) => Err(JobError::Retryable(e)),
            Err(MailError::Permanent(e)) => Err(JobError::Permanent(e)),
        }
    }

    fn post(&self, ctx: &mut JobContext, p: &DriftNoticeJob, hook_id: i64) -> Result<(), JobError> {
        let mut conn = pool_conn(ctx)?;
        let Some(hook) = subscriptions::webhook(&mut conn, hook_id).map_err(store_err)? else {
            ctx.log.info("the webhook was removed; nothing to post");
            return Ok(());
        };
        let Some(project) = projects::by_id(&mut conn, p.project_id).map_err(store_err)? else {
            return Ok(());
        };
        drop(conn);
        let lang = Lang::parse(&hook.language).unwrap_or(Lang::En);
        let value = drift::body(&hook.preset, lang, &self.facts(&project.name, p));
        let out = webhook::signed(&hook.preset, &hook.url, &hook.secret, value, chrono::Utc::now());
        match self
            .settings
            .webhooks
            .send(&out.url, out.signature.as_deref(), &out.body)
        {
            Ok(status) => {
                ctx.log.info(&format!(
                    "drift on {} posted to webhook #{} ({}): {status}",
                    p.host, hook.id, hook.preset
                ));
                Ok(())
            }
            Err(PostError::Transient(e)) => Err(JobError::Retryable(format!("webhook #{}: {e}", hook.id))),
            Err(PostError::Permanent(e)) => Err(JobError::Permanent(format!("webhook #{}: {e}", hook.id))),
        }
    }
}
