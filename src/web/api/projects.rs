//! Projects (list, read; create, replace and delete for admins) and rollback
//! requests.

use actix_web::{delete, get, post, put, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::service::admin::{self, ProjectSettings};
use crate::service::{lookups, project_page, reads, requests};

use crate::web::error::{AppError, ErrorBody};
use crate::web::extract::ApiUser;
use crate::web::view::{self, ProjectOut, TicketDetail};
use crate::web::AppState;

use super::{hide_unless_visible, json_body, require_admin};

/// Registers the project endpoints.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_projects)
        .service(create_project)
        .service(get_project)
        .service(update_project)
        .service(delete_project)
        .service(request_rollback);
}

/// Lists every project.
#[utoipa::path(get, path = "/api/v1/projects", responses((status = 200, body = [ProjectOut]), (status = 401, body = ErrorBody)))]
#[get("/projects")]
pub(super) async fn list_projects(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, AppError> {
    let reader = state.reader(user.0);
    let projects = state
        .db(move |conn| {
            reads::project_names(conn, &reader)?
                .iter()
                .map(|n| Ok(view::ProjectOut::from(lookups::project_facts(conn, n)?)))
                .collect::<Result<Vec<_>, AppError>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(projects))
}

/// Creates a project (admins).
#[utoipa::path(post, path = "/api/v1/projects", request_body = ProjectSettings,
    responses((status = 201, body = ProjectOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/projects")]
pub(super) async fn create_project(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    let settings: ProjectSettings = json_body(&body, false)?;
    let out = state
        .db(move |conn| {
            admin::create_project(conn, &settings)?;
            Ok(view::ProjectOut::from(lookups::project_facts(conn, &settings.name)?))
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{name}", params(("name" = String, Path, description = "project name")),
    responses((status = 200, body = ProjectOut), (status = 404, body = ErrorBody)))]
#[get("/projects/{name}")]
pub(super) async fn get_project(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let reader = state.reader(user.0);
    let out = state
        .db(move |conn| {
            Ok(view::ProjectOut::from(project_page::visible_project(
                conn, &reader, &name,
            )?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Replaces a project's settings, members, host groups and freeze windows (admins).
#[utoipa::path(put, path = "/api/v1/projects/{name}", params(("name" = String, Path, description = "project name")), request_body = ProjectSettings,
    responses((status = 200, body = ProjectOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/projects/{name}")]
pub(super) async fn update_project(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    hide_unless_visible(&state, &user.0, &name).await?;
    require_admin(&user.0)?;
    let settings: ProjectSettings = json_body(&body, false)?;
    let out = state
        .db(move |conn| {
            admin::update_project(conn, &name, &settings)?;
            Ok(view::ProjectOut::from(lookups::project_facts(conn, &name)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Deletes a project that has no tickets (admins).
#[utoipa::path(delete, path = "/api/v1/projects/{name}", params(("name" = String, Path, description = "project name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/projects/{name}")]
pub(super) async fn delete_project(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    hide_unless_visible(&state, &user.0, &name).await?;
    require_admin(&user.0)?;
    state.db(move |conn| Ok(admin::delete_project(conn, &name)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/projects/{name}/rollbacks` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The released version number to go back to.
    pub version: i64,
    /// Why.
    pub reason: String,
}

/// Requests a rollback to a released version; advance it with the actions endpoint (approve, execute).
#[utoipa::path(post, path = "/api/v1/projects/{name}/rollbacks", params(("name" = String, Path, description = "project name")), request_body = RollbackBody,
    responses((status = 201, body = TicketDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/projects/{name}/rollbacks")]
pub(super) async fn request_rollback(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let input: RollbackBody = json_body(&body, false)?;
    let name = name.into_inner();
    let reader = state.reader(user.0);
    let out = state
        .db_then_wake(move |conn| {
            let view = requests::request_rollback(conn, &reader, &name, input.version, &input.reason, Utc::now())?;
            Ok(TicketDetail::from(view))
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}
