//! Rendering helpers shared by every page: a tera template with the common
//! context, the error page (or the redirect to sign in), and the 303 after a
//! form post.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use serde::Serialize;
use tera::Context;

use super::error::AppError;
use super::extract::PageCtx;
use super::AppState;

#[derive(Serialize)]
struct Me<'a> {
    username: &'a str,
    display_name: &'a str,
    is_admin: bool,
}

/// Renders `name` with the common context (catalogue, user, CSRF token).
pub fn render(ctx: &PageCtx, state: &AppState, name: &str, mut c: Context, status: StatusCode) -> HttpResponse {
    let text = state.page_text.get(name, ctx.lang);
    c.insert("t", text.unwrap_or_else(|| state.i18n.get(ctx.lang)));
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
