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
struct LateralQuery<'a, O> {
    owner_column: PhantomData<O>,
    owners: &'a [i64],
    states: &'a [String],
    below: i64,
    per_stream: i64,
    limit: i64,
}

impl<O: OwnerColumn> QueryFragment<Pg> for LateralQuery<'_, O> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT s.id FROM unnest(");
        out.push_bind_param::<Array<BigInt>, _>(self.owners)?;
        out.push_sql("::bigint[], ");
        out.push_bind_param::<Array<Text>, _>(self.states)?;
        out.push_sql("::text[]) AS o(owner, state) CROSS JOIN LATERAL (SELECT id FROM tickets WHERE ");
        out.push_sql(O::NAME);
        out.push_sql(" = o.owner AND state = o.state AND id < ");
        out.push_bind_param::<BigInt, _>(&self.below)?;
        out.push_sql(" ORDER BY id DESC LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.per_stream)?;
        out.push_sql(") AS s ORDER BY s.id DESC LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
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
    Ok(if by_project {
        LateralQuery::<ByProject> {
            owner_column: PhantomData,
            owners: &owners,
            states: &states,
            below,
            per_stream,
            limit,
        }
        .load(pg)?
    } else {
        LateralQuery::<BySubmitter> {
            owner_column: PhantomData,
            owners: &owners,
            states: &states,
            below,
            per_stream,
            limit,
        }
        .load(pg)?
    })
}
