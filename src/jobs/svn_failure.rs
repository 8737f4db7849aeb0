//! How svn failures become job outcomes: which are worth a retry and which
//! fail the job at once (see docs/design.md#jobs).

use crate::vcs::{SvnAccessError, SvnError};

use super::handler::JobError;

/// Sorts an svn failure into retry-worthy or not: a network problem, a
/// timeout or a lock may pass; a revision or path that does not exist, bad
/// credentials, a conflict or output we cannot read fail at once with the
/// message (issue 9, defect 8).
pub fn classify(error: SvnError) -> JobError {
    use SvnError as E;
    match error {
        E::Failed(_) | E::Timeout(_) | E::Io(_) | E::Cancelled | E::Locked(_) => JobError::Retryable(error.to_string()),
        E::Auth(_) | E::Conflict(_) | E::MissingPath { .. } | E::NoSuchRevision { .. } | E::Parse(_) => {
            JobError::Permanent(error.to_string())
        }
    }
}

impl From<SvnAccessError> for JobError {
    /// A project whose svn access is misconfigured fails at once.
    fn from(error: SvnAccessError) -> Self {
        JobError::Permanent(error.to_string())
    }
}
