//! "My work"'s stream reads on SQLite: each stream is read a few ids at a
//! time from its own index, by a statement SQLite keeps compiled, and the
//! streams are merged newest first as they are read
//! ([`merge_streams`]; the PostgreSQL reads are in `super::work`).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::work::{Owner, Stream};
use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::tickets;

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
pub(super) fn merge_streams(
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

/// The column a [`StreamQuery`] (and `super::work_pg`'s lateral read) reads its owner from.
pub(super) trait OwnerColumn: 'static {
    /// The column's name.
    const NAME: &'static str;
}

/// `tickets.project_id`.
#[derive(Debug, Clone, Copy)]
pub(super) struct ByProject;

impl OwnerColumn for ByProject {
    const NAME: &'static str = "project_id";
}

/// `tickets.submitter_id`.
#[derive(Debug, Clone, Copy)]
pub(super) struct BySubmitter;

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
