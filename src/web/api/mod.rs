//! The JSON API under `/api/v1`: the same service calls as the pages, with
//! bearer tokens. Errors are `{"error": {"code", "message", "field"?}}`.
//! The OpenAPI document (`/api/v1/openapi.json`) is generated from the
//! annotations on these handlers.

//!
//! Each resource's file registers its handlers: [`auth`] (tokens),
//! [`projects`] (projects and rollbacks), [`services`] (services on the
//! hosts), [`tickets`]; job logs are served
//! by [`super::live`].

pub mod auth;
pub mod host_groups;
pub mod me;
pub mod projects;
pub mod schedules;
pub mod services;
pub mod tickets;

use actix_web::{get, web, HttpResponse};
use utoipa::OpenApi;

use crate::service::admin::ProjectSettings;
use crate::service::reads;
use crate::service::rows::UserRow;

use super::error::{AppError, ErrorBody};
use super::input::ActionBody;
use super::view::{ProjectOut, TicketDetail, TicketSummary};
use super::AppState;
use auth::{TokenRequest, TokenResponse};
use projects::RollbackBody;
use tickets::{NewTicket, TicketPage};

/// Registers the API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .service(openapi_json)
            .configure(auth::routes)
            .configure(me::routes)
            .configure(host_groups::routes)
            .configure(projects::routes)
            .configure(services::routes)
            .configure(tickets::routes)
            .configure(schedules::routes)
            .service(super::live::api_log)
            .service(super::live::api_log_stream),
    );
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Slipway API", version = "1", description = "Release approval: tickets, actions, projects. Authenticate with `Authorization: Bearer <token>` (from POST /api/v1/auth/token or a personal API token)."),
    paths(
        auth::create_token, projects::list_projects, projects::create_project, projects::get_project,
        projects::update_project, projects::delete_project, projects::request_rollback,
        tickets::list_tickets, tickets::create_ticket, tickets::get_ticket, tickets::act,
        schedules::create_schedule, schedules::change_schedule, schedules::cancel_schedule,
        super::live::api_log, super::live::api_log_stream, me::get_chat, me::put_chat,
        services::get_services, services::post_request, services::get_job,
        services::get_where, services::refresh_where, services::verify,
        host_groups::list_host_groups, host_groups::put_relay
    ),
    components(schemas(
        ErrorBody, TokenRequest, TokenResponse, ProjectOut, ProjectSettings, crate::service::admin::FreezeSetting,
        crate::service::settings::MaintenanceSetting, super::view::ScheduleOut, schedules::ScheduleBody,
        TicketSummary, TicketPage, TicketDetail, crate::service::changes::ProductionChanges, crate::service::changes::FileChange, crate::service::outside::OutsidePath, NewTicket, ActionBody, RollbackBody, super::live::LogPage,
        super::live::LogLineOut, super::view::RecoveryOut, super::view::HostOut, super::view::StepOut,
        crate::service::chat_identity::ChatIdentity,
        crate::deploy::ServiceSpec, crate::deploy::Manager, crate::deploy::service_spec::CustomCommands,
        crate::service::services::ServiceRequest, services::ServiceRequestOut,
        super::view::services::ServicesOut, super::view::services::ServiceHostOut,
        super::view::services::ServiceStateOut, super::view::services::ServiceActionOut,
        super::view::services::ServiceJobOut, super::view::services::ServiceLineOut,
        super::view::services::HostRunsOut, super::view::services::DriftOut,
        crate::service::host_admin::RelayInput, host_groups::HostGroupOut, host_groups::GroupHostOut
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

#[get("/openapi.json")]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// The request body as JSON: at most 256 KiB; an empty body is `T::default()`
/// when `empty_ok`, else refused.
pub(crate) fn json_body<T: serde::de::DeserializeOwned + Default>(body: &[u8], empty_ok: bool) -> Result<T, AppError> {
    if body.len() > 256 * 1024 {
        return Err(AppError::bad("body", "the body is larger than 256 KiB"));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        if empty_ok {
            return Ok(T::default());
        }
        return Err(AppError::bad("body", "a JSON body is required"));
    }
    serde_json::from_slice(body).map_err(|e| AppError::BadRequest {
        field: None,
        message: format!("bad JSON body: {}", e.to_string().chars().take(300).collect::<String>()),
    })
}

/// For a non-admin: "not found" when `name` is a project they do not see,
/// before any "forbidden" that would tell it exists.
pub(crate) async fn hide_unless_visible(state: &AppState, user: &UserRow, name: &str) -> Result<(), AppError> {
    if user.is_admin {
        return Ok(());
    }
    let (reader, name) = (state.reader(user.clone()), name.to_owned());
    state
        .db(move |conn| Ok(reads::guard_project_name(conn, &reader, &name)?))
        .await
}

/// Only admins manage projects.
pub(crate) fn require_admin(user: &UserRow) -> Result<(), AppError> {
    if user.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("only admins manage projects".into()))
    }
}
