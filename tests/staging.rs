//! The staging pipeline end to end against real SVN repositories (file://
//! and svn:// through svnserve with a password), real git snapshots and the
//! real job queue, on SQLite and PostgreSQL.

mod common;
mod common_pipeline;
mod common_svn;

use std::collections::BTreeMap;
use std::path::Path;

use std::time::{Duration, Instant};

use chrono::Utc;
use slipway::domain::Action;
use slipway::jobs::worker::JobOutcome;
use slipway::jobs::Worker;
use slipway::service::tickets::{self, ActionInput, ActorRef};
use slipway::store::jobs as queue;
use slipway::vcs::snapshot_repo_path;
use slipway::vcs::{SnapshotRepo, SvnCredentials};

use common::worker::{wait_for, WorkerProcess};
use common::TestDb;
use common_pipeline::{drain, Pipeline, FILES};
use common_svn::{write_file, SvnRepo};

fn first_checkout_stages_and_snapshots(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "");
    let id = p.submit("shop", &[], None);
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    let ticket = p.ticket(id);
    assert_eq!(ticket.state, "staged");
    assert_eq!(ticket.staged_revision, Some(1));
    let commit = ticket.snapshot_commit.expect("snapshot recorded");
    assert_eq!(p.staged_file("index.html"), "<h1>shop v1</h1>\n");
    let repo = SnapshotRepo::open_or_init(&snapshot_repo_path(p.data.path(), "shop")).expect("repo");
    let files: Vec<String> = repo
        .changed_files(None, &commit)
        .expect("files")
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    assert!(
        files.contains(&"index.html".to_owned()) && !files.iter().any(|f| f.contains(".svn")),
        "{files:?}"
    );
    assert!(p.log_text(id).contains("checking out"), "{}", p.log_text(id));
}

fn update_of_one_path_leaves_the_others(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "");
    let worker = p.worker(BTreeMap::new());
    p.submit("shop", &[], None);
    drain(&worker);
    let r2 = p.svn.commit(
        &[
            ("index.html", Some("<h1>v2</h1>\n")),
            ("lib/app.js", Some("console.log('v2');\n")),
        ],
        "v2",
    );
    let id = p.submit("shop", &["lib/app.js"], None);
    assert_eq!(drain(&worker), [JobOutcome::Done]);
    assert_eq!(p.ticket(id).staged_revision, Some(r2));
    assert_eq!(p.staged_file("lib/app.js"), "console.log('v2');\n");
    assert_eq!(
        p.staged_file("index.html"),
        "<h1>shop v1</h1>\n",
        "not named by the ticket"
    );
    let revisions = slipway::store::svn::between(&mut db.conn(), p.ticket(id).project_id, 1, r2).expect("history");
    assert_eq!(
        revisions.iter().map(|r| r.revision).collect::<Vec<_>>(),
        [r2],
        "the commits the ticket brings"
    );
}

fn update_pinned_to_a_revision(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "");
    let worker = p.worker(BTreeMap::new());
    p.submit("shop", &[], None);
    drain(&worker);
    let r2 = p.svn.commit(&[("index.html", Some("two\n"))], "two");
    p.svn.commit(&[("index.html", Some("three\n"))], "three");
    let id = p.submit("shop", &["index.html"], Some(r2));
    drain(&worker);
    assert_eq!(p.ticket(id).staged_revision, Some(r2));
    assert_eq!(p.staged_file("index.html"), "two\n");
}

fn resubmission_picks_up_the_fix(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "");
    let worker = p.worker(BTreeMap::new());
    let id = p.submit("shop", &[], None);
    drain(&worker);
    let first = p.ticket(id).snapshot_commit;
    let mut back = ActionInput::new(Action::Return, ActorRef::User(p.tester));
    back.note = Some("the banner is wrong".into());
    tickets::apply(&mut db.conn(), id, &back, Utc::now()).expect("returned");
    let fix = p.svn.commit(&[("index.html", Some("<h1>fixed</h1>\n"))], "fix banner");
    tickets::apply(
        &mut db.conn(),
        id,
        &ActionInput::new(Action::Resubmit, ActorRef::User(p.dev)),
        Utc::now(),
    )
    .expect("resubmit");
    assert_eq!(drain(&worker), [JobOutcome::Done]);
    let ticket = p.ticket(id);
    assert_eq!(
        (ticket.state.as_str(), ticket.staged_revision, ticket.stage_generation),
        ("staged", Some(fix), 2)
    );
    assert_ne!(ticket.snapshot_commit, first, "a new snapshot");
    assert_eq!(p.staged_file("index.html"), "<h1>fixed</h1>\n");
}

fn conflict_fails_the_ticket_with_the_file_named(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "");
    let worker = p.worker(BTreeMap::new());
    p.submit("shop", &[], None);
    drain(&worker);
    write_file(&p.staging().join("index.html"), "<h1>edited on the staging box</h1>\n");
    p.svn.commit(&[("index.html", Some("<h1>v2</h1>\n"))], "v2");
    let id = p.submit("shop", &["index.html"], None);
    assert!(matches!(drain(&worker).as_slice(), [JobOutcome::Failed(e)] if e.contains("conflict")));
    let ticket = p.ticket(id);
    assert_eq!(ticket.state, "failed");
    assert!(
        ticket.last_error.as_deref().is_some_and(|e| e.contains("index.html")),
        "{:?}",
        ticket.last_error
    );
    assert!(
        ticket.snapshot_commit.is_none(),
        "a conflicted copy is never snapshotted"
    );
}

fn missing_path_fails_clearly(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "");
    let worker = p.worker(BTreeMap::new());
    p.submit("shop", &[], None);
    drain(&worker);
    let id = p.submit("shop", &["no/such/file.txt"], None);
    drain(&worker);
    let ticket = p.ticket(id);
    assert_eq!(ticket.state, "failed");
    assert!(
        ticket
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("does not exist")),
        "{:?}",
        ticket.last_error
    );
}

/// Issue 12: a revision that does not exist fails the stage at once (one
/// attempt, no retries), on the first checkout and on a later update.
fn missing_revision_fails_at_once(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "");
    let worker = p.worker(BTreeMap::new());
    for paths in [&[][..], &["css/site.css"][..]] {
        let id = p.submit("shop", paths, Some(999));
        let outcomes = drain(&worker);
        assert!(
            matches!(outcomes.as_slice(), [JobOutcome::Failed(e)] if e.contains("r999 does not exist")),
            "{paths:?}: {outcomes:?}"
        );
        let ticket = p.ticket(id);
        assert_eq!(ticket.state, "failed");
        assert!(
            ticket
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("r999 does not exist")),
            "{:?}",
            ticket.last_error
        );
        let jobs = queue::for_ticket(&mut db.conn(), id).expect("jobs");
        assert_eq!(jobs[0].attempts, 1, "{paths:?}: not retried");
        // Stage the tree once so the second round updates a working copy.
        p.submit("shop", &[], None);
        drain(&worker);
    }
}

fn build_command_output_and_failure(db: &TestDb) {
    let p = Pipeline::new(
        db,
        "shop",
        None,
        r#"build_command = ["sh", "-c", "echo building; echo built > out.txt"]"#,
    );
    let worker = p.worker(BTreeMap::new());
    let id = p.submit("shop", &[], None);
    assert_eq!(drain(&worker), [JobOutcome::Done]);
    assert!(p.log_text(id).contains("building"), "build output is in the job log");
    assert_eq!(p.staged_file("out.txt"), "built\n");
    let q = Pipeline::new(
        db,
        "broken",
        None,
        r#"build_command = ["sh", "-c", "echo compiling >&2; exit 3"]"#,
    );
    let id = q.submit("broken", &[], None);
    assert!(
        matches!(drain(&q.worker(BTreeMap::new())).as_slice(), [JobOutcome::Failed(e)] if e.contains("build command failed"))
    );
    assert_eq!(q.ticket(id).state, "failed");
    assert!(q.log_text(id).contains("compiling"));
}

fn svnserve_with_a_password(db: &TestDb) {
    let repo = SvnRepo::create(FILES);
    let server = repo.serve("deploy", "s3cr3t-pw");
    let url = server.url("repo/trunk");
    let p = Pipeline::new(db, "secure", Some(&url), r#"svn_credentials = "secure""#);
    let creds = |password: &str| {
        BTreeMap::from([(
            "secure".to_owned(),
            SvnCredentials {
                username: "deploy".into(),
                password: password.into(),
            },
        )])
    };
    let id = p.submit("secure", &[], None);
    assert!(
        matches!(drain(&p.worker(creds("wrong-pw"))).as_slice(), [JobOutcome::Failed(e)] if e.contains("authentication"))
    );
    assert_eq!(p.ticket(id).state, "failed");
    tickets::apply(
        &mut db.conn(),
        id,
        &ActionInput::new(Action::Retry, ActorRef::User(p.dev)),
        Utc::now(),
    )
    .expect("retry");
    assert_eq!(drain(&p.worker(creds("s3cr3t-pw"))), [JobOutcome::Done]);
    assert_eq!(p.ticket(id).state, "staged");
    let log = p.log_text(id);
    assert!(
        !log.contains("s3cr3t-pw") && !log.contains("wrong-pw"),
        "passwords never reach the job log"
    );
    drop(repo);
}

fn tickets_of_one_project_stage_one_at_a_time(db: &TestDb) {
    let p = Pipeline::new(
        db,
        "serial",
        None,
        r#"build_command = ["sh", "-c", "echo start $(date +%s%N) >> ../builds.txt; sleep 0.4; echo end $(date +%s%N) >> ../builds.txt"]"#,
    );
    let ids = [p.submit("serial", &[], None), p.submit("serial", &[], None)];
    run_concurrently(&[p.worker(BTreeMap::new()), p.worker(BTreeMap::new())], &|| {
        ids.iter().all(|id| p.ticket(*id).state != "submitted")
    });
    for id in ids {
        assert_eq!(p.ticket(id).state, "staged");
    }
    let builds = intervals(&p.data.path().join("builds.txt"));
    assert_eq!(builds.len(), 2);
    assert!(
        builds[0].1 <= builds[1].0,
        "never two builds of one project at once: {builds:?}"
    );
}

/// Runs the workers on threads until `done` (other kinds of jobs, such as
/// notifications, may stay queued: these workers do not run them).
fn run_concurrently(workers: &[Worker], done: &(dyn Fn() -> bool + Sync)) {
    std::thread::scope(|scope| {
        for worker in workers {
            scope.spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while Instant::now() < deadline && !done() {
                    if worker.run_one().expect("claim").is_none() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            });
        }
    });
}

/// (start, end) nanosecond pairs from a builds.txt.
fn intervals(path: &Path) -> Vec<(u128, u128)> {
    let text = std::fs::read_to_string(path).expect("build log");
    let stamps: Vec<(String, u128)> = text
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .and_then(|(k, t)| t.trim().parse().ok().map(|t| (k.to_owned(), t)))
        })
        .collect();
    stamps
        .chunks(2)
        .filter_map(|c| match c {
            [(a, s), (b, e)] if a == "start" && b == "end" => Some((*s, *e)),
            _ => None,
        })
        .collect()
}

fn two_projects_stage_at_once(db: &TestDb) {
    let shared = tempfile::tempdir().expect("temp dir");
    let log = shared.path().join("builds.txt");
    let build = format!(
        r#"build_command = ["sh", "-c", "echo start $(date +%s%N) >> {0}; sleep 1; echo end $(date +%s%N) >> {0}"]"#,
        log.display()
    );
    let a = Pipeline::new(db, "alpha", None, &build);
    let b = Pipeline::new(db, "beta", None, &build);
    let ids = [a.submit("alpha", &[], None), b.submit("beta", &[], None)];
    run_concurrently(&[a.worker(BTreeMap::new()), b.worker(BTreeMap::new())], &|| {
        a.ticket(ids[0]).state != "submitted" && b.ticket(ids[1]).state != "submitted"
    });
    assert_eq!(a.ticket(ids[0]).state, "staged");
    assert_eq!(b.ticket(ids[1]).state, "staged");
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .expect("log")
        .lines()
        .map(|l| l.split(' ').next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        lines[..2],
        ["start".to_owned(), "start".to_owned()],
        "both builds ran at the same time: {lines:?}"
    );
}

fn poller_records_new_revisions(db: &TestDb) {
    let p = Pipeline::new(db, "polled", None, "");
    let r2 = p.svn.commit(&[("index.html", Some("polled\n"))], "for the poller");
    slipway::jobs::cron::enqueue_svn_polls(&db.pool).expect("enqueue");
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    let project = slipway::store::projects::by_name(&mut db.conn(), "polled")
        .expect("query")
        .expect("project");
    let seen = slipway::store::svn::between(&mut db.conn(), project.id, 0, r2).expect("history");
    assert_eq!(
        seen.last().map(|r| (r.revision, r.message.as_str())),
        Some((r2, "for the poller"))
    );
    assert!(seen.last().is_some_and(|r| r.paths.contains("index.html")));
}

fn killed_worker_job_reruns_and_stages_once(db: &TestDb) {
    let marks = tempfile::tempdir().expect("temp dir");
    let mark = marks.path().join("first-run");
    let build = format!(
        r#"build_command = ["sh", "-c", "if [ -e {0} ]; then echo second run; else touch {0}; exec sleep 20; fi"]"#,
        mark.display()
    );
    let p = Pipeline::new(db, "crashy", None, &build);
    let id = p.submit("crashy", &[], None);
    let mut first = WorkerProcess::start(db, p.data.path(), &[]);
    wait_for("the first build to start", Duration::from_secs(60), || mark.exists());
    first.kill_hard();
    assert_eq!(p.ticket(id).state, "submitted", "the crash left the ticket waiting");
    let _second = WorkerProcess::start(db, p.data.path(), &[]);
    // The ticket is staged inside the job; the job is marked done just after.
    let job_done = || {
        queue::for_ticket(&mut db.conn(), id)
            .expect("jobs")
            .iter()
            .all(|j| j.state == "done")
    };
    wait_for("the ticket to be staged", Duration::from_secs(60), || {
        p.ticket(id).state == "staged" && job_done()
    });
    assert_eq!(p.stage_events(id), 1, "staged exactly once");
    let jobs = queue::for_ticket(&mut db.conn(), id).expect("jobs");
    assert_eq!(
        (jobs.len(), jobs[0].attempts, jobs[0].state.as_str()),
        (1, 2, "done"),
        "one job, run twice"
    );
    assert!(p.log_text(id).contains("second run"));
}

#[test]
fn postgres_two_worker_processes_run_every_job_once() {
    let db = TestDb::postgres();
    let pipelines: Vec<Pipeline<'_>> = ["p1", "p2", "p3"]
        .iter()
        .map(|n| Pipeline::new(&db, n, None, ""))
        .collect();
    let mut ids = Vec::new();
    for (p, name) in pipelines.iter().zip(["p1", "p2", "p3"]) {
        ids.push(p.submit(name, &[], None));
        ids.push(p.submit(name, &[], None));
    }
    // Both workers share one data dir, as two hosts would share the staging storage.
    let _a = WorkerProcess::start(&db, pipelines[0].data.path(), &[]);
    let _b = WorkerProcess::start(&db, pipelines[0].data.path(), &[]);
    let all_done = || {
        ids.iter().all(|id| {
            pipelines[0].ticket(*id).state == "staged"
                && queue::for_ticket(&mut db.conn(), *id)
                    .expect("jobs")
                    .iter()
                    .all(|j| j.state == "done")
        })
    };
    wait_for("every ticket to be staged", Duration::from_secs(120), all_done);
    for id in &ids {
        assert_eq!(pipelines[0].stage_events(*id), 1, "ticket #{id} staged once");
        let jobs = queue::for_ticket(&mut db.conn(), *id).expect("jobs");
        assert_eq!((jobs.len(), jobs[0].attempts), (1, 1), "ticket #{id}: its job ran once");
    }
}

backend_tests!(
    first_checkout_stages_and_snapshots,
    update_of_one_path_leaves_the_others,
    update_pinned_to_a_revision,
    resubmission_picks_up_the_fix,
    conflict_fails_the_ticket_with_the_file_named,
    missing_path_fails_clearly,
    missing_revision_fails_at_once,
    build_command_output_and_failure,
    svnserve_with_a_password,
    tickets_of_one_project_stage_one_at_a_time,
    two_projects_stage_at_once,
    killed_worker_job_reruns_and_stages_once,
    poller_records_new_revisions,
);
