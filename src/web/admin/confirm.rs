//! Admin: deleting a host, a host group or a project asks first. `GET …/delete` shows
//! what goes (a group takes its hosts with it); only a `POST` carrying the
//! CSRF token and `confirm=yes` deletes. A post without `confirm` shows the
//! question again and deletes nothing. Works without JavaScript.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::service::{admin as admin_service, host_admin, lookups};
use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, redirect, render};
use crate::web::AppState;

/// Registers the confirmation pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(ask_host)
        .service(delete_host)
        .service(ask_group)
        .service(delete_group)
        .service(ask_project)
        .service(delete_project);
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// What the question names.
#[derive(Serialize)]
struct Question {
    /// `host`, `group` or `project`.
    kind: &'static str,
    /// `group/host` or the group's name.
    subject: String,
    /// The host's target, or the group's hosts.
    details: Vec<String>,
    /// Where the form posts.
    action: String,
    /// Where "cancel" goes.
    back: &'static str,
}

fn ask(ctx: &PageCtx, state: &AppState, q: &Question) -> HttpResponse {
    let mut c = Context::new();
    c.insert("q", q);
    render(ctx, state, "admin_confirm.html", c, StatusCode::OK)
}

async fn host_question(state: &AppState, id: i64) -> Result<Question, AppError> {
    let (group, name, target) = state.db(move |conn| Ok(host_admin::host(conn, id)?)).await?;
    Ok(Question {
        kind: "host",
        subject: format!("{group}/{name}"),
        details: vec![target],
        action: format!("/admin/hosts/{id}/delete"),
        back: "/admin/hosts",
    })
}

async fn group_question(state: &AppState, id: i64) -> Result<Question, AppError> {
    state
        .db(move |conn| {
            let name = host_admin::host_group(conn, id)?;
            let hosts = lookups::host_groups(conn)?
                .into_iter()
                .find(|(g, _)| g.id == id)
                .map(|(_, hs)| hs.into_iter().map(|h| format!("{} ({})", h.name, h.target)).collect())
                .unwrap_or_default();
            Ok(Question {
                kind: "group",
                subject: name,
                details: hosts,
                action: format!("/admin/hosts/groups/{id}/delete"),
                back: "/admin/hosts",
            })
        })
        .await
}

#[get("/admin/hosts/{id}/delete")]
async fn ask_host(ctx: PageCtx, state: web::Data<AppState>, id: web::Path<i64>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        Ok(ask(&ctx, &state, &host_question(&state, id.into_inner()).await?))
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/hosts/{id}/delete")]
async fn delete_host(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let r = async {
        let actor = ctx.admin()?.id;
        ctx.check_csrf(&form.csrf)?;
        let id = id.into_inner();
        if form.confirm != "yes" {
            return Ok(ask(&ctx, &state, &host_question(&state, id).await?));
        }
        state
            .db(move |conn| Ok(host_admin::delete_host(conn, actor, id)?))
            .await?;
        Ok(redirect("/admin/hosts"))
    }
    .await;
    page(&ctx, &state, r)
}

#[get("/admin/hosts/groups/{id}/delete")]
async fn ask_group(ctx: PageCtx, state: web::Data<AppState>, id: web::Path<i64>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        Ok(ask(&ctx, &state, &group_question(&state, id.into_inner()).await?))
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/hosts/groups/{id}/delete")]
async fn delete_group(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let r = async {
        let actor = ctx.admin()?.id;
        ctx.check_csrf(&form.csrf)?;
        let id = id.into_inner();
        if form.confirm != "yes" {
            return Ok(ask(&ctx, &state, &group_question(&state, id).await?));
        }
        state
            .db(move |conn| Ok(host_admin::delete_host_group(conn, actor, id)?))
            .await?;
        Ok(redirect("/admin/hosts"))
    }
    .await;
    page(&ctx, &state, r)
}

fn project_question(name: &str) -> Question {
    Question {
        kind: "project",
        subject: name.to_owned(),
        details: Vec::new(),
        action: format!("/admin/projects/{}/delete", crate::web::render::urlencode(name)),
        back: "/admin/projects",
    }
}

#[get("/admin/projects/{name}/delete")]
async fn ask_project(ctx: PageCtx, state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        Ok(ask(&ctx, &state, &project_question(&name)))
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/projects/{name}/delete")]
async fn delete_project(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        ctx.check_csrf(&form.csrf)?;
        let name = name.into_inner();
        if form.confirm != "yes" {
            return Ok(ask(&ctx, &state, &project_question(&name)));
        }
        state
            .db(move |conn| Ok(admin_service::delete_project(conn, &name)?))
            .await?;
        Ok(redirect("/admin/projects"))
    }
    .await;
    page(&ctx, &state, r)
}
