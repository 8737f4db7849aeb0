//! Errors of the service layer: what a caller (web page, API, CLI, job) is
//! told when an operation does not go through.

use crate::domain::{InvalidInput, Refusal, RefusalKind};
use crate::store::StoreError;

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The thing named does not exist.
    #[error("{what} `{name}` not found")]
    NotFound {
        /// "ticket", "project", "user", …
        what: &'static str,
        /// The name or id given.
        name: String,
    },
    /// Input failed validation; nothing was stored.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The domain refused the action.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The ticket changed under the caller (or another request won a race).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's account is disabled.
    #[error("account `{0}` is disabled")]
    Disabled(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ServiceError {
    fn from(error: diesel::result::Error) -> Self {
        ServiceError::Store(StoreError::Query(error))
    }
}

impl ServiceError {
    /// A not-found error.
    pub fn not_found(what: &'static str, name: impl ToString) -> Self {
        ServiceError::NotFound {
            what,
            name: name.to_string(),
        }
    }

    /// The class of the error, for mapping to HTTP answers and exit codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ServiceError::NotFound { .. } => ErrorKind::NotFound,
            ServiceError::Invalid(_) => ErrorKind::Invalid,
            ServiceError::Refused(refusal) => match refusal.kind() {
                RefusalKind::Forbidden => ErrorKind::Forbidden,
                RefusalKind::Invalid => ErrorKind::Invalid,
                RefusalKind::Conflict => ErrorKind::Conflict,
            },
            ServiceError::Conflict(_) => ErrorKind::Conflict,
            ServiceError::Disabled(_) => ErrorKind::Forbidden,
            ServiceError::Store(e) if e.is_unique_violation() => ErrorKind::Conflict,
            ServiceError::Store(_) => ErrorKind::Internal,
        }
    }
}

/// Classes of service errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 404.
    NotFound,
    /// 400.
    Invalid,
    /// 403.
    Forbidden,
    /// 409.
    Conflict,
    /// 500.
    Internal,
}

/// Result of a service call.
pub type ServiceResult<T> = Result<T, ServiceError>;
