//! The queries behind "my work": the newest ticket ids of several streams
//! (one project's or one submitter's tickets in one state), each read
//! newest first from its own index and limited before they are merged, so
//! that the page costs the same at a hundred tickets as at 100,000; and the
//! freeze windows and running versions of many projects at once.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::work_pg::lateral_ids;
use super::work_sqlite::merge_streams;
use crate::store::cached::in_ids;
use crate::store::db::{Backend, DbConn};
use crate::store::error::{StoreError, StoreResult};
use crate::store::models::FreezeWindowRow;
use crate::store::schema::{freeze_windows, host_groups, hosts, project_host_groups, tickets};

/// Whose tickets a [`Stream`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Every ticket of this project.
    Project(i64),
    /// The tickets this user filed, in these projects (`None`: any).
    Submitter {
        /// The submitter.
        user_id: i64,
        /// Only these projects.
        projects: Option<Vec<i64>>,
    },
}

/// One stream of tickets: an owner's tickets in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// Whose.
    pub owner: Owner,
    /// The state's stored name.
    pub state: &'static str,
}

/// Streams per statement: far below SQLite's limit on compound SELECTs.
const ARMS_PER_QUERY: usize = 100;

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

fn ids_sql(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// One arm: the stream's newest `limit` ids below `before`, from the
/// index on (project_id, state, id) or (submitter_id, state, id).
fn arm(n: usize, stream: &Stream, before: Option<i64>, limit: i64) -> StoreResult<String> {
    // The state is a literal in the SQL: only stored state names pass.
    if stream.state.is_empty() || !stream.state.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(StoreError::Corrupt(format!("state name `{}`", stream.state)));
    }
    let owner = match &stream.owner {
        Owner::Project(id) => format!("project_id = {id}"),
        Owner::Submitter {
            user_id,
            projects: None,
        } => format!("submitter_id = {user_id}"),
        Owner::Submitter {
            user_id,
            projects: Some(projects),
        } if projects.is_empty() => format!("submitter_id = {user_id} AND 1 = 0"),
        Owner::Submitter {
            user_id,
            projects: Some(projects),
        } => format!("submitter_id = {user_id} AND project_id IN ({})", ids_sql(projects)),
    };
    let before = before.map(|b| format!(" AND id < {b}")).unwrap_or_default();
    Ok(format!(
        "SELECT id FROM (SELECT id FROM tickets WHERE {owner} AND state = '{state}'{before} \
         ORDER BY id DESC LIMIT {limit}) AS s{n}",
        state = stream.state
    ))
}

/// The newest `limit` ticket ids below `before` over all `streams`,
/// newest first, taking at most `per_stream` of each stream (each reads at
/// most that many rows of its index).
///
/// On SQLite each stream is its own small query whose prepared statement
/// the connection keeps (the statement cache), so a page pays no SQL
/// compilation per request; one compound statement of many arms would be
/// compiled again on every call, which cost more than running it. The
/// streams are merged as they are read, a few ids at a time
/// ([`merge_streams`]). On
/// PostgreSQL, where each statement is a round trip, the streams of
/// projects go as one statement, those of a submitter in any project as
/// another ([`lateral_ids`]), and the rest as compound statements of at
/// most [`ARMS_PER_QUERY`] arms.
pub fn newest_ids(
    conn: &mut DbConn,
    streams: &[Stream],
    before: Option<i64>,
    per_stream: i64,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    if Backend::of(conn) == Backend::Sqlite {
        return merge_streams(conn, streams, before, per_stream, limit);
    }
    let mut ids: Vec<i64> = Vec::new();
    let mut by_project: Vec<&Stream> = Vec::new();
    let mut by_submitter: Vec<&Stream> = Vec::new();
    let mut others: Vec<Stream> = Vec::new();
    for stream in streams {
        match &stream.owner {
            Owner::Project(_) => by_project.push(stream),
            Owner::Submitter { projects: None, .. } => by_submitter.push(stream),
            Owner::Submitter { .. } => others.push(stream.clone()),
        }
    }
    for (is_project, group) in [(true, &by_project), (false, &by_submitter)] {
        if !group.is_empty() {
            ids.extend(lateral_ids(conn, is_project, group, before, per_stream, limit)?);
        }
    }
    for chunk in others.chunks(ARMS_PER_QUERY) {
        let arms = chunk
            .iter()
            .enumerate()
            .map(|(n, s)| arm(n, s, before, per_stream))
            .collect::<StoreResult<Vec<_>>>()?;
        let sql = format!("{} ORDER BY id DESC LIMIT {limit}", arms.join(" UNION ALL "));
        ids.extend(diesel::sql_query(sql).load::<IdRow>(conn)?.into_iter().map(|r| r.id));
    }
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.dedup();
    ids.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(ids)
}

/// The freeze windows of these projects.
pub fn freeze_windows_of(conn: &mut DbConn, project_ids: &[i64]) -> StoreResult<Vec<FreezeWindowRow>> {
    Ok(freeze_windows::table
        .filter(in_ids(freeze_windows::project_id, project_ids))
        .order(freeze_windows::id.asc())
        .select(FreezeWindowRow::as_select())
        .load(conn)?)
}

/// (project, version) for every version a host of these projects runs.
pub fn running_versions_of(conn: &mut DbConn, project_ids: &[i64]) -> StoreResult<Vec<(i64, i64)>> {
    let rows: Vec<(i64, Option<i64>)> = project_host_groups::table
        .inner_join(host_groups::table.inner_join(hosts::table))
        .filter(in_ids(project_host_groups::project_id, project_ids))
        .filter(hosts::running_version.is_not_null())
        .select((project_host_groups::project_id, hosts::running_version))
        .load(conn)?;
    let mut out: Vec<(i64, i64)> = rows.into_iter().filter_map(|(p, v)| v.map(|v| (p, v))).collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// (project, version, snapshot order) of the release tickets of these
/// projects that got one of these versions.
pub fn snapshot_seqs_of_versions(
    conn: &mut DbConn,
    project_ids: &[i64],
    versions: &[i64],
) -> StoreResult<Vec<(i64, i64, Option<i64>)>> {
    let rows: Vec<(i64, Option<i64>, Option<i64>)> = tickets::table
        .filter(in_ids(tickets::project_id, project_ids))
        .filter(tickets::kind.eq("release"))
        .filter(in_ids(tickets::version, versions))
        .select((tickets::project_id, tickets::version, tickets::snapshot_seq))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(p, v, s)| v.map(|v| (p, v, s))).collect())
}
