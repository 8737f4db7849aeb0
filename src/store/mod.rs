//! Storage: diesel over SQLite and PostgreSQL with one schema and one code
//! path, an r2d2 pool, embedded per-backend migrations, and the queries the
//! service layer composes into transactions.

pub mod admin;
pub mod admin_events;
pub mod cached;
pub mod db;
pub mod error;
pub mod jobs;
pub mod json;
pub mod listing;
pub mod metrics;
pub mod migrate;
pub mod models;
pub mod projects;
pub mod releases;
pub mod schedules;
pub mod schema;
pub mod services;
pub mod sqlite_plans;
pub mod stored_time;
pub mod subscriptions;
pub mod svn;
pub mod tickets;
pub mod tokens;
pub mod users;
pub mod visibility;

pub use db::{connect, read_tx, write_tx, Backend, DbConn, DbLocation, Pool, PoolOptions, PooledConn};
pub use error::{StoreError, StoreResult};

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// The current UTC time at microsecond precision (what both backends keep).
pub fn timestamp_now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Whether the database answers a trivial query.
pub fn ping(conn: &mut DbConn) -> StoreResult<()> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}
