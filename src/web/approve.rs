//! One-click approval from an emailed link (invariant 8 of DESIGN.md), and
//! the notification settings page (`/profile/notifications`).
//!
//! `GET /approve/{token}` only shows the ticket and a confirmation form;
//! `POST /approve/{token}` (from that form) approves or rejects as the
//! link's approver through `service::tickets::apply`, with the same rules as
//! the browser. The POST needs no session and no CSRF cookie: the signed
//! token in the form is the authority, and it is bound to one approver, one
//! ticket, one action and the ticket's state and stage generation when sent.
//! A cross-site form cannot forge it.
//!
//! Refused, with a page that says why and nothing changed: a bad signature,
//! an expired link, a used link (its id is in `used_approval_tokens`), a
//! stale link (the ticket left the state, or was staged again, since), and a
//! link opened while signed in as someone else.
//!
//! The link is bound to state + stage generation, not to the lock version:
//! with two approvals required, the second lead's link must still work after
//! the first lead approved (which bumps the lock version but keeps the state).
//! The POST passes the lock version it read as `expected_lock_version`, so of
//! two concurrent uses of one link only one acts; the id is recorded in the
//! transaction that applies the action (`service::approval_links`).

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use tera::Context;

use crate::notify::links::{self, LinkClaims, LinkError};
use crate::service::approval_links::{self, LinkVerdict};

use super::extract::PageCtx;
use super::render::{error_page, render};
use super::AppState;

/// Registers `/approve/{token}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(confirm_page)
        .service(confirm)
        .service(prefs_page)
        .service(save_prefs);
}

fn refused(ctx: &PageCtx, state: &AppState, reason: &str, ticket: Option<i64>, detail: Option<String>) -> HttpResponse {
    let mut c = Context::new();
    c.insert("refusal", reason);
    c.insert("ticket_id", &ticket);
    c.insert("detail", &detail.unwrap_or_default());
    let status = match reason {
        "invalid" => StatusCode::BAD_REQUEST,
        "other_user" => StatusCode::FORBIDDEN,
        "refused" => StatusCode::CONFLICT,
        _ => StatusCode::GONE,
    };
    render(ctx, state, "approve_link.html", c, status)
}

fn verify(state: &AppState, token: &str) -> Result<LinkClaims, &'static str> {
    links::verify(state.keys.decoding(), token).map_err(|e| match e {
        LinkError::Expired => "expired",
        LinkError::Invalid => "invalid",
    })
}

#[get("/approve/{token}")]
async fn confirm_page(ctx: PageCtx, state: web::Data<AppState>, token: web::Path<String>) -> HttpResponse {
    let token = token.into_inner();
    let claims = match verify(&state, &token) {
        Ok(c) => c,
        Err(reason) => return refused(&ctx, &state, reason, None, None),
    };
    let viewer = ctx.viewer.as_ref().map(|u| u.id);
    let checked = {
        let claims = claims.clone();
        let visibility = state.visibility;
        state
            .db(move |conn| Ok(approval_links::check(conn, &claims, viewer, visibility)?))
            .await
    };
    match checked {
        Ok(LinkVerdict::Usable(summary)) => {
            let mut c = Context::new();
            c.insert("tk", &summary);
            c.insert("act", &claims.act);
            c.insert("token", &token);
            render(&ctx, &state, "approve_link.html", c, StatusCode::OK)
        }
        Ok(LinkVerdict::Refused(reason, ticket)) => refused(&ctx, &state, reason, ticket, None),
        Err(e) => error_page(&ctx, &state, e),
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    note: String,
}

#[post("/approve/{token}")]
async fn confirm(
    ctx: PageCtx,
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let token = token.into_inner();
    // The form carries the token it was rendered with; both must agree.
    if form.token != token {
        return refused(&ctx, &state, "invalid", None, None);
    }
    let claims = match verify(&state, &token) {
        Ok(c) => c,
        Err(reason) => return refused(&ctx, &state, reason, None, None),
    };
    let viewer = ctx.viewer.as_ref().map(|u| u.id);
    let note = Some(form.note.trim().to_owned()).filter(|n| !n.is_empty());
    let act = claims.act.clone();
    let ticket = claims.tid;
    let visibility = state.visibility;
    let outcome = state
        .db_then_wake(move |conn| {
            Ok(approval_links::use_link(
                conn,
                &claims,
                viewer,
                visibility,
                note,
                Utc::now(),
            )?)
        })
        .await;
    match outcome {
        Ok(LinkVerdict::Usable(summary)) => {
            let mut c = Context::new();
            c.insert("done", &true);
            c.insert("tk", &summary);
            c.insert("act", &act);
            render(&ctx, &state, "approve_link.html", c, StatusCode::OK)
        }
        Ok(LinkVerdict::Refused(reason, ticket)) => refused(&ctx, &state, reason, ticket, None),
        Err(e) if e.code().1 == StatusCode::INTERNAL_SERVER_ERROR => error_page(&ctx, &state, e),
        Err(e) => {
            let message = super::error_text::page_text(&state.i18n, ctx.lang, &e);
            refused(&ctx, &state, "refused", Some(ticket), Some(message))
        }
    }
}

/// The notification settings page (linked from the profile page).
#[get("/profile/notifications")]
async fn prefs_page(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    show_prefs(&ctx, &state, false).await
}

async fn show_prefs(ctx: &PageCtx, state: &AppState, saved: bool) -> HttpResponse {
    let user = match ctx.user() {
        Ok(u) => u.clone(),
        Err(e) => return error_page(ctx, state, e),
    };
    let email = user.email.clone();
    let prefs = state
        .db(move |conn| Ok(crate::service::mail_prefs::preferences(conn, user.id)?))
        .await;
    match prefs {
        Ok(prefs) => {
            let list: Vec<(&str, bool)> = prefs.into_iter().map(|(k, on)| (k.as_str(), on)).collect();
            let mut c = Context::new();
            c.insert("prefs", &list);
            c.insert("email", &email);
            c.insert("saved", &saved);
            render(ctx, state, "notify_prefs.html", c, StatusCode::OK)
        }
        Err(e) => error_page(ctx, state, e),
    }
}

#[post("/profile/notifications")]
async fn save_prefs(ctx: PageCtx, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let user = match ctx.user() {
        Ok(u) => u.clone(),
        Err(e) => return error_page(&ctx, &state, e),
    };
    // Repeated `on=` fields (checkboxes): parsed by hand, serde_urlencoded has no lists.
    let mut csrf = String::new();
    let mut on = Vec::new();
    for (key, value) in url_pairs(&body) {
        match key.as_str() {
            "csrf" => csrf = value,
            "on" => on.push(value),
            _ => {}
        }
    }
    if let Err(e) = ctx.check_csrf(&csrf) {
        return error_page(&ctx, &state, e);
    }
    let saved = state
        .db(move |conn| Ok(crate::service::mail_prefs::set_preferences(conn, user.id, &on)?))
        .await;
    match saved {
        Ok(()) => show_prefs(&ctx, &state, true).await,
        Err(e) => error_page(&ctx, &state, e),
    }
}

fn url_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                        out.push(h * 16 + l);
                        i += 3;
                        continue;
                    }
                    out.push(b'%');
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_pairs() {
        let pairs = super::url_pairs(b"csrf=ab&on=staged&on=rolled_back&x=%E4%BD%A0+a%2");
        assert_eq!(pairs[1], ("on".to_owned(), "staged".to_owned()));
        assert_eq!(pairs[2].1, "rolled_back");
        assert_eq!(pairs[3].1, "你 a%2");
    }
}
