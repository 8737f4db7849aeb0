//! The one error type handlers return, and how it maps to HTTP answers:
//! JSON `{"error": {"code", "message", "field"?}}` with 400/401/403/404/409/429/500.
//! Internal errors are logged with detail and answered without it. Pages
//! render the same errors as HTML (see `render::error_page`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
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
    /// A page needs a signed-in user: redirect to the login page, then back to this path.
    #[error("sign in first")]
    LoginRequired(String),
    /// Bad input caught by the HTTP layer (body, query, path, form).
    #[error("{message}")]
    BadRequest {
        /// The field, when one is to blame.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The user may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing here.
    #[error("{0}")]
    NotFound(String),
    /// Too many failed attempts.
    #[error("{0}")]
    TooManyRequests(String),
    /// A service Slipway needs is down (e.g. the directory behind sign-in);
    /// the message says which, without detail.
    #[error("{0}")]
    Unavailable(String),
    /// Something broke that the user cannot fix.
    #[error("internal error")]
    Internal(String),
}

/// The JSON error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `invalid`, `unauthorized`, `forbidden`, `not_found`, `conflict`, `rate_limited`, `unavailable`, `internal`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The input field at fault, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `invalid`: the precise stable code when there is one (e.g.
    /// `input.invisible_character`, `input.control_character`); also a
    /// translation key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AppError {
    /// A 400 on `field`.
    pub fn bad(field: &str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// The stable code and the status.
    pub fn code(&self) -> (&'static str, StatusCode) {
        match self {
            AppError::Unauthorized | AppError::LoginRequired(_) => ("unauthorized", StatusCode::UNAUTHORIZED),
            AppError::BadRequest { .. } => ("invalid", StatusCode::BAD_REQUEST),
            AppError::Forbidden(_) => ("forbidden", StatusCode::FORBIDDEN),
            AppError::NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
            AppError::TooManyRequests(_) => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            AppError::Unavailable(_) => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
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

    /// The message users see (internal details are logged, never shown).
    pub fn public_message(&self) -> String {
        if self.code().1 == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self.detail(), "request failed");
            "internal error; see the server log".to_owned()
        } else {
            self.to_string()
        }
    }

    /// The input field at fault.
    pub fn field(&self) -> Option<String> {
        match self {
            AppError::Service(ServiceError::Invalid(invalid)) => Some(invalid.field.to_owned()),
            AppError::BadRequest { field, .. } => field.clone(),
            _ => None,
        }
    }

    /// The precise code of an input refusal, when more precise than `invalid`.
    pub fn reason_code(&self) -> Option<&'static str> {
        match self {
            AppError::Service(ServiceError::Invalid(invalid)) if invalid.code != "invalid" => Some(invalid.code),
            _ => None,
        }
    }

    fn detail(&self) -> String {
        match self {
            AppError::Internal(detail) => detail.clone(),
            other => other.to_string(),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().0.to_owned(),
                message: self.public_message(),
                field: self.field(),
                reason: self.reason_code().map(str::to_owned),
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.code().1
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.code().1);
        if matches!(self, AppError::Unauthorized) {
            res.insert_header(("WWW-Authenticate", "Bearer"));
        }
        res.json(self.body())
    }
}

fn clean(message: String) -> String {
    // Deserializer messages may echo input; keep them short and printable.
    let mut m: String = message.chars().filter(|c| !c.is_control()).take(300).collect();
    if m.is_empty() {
        m = "bad input".into();
    }
    m
}

/// JSON bodies: at most 256 KiB; errors as our JSON.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(256 * 1024)
        .error_handler(|err, _req: &HttpRequest| {
            AppError::BadRequest {
                field: None,
                message: clean(format!("bad JSON body: {err}")),
            }
            .into()
        })
}

/// Forms: at most 256 KiB.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(256 * 1024)
        .error_handler(|err, _req: &HttpRequest| {
            AppError::BadRequest {
                field: None,
                message: clean(format!("bad form: {err}")),
            }
            .into()
        })
}

/// Query strings.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req: &HttpRequest| {
        AppError::BadRequest {
            field: None,
            message: clean(format!("bad query: {err}")),
        }
        .into()
    })
}

/// Path parameters.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req: &HttpRequest| {
        AppError::BadRequest {
            field: None,
            message: clean(format!("bad path: {err}")),
        }
        .into()
    })
}
