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
use crate::web::view::TicketRowHtml;
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
        // At most 50 rows a section: the ticket list (filters) shows the rest.
        let conv = |v: Vec<TicketListRow>| {
            let mut rows = v
                .into_iter()
                .take(my_work::SECTION_MAX)
                .map(TicketRowHtml::from)
                .collect::<Vec<_>>();
            crate::web::view::with_schedules(&mut rows, &times);
            crate::web::view::with_state_labels(&mut rows, state.i18n.get(ctx.lang));
            rows
        };
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
