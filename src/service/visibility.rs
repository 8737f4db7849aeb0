//! Who may read what (invariant 12): a project's tickets, notes, job logs,
//! hosts, members and audit rows are visible to its members (any role), its
//! watchers and admins, unless the site sets `auth.visibility = "everyone"`.
//!
//! Every read of the pages and the API goes through a [`Reader`]: the
//! functions here and in [`super::reads`] answer "not found" for a project
//! or ticket the reader may not see (never "forbidden", which would tell
//! that it exists), and scope every list to the visible projects.

use serde::Deserialize;

use crate::store::models::{ProjectRow, TicketRow, UserRow};
use crate::store::{projects, tickets, visibility as store, DbConn};

use super::error::{ServiceError, ServiceResult};

/// The site's reading rule, `auth.visibility`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// A project is visible to its members, watchers and admins (default).
    #[default]
    Members,
    /// Every signed-in user reads every project (writes still follow roles).
    Everyone,
}

/// A signed-in user reading under the site's rule.
#[derive(Debug, Clone)]
pub struct Reader {
    /// The user.
    pub user: UserRow,
    /// The site's rule.
    pub visibility: Visibility,
}

/// Which projects a reader sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every project (admins, or `visibility = "everyone"`).
    All,
    /// Only these project ids (sorted).
    Only(Vec<i64>),
}

impl Scope {
    /// The ids to filter on; `None` for every project.
    pub fn ids(&self) -> Option<Vec<i64>> {
        match self {
            Scope::All => None,
            Scope::Only(ids) => Some(ids.clone()),
        }
    }

    /// Whether `project_id` is in scope.
    pub fn allows(&self, project_id: i64) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(ids) => ids.binary_search(&project_id).is_ok(),
        }
    }
}

impl Reader {
    /// `user` reading under `visibility`.
    pub fn new(user: UserRow, visibility: Visibility) -> Self {
        Self { user, visibility }
    }

    fn sees_all(&self) -> bool {
        self.user.is_admin || self.visibility == Visibility::Everyone
    }

    /// The projects this reader sees.
    pub fn scope(&self, conn: &mut DbConn) -> ServiceResult<Scope> {
        if self.sees_all() {
            return Ok(Scope::All);
        }
        Ok(Scope::Only(store::member_or_watcher_of(conn, self.user.id)?))
    }

    /// Whether this reader sees `project_id`.
    pub fn sees(&self, conn: &mut DbConn, project_id: i64) -> ServiceResult<bool> {
        Ok(self.sees_all() || store::is_member_or_watcher(conn, self.user.id, project_id)?)
    }

    /// The project called `name`, or "not found" when it does not exist or
    /// is not visible (the two answers are the same).
    pub fn project(&self, conn: &mut DbConn, name: &str) -> ServiceResult<ProjectRow> {
        match projects::by_name(conn, name)? {
            Some(p) if self.sees(conn, p.id)? => Ok(p),
            _ => Err(ServiceError::not_found("project", name)),
        }
    }

    /// Ticket `id`, or "not found" when it does not exist or its project is
    /// not visible.
    pub fn ticket(&self, conn: &mut DbConn, id: i64) -> ServiceResult<TicketRow> {
        match tickets::by_id(conn, id)? {
            Some(t) if self.sees(conn, t.project_id)? => Ok(t),
            _ => Err(ServiceError::not_found("ticket", id)),
        }
    }
}
