//! Every migration applies, reverts to exactly the schema it started from,
//! and applies again; on PostgreSQL several instances can migrate at once.

mod common;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use slipway::store::{migrate, DbConn};

use common::TestDb;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// A text description of every table, column, index, trigger and function
/// Slipway owns (diesel's own bookkeeping table excluded).
fn schema_fingerprint(conn: &mut DbConn) -> Vec<String> {
    let queries: &[&str] = match conn {
        DbConn::Sqlite(_) => &["SELECT type || ' ' || name || ': ' || COALESCE(sql, '') AS line FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '__diesel%' ORDER BY type, name"],
        DbConn::Pg(_) => &[
            "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' \
             || COALESCE(column_default, '') AS line FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '__diesel%' ORDER BY 1",
            "SELECT 'index ' || indexdef AS line FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename NOT LIKE '__diesel%' ORDER BY 1",
            "SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(c.oid) AS line FROM pg_constraint c \
             JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema() \
             AND conname NOT LIKE '__diesel%' ORDER BY 1",
            "SELECT 'trigger ' || tgname AS line FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND NOT t.tgisinternal ORDER BY 1",
            "SELECT 'function ' || proname AS line FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname = current_schema() ORDER BY 1",
            "SELECT 'sequence ' || sequence_name AS line FROM information_schema.sequences \
             WHERE sequence_schema = current_schema() ORDER BY 1",
        ],
    };
    let mut lines = Vec::new();
    for query in queries {
        let rows: Vec<Line> = match conn {
            DbConn::Sqlite(c) => diesel::sql_query(*query).load(c),
            DbConn::Pg(c) => diesel::sql_query(*query).load(c),
        }
        .expect("schema query");
        lines.extend(rows.into_iter().map(|r| r.line));
    }
    lines
}

fn each_migration_reverts_cleanly(db: &TestDb) {
    let mut conn = db.conn();
    let known = migrate::known_versions(&conn).expect("versions");
    assert!(known.len() >= 3, "migrations are embedded: {known:?}");
    for version in &known {
        let before = schema_fingerprint(&mut conn);
        let applied = migrate::run_next(&mut conn).expect("apply").expect("one pending");
        assert_eq!(&applied, version);
        let after = schema_fingerprint(&mut conn);
        assert_ne!(before, after, "migration {version} changes the schema");
        assert_eq!(migrate::revert_last(&mut conn).expect("revert"), *version);
        assert_eq!(
            schema_fingerprint(&mut conn),
            before,
            "migration {version} reverts to the schema before it"
        );
        migrate::run_next(&mut conn).expect("apply again");
        assert_eq!(
            schema_fingerprint(&mut conn),
            after,
            "migration {version} re-applies identically"
        );
    }
    assert_eq!(migrate::pending_count(&mut conn).expect("pending"), 0);
    assert!(migrate::run_pending(&mut conn).expect("idempotent").is_empty());
    for _ in &known {
        migrate::revert_last(&mut conn).expect("revert all");
    }
    assert!(
        schema_fingerprint(&mut conn).is_empty(),
        "reverting everything leaves nothing behind"
    );
}

fn sqlite_case() {
    each_migration_reverts_cleanly(&TestDb::sqlite_unmigrated());
}

#[test]
fn sqlite_migrations_revert_cleanly() {
    sqlite_case();
}

#[test]
fn postgres_migrations_revert_cleanly() {
    each_migration_reverts_cleanly(&TestDb::postgres_unmigrated());
}

#[test]
fn postgres_instances_migrate_at_once() {
    let db = TestDb::postgres_unmigrated();
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let pool = db.pool.clone();
                scope.spawn(move || migrate::run_pending(&mut pool.get().expect("connection")).map(|v| v.len()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let applied: usize = results
        .iter()
        .map(|r| *r.as_ref().expect("every instance starts"))
        .sum();
    assert_eq!(
        applied,
        migrate::known_versions(&db.conn()).expect("versions").len(),
        "each migration ran once"
    );
}

#[test]
fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    let db = TestDb::sqlite();
    let mut conn = db.conn();
    let DbConn::Sqlite(c) = &mut *conn else {
        panic!("sqlite")
    };
    let mode: Vec<Mode> = diesel::sql_query("PRAGMA journal_mode").load(c).expect("pragma");
    assert_eq!(mode[0].journal_mode, "wal");
    let orphan =
        diesel::sql_query("INSERT INTO project_members (project_id, user_id, role) VALUES (99, 99, 'lead')").execute(c);
    assert!(orphan.is_err(), "foreign keys are enforced");
}

/// The time-zone migration turns each stored fixed offset into an IANA zone
/// with that offset, and every result is a zone the domain knows.
fn offsets_become_zones(db: &TestDb) {
    let mut conn = db.conn();
    let exec = |conn: &mut DbConn, sql: &str| match conn {
        DbConn::Sqlite(c) => diesel::sql_query(sql).execute(c),
        DbConn::Pg(c) => diesel::sql_query(sql).execute(c),
    };
    // Everything before the time-zone migration (2026-11-28-000001).
    let known = migrate::known_versions(&conn).expect("versions");
    let before = known
        .iter()
        .filter(|v| v.replace('-', "").as_str() < "20261128000001")
        .count();
    for _ in 0..before {
        migrate::run_next(&mut conn).expect("apply").expect("pending");
    }
    let cases = [
        (0, "UTC"),
        (480, "Etc/GMT-8"),
        (-300, "Etc/GMT+5"),
        (60, "Etc/GMT-1"),
        (330, "Asia/Kolkata"),
        (17, "UTC"),
    ];
    for (i, (offset, _)) in cases.iter().enumerate() {
        exec(
            &mut conn,
            &format!(
                "INSERT INTO projects (name, svn_url, staging_dir, utc_offset_minutes, created_at, updated_at) \
                 VALUES ('p{i}', 'file:///r', '/s', {offset}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
        )
        .expect("insert project");
    }
    migrate::run_pending(&mut conn).expect("migrate the rest");
    #[derive(QueryableByName)]
    struct Zone {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        time_zone: String,
    }
    let query = "SELECT name, time_zone FROM projects ORDER BY name";
    let zones: Vec<Zone> = match &mut *conn {
        DbConn::Sqlite(c) => diesel::sql_query(query).load(c),
        DbConn::Pg(c) => diesel::sql_query(query).load(c),
    }
    .expect("zones");
    for (i, (offset, zone)) in cases.iter().enumerate() {
        let row = zones.iter().find(|z| z.name == format!("p{i}")).expect("row");
        assert_eq!(row.time_zone, *zone, "offset {offset}");
        assert!(slipway::domain::parse_zone(&row.time_zone).is_some());
        if let Some(same) = slipway::domain::zone_for_offset(*offset) {
            assert_eq!(
                same.name(),
                row.time_zone,
                "the domain maps {offset} like the migration"
            );
        }
    }
}

#[test]
fn sqlite_fixed_offsets_become_time_zones() {
    offsets_become_zones(&TestDb::sqlite_unmigrated());
}

#[test]
fn postgres_fixed_offsets_become_time_zones() {
    offsets_become_zones(&TestDb::postgres_unmigrated());
}
