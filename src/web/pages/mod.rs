//! Server-rendered pages (tera, autoescaped): my work, ticket list, new
//! ticket, ticket page with its actions, project page with rollbacks, audit
//! log with CSV export, profile (API tokens, language). Every form carries
//! the CSRF token; every change goes through the service layer.

mod audit;
mod profile;
mod projects;
mod schedule;
mod services;
mod tickets;

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use chrono::Utc;
use tera::Context;

use crate::service::my_work;
use crate::service::rows::TicketListRow;

use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{error_page, page, render};
use crate::web::view::table_of;
use crate::web::AppState;

/// Registers the pages: each page module registers its own.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(index)
        .configure(tickets::routes)
        .configure(schedule::routes)
        .configure(projects::routes)
        .configure(services::routes)
        .configure(audit::routes)
        .configure(profile::routes);
}

/// The 404 page.
pub async fn not_found(ctx: PageCtx, state: web::Data<AppState>, req: actix_web::HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return actix_web::ResponseError::error_response(&AppError::NotFound("no such endpoint".into()));
    }
    error_page(&ctx, &state, AppError::NotFound("no such page".into()))
}

/// One section of "my work": its catalogue key, how many tickets it lists
/// (at most [`my_work::SECTION_MAX`]; the ticket list shows the rest) and
/// their table.
#[derive(serde::Serialize)]
struct Section {
    key: &'static str,
    count: usize,
    table: String,
}

#[get("/")]
async fn index(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        let (work, times) = state
            .db(move |conn| {
                let work = my_work::my_work(conn, &reader, Utc::now())?;
                let ids: Vec<i64> = work.to_release.iter().chain(&work.mine).map(|r| r.id).collect();
                let times = crate::service::schedules::pending_times(conn, &ids)?;
                Ok((work, times))
            })
            .await?;
        let catalogue = state.i18n.get(ctx.lang);
        let section = |key: &'static str, rows: Vec<TicketListRow>| Section {
            key,
            count: rows.len(),
            table: table_of(rows, &times, catalogue),
        };
        let sections = [
            section("to_approve", work.to_approve),
            section("to_test", work.to_test),
            section("to_release", work.to_release),
            section("mine", work.mine),
            section("recent", work.recent),
        ];
        let mut c = Context::new();
        c.insert("sections", &sections);
        Ok(render(&ctx, &state, "index.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}
