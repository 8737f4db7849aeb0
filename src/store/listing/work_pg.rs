//! "My work"'s stream reads on PostgreSQL: the streams that name their
//! owner in one column, in one statement (a lateral index scan per (owner,
//! state) pair of two arrays). Its text depends only on that column, so it
//! is a prepared statement diesel keeps per connection and PostgreSQL does
//! not parse and plan again on every page (the SQLite reads are in
//! `super::work_sqlite`). Where a page wants the streams' tickets rather
//! than their ids, the read is the filter of the list query itself
//! ([`IdIn`]): one statement, not one for the ids and one for the rows.

use std::marker::PhantomData;

use diesel::expression::{is_aggregate, AppearsOnTable, Expression, ValidGrouping};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Text};

use super::tickets::{candidate_columns, list_columns, listed_where, DecideRow, TicketListRow};
use super::work::{Owner, Stream};
use super::work_sqlite::{ByProject, BySubmitter, OwnerColumn};
use crate::store::db::DbConn;
use crate::store::error::{StoreError, StoreResult};
use crate::store::schema::{projects, tickets, users};

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

impl<'a> LateralRead<'a> {
    /// Runs the read with the owner in column `O`.
    fn load<O: OwnerColumn>(self, pg: &mut diesel::PgConnection) -> QueryResult<Vec<i64>> {
        LateralQuery::<O> {
            owner_column: PhantomData,
            read: self,
        }
        .load(pg)
    }

    /// The tickets of the read, as lists show them, with what the domain
    /// needs to decide them, newest first.
    fn candidates<O: OwnerColumn>(self, pg: &mut diesel::PgConnection) -> QueryResult<Vec<(TicketListRow, DecideRow)>> {
        listed_where!(self.id_in::<O>()).select(candidate_columns!()).load(pg)
    }

    /// The tickets of the read, as lists show them, newest first.
    fn list_rows<O: OwnerColumn>(self, pg: &mut diesel::PgConnection) -> QueryResult<Vec<TicketListRow>> {
        listed_where!(self.id_in::<O>()).select(list_columns!()).load(pg)
    }

    fn id_in<O>(self) -> IdIn<'a, O> {
        IdIn(LateralQuery {
            owner_column: PhantomData,
            read: self,
        })
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

/// `tickets.id IN (<the read>)`: a [`LateralRead`] as a filter.
struct IdIn<'a, O>(LateralQuery<'a, O>);

impl<O> Expression for IdIn<'_, O> {
    type SqlType = Bool;
}

impl<O, QS> AppearsOnTable<QS> for IdIn<'_, O> {}

impl<O, GB> ValidGrouping<GB> for IdIn<'_, O> {
    type IsAggregate = is_aggregate::Never;
}

impl<O: OwnerColumn> QueryFragment<Pg> for IdIn<'_, O> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("\"tickets\".\"id\" IN (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<O: OwnerColumn> QueryId for IdIn<'_, O> {
    type QueryId = IdIn<'static, O>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// The owner and state arrays of `streams`.
fn arrays<'s>(streams: impl Iterator<Item = &'s Stream>) -> (Vec<i64>, Vec<String>) {
    streams
        .map(|stream| {
            let owner = match &stream.owner {
                Owner::Project(id) => *id,
                Owner::Submitter { user_id, .. } => *user_id,
            };
            (owner, stream.state.to_owned())
        })
        .unzip()
}

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
    let (owners, states) = arrays(streams.iter().copied());
    let read = LateralRead {
        owners: &owners,
        states: &states,
        below: before.unwrap_or(i64::MAX),
        per_stream,
        limit,
    };
    Ok(if by_project {
        read.load::<ByProject>(pg)?
    } else {
        read.load::<BySubmitter>(pg)?
    })
}

/// Whether every one of `streams` names its owner by project (`true`) or
/// every one by submitter in any project (`false`); `None` when neither.
fn one_owner_column(streams: &[Stream]) -> Option<bool> {
    let by_project = |s: &Stream| matches!(s.owner, Owner::Project(_));
    let by_submitter = |s: &Stream| matches!(s.owner, Owner::Submitter { projects: None, .. });
    if streams.is_empty() {
        None
    } else if streams.iter().all(by_project) {
        Some(true)
    } else if streams.iter().all(by_submitter) {
        Some(false)
    } else {
        None
    }
}

/// On PostgreSQL, the tickets of the newest ids of `streams` (those
/// [`super::newest_ids`] gives) as lists show them, with what the domain
/// needs to decide them, in one statement when every stream names its
/// owner in one column; `None` otherwise (another backend, or mixed
/// streams), for the caller to read the ids first.
pub(super) fn candidates_in_one(
    conn: &mut DbConn,
    streams: &[Stream],
    before: Option<i64>,
    per_stream: i64,
    limit: i64,
) -> StoreResult<Option<Vec<(TicketListRow, DecideRow)>>> {
    in_one(conn, streams, before, per_stream, limit, |read, pg, by_project| {
        if by_project {
            read.candidates::<ByProject>(pg)
        } else {
            read.candidates::<BySubmitter>(pg)
        }
    })
}

/// [`candidates_in_one`] for the list rows only.
pub(super) fn list_rows_in_one(
    conn: &mut DbConn,
    streams: &[Stream],
    before: Option<i64>,
    per_stream: i64,
    limit: i64,
) -> StoreResult<Option<Vec<TicketListRow>>> {
    in_one(conn, streams, before, per_stream, limit, |read, pg, by_project| {
        if by_project {
            read.list_rows::<ByProject>(pg)
        } else {
            read.list_rows::<BySubmitter>(pg)
        }
    })
}

/// Runs `load` with the read of `streams` when one statement can serve it.
fn in_one<T>(
    conn: &mut DbConn,
    streams: &[Stream],
    before: Option<i64>,
    per_stream: i64,
    limit: i64,
    load: impl FnOnce(LateralRead<'_>, &mut diesel::PgConnection, bool) -> QueryResult<T>,
) -> StoreResult<Option<T>> {
    let DbConn::Pg(pg) = conn else {
        return Ok(None);
    };
    let Some(by_project) = one_owner_column(streams) else {
        return Ok(None);
    };
    let (owners, states) = arrays(streams.iter());
    let read = LateralRead {
        owners: &owners,
        states: &states,
        below: before.unwrap_or(i64::MAX),
        per_stream,
        limit,
    };
    Ok(Some(load(read, pg, by_project)?))
}
