//! Tickets: the list, filing a release, one ticket, and actions on it.

use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::tickets::NewRelease;
use crate::service::{reads, requests, Reader};

use crate::web::error::{AppError, ErrorBody};
use crate::web::extract::ApiUser;
use crate::web::input::{ActionBody, ListQuery};
use crate::web::view::{TicketDetail, TicketSummary};
use crate::web::AppState;

use super::json_body;

/// Registers the ticket endpoints.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_tickets)
        .service(create_ticket)
        .service(get_ticket)
        .service(act);
}

/// A page of tickets.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPage {
    /// The tickets.
    pub tickets: Vec<TicketSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<i64>,
}

/// Runs a ticket list query (the API).
pub async fn run_list(state: &AppState, reader: Reader, q: &ListQuery) -> Result<TicketPage, AppError> {
    let query = q.plan()?;
    state
        .db(move |conn| {
            let (rows, next_cursor) = reads::ticket_page(conn, &reader, query)?;
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
pub(super) async fn list_tickets(
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
pub(super) async fn create_ticket(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let input: NewTicket = json_body(&body, false)?;
    let reader = state.reader(user.0);
    let out = state
        .db_then_wake(move |conn| {
            let release = NewRelease {
                project: &input.project,
                reason: &input.reason,
                svn_paths: &input.svn_paths,
                svn_revision: input.svn_revision,
            };
            Ok(TicketDetail::from(requests::submit(
                conn,
                &reader,
                &release,
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
pub(super) async fn get_ticket(
    state: web::Data<AppState>,
    user: ApiUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let out = crate::web::changes::ticket_detail(&state, state.reader(user.0), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Takes an action: mark-tested, return, resubmit, approve, reject, release, execute, cancel, retry.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/actions/{action}",
    params(("id" = i64, Path, description = "ticket id"), ("action" = String, Path, description = "mark-tested, return, resubmit, approve, reject, release, execute, cancel or retry")),
    request_body(content = ActionBody, description = "optional"),
    responses((status = 200, body = TicketDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/tickets/{id}/actions/{action}")]
pub(super) async fn act(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(i64, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, action) = path.into_inner();
    let body: ActionBody = json_body(&body, true)?;
    let reader = state.reader(user.0);
    let out = state
        .db_then_wake(move |conn| {
            let input = body.input(&action, reader.user.id);
            Ok(TicketDetail::from(requests::act(conn, &reader, id, input, Utc::now())?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}
