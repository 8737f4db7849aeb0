//! Connections: one connection type over SQLite and PostgreSQL (diesel
//! `MultiConnection`), an r2d2 pool that opens the right one from the URL
//! (with SQLite in WAL mode and a busy timeout), and write transactions that
//! take SQLite's write lock up front.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};

use super::error::{StoreError, StoreResult};

/// A connection to either backend; every query in `store` is written once
/// against this type.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// The embedded default.
    Sqlite(SqliteConnection),
    /// For several instances and workers.
    Pg(PgConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend of a connection.
    pub fn of(conn: &DbConn) -> Self {
        match conn {
            DbConn::Sqlite(_) => Backend::Sqlite,
            DbConn::Pg(_) => Backend::Postgres,
        }
    }
}

/// A parsed database location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// A SQLite database file.
    SqliteFile(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl DbLocation {
    /// Parses `database_url`; `None` means `slipway.db` under `data_dir`.
    pub fn parse(database_url: Option<&str>, data_dir: &Path) -> StoreResult<Self> {
        let Some(url) = database_url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(DbLocation::SqliteFile(data_dir.join("slipway.db")));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbLocation::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.contains("://") {
            return Err(StoreError::BadUrl(format!(
                "unsupported scheme in `{}`; use postgres://… or a SQLite file path",
                redact_url(url)
            )));
        }
        Ok(DbLocation::SqliteFile(PathBuf::from(path)))
    }

    /// The backend it names.
    pub fn backend(&self) -> Backend {
        match self {
            DbLocation::SqliteFile(_) => Backend::Sqlite,
            DbLocation::Postgres(_) => Backend::Postgres,
        }
    }

    /// A printable form with any password removed.
    pub fn redacted(&self) -> String {
        match self {
            DbLocation::SqliteFile(path) => format!("sqlite:{}", path.display()),
            DbLocation::Postgres(url) => redact_url(url),
        }
    }
}

/// `scheme://user:secret@host` → `scheme://user:***@host`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server or file refused.
    #[error("{0}")]
    Connection(#[from] diesel::ConnectionError),
    /// Setting up the session failed.
    #[error("{0}")]
    Setup(#[from] diesel::result::Error),
    /// The SQLite file's directory could not be created.
    #[error("cannot create {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Opens connections for the pool, choosing the backend from the location
/// (so a bad URL reports the backend's own error, not a generic one).
#[derive(Debug, Clone)]
pub struct Manager {
    location: DbLocation,
    busy_timeout: Duration,
}

impl Manager {
    /// A manager for `location`; SQLite waits up to `busy_timeout` for locks.
    pub fn new(location: DbLocation, busy_timeout: Duration) -> Self {
        Self { location, busy_timeout }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConn, ConnectError> {
        match &self.location {
            DbLocation::SqliteFile(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| ConnectError::Directory {
                        path: dir.to_owned(),
                        source,
                    })?;
                }
                super::sqlite_plans::install();
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    self.busy_timeout.as_millis()
                ))?;
                Ok(DbConn::Sqlite(conn))
            }
            DbLocation::Postgres(url) => Ok(DbConn::Pg(PgConnection::establish(url)?)),
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ConnectError> {
        conn.ping().map_err(ConnectError::Setup)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// The connection pool.
pub type Pool = r2d2::Pool<Manager>;
/// A connection borrowed from the pool.
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: u32,
    /// How long to wait for a free connection.
    pub connect_timeout: Duration,
    /// How long SQLite waits for a lock before giving up.
    pub busy_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            connect_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Logs connection failures of the pool's background work once, as warnings.
#[derive(Debug)]
struct WarnOnError;

impl r2d2::HandleError<ConnectError> for WarnOnError {
    fn handle_error(&self, error: ConnectError) {
        tracing::warn!(%error, "database connection failed");
    }
}

/// Builds a pool, first opening one connection directly so that a bad URL,
/// a refused connection or an unwritable file is reported at once with the
/// backend's own message.
pub fn connect(location: &DbLocation, options: &PoolOptions) -> StoreResult<Pool> {
    let manager = Manager::new(location.clone(), options.busy_timeout);
    manager
        .connect()
        .map_err(|e| StoreError::Unavailable(e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")))?;
    r2d2::Pool::builder()
        .max_size(options.max_size)
        .min_idle(Some(1))
        .connection_timeout(options.connect_timeout)
        .error_handler(Box::new(WarnOnError))
        .build(manager)
        .map_err(StoreError::Pool)
}

/// Runs `f` in a transaction that writes. On SQLite it begins with
/// `BEGIN IMMEDIATE`, taking the write lock before the first read, so two
/// writers queue on the busy timeout instead of failing to upgrade a read
/// lock; on PostgreSQL it is a plain `BEGIN`.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => match <DbConn as TransactionManager<DbConn>>::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(commit_error) => {
                // Best effort; the commit error is what the caller needs.
                let _ = <DbConn as TransactionManager<DbConn>>::rollback_transaction(conn);
                Err(commit_error.into())
            }
        },
        Err(error) => {
            <DbConn as TransactionManager<DbConn>>::rollback_transaction(conn)?;
            Err(error)
        }
    }
}

/// Runs `f`, which only reads, as one snapshot on SQLite: one deferred
/// transaction, so that SQLite takes its file locks and WAL read mark once
/// for all of `f`'s statements instead of once per statement, and every
/// statement sees the same state. On PostgreSQL `f` runs as it is (a
/// `BEGIN` and `COMMIT` would cost two round trips).
pub fn read_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(_) => conn.transaction(f),
        DbConn::Pg(_) => f(conn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        let data = Path::new("/var/lib/slipway");
        assert_eq!(
            DbLocation::parse(None, data).ok(),
            Some(DbLocation::SqliteFile(data.join("slipway.db")))
        );
        assert_eq!(
            DbLocation::parse(Some("sqlite:///tmp/x.db"), data).ok(),
            Some(DbLocation::SqliteFile("/tmp/x.db".into()))
        );
        assert_eq!(
            DbLocation::parse(Some("postgres://u:pw@h/db"), data)
                .map(|l| l.redacted())
                .ok(),
            Some("postgres://u:***@h/db".into())
        );
        assert!(DbLocation::parse(Some("mysql://h/db"), data).is_err());
    }
}
