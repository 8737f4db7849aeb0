//! The project page (released versions, hosts) and rollback requests.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::service::lookups;
use crate::service::reads;
use crate::service::tickets::{self as ticket_service, ActorRef};

use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, redirect, render};
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

#[get("/projects/{name}")]
async fn project_page(ctx: PageCtx, state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    let r = async {
        let user = ctx.user()?.clone();
        let reader = state.reader(user.clone());
        let name = name.into_inner();
        let (project, released, may_request, hosts) = state
            .db(move |conn| {
                let row = reader.project(conn, &name)?;
                let project = view::ProjectOut::from(lookups::project_facts(conn, &name)?);
                let format = crate::domain::VersionFormat::parse(&row.version_format).unwrap_or_default();
                let lookups::ReleaseHistory {
                    released: rows,
                    shipped_at: shipped,
                    approvers,
                } = lookups::release_history(conn, row.id, 100)?;
                let roles = lookups::roles_in_project(conn, user.id, row.id)?;
                let may_request = roles.iter().any(|r| r == "developer" || r == "lead");
                let released: Vec<Released> = rows
                    .into_iter()
                    .map(|r| {
                        let v = r.version.unwrap_or_default();
                        Released {
                            tag: format.render(v),
                            approvers: {
                                let mut a: Vec<String> = approvers
                                    .iter()
                                    .filter(|(t, _, _)| *t == r.id)
                                    .map(|(_, u, _)| u.clone())
                                    .collect();
                                a.dedup();
                                a
                            },
                            shipped_at: shipped
                                .iter()
                                .filter(|(t, _)| *t == r.id)
                                .map(|(_, at)| ts(*at))
                                .next_back(),
                            can_roll_back: row.production_version.is_some_and(|p| v < p),
                            ticket: TicketSummary::from(r),
                        }
                    })
                    .collect();
                let hosts = lookups::hosts_of(conn, row.id)?
                    .into_iter()
                    .map(|(g, h)| (g, h.name, h.target))
                    .collect::<Vec<_>>();
                Ok((project, released, may_request, hosts))
            })
            .await?;
        let mut c = Context::new();
        c.insert("p", &project);
        c.insert("released", &released);
        c.insert("may_request", &may_request);
        c.insert("hosts", &hosts);
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
        let applied = state
            .db_then_wake(move |conn| {
                reads::guard_project_name(conn, &reader, &name)?;
                Ok(ticket_service::request_rollback(
                    conn,
                    ActorRef::User(user.id),
                    &name,
                    version,
                    &reason,
                    Utc::now(),
                )?)
            })
            .await?;
        Ok(redirect(&format!("/tickets/{}", applied.ticket.id)))
    }
    .await;
    page(&ctx, &state, r)
}
