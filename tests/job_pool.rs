//! Jobs hold no pooled database connection while an external program runs,
//! on SQLite and PostgreSQL: the stage job's svn checkout and build, and
//! the SVN poll. Each program announces itself (a marker file) and then
//! sleeps; meanwhile every connection of the pool must be idle.

mod common;
mod common_pipeline;
mod common_svn;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use slipway::jobs::log::JobLog;
use slipway::jobs::stage::Stage;
use slipway::jobs::svn_poll::SvnPoll;
use slipway::jobs::{Handler, JobContext};
use slipway::store::models::NewJob;
use slipway::store::{jobs as queue, timestamp_now};
use slipway::vcs::SvnAccess;

use common::TestDb;
use common_pipeline::Pipeline;

/// Waits for `marker`, then returns how many pool connections are in use.
fn in_use_while_running(db: &TestDb, marker: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", marker.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The program sleeps now; give the job a moment to settle.
    std::thread::sleep(Duration::from_millis(200));
    let state = db.pool.state();
    state.connections - state.idle_connections
}

fn context(db: &TestDb, job_id: i64, data_dir: &Path) -> JobContext {
    let job = queue::by_id(&mut db.conn(), job_id).expect("query").expect("job");
    JobContext {
        pool: db.pool.clone(),
        log: JobLog::new(db.pool.clone(), job.id, job.ticket_id),
        job,
        data_dir: data_dir.to_owned(),
        cancel: Default::default(),
    }
}

/// An svn config dir whose `ssh` tunnel touches `marker`, sleeps, then serves `root`.
fn slow_tunnel(config: &Path, root: &Path, marker: &Path) {
    let script = config.with_extension("tunnel.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\nsleep 1\nexec svnserve -t -r '{}'\n",
            marker.display(),
            root.display()
        ),
    )
    .expect("tunnel");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::fs::create_dir_all(config).expect("config dir");
    std::fs::write(
        config.join("config"),
        format!("[tunnels]\nssh = {}\n", script.display()),
    )
    .expect("config");
}

fn stage_build_and_svn_hold_no_connection(db: &TestDb) {
    let work = tempfile::tempdir().expect("temp dir");
    let build_marker = work.path().join("building");
    let svn_marker = work.path().join("svn-running");
    let build = format!(
        r#"build_command = ["sh", "-c", "touch '{}' && sleep 1"]"#,
        build_marker.display()
    );
    let p = Pipeline::new(db, "shop", Some("svn+ssh://slowhost/repo/trunk"), &build);
    let config: PathBuf = work.path().join("svn-config");
    slow_tunnel(&config, p.svn.dir.path(), &svn_marker);
    let access = SvnAccess::new(config, Default::default(), Duration::from_secs(60));
    let id = p.submit("shop", &[], None);
    let job = queue::for_ticket(&mut db.conn(), id).expect("jobs")[0].id;
    let mut ctx = context(db, job, p.data.path());
    let stage = Stage {
        svn: access.clone(),
        build_timeout: Duration::from_secs(60),
    };
    std::thread::scope(|s| {
        let run = s.spawn(|| stage.run(&mut ctx));
        assert_eq!(
            in_use_while_running(db, &svn_marker),
            0,
            "a connection is held while svn runs"
        );
        assert_eq!(
            in_use_while_running(db, &build_marker),
            0,
            "a connection is held during the build"
        );
        let result = run.join().expect("stage thread");
        assert!(result.is_ok(), "{:?}", result.err().map(|e| e.to_string()));
    });
    drop(ctx);
    assert_eq!(p.ticket(id).state, "staged");

    // The SVN poll.
    std::fs::remove_file(&svn_marker).expect("reset marker");
    let project = slipway::store::listing::project_id(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    let now = timestamp_now();
    let poll_job = queue::insert(
        &mut db.conn(),
        &NewJob {
            kind: "svn-poll".into(),
            payload: "{}".into(),
            project_id: Some(project),
            ticket_id: None,
            run_after: now,
            created_at: now,
            updated_at: now,
        },
    )
    .expect("poll job");
    let mut ctx = context(db, poll_job, p.data.path());
    let poll = SvnPoll { svn: access };
    std::thread::scope(|s| {
        let run = s.spawn(|| poll.run(&mut ctx));
        assert_eq!(
            in_use_while_running(db, &svn_marker),
            0,
            "a connection is held while svn polls"
        );
        let result = run.join().expect("poll thread");
        assert!(result.is_ok(), "{:?}", result.err().map(|e| e.to_string()));
    });
}

backend_tests!(stage_build_and_svn_hold_no_connection);
