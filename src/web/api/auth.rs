//! `POST /api/v1/auth/token`: a user name and password for a bearer token.

use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::web::error::{AppError, ErrorBody};
use crate::web::session;
use crate::web::AppState;

use super::json_body;

/// Registers the token endpoint.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create_token);
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

/// Exchanges a user name and password for a bearer token (rate-limited):
/// a local account's own password, or with `[auth.ldap]` a directory
/// account's directory password.
#[utoipa::path(post, path = "/api/v1/auth/token", request_body = TokenRequest, security(()),
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, description = "The directory ([auth.ldap]) cannot answer for a name that is no local account", body = ErrorBody)))]
#[post("/auth/token")]
pub(super) async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let input: TokenRequest = json_body(&body, false)?;
    let user = session::check_login(&state, &req, input.username.trim(), &input.password)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let (token, exp) = session::issue(&state, user.id, "api")?;
    let expires_at = chrono::DateTime::from_timestamp(exp as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(TokenResponse { token, expires_at }))
}
