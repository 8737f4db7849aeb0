//! The project page (released versions, hosts) and rollback requests.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::service::project_page::{self as project_reads, ReleasedVersion};
use crate::service::requests;

use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, redirect, render};
use crate::web::view::services::HostRunsOut;
use crate::web::view::{self, ts, TicketSummary};
use crate::web::AppState;

/// Registers these pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(project_page).service(rollback);
}

#[derive(Serialize)]
struct Released {
    ticket: TicketSummary,
    tag: String,
    approvers: Vec<String>,
    shipped_at: Option<String>,
    can_roll_back: bool,
}

impl From<ReleasedVersion> for Released {
    fn from(r: ReleasedVersion) -> Self {
        Self {
            ticket: TicketSummary::from(r.ticket),
            tag: r.tag,
            approvers: r.approvers,
            shipped_at: r.shipped_at.map(ts),
            can_roll_back: r.can_roll_back,
        }
    }
}

#[get("/projects/{name}")]
async fn project_page(ctx: PageCtx, state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        let name = name.into_inner();
        let (page_data, runs) = state
            .db(move |conn| {
                let runs: Vec<HostRunsOut> = crate::service::where_runs::what_runs_where(conn, &reader, &name)?
                    .into_iter()
                    .map(HostRunsOut::from)
                    .collect();
                Ok((project_reads::project_page(conn, &reader, &name, 100)?, runs))
            })
            .await?;
        let project = view::ProjectOut::from(page_data.facts);
        let released: Vec<Released> = page_data.released.into_iter().map(Released::from).collect();
        let (may_request, hosts) = (page_data.may_request, page_data.hosts);
        let mut c = Context::new();
        c.insert("p", &project);
        c.insert("released", &released);
        c.insert("may_request", &may_request);
        c.insert("hosts", &hosts);
        c.insert("runs", &runs);
        Ok(render(&ctx, &state, "project.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

#[derive(Deserialize)]
struct RollbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    reason: String,
}

#[post("/projects/{name}/rollback")]
async fn rollback(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: web::Form<RollbackForm>,
) -> HttpResponse {
    let r = async {
        let user = ctx.user()?.clone();
        ctx.check_csrf(&form.csrf)?;
        let version: i64 = form
            .version
            .trim()
            .parse()
            .map_err(|_| AppError::bad("version", "must be a version number"))?;
        let (name, reason) = (name.into_inner(), form.reason.clone());
        let reader = state.reader(user.clone());
        let filed = state
            .db_then_wake(move |conn| {
                Ok(requests::request_rollback(
                    conn,
                    &reader,
                    &name,
                    version,
                    &reason,
                    Utc::now(),
                )?)
            })
            .await?;
        Ok(redirect(&format!("/tickets/{}", filed.ticket.id)))
    }
    .await;
    page(&ctx, &state, r)
}
