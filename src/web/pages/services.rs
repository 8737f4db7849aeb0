//! The services page of a project (each host × service with state, pid and
//! uptime; refresh, start, stop, restart and log requests) and the page of
//! one request's job, which reloads itself while the job runs.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use tera::Context;

use crate::service::services::{self, ServiceRequest};
use crate::service::where_runs;

use crate::web::error::AppError;
use crate::web::extract::PageCtx;
use crate::web::render::{page, redirect, render};
use crate::web::view::services::{ServiceJobOut, ServicesOut};
use crate::web::AppState;

/// Registers these pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(services_page)
        .service(service_request)
        .service(job_page)
        .service(refresh_where)
        .service(verify_hosts);
}

#[get("/projects/{name}/services")]
async fn services_page(ctx: PageCtx, state: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        let name = name.into_inner();
        let out = state
            .db(move |conn| Ok(ServicesOut::from(services::services_page(conn, &reader, &name)?)))
            .await?;
        let mut c = Context::new();
        c.insert("s", &out);
        Ok(render(&ctx, &state, "services.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    op: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    host: String,
    #[serde(default)]
    batch_size: String,
    #[serde(default)]
    pause_secs: String,
    #[serde(default)]
    lines: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: Option<String>,
}

fn number<T: std::str::FromStr + Default>(field: &str, v: &str) -> Result<T, AppError> {
    match v.trim() {
        "" => Ok(T::default()),
        v => v.parse().map_err(|_| AppError::bad(field, "must be a whole number")),
    }
}

#[post("/projects/{name}/services")]
async fn service_request(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: web::Form<RequestForm>,
) -> HttpResponse {
    let r = async {
        let user = ctx.user()?.clone();
        ctx.check_csrf(&form.csrf)?;
        let lines: usize = number("lines", &form.lines)?;
        let req = ServiceRequest {
            op: form.op.clone(),
            service: Some(form.service.clone()).filter(|s| !s.trim().is_empty()),
            host: Some(form.host.clone()).filter(|s| !s.trim().is_empty()),
            batch_size: number("batch_size", &form.batch_size)?,
            pause_secs: number("pause_secs", &form.pause_secs)?,
            lines: (lines > 0).then_some(lines),
            reason: form.reason.clone(),
            confirm: form.confirm.is_some(),
        };
        let name = name.into_inner();
        let reader = state.reader(user);
        let to = name.clone();
        let job_id = state
            .db_then_wake(move |conn| Ok(services::request(conn, &reader, &name, &req, Utc::now().naive_utc())?))
            .await?;
        Ok(redirect(&format!("/projects/{to}/services/jobs/{job_id}")))
    }
    .await;
    page(&ctx, &state, r)
}

#[get("/projects/{name}/services/jobs/{id}")]
async fn job_page(ctx: PageCtx, state: web::Data<AppState>, path: web::Path<(String, i64)>) -> HttpResponse {
    let r = async {
        let reader = state.reader(ctx.user()?.clone());
        let (name, id) = path.into_inner();
        let project = name.clone();
        let out = state
            .db(move |conn| Ok(ServiceJobOut::from(services::job(conn, &reader, &name, id)?)))
            .await?;
        let mut c = Context::new();
        c.insert("project", &project);
        c.insert("job", &out);
        Ok(render(&ctx, &state, "service_job.html", c, StatusCode::OK))
    }
    .await;
    page(&ctx, &state, r)
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The project page's "refresh" of what runs where: a job, then its page.
#[post("/projects/{name}/where/refresh")]
async fn refresh_where(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    host_job(ctx, state, name.into_inner(), &form.csrf, where_runs::refresh).await
}

/// The project page's "verify" button (drift): a job, then its page.
#[post("/projects/{name}/verify")]
async fn verify_hosts(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    host_job(ctx, state, name.into_inner(), &form.csrf, where_runs::verify).await
}

type Enqueue = fn(
    &mut crate::service::DbConn,
    &crate::service::Reader,
    &str,
    chrono::NaiveDateTime,
) -> crate::service::ServiceResult<i64>;

async fn host_job(
    ctx: PageCtx,
    state: web::Data<AppState>,
    name: String,
    csrf: &str,
    enqueue: Enqueue,
) -> HttpResponse {
    let r = async {
        let user = ctx.user()?.clone();
        ctx.check_csrf(csrf)?;
        let (reader, to) = (state.reader(user), name.clone());
        let job_id = state
            .db_then_wake(move |conn| Ok(enqueue(conn, &reader, &name, Utc::now().naive_utc())?))
            .await?;
        Ok(redirect(&format!("/projects/{to}/services/jobs/{job_id}")))
    }
    .await;
    page(&ctx, &state, r)
}
