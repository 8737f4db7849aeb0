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
    /// The ticket changed under the caller (or another request won a race),
    /// or the thing exists already: a stable code ([`codes`]) and the English message.
    #[error("conflict: {1}")]
    Conflict(&'static str, String),
    /// The caller lacks the project role this needs: a stable code
    /// ([`codes`]) and the English message.
    #[error("{1}")]
    Forbidden(&'static str, String),
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

    /// The stable code of the error, also its translation key: `input.*`
    /// for input, `refusal.*` for the domain's refusals, `error.*` otherwise.
    pub fn code(&self) -> String {
        match self {
            ServiceError::NotFound { .. } => codes::NOT_FOUND.to_owned(),
            ServiceError::Invalid(invalid) => invalid.code.to_owned(),
            ServiceError::Refused(refusal) => format!("refusal.{}", refusal.code()),
            ServiceError::Conflict(code, _) | ServiceError::Forbidden(code, _) => (*code).to_owned(),
            ServiceError::Disabled(_) => codes::DISABLED.to_owned(),
            ServiceError::Store(e) if e.is_unique_violation() => codes::EXISTS.to_owned(),
            ServiceError::Store(_) => codes::INTERNAL.to_owned(),
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
            ServiceError::Conflict(..) => ErrorKind::Conflict,
            ServiceError::Disabled(_) | ServiceError::Forbidden(..) => ErrorKind::Forbidden,
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

/// Stable codes of service errors other than input and refusals
/// (translation keys under `[error]`).
pub mod codes {
    /// The thing named does not exist (`{what}`, `{name}`).
    pub const NOT_FOUND: &str = "error.not_found";
    /// The account is disabled.
    pub const DISABLED: &str = "error.disabled";
    /// A unique name is taken.
    pub const EXISTS: &str = "error.exists";
    /// The database failed.
    pub const INTERNAL: &str = "error.internal";
    /// The ticket changed since the caller loaded it.
    pub const STALE: &str = "error.stale";
    /// Another request changed the ticket at the same time.
    pub const RACE: &str = "error.race";
    /// The approval link was used already.
    pub const LINK_USED: &str = "error.link_used";
    /// The user name is taken.
    pub const USER_EXISTS: &str = "error.user_exists";
    /// The project name is taken.
    pub const PROJECT_EXISTS: &str = "error.project_exists";
    /// The project has tickets and cannot be deleted.
    pub const PROJECT_HAS_HISTORY: &str = "error.project_has_history";
    /// The host group name is taken.
    pub const HOST_GROUP_EXISTS: &str = "error.host_group_exists";
    /// The host name is taken in its group.
    pub const HOST_EXISTS: &str = "error.host_exists";
    /// The host no longer offers the key an admin asked to trust.
    pub const HOST_KEY_GONE: &str = "error.host_key_gone";
    /// Slipway trusts a different key of this type for the host.
    pub const HOST_KEY_CHANGED: &str = "error.host_key_changed";
    /// Only ssh targets have host keys.
    pub const NOT_SSH: &str = "error.not_ssh";
    /// An admin tried to remove their own admin rights.
    pub const OWN_ADMIN: &str = "error.own_admin";
    /// An admin tried to disable their own account.
    pub const OWN_ACCOUNT: &str = "error.own_account";
    /// The ticket has a schedule waiting already.
    pub const ALREADY_SCHEDULED: &str = "error.already_scheduled";
    /// The ticket has no schedule waiting to start.
    pub const NOT_SCHEDULED: &str = "error.not_scheduled";
    /// Starting, stopping or restarting services needs a role the user lacks (`{who}`).
    pub const SERVICE_FORBIDDEN: &str = "error.service_forbidden";
}

/// Result of a service call.
pub type ServiceResult<T> = Result<T, ServiceError>;
