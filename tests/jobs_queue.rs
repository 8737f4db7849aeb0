//! The job queue on both backends: claim with a lease, retries with backoff
//! and a maximum, the per-project lock, expired leases taken over, and on
//! PostgreSQL many claimers at once with every job run exactly once.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use slipway::jobs::worker::JobOutcome;
use slipway::jobs::{Handler, JobContext, JobError, Registry, Waker, Worker, WorkerOptions};
use slipway::store::jobs::{self as queue, ClaimRequest};
use slipway::store::models::NewJob;
use slipway::store::{timestamp_now, Pool};

use common::TestDb;

/// Records what it ran; behaves as the payload says.
#[derive(Clone, Default)]
struct Probe {
    ran: Arc<Mutex<Vec<i64>>>,
    gave_up: Arc<Mutex<Vec<(i64, String)>>>,
    locking: bool,
}

impl Handler for Probe {
    fn kind(&self) -> &'static str {
        if self.locking {
            "probe-locking"
        } else {
            "probe"
        }
    }
    fn locks_project(&self) -> bool {
        self.locking
    }
    fn run(&self, ctx: &mut JobContext) -> Result<(), JobError> {
        self.ran.lock().expect("lock").push(ctx.job.id);
        ctx.log.info("probe running");
        let payload: serde_json::Value = serde_json::from_str(&ctx.job.payload).unwrap_or_default();
        if let Some(ms) = payload["sleep_ms"].as_u64() {
            std::thread::sleep(Duration::from_millis(ms));
        }
        match payload["fail"].as_str() {
            Some("retry") => Err(JobError::Retryable("flaky".into())),
            Some("permanent") => Err(JobError::Permanent("broken".into())),
            _ => Ok(()),
        }
    }
    fn give_up(&self, ctx: &mut JobContext, error: &str) {
        self.gave_up.lock().expect("lock").push((ctx.job.id, error.to_owned()));
    }
}

fn options(name: &str) -> WorkerOptions {
    WorkerOptions {
        name: name.to_owned(),
        concurrency: 2,
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(200),
        max_attempts: 3,
        retry_base: Duration::ZERO,
        retry_cap: Duration::ZERO,
        data_dir: std::env::temp_dir(),
    }
}

fn enqueue(pool: &Pool, kind: &str, project_id: Option<i64>, payload: &str) -> i64 {
    let now = timestamp_now();
    let job = NewJob {
        kind: kind.to_owned(),
        payload: payload.to_owned(),
        project_id,
        ticket_id: None,
        run_after: now,
        created_at: now,
        updated_at: now,
    };
    queue::insert(&mut pool.get().expect("conn"), &job).expect("enqueue")
}

fn project(db: &TestDb, name: &str) -> i64 {
    db.import(&format!(
        "[[project]]\nname = \"{name}\"\nsvn_url = \"file:///x\"\nstaging_dir = \"/tmp/{name}\"\n"
    ));
    slipway::store::projects::by_name(&mut db.conn(), name)
        .expect("query")
        .expect("project")
        .id
}

fn job_state(db: &TestDb, id: i64) -> (String, i32) {
    let job = queue::by_id(&mut db.conn(), id).expect("query").expect("job");
    (job.state, job.attempts)
}

fn runs_a_job_and_keeps_its_output(db: &TestDb) {
    let probe = Probe::default();
    let worker = Worker::new(
        db.pool.clone(),
        Registry::new().with(probe.clone()),
        options("w1"),
        Waker::new(),
    );
    let id = enqueue(&db.pool, "probe", None, "{}");
    enqueue(&db.pool, "someone-elses-kind", None, "{}");
    assert_eq!(worker.run_one().expect("claim"), Some((id, JobOutcome::Done)));
    assert_eq!(
        worker.run_one().expect("claim"),
        None,
        "kinds without a handler stay queued"
    );
    assert_eq!(job_state(db, id), ("done".into(), 1));
    let lines: Vec<String> = queue::logs_for_job(&mut db.conn(), id)
        .expect("logs")
        .into_iter()
        .map(|l| l.line)
        .collect();
    assert!(lines.iter().any(|l| l == "probe running"), "{lines:?}");
}

fn retries_then_gives_up(db: &TestDb) {
    let probe = Probe::default();
    let worker = Worker::new(
        db.pool.clone(),
        Registry::new().with(probe.clone()),
        options("w1"),
        Waker::new(),
    );
    let id = enqueue(&db.pool, "probe", None, r#"{"fail": "retry"}"#);
    assert_eq!(
        worker.run_one().expect("run"),
        Some((id, JobOutcome::Retrying("flaky".into())))
    );
    assert_eq!(job_state(db, id), ("queued".into(), 1));
    assert_eq!(
        worker.run_one().expect("run"),
        Some((id, JobOutcome::Retrying("flaky".into())))
    );
    assert_eq!(
        worker.run_one().expect("run"),
        Some((id, JobOutcome::Failed("flaky".into())))
    );
    assert_eq!(job_state(db, id), ("failed".into(), 3));
    assert_eq!(
        probe.gave_up.lock().expect("lock").as_slice(),
        [(id, "flaky".to_owned())]
    );
    assert_eq!(worker.run_one().expect("run"), None);
    let permanent = enqueue(&db.pool, "probe", None, r#"{"fail": "permanent"}"#);
    assert_eq!(
        worker.run_one().expect("run"),
        Some((permanent, JobOutcome::Failed("broken".into()))),
        "no retry"
    );
}

fn backoff_delays_the_retry(db: &TestDb) {
    let probe = Probe::default();
    let mut slow = options("w1");
    slow.retry_base = Duration::from_secs(60);
    slow.retry_cap = Duration::from_secs(600);
    let worker = Worker::new(db.pool.clone(), Registry::new().with(probe), slow, Waker::new());
    let id = enqueue(&db.pool, "probe", None, r#"{"fail": "retry"}"#);
    assert!(matches!(
        worker.run_one().expect("run"),
        Some((_, JobOutcome::Retrying(_)))
    ));
    assert_eq!(worker.run_one().expect("run"), None, "not due for a minute");
    let job = queue::by_id(&mut db.conn(), id).expect("query").expect("job");
    let wait = job.run_after - timestamp_now();
    assert!(
        wait > TimeDelta::seconds(50) && wait <= TimeDelta::seconds(60),
        "{wait:?}"
    );
}

fn one_pipeline_job_per_project_at_a_time(db: &TestDb) {
    let (a, b) = (project(db, "alpha"), project(db, "beta"));
    let first = enqueue(&db.pool, "probe-locking", Some(a), "{}");
    let second = enqueue(&db.pool, "probe-locking", Some(a), "{}");
    let other = enqueue(&db.pool, "probe-locking", Some(b), "{}");
    let kinds = ["probe-locking"];
    let now = timestamp_now();
    let request = |worker: &'static str| ClaimRequest {
        kinds: &kinds,
        locking_kinds: &kinds,
        worker,
        now,
        lease_until: now + TimeDelta::seconds(30),
    };
    let mut conn = db.conn();
    let held = queue::claim(&mut conn, &request("w1"))
        .expect("claim")
        .expect("first job");
    assert_eq!(held.job.id, first);
    let next = queue::claim(&mut conn, &request("w2"))
        .expect("claim")
        .expect("a job of the other project");
    assert_eq!(next.job.id, other, "alpha is busy; beta runs in parallel");
    assert!(
        queue::claim(&mut conn, &request("w3")).expect("claim").is_none(),
        "alpha's second job waits"
    );
    assert!(queue::finish(&mut conn, first, "w1", queue::Outcome::Done, now).expect("finish"));
    let after = queue::claim(&mut conn, &request("w3"))
        .expect("claim")
        .expect("now alpha's second");
    assert_eq!(after.job.id, second);
}

fn expired_lease_is_taken_over(db: &TestDb) {
    let p = project(db, "gamma");
    let id = enqueue(&db.pool, "probe-locking", Some(p), "{}");
    let kinds = ["probe-locking"];
    let start = timestamp_now();
    let mut conn = db.conn();
    let crashed = ClaimRequest {
        kinds: &kinds,
        locking_kinds: &kinds,
        worker: "crashed",
        now: start,
        lease_until: start + TimeDelta::seconds(1),
    };
    queue::claim(&mut conn, &crashed).expect("claim").expect("claimed");
    let later = start + TimeDelta::seconds(5);
    let rescuer = ClaimRequest {
        worker: "rescuer",
        now: later,
        lease_until: later + TimeDelta::seconds(30),
        ..crashed
    };
    let taken = queue::claim(&mut conn, &rescuer)
        .expect("claim")
        .expect("taken over after the lease expired");
    assert_eq!((taken.job.id, taken.job.attempts), (id, 2));
    assert!(
        !queue::heartbeat(&mut conn, id, "crashed", later).expect("heartbeat"),
        "the old worker lost its lease"
    );
    assert!(!queue::finish(&mut conn, id, "crashed", queue::Outcome::Done, later).expect("finish"));
    assert!(queue::finish(&mut conn, id, "rescuer", queue::Outcome::Done, later).expect("finish"));
    assert_eq!(job_state(db, id), ("done".into(), 2));
}

fn sweep_requeues_expired_leases(db: &TestDb) {
    let id = enqueue(&db.pool, "probe", None, "{}");
    let kinds = ["probe"];
    let now = timestamp_now();
    let request = ClaimRequest {
        kinds: &kinds,
        locking_kinds: &[],
        worker: "gone",
        now,
        lease_until: now - TimeDelta::seconds(60),
    };
    queue::claim(&mut db.conn(), &request).expect("claim").expect("claimed");
    assert_eq!(slipway::jobs::cron::sweep(&db.pool).expect("sweep"), 1);
    assert_eq!(job_state(db, id), ("queued".into(), 1));
}

fn worker_loop_wakes_on_enqueue(db: &TestDb) {
    let probe = Probe::default();
    let waker = Waker::new();
    let mut slow_poll = options("w-loop");
    slow_poll.poll_interval = Duration::from_secs(3600);
    let worker = Worker::new(
        db.pool.clone(),
        Registry::new().with(probe.clone()),
        slow_poll,
        waker.clone(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = runtime.spawn(worker.run(async {
        let _ = stopped.await;
    }));
    std::thread::sleep(Duration::from_millis(300));
    let id = enqueue(&db.pool, "probe", None, "{}");
    waker.wake();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while job_state(db, id).0 != "done" {
        assert!(
            std::time::Instant::now() < deadline,
            "the wake-up did not start the job"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = stop.send(());
    runtime.block_on(running).expect("worker stops");
    assert_eq!(probe.ran.lock().expect("lock").as_slice(), [id]);
}

backend_tests!(
    runs_a_job_and_keeps_its_output,
    retries_then_gives_up,
    backoff_delays_the_retry,
    one_pipeline_job_per_project_at_a_time,
    expired_lease_is_taken_over,
    sweep_requeues_expired_leases,
    worker_loop_wakes_on_enqueue,
);

#[test]
fn postgres_concurrent_claimers_run_every_job_once() {
    let db = TestDb::postgres();
    let probe = Probe::default();
    let ids: Vec<i64> = (0..60)
        .map(|_| enqueue(&db.pool, "probe", None, r#"{"sleep_ms": 5}"#))
        .collect();
    std::thread::scope(|scope| {
        for n in 0..8 {
            let worker = Worker::new(
                db.pool.clone(),
                Registry::new().with(probe.clone()),
                options(&format!("w{n}")),
                Waker::new(),
            );
            scope.spawn(move || while worker.run_one().expect("claim").is_some() {});
        }
    });
    let mut ran = probe.ran.lock().expect("lock").clone();
    ran.sort_unstable();
    assert_eq!(ran, ids, "every job ran exactly once");
}

#[test]
fn postgres_notify_wakes_a_worker_in_another_process() {
    let db = TestDb::postgres();
    let waker = Waker::new();
    waker.listen_postgres(db.url.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    std::thread::sleep(Duration::from_millis(500));
    let pool = db.pool.clone();
    let woke = runtime.block_on(async move {
        // Consume a wake-up left by other tests' NOTIFYs (the channel is database-wide).
        let _ = tokio::time::timeout(Duration::from_millis(200), waker.wait()).await;
        tokio::task::spawn_blocking(move || enqueue(&pool, "probe", None, "{}"))
            .await
            .expect("enqueue");
        tokio::time::timeout(Duration::from_secs(10), waker.wait())
            .await
            .is_ok()
    });
    assert!(woke, "NOTIFY reached the listener");
}
