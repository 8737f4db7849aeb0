//! `GET` and `PUT /api/v1/me/chat`: the caller's chat identity (what chat
//! robot messages @-mention them by).

use actix_web::{get, put, web, HttpResponse};

use crate::service::chat_identity::{self, ChatIdentity};
use crate::web::error::{AppError, ErrorBody};
use crate::web::extract::ApiUser;
use crate::web::AppState;

use super::json_body;

/// Registers the endpoints.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_chat).service(put_chat);
}

/// The caller's chat identity.
#[utoipa::path(get, path = "/api/v1/me/chat", responses((status = 200, body = ChatIdentity), (status = 401, body = ErrorBody)))]
#[get("/me/chat")]
pub(super) async fn get_chat(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, AppError> {
    let id = user.0.id;
    let identity = state.db(move |conn| Ok(chat_identity::get(conn, id)?)).await?;
    Ok(HttpResponse::Ok().json(identity))
}

/// Sets the caller's chat identity (mobile number and/or chat user id;
/// empty strings clear them).
#[utoipa::path(put, path = "/api/v1/me/chat", request_body = ChatIdentity,
    responses((status = 200, body = ChatIdentity), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[put("/me/chat")]
pub(super) async fn put_chat(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let input: ChatIdentity = json_body(&body, false)?;
    let id = user.0.id;
    let stored = state
        .db(move |conn| Ok(chat_identity::set(conn, id, &input.mobile, &input.user_id)?))
        .await?;
    Ok(HttpResponse::Ok().json(stored))
}
