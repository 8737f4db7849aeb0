//! Queries on the SVN history Slipway has seen (`svn_revisions`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::db::DbConn;
use super::error::StoreResult;
use super::schema::{svn_revisions, tickets};

/// A recorded SVN commit.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = svn_revisions)]
pub struct SvnRevisionRow {
    /// Project.
    pub project_id: i64,
    /// Revision number.
    pub revision: i64,
    /// Author.
    pub author: String,
    /// Commit time (UTC).
    pub committed_at: Option<NaiveDateTime>,
    /// Log message.
    pub message: String,
    /// JSON array of changed paths.
    pub paths: String,
}

/// Records a commit unless it is already recorded; returns whether it was new.
pub fn record(conn: &mut DbConn, row: &SvnRevisionRow) -> StoreResult<bool> {
    let known: i64 = svn_revisions::table
        .filter(svn_revisions::project_id.eq(row.project_id))
        .filter(svn_revisions::revision.eq(row.revision))
        .count()
        .get_result(conn)?;
    if known > 0 {
        return Ok(false);
    }
    match diesel::insert_into(svn_revisions::table).values(row).execute(conn) {
        Ok(_) => Ok(true),
        // A poller and a stage job recorded the same commit at once.
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The newest recorded revision of a project.
pub fn latest(conn: &mut DbConn, project_id: i64) -> StoreResult<Option<i64>> {
    Ok(svn_revisions::table
        .filter(svn_revisions::project_id.eq(project_id))
        .select(diesel::dsl::max(svn_revisions::revision))
        .first(conn)?)
}

/// A project's recorded commits in (`after`, `upto`], oldest first.
pub fn between(conn: &mut DbConn, project_id: i64, after: i64, upto: i64) -> StoreResult<Vec<SvnRevisionRow>> {
    Ok(svn_revisions::table
        .filter(svn_revisions::project_id.eq(project_id))
        .filter(svn_revisions::revision.gt(after))
        .filter(svn_revisions::revision.le(upto))
        .order(svn_revisions::revision.asc())
        .select(SvnRevisionRow::as_select())
        .load(conn)?)
}

/// The revision staging was last updated to for a project, by any ticket but `except_ticket`.
pub fn last_staged_revision(conn: &mut DbConn, project_id: i64, except_ticket: i64) -> StoreResult<Option<i64>> {
    Ok(tickets::table
        .filter(tickets::project_id.eq(project_id))
        .filter(tickets::id.ne(except_ticket))
        .select(diesel::dsl::max(tickets::staged_revision))
        .first(conn)?)
}
