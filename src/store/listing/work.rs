//! The queries behind "my work": the newest ticket ids of several streams
//! (one project's or one submitter's tickets in one state), each read
//! newest first from its own index and limited before they are merged, so
//! that the page costs the same at a hundred tickets as at 100,000; and the
//! projects, freeze windows and running versions of many projects at once.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::store::cached::in_ids;
use crate::store::db::{Backend, DbConn};
use crate::store::error::{StoreError, StoreResult};
use crate::store::models::{FreezeWindowRow, ProjectRow};
use crate::store::schema::{freeze_windows, host_groups, hosts, project_host_groups, projects, tickets};

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
    for (column, group) in [("project_id", &by_project), ("submitter_id", &by_submitter)] {
        if !group.is_empty() {
            ids.extend(lateral_ids(conn, column, group, before, per_stream, limit)?);
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

/// On PostgreSQL, the newest ids of streams that all name their owner in
/// `column`: one statement whatever the number of streams (a lateral
/// index scan per (owner, state) pair of two arrays), which PostgreSQL
/// plans in a fraction of the time a compound statement of one arm per
/// stream takes.
fn lateral_ids(
    conn: &mut DbConn,
    column: &str,
    streams: &[&Stream],
    before: Option<i64>,
    per_stream: i64,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    use diesel::sql_types::Array;
    let DbConn::Pg(pg) = conn else {
        return Err(StoreError::Corrupt("lateral stream reads are for PostgreSQL".into()));
    };
    let mut owners = Vec::with_capacity(streams.len());
    let mut states = Vec::with_capacity(streams.len());
    for stream in streams {
        let owner = match &stream.owner {
            Owner::Project(id) => *id,
            Owner::Submitter { user_id, .. } => *user_id,
        };
        owners.push(owner);
        states.push(stream.state.to_owned());
    }
    let sql = format!(
        "SELECT s.id FROM unnest($1::bigint[], $2::text[]) AS o(owner, state) \
         CROSS JOIN LATERAL (SELECT id FROM tickets WHERE {column} = o.owner AND state = o.state \
         AND id < $3 ORDER BY id DESC LIMIT $4) AS s ORDER BY s.id DESC LIMIT $5"
    );
    let rows = diesel::sql_query(sql)
        .bind::<Array<BigInt>, _>(owners)
        .bind::<Array<Text>, _>(states)
        .bind::<BigInt, _>(before.unwrap_or(i64::MAX))
        .bind::<BigInt, _>(per_stream)
        .bind::<BigInt, _>(limit)
        .load::<IdRow>(pg)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Ids read from one stream at a time on SQLite (see [`merge_streams`]).
const CHUNK: i64 = 16;

/// One stream's place in [`merge_streams`]: the ids read and not yet taken.
struct Cursor<'s> {
    stream: &'s Stream,
    /// The last chunk read, newest first.
    ids: Vec<i64>,
    /// The next of `ids` to take.
    next: usize,
    /// How many ids were read from the stream so far.
    read: i64,
    /// Whether the stream has no more ids to give (below the last read,
    /// within `per_stream`).
    done: bool,
}

impl Cursor<'_> {
    /// The next id to take, reading the stream's next chunk when the last
    /// one is used up.
    fn head(&mut self, conn: &mut DbConn, before: Option<i64>, per_stream: i64) -> StoreResult<Option<i64>> {
        if self.next >= self.ids.len() && !self.done {
            let want = CHUNK.min(per_stream - self.read);
            let below = self.ids.last().copied().or(before);
            self.ids = if want > 0 {
                stream_ids(conn, self.stream, below, want)?
            } else {
                Vec::new()
            };
            self.next = 0;
            self.read += i64::try_from(self.ids.len()).unwrap_or(i64::MAX);
            self.done = want <= 0 || (self.ids.len() as i64) < want || self.read >= per_stream;
        }
        Ok(self.ids.get(self.next).copied())
    }
}

/// [`newest_ids`] on SQLite: a merge of the streams, newest first, each
/// read [`CHUNK`] ids at a time as the merge takes them, so that the page
/// reads about `limit` index entries, not `per_stream` of every stream.
/// Each read is a small cached statement (see [`StreamQuery`]).
fn merge_streams(
    conn: &mut DbConn,
    streams: &[Stream],
    before: Option<i64>,
    per_stream: i64,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let mut cursors: Vec<Cursor> = streams
        .iter()
        .map(|stream| Cursor {
            stream,
            ids: Vec::new(),
            next: 0,
            read: 0,
            done: per_stream <= 0,
        })
        .collect();
    let mut out: Vec<i64> = Vec::new();
    while out.len() < limit {
        let mut best: Option<(i64, usize)> = None;
        for (n, cursor) in cursors.iter_mut().enumerate() {
            if let Some(id) = cursor.head(conn, before, per_stream)? {
                if best.is_none_or(|(b, _)| id > b) {
                    best = Some((id, n));
                }
            }
        }
        let Some((id, n)) = best else { break };
        cursors[n].next += 1;
        // Streams may share a ticket; the merge meets its copies in a row.
        if out.last() != Some(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// One stream's newest ids below a bound, as SQLite runs it from the
/// connection's statement cache: `+?` (SQLite's no-op unary plus) in place
/// of each plain `?`, because SQLite (built with STAT4, as the bundled
/// library is) compiles a cached statement again whenever a `?` it planned
/// by value (an indexed `column = ?`, `LIMIT ?`) is bound anew, which
/// cost more than running it. `+?` uses the same index.
#[derive(Debug, Clone)]
struct StreamQuery<'a, O> {
    /// `project_id` or `submitter_id` (see [`OwnerColumn`]).
    owner_column: std::marker::PhantomData<O>,
    owner: i64,
    state: &'a str,
    below: i64,
    limit: i64,
}

impl<DB, O: OwnerColumn> diesel::query_builder::QueryFragment<DB> for StreamQuery<'_, O>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<BigInt> + diesel::sql_types::HasSqlType<Text>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    str: diesel::serialize::ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT id FROM tickets WHERE ");
        out.push_sql(O::NAME);
        out.push_sql(" = +");
        out.push_bind_param::<BigInt, _>(&self.owner)?;
        out.push_sql(" AND state = +");
        out.push_bind_param::<Text, _>(self.state)?;
        out.push_sql(" AND id < +");
        out.push_bind_param::<BigInt, _>(&self.below)?;
        out.push_sql(" ORDER BY id DESC LIMIT +");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        Ok(())
    }
}

// Cached by type: each owner column has one SQL text, so the cache finds
// the statement without writing the SQL out again.
impl<O: OwnerColumn> diesel::query_builder::QueryId for StreamQuery<'_, O> {
    type QueryId = StreamQuery<'static, O>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// The column a [`StreamQuery`] reads its owner from.
trait OwnerColumn: 'static {
    /// The column's name.
    const NAME: &'static str;
}

/// `tickets.project_id`.
#[derive(Debug, Clone, Copy)]
struct ByProject;

impl OwnerColumn for ByProject {
    const NAME: &'static str = "project_id";
}

/// `tickets.submitter_id`.
#[derive(Debug, Clone, Copy)]
struct BySubmitter;

impl OwnerColumn for BySubmitter {
    const NAME: &'static str = "submitter_id";
}

impl<O> diesel::query_builder::Query for StreamQuery<'_, O> {
    type SqlType = BigInt;
}

impl<Conn, O> RunQueryDsl<Conn> for StreamQuery<'_, O> {}

/// One stream's newest `limit` ids below `before`, from the same indexes
/// as [`arm`], as a cached statement (see [`StreamQuery`]).
fn stream_ids(conn: &mut DbConn, stream: &Stream, before: Option<i64>, limit: i64) -> StoreResult<Vec<i64>> {
    let below = before.unwrap_or(i64::MAX);
    let ids = match &stream.owner {
        Owner::Project(id) => StreamQuery::<ByProject> {
            owner_column: std::marker::PhantomData,
            owner: *id,
            state: stream.state,
            below,
            limit,
        }
        .load(conn)?,
        Owner::Submitter {
            user_id,
            projects: None,
        } => StreamQuery::<BySubmitter> {
            owner_column: std::marker::PhantomData,
            owner: *user_id,
            state: stream.state,
            below,
            limit,
        }
        .load(conn)?,
        Owner::Submitter {
            projects: Some(projects),
            ..
        } if projects.is_empty() => Vec::new(),
        // Rare (the user's own tickets in some projects only): not cached.
        Owner::Submitter {
            user_id,
            projects: Some(projects),
        } => tickets::table
            .filter(tickets::submitter_id.eq(*user_id))
            .filter(tickets::state.eq(stream.state))
            .filter(tickets::project_id.eq_any(projects))
            .filter(tickets::id.lt(below))
            .order(tickets::id.desc())
            .limit(limit)
            .select(tickets::id)
            .load(conn)?,
    };
    Ok(ids)
}

/// These projects, by id.
pub fn projects_by_ids(conn: &mut DbConn, ids: &[i64]) -> StoreResult<Vec<ProjectRow>> {
    Ok(projects::table
        .filter(in_ids(projects::id, ids))
        .order(projects::id.asc())
        .select(ProjectRow::as_select())
        .load(conn)?)
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
