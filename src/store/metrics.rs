//! Aggregates for `/metrics`, computed by the database: a scrape loads one
//! row per job kind, however many jobs the table holds.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text, Timestamp};

use super::db::DbConn;
use super::error::StoreResult;

/// Most histogram buckets a query may ask for.
pub const MAX_BUCKETS: usize = 16;

/// The durations (enqueue to finish, seconds) of one kind's finished jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationHistogram {
    /// Job kind.
    pub kind: String,
    /// How many jobs finished.
    pub count: i64,
    /// Their durations added up.
    pub sum: f64,
    /// For each upper bound asked for, how many took at most that long.
    pub le: Vec<i64>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Double)]
    total: f64,
    #[diesel(sql_type = Text)]
    le: String,
}

/// Per kind, the duration histogram of jobs that finished (done or failed)
/// since `since`, with cumulative counts for `bounds` (seconds, at most
/// [`MAX_BUCKETS`]). One row per kind comes back from the database.
pub fn job_durations(conn: &mut DbConn, since: NaiveDateTime, bounds: &[f64]) -> StoreResult<Vec<DurationHistogram>> {
    let bounds = &bounds[..bounds.len().min(MAX_BUCKETS)];
    let (duration, real, concat) = match conn {
        DbConn::Sqlite(_) => (
            "(julianday(updated_at) - julianday(created_at)) * 86400.0",
            "REAL",
            " || ',' || ",
        ),
        DbConn::Pg(_) => (
            "EXTRACT(EPOCH FROM (updated_at - created_at))",
            "DOUBLE PRECISION",
            " || ',' || ",
        ),
    };
    // The bounds are our own constants, written as numbers, never input.
    let counts: Vec<String> = bounds
        .iter()
        .map(|b| format!("CAST(SUM(CASE WHEN d <= {b:?} THEN 1 ELSE 0 END) AS TEXT)"))
        .collect();
    let le = if counts.is_empty() {
        "''".to_owned()
    } else {
        counts.join(concat)
    };
    let sql = format!(
        "SELECT kind, COUNT(*) AS n, CAST(COALESCE(SUM(d), 0) AS {real}) AS total, {le} AS le \
         FROM (SELECT kind, CASE WHEN {duration} < 0 THEN 0 ELSE {duration} END AS d FROM jobs \
               WHERE state IN ('done', 'failed') AND updated_at >= $1) finished \
         GROUP BY kind ORDER BY kind"
    );
    let rows: Vec<Row> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(sql.replace("$1", "?"))
            .bind::<Timestamp, _>(since)
            .load(c)?,
        DbConn::Pg(c) => diesel::sql_query(sql).bind::<Timestamp, _>(since).load(c)?,
    };
    Ok(rows
        .into_iter()
        .map(|r| DurationHistogram {
            kind: r.kind,
            count: r.n,
            sum: r.total,
            le: r.le.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        })
        .collect())
}
