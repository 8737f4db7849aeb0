//! The one error type handlers return, and how it maps to HTTP answers:
//! JSON `{"error": {"code", "message", "field"?}}` with 400/401/403/404/409/500.
//! Internal errors are logged with detail and answered without it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::service::{ErrorKind, ServiceError};

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// From the service layer.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Not signed in, or a bad token.
    #[error("sign in first")]
    Unauthorized,
    /// Something broke that the user cannot fix.
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl AppError {
    fn code(&self) -> (&'static str, StatusCode) {
        match self {
            AppError::Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED),
            AppError::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
            AppError::Service(e) => match e.kind() {
                ErrorKind::NotFound => ("not_found", StatusCode::NOT_FOUND),
                ErrorKind::Invalid => ("invalid", StatusCode::BAD_REQUEST),
                ErrorKind::Forbidden => ("forbidden", StatusCode::FORBIDDEN),
                ErrorKind::Conflict => ("conflict", StatusCode::CONFLICT),
                ErrorKind::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.code().1
    }

    fn error_response(&self) -> HttpResponse {
        let (code, status) = self.code();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.detail(), "request failed");
            "internal error; see the server log".to_owned()
        } else {
            self.to_string()
        };
        let field = match self {
            AppError::Service(ServiceError::Invalid(invalid)) => Some(invalid.field),
            _ => None,
        };
        HttpResponse::build(status).json(Body {
            error: Detail { code, message, field },
        })
    }
}

impl AppError {
    fn detail(&self) -> String {
        match self {
            AppError::Internal(detail) => detail.clone(),
            other => other.to_string(),
        }
    }
}
