//! Admin: "Test connection" of one host ([`crate::service::host_check`]):
//! its ssh host keys with SHA256 fingerprints and whether Slipway trusts
//! them, a "Trust this key" form per unknown key (CSRF-checked, audited),
//! and the outcome of an ssh login, rsync daemon listing or directory check.

use std::path::PathBuf;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::service::host_check::{self, TrustError};
use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, redirect, render};
use crate::web::AppState;

/// Registers the pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(check_page).service(trust);
}

#[derive(Serialize)]
struct KeyOut {
    key_type: String,
    fingerprint: String,
    status: &'static str,
    line: String,
}

#[derive(Serialize)]
struct ReachOut {
    ok: bool,
    command: String,
    output: Vec<String>,
}

#[derive(Deserialize)]
struct TrustForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    fingerprint: String,
}

fn known_hosts(state: &AppState) -> Result<PathBuf, AppError> {
    state
        .data_dir
        .as_deref()
        .map(host_check::known_hosts_file)
        .ok_or_else(|| AppError::Internal("no data directory: the known_hosts file is unknown".into()))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    web::block(f)
        .await
        .map_err(|e| AppError::Internal(format!("blocking task: {e}")))
}

async fn show(ctx: &PageCtx, state: &AppState, id: i64, trust_error: Option<String>) -> Result<HttpResponse, AppError> {
    let kh = known_hosts(state)?;
    let plan = state.db(move |conn| Ok(host_check::plan(conn, id)?)).await?;
    let kh_shown = kh.display().to_string();
    let check = blocking(move || host_check::run(plan, &kh)).await?;
    let keys: Vec<KeyOut> = check
        .keys
        .iter()
        .map(|k| KeyOut {
            key_type: k.key_type.clone(),
            fingerprint: k.fingerprint.clone(),
            status: k.status.as_str(),
            line: k.line.clone(),
        })
        .collect();
    let reach = check.reach.map(|r| ReachOut {
        ok: r.ok,
        command: r.command,
        output: r.output,
    });
    let p = &check.plan;
    let mut c = Context::new();
    c.insert("id", &id);
    c.insert("group", &p.group);
    c.insert("name", &p.name);
    c.insert("target", &p.target);
    c.insert("settings_from", &p.settings_from);
    c.insert("kind", check.kind);
    c.insert("known_hosts", &kh_shown);
    c.insert("keys", &keys);
    c.insert("scan_error", &check.scan_error);
    c.insert("target_error", &check.target_error);
    c.insert("reach", &reach);
    let status = if trust_error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    c.insert("trust_error", &trust_error);
    Ok(render(ctx, state, "admin_host_check.html", c, status))
}

#[get("/admin/hosts/{id}/check")]
async fn check_page(ctx: PageCtx, state: web::Data<AppState>, id: web::Path<i64>) -> HttpResponse {
    let r = async {
        ctx.admin()?;
        show(&ctx, &state, id.into_inner(), None).await
    }
    .await;
    page(&ctx, &state, r)
}

#[post("/admin/hosts/{id}/trust")]
async fn trust(
    ctx: PageCtx,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<TrustForm>,
) -> HttpResponse {
    let r = async {
        let actor = ctx.admin()?.id;
        ctx.check_csrf(&form.csrf)?;
        let id = id.into_inner();
        let kh = known_hosts(&state)?;
        let plan = state.db(move |conn| Ok(host_check::plan(conn, id)?)).await?;
        let fingerprint = form.fingerprint.clone();
        let plan_for_scan = plan.clone();
        let trusted = blocking(move || host_check::trust_key(&plan_for_scan, &kh, &fingerprint)).await?;
        match trusted {
            Ok((key, true)) => {
                state
                    .db(move |conn| Ok(host_check::record_trust(conn, actor, &plan, &key)?))
                    .await?;
                Ok(redirect(&format!("/admin/hosts/{id}/check")))
            }
            Ok((_, false)) => Ok(redirect(&format!("/admin/hosts/{id}/check"))),
            Err(TrustError::Refused(e)) => {
                let e = AppError::from(e);
                let message = crate::web::error_text::page_text(&state.i18n, ctx.lang, &e);
                show(&ctx, &state, id, Some(message)).await
            }
            Err(e @ TrustError::Write { .. }) => Err(AppError::Internal(e.to_string())),
        }
    }
    .await;
    page(&ctx, &state, r)
}
