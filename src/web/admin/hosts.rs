//! Admin: host groups and hosts (list, add, rename or retarget). A refused
//! form comes back with the error beside its field and the input kept;
//! deleting asks first ([`super::confirm`]); every change is audited by the
//! service ([`crate::service::host_admin`]).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::service::host_admin;
use crate::service::lookups;
use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, redirect, render};
use crate::web::AppState;

use super::field_error;

/// Registers the host pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(hosts_page)
        .service(add_group)
        .service(rename_group)
        .service(set_relay)
        .service(add_host)
        .service(edit_host_page)
        .service(edit_host);
}

#[derive(Serialize)]
struct HostOut {
    id: i64,
    name: String,
    target: String,
}

#[derive(Serialize)]
struct GroupOut {
    id: i64,
    name: String,
    /// The group's relay (empty fields: none).
    relay: host_admin::RelayInput,
    hosts: Vec<HostOut>,
}

/// A refused form shown again: which form, what was typed, what is wrong.
#[derive(Debug, Default, Serialize)]
struct Failed {
    /// `group` (new group), `group:<id>` (rename), `host:<group name>` (new host).
    form: String,
    /// The fields as typed.
    values: BTreeMap<String, String>,
    /// Field → message.
    errors: BTreeMap<String, String>,
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
    #[serde(default)]
    relay: String,
    #[serde(default)]
    relay_port: String,
    #[serde(default)]
    relay_identity: String,
    #[serde(default)]
    relay_known_hosts: String,
}

impl HostForm {
    fn failed(&self, form: String, field: String, message: String) -> Failed {
        let values = [
            ("name", &self.name),
            ("target", &self.target),
            ("relay", &self.relay),
            ("relay_port", &self.relay_port),
            ("relay_identity", &self.relay_identity),
            ("relay_known_hosts", &self.relay_known_hosts),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
        Failed {
            form,
            values,
            errors: BTreeMap::from([(field, message)]),
        }
    }
}

async fn show_hosts(
    ctx: &PageCtx,
    state: &AppState,
    failed: Option<Failed>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let groups: Vec<GroupOut> = state
        .db(|conn| {
            Ok(lookups::host_groups(conn)?
                .into_iter()
                .map(|(g, hs)| GroupOut {
                    id: g.id,
                    relay: host_admin::relay_input(&g),
                    name: g.name,
                    hosts: hs
                        .into_iter()
                        .map(|h| HostOut {
                            id: h.id,
                            name: h.name,
                            target: h.target,
                        })
                        .collect(),
                })
                .collect())
        })
        .await?;
    let mut c = Context::new();
    c.insert("groups", &groups);
    c.insert("failed", &failed.unwrap_or_default());
    Ok(render(ctx, state, "admin_hosts.html", c, status))
}

#[get("/admin/hosts")]
async fn hosts_page(ctx: PageCtx, state: web::Data<AppState>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        show_hosts(&ctx, &state, None, StatusCode::OK).await
    }
    .await;
    page(&ctx, &state, r)
}

/// Runs a host form's change; a refusal shows the hosts page again with the
/// error beside its field (`form` names the form).
async fn host_change<F>(ctx: &PageCtx, state: &AppState, form: &HostForm, which: String, work: F) -> HttpResponse
where
    F: FnOnce(&mut crate::service::DbConn, i64) -> Result<(), AppError> + Send + 'static,
{
    let r = async {
        let actor = ctx.admin()?.id;
        ctx.check_csrf(&form.csrf)?;
        match state.db(move |conn| work(conn, actor)).await {
            Ok(()) => Ok(redirect("/admin/hosts")),
            Err(e) => match field_error(ctx, state, &e) {
                Some((field, message)) => {
                    let failed = form.failed(which, field, message);
                    show_hosts(ctx, state, Some(failed), e.code().1).await
                }
                None => Err(e),
            },
        }
    }
    .await;
    page(ctx, state, r)
}

#[post("/admin/hosts/groups")]
async fn add_group(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<HostForm>) -> HttpResponse {
    let name = form.name.clone();
    host_change(&ctx, &state, &form, "group".into(), move |conn, actor| {
        host_admin::add_host_group(conn, actor, &name)?;
        Ok(())
    })
    .await
}

#[post("/admin/hosts/groups/{id}")]
async fn rename_group(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<HostForm>,
) -> HttpResponse {
    let (id, name) = (id.into_inner(), form.name.clone());
    host_change(&ctx, &state, &form, format!("group:{id}"), move |conn, actor| {
        Ok(host_admin::rename_host_group(conn, actor, id, &name)?)
    })
    .await
}

/// Sets or clears a group's relay (an empty relay field clears it).
#[post("/admin/hosts/groups/{id}/relay")]
async fn set_relay(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<HostForm>,
) -> HttpResponse {
    let id = id.into_inner();
    let input = host_admin::RelayInput {
        target: form.relay.clone(),
        port: form.relay_port.clone(),
        identity: form.relay_identity.clone(),
        known_hosts: form.relay_known_hosts.clone(),
    };
    host_change(&ctx, &state, &form, format!("relay:{id}"), move |conn, actor| {
        Ok(host_admin::set_group_relay(conn, actor, id, &input)?)
    })
    .await
}

#[post("/admin/hosts")]
async fn add_host(ctx: PageCtx, state: web::Data<AppState>, form: web::Form<HostForm>) -> HttpResponse {
    let (g, n, t) = (form.group.clone(), form.name.clone(), form.target.clone());
    host_change(&ctx, &state, &form, format!("host:{g}"), move |conn, actor| {
        Ok(host_admin::add_host(conn, actor, &g, &n, &t)?)
    })
    .await
}

fn show_edit(
    ctx: &PageCtx,
    state: &AppState,
    id: i64,
    group: &str,
    failed: Failed,
    status: StatusCode,
) -> HttpResponse {
    let mut c = Context::new();
    c.insert("id", &id);
    c.insert("group", group);
    c.insert("failed", &failed);
    render(ctx, state, "admin_host_edit.html", c, status)
}

#[get("/admin/hosts/{id}/edit")]
async fn edit_host_page(ctx: PageCtx, state: web::Data<AppState>, id: web::Path<i64>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        let id = id.into_inner();
        let (group, name, target) = state.db(move |conn| Ok(host_admin::host(conn, id)?)).await?;
        let form = HostForm {
            name,
            target,
            ..HostForm::default()
        };
        let mut failed = form.failed(String::new(), String::new(), String::new());
        failed.errors.clear();
        Ok(show_edit(&ctx, &state, id, &group, failed, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/hosts/{id}/edit")]
async fn edit_host(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<HostForm>,
) -> HttpResponse {
    let r = async {
        let actor = ctx.admin()?.id;
        ctx.check_csrf(&form.csrf)?;
        let id = id.into_inner();
        let (n, t) = (form.name.clone(), form.target.clone());
        match state
            .db(move |conn| Ok(host_admin::update_host(conn, actor, id, &n, &t)?))
            .await
        {
            Ok(()) => Ok(redirect("/admin/hosts")),
            Err(e) => match field_error(&ctx, &state, &e) {
                Some((field, message)) => {
                    let group = state.db(move |conn| Ok(host_admin::host(conn, id)?.0)).await?;
                    let failed = form.failed(String::new(), field, message);
                    Ok(show_edit(&ctx, &state, id, &group, failed, e.code().1))
                }
                None => Err(e),
            },
        }
    }
    .await;
    page(&ctx, &state, r)
}
