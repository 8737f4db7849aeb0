//! Server-rendered pages (tera, autoescaped): my work, ticket list, new
//! ticket, ticket page with its actions, project page with rollbacks, audit
//! log with CSV export, profile (API tokens, language). Every form carries
//! the CSRF token; every change goes through the service layer.

mod audit;
mod profile;
mod projects;
mod tickets;

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpResponse};
use chrono::Utc;
use serde::Serialize;
use tera::Context;

use crate::service::queries;
use crate::service::rows::TicketListRow;

use crate::web::auth::PageCtx;
use crate::web::error::AppError;
use crate::web::view::TicketRowHtml;
use crate::web::AppState;

/// Registers the pages: each page module registers its own.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(index)
        .configure(tickets::routes)
        .configure(projects::routes)
        .configure(audit::routes)
        .configure(profile::routes);
}

#[derive(Serialize)]
struct Me<'a> {
    username: &'a str,
    display_name: &'a str,
    is_admin: bool,
}

/// Renders `name` with the common context (catalogue, user, CSRF token).
pub fn render(ctx: &PageCtx, state: &AppState, name: &str, mut c: Context, status: StatusCode) -> HttpResponse {
    c.insert("t", state.i18n.get(ctx.lang));
    c.insert("lang", ctx.lang.code());
    c.insert("csrf", &ctx.csrf);
    c.insert("here", &ctx.here);
    c.insert("asset_v", super::assets::version());
    if let Some(u) = &ctx.viewer {
        c.insert(
            "me",
            &Me {
                username: &u.username,
                display_name: &u.display_name,
                is_admin: u.is_admin,
            },
        );
    }
    match state.tera.render(name, &c) {
        Ok(html) => ctx.finish(
            state,
            HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(html),
        ),
        Err(e) => {
            tracing::error!(template = name, error = ?e, "render failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error; see the server log")
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An error as a page (or a redirect to the login page).
pub fn error_page(ctx: &PageCtx, state: &AppState, err: AppError) -> HttpResponse {
    if let AppError::LoginRequired(next) = &err {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/login?next={}", urlencode(next))))
            .finish();
    }
    let (code, status) = err.code();
    let mut c = Context::new();
    c.insert("code", code);
    c.insert("status", &status.as_u16());
    c.insert(
        "message",
        &crate::web::error_text::page_text(&state.i18n, ctx.lang, &err),
    );
    render(ctx, state, "error.html", c, status)
}

/// Turns a handler result into a page.
pub fn page(ctx: &PageCtx, state: &AppState, result: Result<HttpResponse, AppError>) -> HttpResponse {
    result.unwrap_or_else(|e| error_page(ctx, state, e))
}

/// A 303 redirect after a form post.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish()
}

/// The 404 page.
pub async fn not_found(ctx: PageCtx, state: web::Data<AppState>, req: actix_web::HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return actix_web::ResponseError::error_response(&AppError::NotFound("no such endpoint".into()));
    }
    error_page(&ctx, &state, AppError::NotFound("no such page".into()))
}

#[get("/")]
async fn index(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        let work = state
            .db(move |conn| Ok(queries::my_work(conn, &reader, Utc::now())?))
            .await?;
        // At most 50 rows a section: the ticket list (filters) shows the rest.
        let conv = |v: Vec<TicketListRow>| v.into_iter().take(50).map(TicketRowHtml::from).collect::<Vec<_>>();
        let sections = vec![
            ("to_approve", conv(work.to_approve)),
            ("to_test", conv(work.to_test)),
            ("to_release", conv(work.to_release)),
            ("mine", conv(work.mine)),
            ("recent", conv(work.recent)),
        ];
        let mut c = Context::new();
        c.insert("sections", &sections);
        Ok(render(&ctx, &state, "index.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}
