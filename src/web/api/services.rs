//! A project's services: their state on each host, requests (refresh,
//! start, stop, restart, log) run as jobs, and a request's job with its output.

use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use crate::service::services::{self, ServiceRequest};
use crate::service::where_runs;

use crate::web::error::{AppError, ErrorBody};
use crate::web::extract::ApiUser;
use crate::web::view::services::{HostRunsOut, ServiceJobOut, ServicesOut};
use crate::web::AppState;

use super::{hide_unless_visible, json_body};

/// Registers the service endpoints.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_services)
        .service(post_request)
        .service(get_job)
        .service(get_where)
        .service(refresh_where)
        .service(verify);
}

/// The answer to a request: its job (follow it at `GET …/services/jobs/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceRequestOut {
    /// The job doing the request.
    pub job_id: i64,
}

/// The project's services and their last state on each host.
#[utoipa::path(get, path = "/api/v1/projects/{name}/services", params(("name" = String, Path, description = "project name")),
    responses((status = 200, body = ServicesOut), (status = 404, body = ErrorBody)))]
#[get("/projects/{name}/services")]
pub(super) async fn get_services(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (name, reader) = (name.into_inner(), state.reader(user.0));
    let out = state
        .db(move |conn| Ok(ServicesOut::from(services::services_page(conn, &reader, &name)?)))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Refreshes the states (`status`), starts, stops or restarts a service on
/// one host, every host of its group, or in batches, or reads the end of
/// its log (`log`): a job (202). Start, stop and restart need the project's
/// `service_actions` role; stopping or restarting every host needs `reason` and `confirm`.
#[utoipa::path(post, path = "/api/v1/projects/{name}/services/requests", params(("name" = String, Path, description = "project name")),
    request_body = ServiceRequest,
    responses((status = 202, body = ServiceRequestOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/projects/{name}/services/requests")]
pub(super) async fn post_request(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    // An invisible project is "not found" whatever the body says.
    hide_unless_visible(&state, &user.0, &name).await?;
    let req: ServiceRequest = json_body(&body, false)?;
    let reader = state.reader(user.0);
    let job_id = state
        .db_then_wake(move |conn| Ok(services::request(conn, &reader, &name, &req, Utc::now().naive_utc())?))
        .await?;
    Ok(HttpResponse::Accepted().json(ServiceRequestOut { job_id }))
}

/// A service request's job: its state and output so far.
#[utoipa::path(get, path = "/api/v1/projects/{name}/services/jobs/{id}",
    params(("name" = String, Path, description = "project name"), ("id" = i64, Path, description = "job id")),
    responses((status = 200, body = ServiceJobOut), (status = 404, body = ErrorBody)))]
#[get("/projects/{name}/services/jobs/{id}")]
pub(super) async fn get_job(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, AppError> {
    let ((name, id), reader) = (path.into_inner(), state.reader(user.0));
    let out = state
        .db(move |conn| Ok(ServiceJobOut::from(services::job(conn, &reader, &name, id)?)))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// What runs where: each host's release as last read from its `current`,
/// the ticket and approvers of that release, and flags when it differs from
/// what Slipway recorded or from the other hosts of its group.
#[utoipa::path(get, path = "/api/v1/projects/{name}/where", params(("name" = String, Path, description = "project name")),
    responses((status = 200, body = [HostRunsOut]), (status = 404, body = ErrorBody)))]
#[get("/projects/{name}/where")]
pub(super) async fn get_where(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (name, reader) = (name.into_inner(), state.reader(user.0));
    let out: Vec<HostRunsOut> = state
        .db(move |conn| {
            Ok(where_runs::what_runs_where(conn, &reader, &name)?
                .into_iter()
                .map(HostRunsOut::from)
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Reads `current` on every host of the project again: a job (202).
#[utoipa::path(post, path = "/api/v1/projects/{name}/where/refresh", params(("name" = String, Path, description = "project name")),
    responses((status = 202, body = ServiceRequestOut), (status = 404, body = ErrorBody)))]
#[post("/projects/{name}/where/refresh")]
pub(super) async fn refresh_where(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    enqueue(state, user, name, where_runs::refresh).await
}

/// Checks every host's live tree against the release recorded on it
/// (drift: files changed, missing, added; shown in `…/where`): a job (202).
#[utoipa::path(post, path = "/api/v1/projects/{name}/verify", params(("name" = String, Path, description = "project name")),
    responses((status = 202, body = ServiceRequestOut), (status = 404, body = ErrorBody)))]
#[post("/projects/{name}/verify")]
pub(super) async fn verify(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    enqueue(state, user, name, where_runs::verify).await
}

/// Enqueues the project's job that `start` makes, waking the workers: a
/// 202 naming the job.
async fn enqueue(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
    start: where_runs::Enqueue,
) -> Result<HttpResponse, AppError> {
    let (name, reader) = (name.into_inner(), state.reader(user.0));
    let job_id = state
        .db_then_wake(move |conn| Ok(start(conn, &reader, &name, Utc::now().naive_utc())?))
        .await?;
    Ok(HttpResponse::Accepted().json(ServiceRequestOut { job_id }))
}
