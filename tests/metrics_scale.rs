//! `/metrics` does bounded work per scrape (invariant of issue 9, defect 8):
//! the job duration histogram is aggregated by the database, one row per
//! job kind, on SQLite and PostgreSQL, and its figures are right.

mod common;

use actix_web::{test, web, App};
use chrono::TimeDelta;
use diesel::prelude::*;
use slipway::store::schema::jobs;
use slipway::store::timestamp_now;
use slipway::web::{configure, AppState};

use common::TestDb;

/// Adds `n` finished jobs of `kind` that each took `secs` seconds.
fn finished(db: &TestDb, kind: &str, n: usize, secs: i64) {
    let done = timestamp_now() - TimeDelta::minutes(5);
    let started = done - TimeDelta::seconds(secs);
    let mut conn = db.conn();
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        for _ in 0..n {
            diesel::insert_into(jobs::table)
                .values((
                    jobs::kind.eq(kind),
                    jobs::state.eq("done"),
                    jobs::run_after.eq(started),
                    jobs::created_at.eq(started),
                    jobs::updated_at.eq(done),
                ))
                .execute(c)?;
        }
        Ok(())
    })
    .expect("insert jobs");
}

fn a_scrape_loads_one_row_per_kind(db: &TestDb) {
    finished(db, "stage", 1500, 3);
    finished(db, "stage", 500, 120);
    finished(db, "release", 1000, 20);
    // Too old to count.
    let old = timestamp_now() - TimeDelta::days(3);
    diesel::insert_into(jobs::table)
        .values((
            jobs::kind.eq("release"),
            jobs::state.eq("done"),
            jobs::run_after.eq(old),
            jobs::created_at.eq(old),
            jobs::updated_at.eq(old),
        ))
        .execute(&mut db.conn())
        .expect("old job");
    let since = timestamp_now() - TimeDelta::hours(24);
    let rows =
        slipway::store::metrics::job_durations(&mut db.conn(), since, &[1.0, 5.0, 60.0, 300.0]).expect("aggregate");
    // 3001 jobs, 2 rows loaded.
    assert_eq!(rows.len(), 2, "{rows:?}");
    let release = &rows[0];
    assert_eq!((release.kind.as_str(), release.count), ("release", 1000));
    assert_eq!(release.le, vec![0, 0, 1000, 1000]);
    assert!((release.sum - 20_000.0).abs() < 1.0, "{release:?}");
    let stage = &rows[1];
    assert_eq!((stage.kind.as_str(), stage.count), ("stage", 2000));
    assert_eq!(stage.le, vec![0, 1500, 1500, 2000]);
    assert!((stage.sum - (1500.0 * 3.0 + 500.0 * 120.0)).abs() < 1.0, "{stage:?}");

    let state =
        web::Data::new(AppState::new(db.pool.clone(), b"0123456789abcdef0123456789abcdef", 12, false).expect("state"));
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        let body = test::call_and_read_body(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("slipway_job_duration_seconds_count{kind=\"stage\"} 2000"),
            "{text}"
        );
        assert!(
            text.contains("slipway_job_duration_seconds_bucket{kind=\"stage\",le=\"5\"} 1500"),
            "{text}"
        );
        assert!(
            text.contains("slipway_job_duration_seconds_bucket{kind=\"release\",le=\"+Inf\"} 1000"),
            "{text}"
        );
        assert!(text.contains("slipway_jobs{state=\"done\"} 3001"), "{text}");
    });
}

backend_tests!(a_scrape_loads_one_row_per_kind);
