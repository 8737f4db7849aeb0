//! Admin: host groups and hosts.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::service::admin as admin_service;
use crate::service::lookups;
use crate::web::extract::PageCtx;
use crate::web::render::{page, render};
use crate::web::AppState;

use super::{admin_action, CsrfOnly};

/// Registers the host pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(hosts_page)
        .service(add_group)
        .service(delete_group)
        .service(add_host)
        .service(delete_host);
}

#[derive(Serialize)]
struct GroupOut {
    id: i64,
    name: String,
    hosts: Vec<(i64, String, String)>,
}

#[derive(Debug, Default, Deserialize)]
struct HostForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    target: String,
}

#[get("/admin/hosts")]
async fn hosts_page(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        let groups: Vec<GroupOut> = state
            .db(|conn| {
                Ok(lookups::host_groups(conn)?
                    .into_iter()
                    .map(|(g, hs)| GroupOut {
                        id: g.id,
                        name: g.name,
                        hosts: hs.into_iter().map(|h| (h.id, h.name, h.target)).collect(),
                    })
                    .collect())
            })
            .await?;
        let mut c = Context::new();
        c.insert("groups", &groups);
        Ok(render(&ctx, &state, "admin_hosts.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/hosts/groups")]
async fn add_group(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<HostForm>) -> HttpResponse {
    let name = form.name.clone();
    admin_action(&ctx, &state, &form.csrf, "/admin/hosts", move |conn| {
        Ok(admin_service::add_host_group(conn, &name)?)
    })
    .await
}

#[post("/admin/hosts/groups/{id}/delete")]
async fn delete_group(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    let id = id.into_inner();
    admin_action(&ctx, &state, &form.csrf, "/admin/hosts", move |conn| {
        Ok(admin_service::delete_host_group(conn, id)?)
    })
    .await
}

#[post("/admin/hosts")]
async fn add_host(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<HostForm>) -> HttpResponse {
    let (g, n, t) = (form.group.clone(), form.name.clone(), form.target.clone());
    admin_action(&ctx, &state, &form.csrf, "/admin/hosts", move |conn| {
        Ok(admin_service::add_host(conn, &g, &n, &t)?)
    })
    .await
}

#[post("/admin/hosts/{id}/delete")]
async fn delete_host(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    let id = id.into_inner();
    admin_action(&ctx, &state, &form.csrf, "/admin/hosts", move |conn| {
        Ok(admin_service::delete_host(conn, id)?)
    })
    .await
}
