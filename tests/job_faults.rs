//! Jobs under faults (issue 9, defects 1, 4 and 8), on SQLite and
//! PostgreSQL with real svn, rsync and ssh: the sweep fails a ticket its job
//! left behind; a worker that cannot renew its lease kills the job's
//! programs before the lease runs out and another worker finishes the job;
//! permanent errors fail at once and network ones are retried.

mod common;
mod common_pipeline;
mod common_ssh;
mod common_svn;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use slipway::domain::Action;
use slipway::jobs::release::{Release, Rollback};
use slipway::jobs::worker::JobOutcome;
use slipway::jobs::{cron, Registry, Waker, Worker, WorkerOptions};
use slipway::service::tickets::{self, ActionInput, ActorRef};
use slipway::store::jobs::{self as queue, ClaimRequest, Outcome};
use slipway::store::{timestamp_now, users};

use common::TestDb;
use common_pipeline::{drain, Pipeline};

/// A project `shop` shipping to the given hosts (`name = target` pairs)
/// with the given `[project.deploy]` lines.
fn shop<'a>(db: &'a TestDb, hosts: &[(&str, String)], deploy: &str) -> Pipeline<'a> {
    let list: Vec<String> = hosts
        .iter()
        .map(|(name, target)| format!("{{ name = \"{name}\", target = \"{target}\" }}"))
        .collect();
    let extra = format!(
        "host_groups = [\"web\"]\n[project.deploy]\n{deploy}\n\n[[host_group]]\nname = \"web\"\nhosts = [{}]\n",
        list.join(", ")
    );
    Pipeline::new(db, "shop", None, &extra)
}

fn act(p: &Pipeline<'_>, id: i64, action: Action, who: i64) {
    tickets::apply(
        &mut p.db.conn(),
        id,
        &ActionInput::new(action, ActorRef::User(who)),
        Utc::now(),
    )
    .unwrap_or_else(|e| panic!("{action}: {e}"));
}

/// Files, stages, tests, approves and releases a ticket (the release job
/// waits in the queue); returns its id.
fn releasing(p: &Pipeline<'_>) -> i64 {
    let id = p.submit("shop", &[], None);
    assert_eq!(
        drain(&p.worker(BTreeMap::new())),
        [JobOutcome::Done],
        "{}",
        p.log_text(id)
    );
    let lead = users::by_username(&mut p.db.conn(), "shop-lead")
        .expect("query")
        .expect("lead")
        .id;
    act(p, id, Action::MarkTested, p.tester);
    act(p, id, Action::Approve, lead);
    act(p, id, Action::Release, p.dev);
    id
}

fn release_worker(p: &Pipeline<'_>, name: &str, lease: Duration) -> Worker {
    let options = WorkerOptions {
        name: name.to_owned(),
        concurrency: 1,
        lease,
        poll_interval: Duration::from_millis(100),
        max_attempts: 3,
        retry_base: Duration::ZERO,
        retry_cap: Duration::ZERO,
        data_dir: p.data.path().to_owned(),
    };
    let registry = Registry::new().with(Release).with(Rollback);
    Worker::new(p.db.pool.clone(), registry, options, Waker::new())
}

fn the_sweep_fails_a_ticket_whose_job_is_gone(db: &TestDb) {
    let p = shop(db, &[], "");
    let stuck = p.submit("shop", &[], None);
    let waiting = p.submit("shop", &[], None);
    // A worker records its stage job failed but never fails the ticket (the
    // write was refused, or it died in between).
    let now = timestamp_now();
    let request = ClaimRequest {
        kinds: &["stage"],
        locking_kinds: &[],
        worker: "ghost",
        now,
        lease_until: now + chrono::TimeDelta::seconds(60),
    };
    let claim = queue::claim(&mut db.conn(), &request).expect("claim").expect("a job");
    assert_eq!(claim.job.ticket_id, Some(stuck));
    let error = "build failed: \u{1b}[31mERROR\u{1b}[0m in module x";
    assert!(queue::finish(&mut db.conn(), claim.job.id, "ghost", Outcome::Failed { error }, now).expect("finish"));
    assert_eq!(p.ticket(stuck).state, "submitted");

    let changed = cron::sweep(&db.pool).expect("sweep");
    assert_eq!(changed, 1);
    let ticket = p.ticket(stuck);
    assert_eq!(ticket.state, "failed");
    let reason = ticket.last_error.expect("reason");
    assert!(reason.contains("ERROR in module x"), "{reason}");
    assert!(!reason.contains('\u{1b}'), "{reason:?}");
    assert_eq!(
        p.ticket(waiting).state,
        "submitted",
        "a ticket whose job waits is left alone"
    );
    assert_eq!(cron::sweep(&db.pool).expect("sweep"), 0, "nothing left to fail");
}

/// A `before_switch` hook that logs `start`, sleeps `secs`, logs `end` —
/// under `flock -n`, so a second copy running at the same time logs `overlap`.
fn slow_hook(dir: &Path, secs: u32) -> String {
    let (lock, log) = (dir.join("lock"), dir.join("log"));
    format!(
        "hooks = {{ before_switch = [[\"sh\", \"-c\", '''flock -n {lock} sh -c 'echo start >> {log}; sleep {secs}; echo end >> {log}' || echo overlap >> {log}''']] }}",
        lock = lock.display(),
        log = log.display()
    )
}

/// Runs `second` until it has run one job (at most a minute).
fn run_when_free(second: &Worker) -> Option<JobOutcome> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some((_, outcome)) = second.run_one().expect("claim") {
            return Some(outcome);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn hook_log(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log"))
        .expect("hook log")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn a_worker_that_cannot_renew_its_lease_stops_and_another_finishes(db: &TestDb) {
    let root = tempfile::tempdir().expect("temp dir");
    let host = root.path().join("web1");
    std::fs::create_dir_all(&host).expect("host dir");
    let p = shop(db, &[("web1", host.display().to_string())], &slow_hook(root.path(), 6));
    let id = releasing(&p);
    let lease = Duration::from_secs(4);
    let fault = Arc::new(AtomicBool::new(true));
    let first = release_worker(&p, "worker-1", lease).with_renewal_fault(Arc::clone(&fault));
    let second = release_worker(&p, "worker-2", lease);
    let claim = first.claim().expect("claim").expect("the release job");
    let job_id = claim.job.id;
    let started = Instant::now();
    let outcome = std::thread::scope(|scope| {
        // The second worker keeps asking for work meanwhile.
        let other = scope.spawn(|| run_when_free(&second));
        let first_outcome = first.execute(claim);
        let stopped_after = started.elapsed();
        assert!(
            stopped_after < lease,
            "the first worker stopped after {stopped_after:?}, not before its {lease:?} lease ran out"
        );
        assert!(
            matches!(&first_outcome, JobOutcome::Retrying(e) if e.contains("lease")),
            "{first_outcome:?}"
        );
        other.join().expect("second worker")
    });
    assert_eq!(outcome, Some(JobOutcome::Done), "{}", p.log_text(id));
    assert_eq!(p.ticket(id).state, "released");
    assert_eq!(
        std::fs::read_link(host.join("current"))
            .expect("current")
            .display()
            .to_string(),
        "releases/v1"
    );
    // The stale worker's writes stay refused: its lease, its outcome.
    let mut conn = db.conn();
    let later = timestamp_now() + chrono::TimeDelta::seconds(60);
    assert!(!queue::heartbeat(&mut conn, job_id, "worker-1", later).expect("heartbeat"));
    let stale = Outcome::Failed { error: "stale" };
    assert!(!queue::finish(&mut conn, job_id, "worker-1", stale, timestamp_now()).expect("finish"));
    assert_eq!(
        queue::by_id(&mut conn, job_id).expect("job").expect("job").state,
        "done"
    );
    // Wait out the killed hook's sleep: had it survived, it would log `end` now.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        hook_log(root.path()),
        ["start", "start", "end"],
        "the first run was killed mid-hook, the second ran it whole, never both at once"
    );
}

fn a_revision_that_does_not_exist_fails_at_once(db: &TestDb) {
    let p = shop(db, &[], "");
    let id = p.submit("shop", &[], Some(999));
    let outcomes = drain(&p.worker(BTreeMap::new()));
    assert!(
        matches!(outcomes.as_slice(), [JobOutcome::Failed(e)] if e.contains("r999") && e.contains("does not exist")),
        "{outcomes:?}"
    );
    let ticket = p.ticket(id);
    assert_eq!(ticket.state, "failed");
    assert!(ticket.last_error.is_some_and(|e| e.contains("r999")));
}

fn an_unreachable_host_is_retried_and_a_refused_host_key_is_not(db: &TestDb) {
    let closed = common_ssh::free_port();
    let p = shop(
        db,
        &[("web1", "root@127.0.0.1:/tmp/slipway-unreachable".to_owned())],
        &format!("ssh = {{ port = {closed}, connect_timeout_secs = 3 }}"),
    );
    let id = releasing(&p);
    let outcomes = drain(&p.worker(BTreeMap::new()));
    assert!(
        matches!(outcomes.as_slice(), [JobOutcome::Retrying(e), JobOutcome::Failed(_)] if e.contains("refused")),
        "a refused connection is retried: {outcomes:?}"
    );
    assert_eq!(p.ticket(id).state, "failed");
    drop(p);

    let sshd = common_ssh::Sshd::start();
    let target = format!("root@127.0.0.1:{}", sshd.dir.path().join("app").display());
    let p = Pipeline::new(
        db,
        "shop2",
        None,
        &format!(
            "host_groups = [\"web2\"]\n[project.deploy]\nssh = {{ port = {}, identity_file = \"{}\" }}\n\n\
             [[host_group]]\nname = \"web2\"\nhosts = [{{ name = \"web2\", target = \"{target}\" }}]\n",
            sshd.port,
            sshd.identity.display()
        ),
    );
    // Slipway's known_hosts does not know this host: its key is refused.
    let id = p.submit("shop2", &[], None);
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    let lead = users::by_username(&mut p.db.conn(), "shop2-lead")
        .expect("query")
        .expect("lead")
        .id;
    act(&p, id, Action::MarkTested, p.tester);
    act(&p, id, Action::Approve, lead);
    act(&p, id, Action::Release, p.dev);
    let outcomes = drain(&p.worker(BTreeMap::new()));
    assert!(
        matches!(outcomes.as_slice(), [JobOutcome::Failed(e)] if e.contains("Host key verification failed")),
        "a refused host key fails at once: {outcomes:?}"
    );
}

backend_tests!(
    the_sweep_fails_a_ticket_whose_job_is_gone,
    a_worker_that_cannot_renew_its_lease_stops_and_another_finishes,
    a_revision_that_does_not_exist_fails_at_once,
    an_unreachable_host_is_retried_and_a_refused_host_key_is_not,
);

/// The same with a real stall: another PostgreSQL connection holds a lock on
/// the job's row, so the heartbeat's UPDATE hangs (and so does every claim of
/// that row) until the lock goes, after the lease has run out.
#[test]
fn postgres_a_locked_job_row_stalls_renewal_and_the_worker_fences_itself() {
    use diesel::{Connection, PgConnection, RunQueryDsl};

    let db = TestDb::postgres();
    let root = tempfile::tempdir().expect("temp dir");
    let host = root.path().join("web1");
    std::fs::create_dir_all(&host).expect("host dir");
    let p = shop(&db, &[("web1", host.display().to_string())], &slow_hook(root.path(), 8));
    let id = releasing(&p);
    let lease = Duration::from_secs(4);
    let first = release_worker(&p, "worker-1", lease);
    let second = release_worker(&p, "worker-2", lease);
    let claim = first.claim().expect("claim").expect("the release job");
    let job_id = claim.job.id;
    let mut locker = PgConnection::establish(&db.url).expect("second connection");
    diesel::sql_query("BEGIN").execute(&mut locker).expect("begin");
    diesel::sql_query(format!("SELECT id FROM jobs WHERE id = {job_id} FOR UPDATE"))
        .execute(&mut locker)
        .expect("lock the job row");
    let started = Instant::now();
    let (first_outcome, second_outcome) = std::thread::scope(|scope| {
        let first_run = scope.spawn(|| first.execute(claim));
        let other = scope.spawn(|| run_when_free(&second));
        // Hold the lock until the lease has surely run out.
        std::thread::sleep((lease + Duration::from_secs(2)).saturating_sub(started.elapsed()));
        diesel::sql_query("ROLLBACK").execute(&mut locker).expect("unlock");
        (
            first_run.join().expect("first worker"),
            other.join().expect("second worker"),
        )
    });
    assert!(
        matches!(&first_outcome, JobOutcome::Retrying(e) if e.contains("lease"))
            || first_outcome == JobOutcome::LeaseLost,
        "{first_outcome:?}"
    );
    assert_eq!(second_outcome, Some(JobOutcome::Done), "{}", p.log_text(id));
    assert_eq!(p.ticket(id).state, "released");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        hook_log(root.path()),
        ["start", "start", "end"],
        "the stalled worker's hook was killed before the second worker ran its own"
    );
}
