//! Test harness: a fresh database per test, on SQLite (a file in a temp
//! dir) or PostgreSQL (a schema of its own in `TEST_DATABASE_URL`, dropped
//! afterwards), so tests run in parallel without seeing each other.
#![allow(dead_code)]

pub mod app;
pub mod net;
pub mod worker;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use slipway::service::users::{self, NewAccount};
use slipway::store::{self, migrate, Backend, DbConn, DbLocation, Pool, PoolOptions, PooledConn};

/// The default PostgreSQL used by tests.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One test's database.
pub struct TestDb {
    /// The pool.
    pub pool: Pool,
    /// Which backend.
    pub backend: Backend,
    /// The URL the pool connects to (with the schema for PostgreSQL).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Schema { admin_url: String, schema: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Schema { admin_url, schema } = &self.cleanup {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut conn);
            }
        }
    }
}

/// A unique name for this test process.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// The PostgreSQL server tests use.
pub fn pg_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

fn options(max_size: u32) -> PoolOptions {
    PoolOptions {
        max_size,
        connect_timeout: Duration::from_secs(30),
        busy_timeout: Duration::from_secs(30),
    }
}

impl TestDb {
    /// A fresh SQLite database, migrated.
    pub fn sqlite() -> Self {
        Self::sqlite_unmigrated().migrated()
    }

    /// A fresh SQLite database without tables.
    pub fn sqlite_unmigrated() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("slipway.db");
        let location = DbLocation::SqliteFile(path.clone());
        let pool = store::connect(&location, &options(24)).expect("open SQLite");
        TestDb {
            pool,
            backend: Backend::Sqlite,
            url: path.display().to_string(),
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A fresh PostgreSQL schema, migrated.
    pub fn postgres() -> Self {
        Self::postgres_unmigrated().migrated()
    }

    /// A fresh PostgreSQL schema without tables. Fails the test when the
    /// server cannot be reached: PostgreSQL is part of the suite.
    pub fn postgres_unmigrated() -> Self {
        let admin_url = pg_url();
        let schema = unique("t");
        let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin_url} is required (set TEST_DATABASE_URL, or run scripts/test.sh which starts one): {e}")
        });
        diesel::sql_query(format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .expect("create schema");
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-csearch_path%3D{schema}");
        let pool = store::connect(&DbLocation::Postgres(url.clone()), &options(24)).expect("open PostgreSQL");
        TestDb {
            pool,
            backend: Backend::Postgres,
            url,
            cleanup: Cleanup::Schema { admin_url, schema },
        }
    }

    fn migrated(self) -> Self {
        migrate::run_pending(&mut self.conn()).expect("migrations apply");
        self
    }

    /// A connection.
    pub fn conn(&self) -> PooledConn {
        self.pool.get().expect("pooled connection")
    }

    /// Adds a user; returns its id.
    pub fn user(&self, name: &str, admin: bool) -> i64 {
        let account = NewAccount {
            username: name,
            display_name: "",
            email: "",
            password: "password-1234",
            is_admin: admin,
        };
        users::add(&mut self.conn(), &account).expect("add user")
    }

    /// Runs `slipway project import` on `toml`.
    pub fn import(&self, toml: &str) -> slipway::service::import::ImportSummary {
        slipway::service::import::import(&mut self.conn(), toml).expect("import")
    }
}

/// Generates one `#[test]` per backend for each named `fn(&TestDb)`.
#[macro_export]
macro_rules! backend_tests {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $case() { super::$case(&$crate::common::TestDb::sqlite()) } )*
        }
        mod postgres {
            $( #[test] fn $case() { super::$case(&$crate::common::TestDb::postgres()) } )*
        }
    };
}

/// Whether a connection is SQLite.
pub fn is_sqlite(conn: &DbConn) -> bool {
    matches!(conn, DbConn::Sqlite(_))
}
