//! Filters that keep a statement in the connection's statement cache on
//! SQLite, for the queries a page runs on every request.
//!
//! Diesel never caches a statement with `column IN (…)` over a list (its
//! text depends on the list's length), and the bundled SQLite (built with
//! STAT4) compiles a cached statement again whenever a `?` it planned by
//! value (an indexed `column = ?`) is bound anew. So [`in_ids`] writes a
//! list of a few fixed widths, padded by repeating a value, and both
//! filters write `+?` (SQLite's and PostgreSQL's no-op unary plus) in place
//! of each plain `?`: the planner cannot plan by its value, and the same
//! index serves.

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType};
use diesel::QueryResult;

/// The smallest list [`in_ids`] writes; longer ones round up to a power of two.
const MIN_WIDTH: usize = 8;
/// Longer lists are written as they are and not cached.
const MAX_CACHED: usize = 128;

/// `column IN (+?, …)` over ids: see [`in_ids`].
#[derive(Debug, Clone, Copy)]
pub struct InIds<'a, C> {
    column: C,
    ids: &'a [i64],
}

/// `column IN (ids)` with as many placeholders as the smallest power of two
/// (at least 8) that holds the ids, the rest repeating the first id, so
/// that a handful of statement texts serve every list (a list longer than
/// 128 is written as it is and not cached). No ids: false.
pub fn in_ids<C>(column: C, ids: &[i64]) -> InIds<'_, C> {
    InIds { column, ids }
}

fn width(len: usize) -> usize {
    if len > MAX_CACHED {
        len
    } else {
        len.max(MIN_WIDTH).next_power_of_two()
    }
}

impl<C> Expression for InIds<'_, C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, QS: ?Sized> AppearsOnTable<QS> for InIds<'_, C> {}

impl<C: SelectableExpression<QS>, QS: ?Sized> SelectableExpression<QS> for InIds<'_, C> {}

impl<C: ValidGrouping<GB>, GB> ValidGrouping<GB> for InIds<'_, C> {
    type IsAggregate = C::IsAggregate;
}

// Cached by its SQL text (which has the list's width), not by type.
impl<C> QueryId for InIds<'_, C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, DB> QueryFragment<DB> for InIds<'_, C>
where
    DB: Backend + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
    C: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let Some(first) = self.ids.first() else {
            out.push_sql("1 = 0");
            return Ok(());
        };
        if self.ids.len() > MAX_CACHED {
            out.unsafe_to_cache_prepared();
        }
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for n in 0..width(self.ids.len()) {
            if n > 0 {
                out.push_sql(", ");
            }
            out.push_sql("+");
            out.push_bind_param::<BigInt, _>(self.ids.get(n).unwrap_or(first))?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// `column = +?`: see [`eq_plus`].
#[derive(Debug, Clone, Copy)]
pub struct EqPlus<C> {
    column: C,
    value: i64,
}

/// `column = value`, written so that SQLite keeps the statement compiled
/// (see the module's documentation).
pub fn eq_plus<C>(column: C, value: i64) -> EqPlus<C> {
    EqPlus { column, value }
}

impl<C> Expression for EqPlus<C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, QS: ?Sized> AppearsOnTable<QS> for EqPlus<C> {}

impl<C: SelectableExpression<QS>, QS: ?Sized> SelectableExpression<QS> for EqPlus<C> {}

impl<C: ValidGrouping<GB>, GB> ValidGrouping<GB> for EqPlus<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C: QueryId> QueryId for EqPlus<C> {
    type QueryId = EqPlus<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C, DB> QueryFragment<DB> for EqPlus<C>
where
    DB: Backend + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
    C: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = +");
        out.push_bind_param::<BigInt, _>(&self.value)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::width;

    #[test]
    fn widths_are_few() {
        assert_eq!(width(0), 8);
        assert_eq!(width(1), 8);
        assert_eq!(width(8), 8);
        assert_eq!(width(9), 16);
        assert_eq!(width(50), 64);
        assert_eq!(width(64), 64);
        assert_eq!(width(65), 128);
        assert_eq!(width(128), 128);
        assert_eq!(width(129), 129);
    }
}
