//! Stable query plans for every SQLite connection Slipway opens.
//!
//! SQLite's planner may look at a bound value (a `LIMIT ?`, a `LIKE ?`
//! pattern, or any `?` once `ANALYZE` has written `sqlite_stat4`). A
//! statement planned that way is marked expired as soon as that parameter
//! is bound again, so every run parses and plans it anew: diesel's
//! statement cache gains nothing, and on the ticket page re-preparing was
//! half of the server's CPU (issue 12's profile). SQLite's "query planner
//! stability guarantee" (`SQLITE_DBCONFIG_ENABLE_QPSG`) turns that off: a
//! statement is planned once, without looking at its parameters. No PRAGMA
//! sets it and diesel does not hand out the raw handle, so an SQLite
//! auto-extension (run by SQLite for each new connection in the process)
//! sets it.

use std::ffi::{c_char, c_int};
use std::sync::Once;

use libsqlite3_sys as ffi;

static INSTALL: Once = Once::new();

/// Makes every SQLite connection opened from now on plan its statements
/// once, whatever values are bound later. Idempotent.
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: `plan_once` has the signature SQLite calls an
        // auto-extension with, and lives as long as the process.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(plan_once)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(
                rc,
                "SQLite did not take the query-plan setting; statements may be re-planned"
            );
        }
    });
}

/// The auto-extension: `SQLITE_DBCONFIG_ENABLE_QPSG` on for `db`.
unsafe extern "C" fn plan_once(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite passes a connection being opened; the option takes an
    // int (1: on) and an optional int pointer for the new value.
    unsafe {
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        );
    }
    ffi::SQLITE_OK
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use super::*;

    /// An in-memory connection, a table of ten rows and a `LIMIT ?`
    /// statement run three times with new values: how often SQLite
    /// re-prepared it, with the query-plan setting as `qpsg` leaves it.
    fn reprepares(qpsg: Option<c_int>) -> c_int {
        let exec = |db: *mut ffi::sqlite3, sql: &str| {
            let sql = CString::new(sql).expect("sql");
            // SAFETY: a valid connection and a NUL-terminated statement.
            let rc = unsafe { ffi::sqlite3_exec(db, sql.as_ptr(), None, std::ptr::null_mut(), std::ptr::null_mut()) };
            assert_eq!(rc, ffi::SQLITE_OK, "{sql:?}");
        };
        let name = CString::new(":memory:").expect("name");
        let mut db = std::ptr::null_mut();
        let mut stmt = std::ptr::null_mut();
        let query = CString::new("SELECT x FROM t ORDER BY x LIMIT ?1").expect("query");
        // SAFETY: the usual open / prepare / bind / step / finalize / close
        // sequence on handles this function owns.
        unsafe {
            assert_eq!(ffi::sqlite3_open(name.as_ptr(), &mut db), ffi::SQLITE_OK);
            if let Some(on) = qpsg {
                ffi::sqlite3_db_config(db, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, on, std::ptr::null_mut::<c_int>());
            }
            exec(db, "CREATE TABLE t (x INTEGER PRIMARY KEY)");
            exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) INSERT INTO t SELECT i FROM n");
            let rc = ffi::sqlite3_prepare_v3(
                db,
                query.as_ptr(),
                -1,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                std::ptr::null_mut(),
            );
            assert_eq!(rc, ffi::SQLITE_OK);
            for limit in 1..=3 {
                ffi::sqlite3_reset(stmt);
                ffi::sqlite3_bind_int64(stmt, 1, limit);
                while ffi::sqlite3_step(stmt) == ffi::SQLITE_ROW {}
            }
            let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(stmt);
            ffi::sqlite3_close(db);
            n
        }
    }

    #[test]
    fn a_bound_limit_no_longer_re_plans_the_statement() {
        // The cause, shown on a connection with the setting off.
        assert!(reprepares(Some(0)) > 0, "SQLite re-plans on a new LIMIT value");
        // Connections opened after `install` keep their plan.
        install();
        assert_eq!(reprepares(None), 0);
    }
}
