//! Embedded migrations, one folder per backend. On PostgreSQL they run under
//! an advisory lock so several instances can start at once.

use diesel::migration::MigrationSource;
use diesel::sqlite::Sqlite;
use diesel::{pg::Pg, sql_query, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::db::DbConn;
use super::error::{StoreError, StoreResult};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Advisory lock key: "slipway!" as a big-endian integer.
const PG_LOCK_KEY: i64 = 0x736c_6970_7761_7921;

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Migration(e.to_string())
}

fn with_pg_lock<T>(
    conn: &mut diesel::PgConnection,
    f: impl FnOnce(&mut diesel::PgConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    sql_query(format!("SELECT pg_advisory_lock({PG_LOCK_KEY})")).execute(conn)?;
    let result = f(conn);
    sql_query(format!("SELECT pg_advisory_unlock({PG_LOCK_KEY})")).execute(conn)?;
    result
}

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    let applied = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map_err(failed)?
            .iter()
            .map(ToString::to_string)
            .collect(),
        DbConn::Pg(c) => with_pg_lock(c, |c| {
            Ok(c.run_pending_migrations(POSTGRES)
                .map_err(failed)?
                .iter()
                .map(ToString::to_string)
                .collect())
        })?,
    };
    Ok(applied)
}

/// How many migrations are not applied yet.
pub fn pending_count(conn: &mut DbConn) -> StoreResult<usize> {
    Ok(match conn {
        DbConn::Sqlite(c) => c.pending_migrations(SQLITE).map_err(failed)?.len(),
        DbConn::Pg(c) => c.pending_migrations(POSTGRES).map_err(failed)?.len(),
    })
}

/// Every migration this build knows, oldest first.
pub fn known_versions(conn: &DbConn) -> StoreResult<Vec<String>> {
    let names = match conn {
        DbConn::Sqlite(_) => MigrationSource::<Sqlite>::migrations(&SQLITE)
            .map_err(failed)?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect(),
        DbConn::Pg(_) => MigrationSource::<Pg>::migrations(&POSTGRES)
            .map_err(failed)?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect(),
    };
    Ok(names)
}

/// Reverts the newest applied migration; returns its version.
pub fn revert_last(conn: &mut DbConn) -> StoreResult<String> {
    match conn {
        DbConn::Sqlite(c) => c.revert_last_migration(SQLITE).map(|v| v.to_string()).map_err(failed),
        DbConn::Pg(c) => with_pg_lock(c, |c| {
            c.revert_last_migration(POSTGRES).map(|v| v.to_string()).map_err(failed)
        }),
    }
}

/// Applies the oldest pending migration only; returns its version, if any.
pub fn run_next(conn: &mut DbConn) -> StoreResult<Option<String>> {
    fn next<DB: diesel::backend::Backend>(
        c: &mut impl MigrationHarness<DB>,
        source: EmbeddedMigrations,
    ) -> StoreResult<Option<String>>
    where
        EmbeddedMigrations: MigrationSource<DB>,
    {
        let pending = c.pending_migrations(source).map_err(failed)?;
        match pending.first() {
            Some(m) => Ok(Some(c.run_migration(m.as_ref()).map_err(failed)?.to_string())),
            None => Ok(None),
        }
    }
    match conn {
        DbConn::Sqlite(c) => next(c, SQLITE),
        DbConn::Pg(c) => with_pg_lock(c, |c| next(c, POSTGRES)),
    }
}
