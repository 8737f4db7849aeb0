//! Request inputs the pages and the API share: ticket list filters
//! ([`ListQuery`], checked into a [`reads::TicketQuery`]) and the body of a
//! ticket action ([`ActionBody`], checked into an [`ActionInput`]).

use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::{Action, TicketState};
use crate::service::reads;
use crate::service::tickets::{ActionInput, ActorRef};

use super::error::AppError;

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

impl ListQuery {
    /// Checks the query's parameters.
    pub fn plan(&self) -> Result<reads::TicketQuery, AppError> {
        let q = self;
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
        Ok(reads::TicketQuery {
            states,
            limit,
            oldest_first,
            project: q.project.clone().filter(|p| !p.is_empty()),
            submitter: q.submitter.clone().filter(|p| !p.is_empty()),
            cursor: q.cursor,
        })
    }
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
    /// With `mark-tested`: confirm the files the release changes outside
    /// the ticket's SVN paths (required when the project asks for it).
    #[serde(default)]
    pub confirm_outside_paths: bool,
}

impl ActionBody {
    /// The action named `action` with this body, taken by user `user_id`.
    /// Filing (`submit`, `request-rollback`) has endpoints of its own.
    pub fn input(self, action: &str, user_id: i64) -> Result<ActionInput, AppError> {
        let action: Action = action
            .parse()
            .map_err(|e: crate::domain::UnknownName| AppError::bad("action", e.to_string()))?;
        if matches!(action, Action::Submit | Action::RequestRollback) {
            return Err(AppError::bad(
                "action",
                "file tickets with POST /api/v1/tickets or …/rollbacks",
            ));
        }
        Ok(ActionInput {
            action,
            actor: ActorRef::User(user_id),
            note: self.note,
            emergency_override: self.emergency_override,
            expected_lock_version: self.lock_version,
            snapshot: None,
            revert_switched: self.revert_switched,
            confirm_outside_paths: self.confirm_outside_paths,
        })
    }
}
