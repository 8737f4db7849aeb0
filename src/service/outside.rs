//! Files a release changes outside its ticket's SVN paths (issue 12).
//! Staging is shared: an earlier ticket may have left changes on staging
//! that the next snapshot carries to production. Staging computes the list
//! once per snapshot ([`compute`]) and stores it on the ticket; pages, the
//! approval mail and the approval-link page read it back ([`stored`]), and
//! the domain requires a tester's confirmation when the project asks for it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::listing::StoredPathChange;
use crate::store::models::{ProjectRow, TicketRow};
use crate::store::{svn as history, tickets, DbConn};

use super::error::ServiceResult;

/// At most this many outside files are kept.
pub const MAX_OUTSIDE: usize = 200;

/// One file the release changes outside the ticket's SVN paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutsidePath {
    /// `A` added, `M` modified, `D` deleted.
    pub status: String,
    /// Path inside the project.
    pub path: String,
    /// What brought it: `r5` (an SVN commit), `ticket #3` (an earlier ticket naming it).
    pub brought_by: Vec<String>,
}

/// Whether `file` is one of `paths` or below one (no paths: the whole tree).
pub fn covered(file: &str, paths: &[String]) -> bool {
    paths.is_empty()
        || paths.iter().any(|p| {
            let p = p.trim_end_matches('/');
            file == p || file.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
        })
}

/// The production snapshot's commit and the revision it was staged at, the
/// base the next release is compared with (None: nothing released yet).
pub fn production_base(conn: &mut DbConn, project: &ProjectRow) -> ServiceResult<Option<(String, Option<i64>)>> {
    let Some(version) = project.production_version else {
        return Ok(None);
    };
    Ok(tickets::by_version(conn, project.id, version)?.and_then(|t| t.snapshot_commit.map(|c| (c, t.staged_revision))))
}

/// The files of `changed` (status, path) outside `ticket`'s SVN paths, each
/// with the SVN commits after `since_revision` that touched it and the
/// earlier tickets that named it.
pub fn compute(
    conn: &mut DbConn,
    ticket: &TicketRow,
    changed: &[(char, String)],
    since_revision: Option<i64>,
    upto_revision: i64,
) -> ServiceResult<Vec<OutsidePath>> {
    let paths = ticket.svn_paths.get().cloned().unwrap_or_default();
    let outside: Vec<&(char, String)> = changed
        .iter()
        .filter(|(_, f)| !covered(f, &paths))
        .take(MAX_OUTSIDE)
        .collect();
    if outside.is_empty() {
        return Ok(Vec::new());
    }
    let commits = history::between(conn, ticket.project_id, since_revision.unwrap_or(0), upto_revision)?;
    let earlier = tickets::staged_paths(conn, ticket.project_id, ticket.id)?;
    Ok(outside
        .into_iter()
        .map(|(status, file)| {
            let suffix = format!("/{file}");
            let mut brought_by: Vec<String> = commits
                .iter()
                .filter(|c| {
                    serde_json::from_str::<Vec<StoredPathChange>>(&c.paths)
                        .is_ok_and(|changed| changed.iter().any(|p| p.path.ends_with(&suffix)))
                })
                .map(|c| format!("r{}", c.revision))
                .collect();
            brought_by.extend(
                earlier
                    .iter()
                    .filter(|(_, named)| {
                        serde_json::from_str::<Vec<String>>(named)
                            .is_ok_and(|named| !named.is_empty() && covered(file, &named))
                    })
                    .map(|(id, _)| format!("ticket #{id}")),
            );
            OutsidePath {
                status: status.to_string(),
                path: file.clone(),
                brought_by,
            }
        })
        .collect())
}

/// The outside files stored on `ticket` (a malformed stored value shows as
/// one entry saying so, never as "none").
pub fn stored(ticket: &TicketRow) -> Vec<OutsidePath> {
    stored_text(&ticket.outside_paths)
}

/// Whether the stored list `text` names any file (a malformed one counts
/// as naming one, as [`stored`] shows it); the common empty list without
/// parsing.
pub fn any_stored(text: &str) -> bool {
    text.trim() != "[]" && !stored_text(text).is_empty()
}

fn stored_text(text: &str) -> Vec<OutsidePath> {
    serde_json::from_str(text).unwrap_or_else(|e| {
        vec![OutsidePath {
            status: "?".into(),
            path: format!("(malformed stored list: {e})"),
            brought_by: Vec::new(),
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::covered;

    #[test]
    fn paths_cover_themselves_and_what_is_below() {
        let paths = vec!["css/site.css".to_owned(), "lib/".to_owned()];
        assert!(covered("css/site.css", &paths));
        assert!(covered("lib/cart.js", &paths));
        assert!(!covered("css/site.css.bak", &paths));
        assert!(!covered("library.js", &paths));
        assert!(covered("anything", &[]));
    }
}
