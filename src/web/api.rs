//! The JSON API under `/api/v1`: the same service calls as the pages, with
//! bearer tokens. Errors are `{"error": {"code", "message", "field"?}}`.
//! The OpenAPI document (`/api/v1/openapi.json`) is generated from the
//! annotations on these handlers.

use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::domain::{Action, TicketState};
use crate::service::admin::{self, ProjectSettings};
use crate::service::lookups;
use crate::service::rows::{TicketFilter, TicketListRow, UserRow};
use crate::service::tickets::{self as ticket_service, ActionInput, ActorRef, NewRelease};
use crate::service::{queries, reads, Reader};

use super::auth::{self, ApiUser};
use super::error::{AppError, ErrorBody};
use super::view::{self, ProjectOut, TicketDetail, TicketSummary};
use super::AppState;

/// Registers the API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .service(openapi_json)
            .service(create_token)
            .service(list_projects)
            .service(create_project)
            .service(get_project)
            .service(update_project)
            .service(delete_project)
            .service(request_rollback)
            .service(list_tickets)
            .service(create_ticket)
            .service(get_ticket)
            .service(act)
            .service(super::live::api_log)
            .service(super::live::api_log_stream),
    );
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Slipway API", version = "1", description = "Release approval: tickets, actions, projects. Authenticate with `Authorization: Bearer <token>` (from POST /api/v1/auth/token or a personal API token)."),
    paths(
        create_token, list_projects, create_project, get_project, update_project, delete_project,
        request_rollback, list_tickets, create_ticket, get_ticket, act,
        super::live::api_log, super::live::api_log_stream
    ),
    components(schemas(
        ErrorBody, TokenRequest, TokenResponse, ProjectOut, ProjectSettings, crate::service::admin::FreezeSetting,
        TicketSummary, TicketPage, TicketDetail, super::changes::ProductionChanges, super::changes::FileChange, NewTicket, ActionBody, RollbackBody, super::live::LogPage,
        super::live::LogLineOut, super::view::RecoveryOut
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

fn json_body<T: serde::de::DeserializeOwned + Default>(body: &[u8], empty_ok: bool) -> Result<T, AppError> {
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
async fn hide_unless_visible(state: &AppState, user: &UserRow, name: &str) -> Result<(), AppError> {
    if user.is_admin {
        return Ok(());
    }
    let (reader, name) = (state.reader(user.clone()), name.to_owned());
    state
        .db(move |conn| Ok(reads::guard_project_name(conn, &reader, &name)?))
        .await
}

fn require_admin(user: &UserRow) -> Result<(), AppError> {
    if user.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("only admins manage projects".into()))
    }
}

/// `POST /api/v1/auth/token` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A bearer token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Expiry, RFC 3339.
    pub expires_at: String,
}

/// Exchanges a user name and password for a bearer token (rate-limited).
#[utoipa::path(post, path = "/api/v1/auth/token", request_body = TokenRequest, security(()),
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/auth/token")]
async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let input: TokenRequest = json_body(&body, false)?;
    let user = auth::check_login(&state, &req, input.username.trim(), &input.password)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let (token, exp) = auth::issue(&state, user.id, "api")?;
    let expires_at = chrono::DateTime::from_timestamp(exp as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(TokenResponse { token, expires_at }))
}

/// Lists every project.
#[utoipa::path(get, path = "/api/v1/projects", responses((status = 200, body = [ProjectOut]), (status = 401, body = ErrorBody)))]
#[get("/projects")]
async fn list_projects(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, AppError> {
    let reader = state.reader(user.0);
    let projects = state
        .db(move |conn| {
            reads::project_names(conn, &reader)?
                .iter()
                .map(|n| view::load_project(conn, n))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(projects))
}

/// Creates a project (admins).
#[utoipa::path(post, path = "/api/v1/projects", request_body = ProjectSettings,
    responses((status = 201, body = ProjectOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/projects")]
async fn create_project(state: web::Data<AppState>, user: ApiUser, body: web::Bytes) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    let settings: ProjectSettings = json_body(&body, false)?;
    let out = state
        .db(move |conn| {
            admin::create_project(conn, &settings)?;
            view::load_project(conn, &settings.name)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{name}", params(("name" = String, Path, description = "project name")),
    responses((status = 200, body = ProjectOut), (status = 404, body = ErrorBody)))]
#[get("/projects/{name}")]
async fn get_project(
    state: web::Data<AppState>,
    user: ApiUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let reader = state.reader(user.0);
    let out = state
        .db(move |conn| {
            reader.project(conn, &name)?;
            view::load_project(conn, &name)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Replaces a project's settings, members, host groups and freeze windows (admins).
#[utoipa::path(put, path = "/api/v1/projects/{name}", params(("name" = String, Path, description = "project name")), request_body = ProjectSettings,
    responses((status = 200, body = ProjectOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/projects/{name}")]
async fn update_project(
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
            view::load_project(conn, &name)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Deletes a project that has no tickets (admins).
#[utoipa::path(delete, path = "/api/v1/projects/{name}", params(("name" = String, Path, description = "project name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/projects/{name}")]
async fn delete_project(
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
async fn request_rollback(
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
            reads::guard_project_name(conn, &reader, &name)?;
            let user = &reader.user;
            let applied = ticket_service::request_rollback(
                conn,
                ActorRef::User(user.id),
                &name,
                input.version,
                &input.reason,
                Utc::now(),
            )?;
            Ok(TicketDetail::from(queries::ticket_view(
                conn,
                applied.ticket.id,
                &reader,
                Utc::now(),
            )?))
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// Ticket list filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Project name.
    pub project: Option<String>,
    /// State, or several separated by commas.
    pub state: Option<String>,
    /// Submitter's user name.
    pub submitter: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// Page size (1–200, default 50).
    pub limit: Option<i64>,
    /// `desc` (newest first, default) or `asc`.
    pub sort: Option<String>,
}

/// A page of tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPage {
    /// The tickets.
    pub tickets: Vec<TicketSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<i64>,
}

/// A checked ticket list query, ready to run on a connection.
pub struct ListPlan {
    states: Vec<String>,
    limit: i64,
    oldest_first: bool,
    project: Option<String>,
    submitter: Option<String>,
    cursor: Option<i64>,
}

impl ListPlan {
    /// Checks the query's parameters.
    pub fn new(q: &ListQuery) -> Result<Self, AppError> {
        let mut states = Vec::new();
        for s in q
            .state
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let parsed: TicketState = s
                .parse()
                .map_err(|e: crate::domain::UnknownName| AppError::bad("state", e.to_string()))?;
            states.push(parsed.as_str().to_owned());
        }
        let limit = q.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(AppError::bad("limit", "must be between 1 and 200"));
        }
        let oldest_first = match q.sort.as_deref() {
            None | Some("") | Some("desc") => false,
            Some("asc") => true,
            Some(_) => return Err(AppError::bad("sort", "must be asc or desc")),
        };
        Ok(Self {
            states,
            limit,
            oldest_first,
            project: q.project.clone().filter(|p| !p.is_empty()),
            submitter: q.submitter.clone().filter(|p| !p.is_empty()),
            cursor: q.cursor,
        })
    }

    /// One page of the rows `reader` sees and the next cursor (keyset
    /// pagination on the id).
    pub fn run(
        self,
        conn: &mut crate::service::DbConn,
        reader: &Reader,
    ) -> Result<(Vec<TicketListRow>, Option<i64>), AppError> {
        let project_id = match &self.project {
            Some(p) => match lookups::project_id(conn, p)? {
                Some(id) => Some(id),
                None => return Ok((vec![], None)),
            },
            None => None,
        };
        let submitter_id = match &self.submitter {
            Some(u) => match lookups::user_id(conn, u)? {
                Some(id) => Some(id),
                None => return Ok((vec![], None)),
            },
            None => None,
        };
        let filter = TicketFilter {
            project_id,
            states: self.states,
            submitter_id,
            cursor: self.cursor,
            oldest_first: self.oldest_first,
            limit: self.limit,
            projects: None,
        };
        let (rows, more) = reads::tickets(conn, reader, filter)?;
        let next_cursor = if more { rows.last().map(|r| r.id) } else { None };
        Ok((rows, next_cursor))
    }
}

/// Runs a ticket list query (the API).
pub async fn run_list(state: &AppState, reader: Reader, q: &ListQuery) -> Result<TicketPage, AppError> {
    let plan = ListPlan::new(q)?;
    state
        .db(move |conn| {
            let (rows, next_cursor) = plan.run(conn, &reader)?;
            Ok(TicketPage {
                tickets: rows.into_iter().map(TicketSummary::from).collect(),
                next_cursor,
            })
        })
        .await
}

/// Lists tickets, newest first, with keyset pagination.
#[utoipa::path(get, path = "/api/v1/tickets", params(ListQuery),
    responses((status = 200, body = TicketPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[get("/tickets")]
async fn list_tickets(
    state: web::Data<AppState>,
    user: ApiUser,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(run_list(&state, state.reader(user.0), &q).await?))
}

/// `POST /api/v1/tickets` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// Project name.
    pub project: String,
    /// Why.
    pub reason: String,
    /// SVN paths relative to the project's URL (empty: everything).
    #[serde(default)]
    pub svn_paths: Vec<String>,
    /// Pin an SVN revision instead of HEAD.
    #[serde(default)]
    pub svn_revision: Option<i64>,
}

/// Files a release ticket (developers of the project).
#[utoipa::path(post, path = "/api/v1/tickets", request_body = NewTicket,
    responses((status = 201, body = TicketDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/tickets")]
async fn create_ticket(state: web::Data<AppState>, user: ApiUser, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let input: NewTicket = json_body(&body, false)?;
    let reader = state.reader(user.0);
    let out = state
        .db_then_wake(move |conn| {
            reads::guard_project_name(conn, &reader, &input.project)?;
            let user = &reader.user;
            let applied = ticket_service::submit(
                conn,
                ActorRef::User(user.id),
                &NewRelease {
                    project: &input.project,
                    reason: &input.reason,
                    svn_paths: &input.svn_paths,
                    svn_revision: input.svn_revision,
                },
                Utc::now(),
            )?;
            Ok(TicketDetail::from(queries::ticket_view(
                conn,
                applied.ticket.id,
                &reader,
                Utc::now(),
            )?))
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// One ticket: state, timeline, approvals, revision, snapshot, version, hosts, and what the caller may do.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = TicketDetail), (status = 404, body = ErrorBody)))]
#[get("/tickets/{id}")]
async fn get_ticket(state: web::Data<AppState>, user: ApiUser, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let out = super::changes::ticket_detail(&state, state.reader(user.0), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/tickets/{id}/actions/{action}` body (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// Note; required for `return` and `reject`.
    #[serde(default)]
    pub note: Option<String>,
    /// Admins: release inside a freeze window (needs a note).
    #[serde(default)]
    pub emergency_override: bool,
    /// Act only if the ticket is still at this lock version (else 409).
    #[serde(default)]
    pub lock_version: Option<i32>,
    /// With `abort`: also switch hosts that already switched back.
    #[serde(default)]
    pub revert_switched: bool,
}

/// Applies an action and returns the ticket; "not found" when `reader`
/// does not see the ticket.
pub fn apply_action(
    conn: &mut crate::service::DbConn,
    reader: &Reader,
    id: i64,
    action: &str,
    body: ActionBody,
) -> Result<TicketDetail, AppError> {
    reader.ticket(conn, id)?;
    let user = &reader.user;
    let action: Action = action
        .parse()
        .map_err(|e: crate::domain::UnknownName| AppError::bad("action", e.to_string()))?;
    if matches!(action, Action::Submit | Action::RequestRollback) {
        return Err(AppError::bad(
            "action",
            "file tickets with POST /api/v1/tickets or …/rollbacks",
        ));
    }
    let input = ActionInput {
        action,
        actor: ActorRef::User(user.id),
        note: body.note,
        emergency_override: body.emergency_override,
        expected_lock_version: body.lock_version,
        snapshot: None,
        revert_switched: body.revert_switched,
    };
    ticket_service::apply(conn, id, &input, Utc::now())?;
    Ok(TicketDetail::from(queries::ticket_view(conn, id, reader, Utc::now())?))
}

/// Takes an action: mark-tested, return, resubmit, approve, reject, release, execute, cancel, retry.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/actions/{action}",
    params(("id" = i64, Path, description = "ticket id"), ("action" = String, Path, description = "mark-tested, return, resubmit, approve, reject, release, execute, cancel or retry")),
    request_body(content = ActionBody, description = "optional"),
    responses((status = 200, body = TicketDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/tickets/{id}/actions/{action}")]
async fn act(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(i64, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let body: ActionBody = json_body(&body, true)?;
    let reader = state.reader(user.0);
    let out = state
        .db_then_wake(move |conn| apply_action(conn, &reader, id, &action, body))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
