//! The project page's read model: the project with its members, host groups
//! and freeze windows, its released versions (tag, approvers, when shipped,
//! whether a rollback to it is possible), its hosts, and whether the reader
//! may request a rollback.

use chrono::NaiveDateTime;

use crate::domain::VersionFormat;
use crate::store::DbConn;

use super::error::ServiceResult;
use super::lookups::{self, ProjectFacts, ReleaseHistory};
use super::rows::TicketListRow;
use super::visibility::Reader;

/// A released version of the project.
#[derive(Debug, Clone)]
pub struct ReleasedVersion {
    /// The release ticket.
    pub ticket: TicketListRow,
    /// Its tag.
    pub tag: String,
    /// Who approved it, in approval order, without repeats in a row.
    pub approvers: Vec<String>,
    /// When it last shipped (UTC).
    pub shipped_at: Option<NaiveDateTime>,
    /// Older than production: a rollback may go back to it.
    pub can_roll_back: bool,
}

/// Everything the project page shows.
#[derive(Debug, Clone)]
pub struct ProjectPage {
    /// The project with members, host groups and freeze windows.
    pub facts: ProjectFacts,
    /// Released versions, newest first.
    pub released: Vec<ReleasedVersion>,
    /// Whether the reader (a developer or lead of it) may request a rollback.
    pub may_request: bool,
    /// Its hosts: (group, name, target).
    pub hosts: Vec<(String, String, String)>,
}

/// The project called `name` as `reader` sees it ("not found" when they do not).
pub fn visible_project(conn: &mut DbConn, reader: &Reader, name: &str) -> ServiceResult<ProjectFacts> {
    reader.project(conn, name)?;
    lookups::project_facts(conn, name)
}

/// The project page of `name` for `reader`, with at most `limit` released versions.
pub fn project_page(conn: &mut DbConn, reader: &Reader, name: &str, limit: i64) -> ServiceResult<ProjectPage> {
    let row = reader.project(conn, name)?;
    let facts = lookups::project_facts(conn, name)?;
    let format = VersionFormat::parse(&row.version_format).unwrap_or_default();
    let ReleaseHistory {
        released: rows,
        shipped_at: shipped,
        approvers,
    } = lookups::release_history(conn, row.id, limit)?;
    let roles = lookups::roles_in_project(conn, reader.user.id, row.id)?;
    let may_request = roles.iter().any(|r| r == "developer" || r == "lead");
    let released = rows
        .into_iter()
        .map(|r| {
            let v = r.version.unwrap_or_default();
            let mut names: Vec<String> = approvers
                .iter()
                .filter(|(t, _, _)| *t == r.id)
                .map(|(_, u, _)| u.clone())
                .collect();
            names.dedup();
            ReleasedVersion {
                tag: format.render(v),
                approvers: names,
                shipped_at: shipped
                    .iter()
                    .filter(|(t, _)| *t == r.id)
                    .map(|(_, at)| *at)
                    .next_back(),
                can_roll_back: row.production_version.is_some_and(|p| v < p),
                ticket: r,
            }
        })
        .collect();
    let hosts = lookups::hosts_of(conn, row.id)?
        .into_iter()
        .map(|(g, h)| (g, h.name, h.target))
        .collect();
    Ok(ProjectPage {
        facts,
        released,
        may_request,
        hosts,
    })
}
