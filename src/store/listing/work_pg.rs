//! "My work"'s stream reads on PostgreSQL: the streams that name their
//! owner in one column, in one statement (a lateral index scan per (owner,
//! state) pair of two arrays). Its text depends only on that column, so it
//! is a prepared statement diesel keeps per connection and PostgreSQL does
//! not parse and plan again on every page (the SQLite reads are in
//! `super::work_sqlite`).

use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Text};

use super::work::{Owner, Stream};
use super::work_sqlite::{ByProject, BySubmitter, OwnerColumn};
use crate::store::db::DbConn;
use crate::store::error::{StoreError, StoreResult};

/// The newest ids of `owners[i]`'s tickets in `states[i]`, at most
/// `per_stream` of each below `below`, at most `limit` in all, newest first.
#[derive(Clone, Copy)]
struct LateralRead<'a> {
    owners: &'a [i64],
    states: &'a [String],
    below: i64,
    per_stream: i64,
    limit: i64,
}

impl LateralRead<'_> {
    /// Runs the read with the owner in column `O`.
    fn load<O: OwnerColumn>(self, pg: &mut diesel::PgConnection) -> QueryResult<Vec<i64>> {
        LateralQuery::<O> {
            owner_column: PhantomData,
            read: self,
        }
        .load(pg)
    }
}

/// A [`LateralRead`] as a statement with the owner in column `O`.
struct LateralQuery<'a, O> {
    owner_column: PhantomData<O>,
    read: LateralRead<'a>,
}

impl<O: OwnerColumn> QueryFragment<Pg> for LateralQuery<'_, O> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT s.id FROM unnest(");
        let r = &self.read;
        out.push_bind_param::<Array<BigInt>, _>(r.owners)?;
        out.push_sql("::bigint[], ");
        out.push_bind_param::<Array<Text>, _>(r.states)?;
        out.push_sql("::text[]) AS o(owner, state) CROSS JOIN LATERAL (SELECT id FROM tickets WHERE ");
        out.push_sql(O::NAME);
        out.push_sql(" = o.owner AND state = o.state AND id < ");
        out.push_bind_param::<BigInt, _>(&r.below)?;
        out.push_sql(" ORDER BY id DESC LIMIT ");
        out.push_bind_param::<BigInt, _>(&r.per_stream)?;
        out.push_sql(") AS s ORDER BY s.id DESC LIMIT ");
        out.push_bind_param::<BigInt, _>(&r.limit)?;
        Ok(())
    }
}

// Cached by type: one SQL text per owner column.
impl<O: OwnerColumn> QueryId for LateralQuery<'_, O> {
    type QueryId = LateralQuery<'static, O>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<O> Query for LateralQuery<'_, O> {
    type SqlType = BigInt;
}

impl<Conn, O> RunQueryDsl<Conn> for LateralQuery<'_, O> {}

/// On PostgreSQL, the newest ids of `streams`, which all name their owner
/// the same way: by project (`Owner::Project`) or by submitter in any
/// project (`Owner::Submitter` without projects).
pub(super) fn lateral_ids(
    conn: &mut DbConn,
    by_project: bool,
    streams: &[&Stream],
    before: Option<i64>,
    per_stream: i64,
    limit: i64,
) -> StoreResult<Vec<i64>> {
    let DbConn::Pg(pg) = conn else {
        return Err(StoreError::Corrupt("lateral stream reads are for PostgreSQL".into()));
    };
    let mut owners = Vec::with_capacity(streams.len());
    let mut states = Vec::with_capacity(streams.len());
    for stream in streams {
        owners.push(match &stream.owner {
            Owner::Project(id) => *id,
            Owner::Submitter { user_id, .. } => *user_id,
        });
        states.push(stream.state.to_owned());
    }
    let below = before.unwrap_or(i64::MAX);
    let read = LateralRead {
        owners: &owners,
        states: &states,
        below,
        per_stream,
        limit,
    };
    Ok(if by_project {
        read.load::<ByProject>(pg)?
    } else {
        read.load::<BySubmitter>(pg)?
    })
}
