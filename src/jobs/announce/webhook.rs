//! The `webhook` job: posts one event to one project webhook (see [`super`]),
//! in the webhook's language, @-mentioning the approvers of a ticket that
//! waits for approval or the submitter of one that failed (their chat
//! identities from their profiles; disabled users are left out).

use crate::notify::chat::{self, Lang, Mention, Mentioned};
use crate::notify::webhook::{self, EventFacts, PostError};
use crate::store::models::{ProjectRow, TicketRow};
use crate::store::{subscriptions, users, DbConn, StoreResult};

use super::super::handler::{Handler, JobContext, JobError};
use super::super::job::{self, Job, WebhookJob};
use super::{load, pool_conn, store_err, version_name, Loaded};

/// Posts one event to one webhook (kind `webhook`).
pub struct WebhookHandler {
    /// Base URL of ticket links, without a trailing slash.
    pub public_url: String,
    /// Posts (TLS settings, timeout).
    pub client: webhook::Client,
}

impl Handler for WebhookHandler {
    fn kind(&self) -> &'static str {
        WebhookJob::KIND
    }

    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        let payload: WebhookJob = job::payload(&ctx.job)?;
        let mut conn = pool_conn(ctx)?;
        let Some(hook) = subscriptions::webhook(&mut conn, payload.webhook_id).map_err(store_err)? else {
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
        let mentions = if hook.preset == "json" {
            Vec::new()
        } else {
            mentions(&mut conn, chat::mentioned(&event.to_state), &project, &ticket).map_err(store_err)?
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
        let lang = Lang::parse(&hook.language).unwrap_or(Lang::En);
        let out = webhook::outgoing(
            &hook.preset,
            &hook.url,
            &hook.secret,
            lang,
            &facts,
            &mentions,
            chrono::Utc::now(),
        );
        match self.client.send(&out.url, out.signature.as_deref(), &out.body) {
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

/// The chat identities a message mentions (users without one are left out).
fn mentions(conn: &mut DbConn, who: Mentioned, project: &ProjectRow, ticket: &TicketRow) -> StoreResult<Vec<Mention>> {
    let ids: Vec<i64> = match who {
        Mentioned::Approvers => crate::notify::recipients::approvers(conn, project, ticket)?
            .into_iter()
            .collect(),
        Mentioned::Submitter => vec![ticket.submitter_id],
        Mentioned::Nobody => Vec::new(),
    };
    let mut out = Vec::new();
    for id in ids {
        if let Some(user) = users::by_id(conn, id)?.filter(|u| !u.disabled) {
            if !(user.chat_mobile.is_empty() && user.chat_user_id.is_empty()) {
                out.push(Mention {
                    mobile: user.chat_mobile,
                    user_id: user.chat_user_id,
                });
            }
        }
    }
    Ok(out)
}
