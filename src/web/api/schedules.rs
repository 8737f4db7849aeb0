//! A ticket's scheduled release (issue 14): schedule, change, cancel.

use actix_web::{delete, post, put, web, HttpResponse};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::service::schedules::{self, Request, When};

use crate::web::error::{AppError, ErrorBody};
use crate::web::extract::ApiUser;
use crate::web::view::TicketDetail;
use crate::web::AppState;

use super::json_body;

/// Registers the schedule endpoints.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create_schedule)
        .service(change_schedule)
        .service(cancel_schedule);
}

/// `POST`/`PUT /api/v1/tickets/{id}/schedule` body: either `at` or `next_window`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// When: a time in the project's time zone (`2026-12-03T06:00`) or an
    /// RFC 3339 instant with an offset (`2026-12-03T05:00:00Z`).
    #[serde(default)]
    pub at: Option<String>,
    /// Release at the start of the project's next maintenance window.
    #[serde(default)]
    pub next_window: bool,
}

async fn carry_out(
    state: &AppState,
    user: ApiUser,
    id: i64,
    request: Result<Request, AppError>,
) -> Result<TicketDetail, AppError> {
    let reader = state.reader(user.0);
    state
        .db_then_wake(move |conn| {
            Ok(TicketDetail::from(schedules::request(
                conn,
                &reader,
                id,
                request,
                Utc::now(),
            )?))
        })
        .await
}

fn when(body: &[u8]) -> Result<When, AppError> {
    let body: ScheduleBody = json_body(body, false)?;
    Ok(When::from_input(body.at.as_deref(), body.next_window).map_err(crate::service::ServiceError::from)?)
}

/// Schedules the ticket's release (or a rollback's execution): whoever may
/// release it; the time must lie ahead. The ticket, with `schedule`.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/schedule", params(("id" = i64, Path, description = "ticket id")),
    request_body = ScheduleBody,
    responses((status = 201, body = TicketDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/tickets/{id}/schedule")]
pub(super) async fn create_schedule(
    state: web::Data<AppState>,
    user: ApiUser,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let request = when(&body).map(Request::Schedule);
    let out = carry_out(&state, user, id.into_inner(), request).await?;
    Ok(HttpResponse::Created().json(out))
}

/// Moves the ticket's pending schedule to another time.
#[utoipa::path(put, path = "/api/v1/tickets/{id}/schedule", params(("id" = i64, Path, description = "ticket id")),
    request_body = ScheduleBody,
    responses((status = 200, body = TicketDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[put("/tickets/{id}/schedule")]
pub(super) async fn change_schedule(
    state: web::Data<AppState>,
    user: ApiUser,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let request = when(&body).map(Request::Change);
    Ok(HttpResponse::Ok().json(carry_out(&state, user, id.into_inner(), request).await?))
}

/// Cancels the ticket's pending schedule (its maker, an admin, or whoever
/// may release the ticket).
#[utoipa::path(delete, path = "/api/v1/tickets/{id}/schedule", params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = TicketDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/tickets/{id}/schedule")]
pub(super) async fn cancel_schedule(
    state: web::Data<AppState>,
    user: ApiUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(carry_out(&state, user, id.into_inner(), Ok(Request::Cancel)).await?))
}
