//! What child processes of a real `slipway worker` see and how they end
//! (issue 9, defects 3 and 9), on SQLite and PostgreSQL: builds never see
//! the server's environment or secrets, known secrets are scrubbed from the
//! job log, a build run as `worker.run_as` cannot read the data dir, and a
//! build does not outlive a worker killed with SIGKILL.

mod common;
mod common_pipeline;
mod common_ssh;
mod common_svn;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use slipway::store::jobs as queue;

use common::worker::{wait_for, WorkerProcess};
use common::TestDb;
use common_pipeline::Pipeline;

const JWT: &str = "jwt-secret-that-no-build-may-see-0123";
const SMTP_PASSWORD: &str = "smtp-pa55-no-build-may-see";
const SVN_PASSWORD: &str = "svn-pa55-no-build-may-see";

/// A `slipway worker` on `db` with secrets in its environment (and `extra`).
fn secret_worker(db: &TestDb, data_dir: &Path, extra: &[(&str, &str)]) -> WorkerProcess {
    let mut env = vec![
        ("SLIPWAY_AUTH__JWT_SECRET", JWT),
        ("SLIPWAY_SMTP__PASSWORD", SMTP_PASSWORD),
        ("SLIPWAY_SVN__CREDENTIALS__OTHER__USERNAME", "deploy"),
        ("SLIPWAY_SVN__CREDENTIALS__OTHER__PASSWORD", SVN_PASSWORD),
    ];
    env.extend_from_slice(extra);
    WorkerProcess::start(db, data_dir, &env)
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn staged(p: &Pipeline<'_>, db: &TestDb, id: i64) -> bool {
    p.ticket(id).state == "staged"
        && queue::for_ticket(&mut db.conn(), id)
            .expect("jobs")
            .iter()
            .all(|j| j.state == "done")
}

/// The first build prints its environment and a known secret, then sleeps
/// until the worker is killed: the sleep must die with it. The re-run prints
/// the same; the job log holds neither the server's variables nor a secret.
fn builds_see_no_secrets_and_die_with_the_worker(db: &TestDb) {
    let marks = tempfile::tempdir().expect("temp dir");
    let mark = marks.path().join("pid");
    let build = format!(
        r#"build_command = ["sh", "-c", "env; echo smtp={SMTP_PASSWORD} svn={SVN_PASSWORD} jwt={JWT}; if [ ! -e {0} ]; then echo $$ > {0}; exec sleep 300; fi"]"#,
        mark.display()
    );
    let p = Pipeline::new(db, "envy", None, &build);
    let id = p.submit("envy", &[], None);
    let mut first = secret_worker(db, p.data.path(), &[]);
    let mut pid = None;
    wait_for("the first build to start", Duration::from_secs(60), || {
        pid = std::fs::read_to_string(&mark)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        pid.is_some()
    });
    let pid = pid.expect("build pid");
    first.kill_hard();
    wait_for("the build to die with its worker", Duration::from_secs(5), || gone(pid));
    let _second = secret_worker(db, p.data.path(), &[]);
    wait_for("the ticket to be staged", Duration::from_secs(60), || {
        staged(&p, db, id)
    });
    let log = p.log_text(id);
    assert!(
        log.contains("PATH=/usr/local/sbin"),
        "the build's env is in the log: {log}"
    );
    for leak in [
        "SLIPWAY_AUTH",
        "SLIPWAY_DATABASE",
        "SLIPWAY_SMTP",
        "SLIPWAY_SVN",
        JWT,
        SMTP_PASSWORD,
        SVN_PASSWORD,
    ] {
        assert!(!log.contains(leak), "{leak} reached the job log:\n{log}");
    }
    assert!(log.contains("smtp=*** svn=*** jwt=***"), "{log}");
    assert!(log.contains("SLIPWAY_PROJECT=envy"), "{log}");
}

const BUILD_USER: &str = "slipway-test-build";

/// The uid of [`BUILD_USER`], created (a system user without a home) when
/// missing; `None` when not root.
fn build_user() -> Option<u32> {
    static LOCK: Mutex<()> = Mutex::new(());
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("SKIPPED: worker.run_as needs root to switch users; run the tests as root (CI does)");
        return None;
    }
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let uid = || {
        nix::unistd::User::from_name(BUILD_USER)
            .expect("user lookup")
            .map(|u| u.uid.as_raw())
    };
    if uid().is_none() {
        let status = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                BUILD_USER,
            ])
            .status()
            .expect("useradd (package passwd)");
        assert!(status.success() || uid().is_some(), "useradd {BUILD_USER}: {status}");
    }
    uid()
}

/// With `worker.run_as`, the build runs as that user: it writes the working
/// copy, and cannot read the data dir (mode 0700) with the key and database.
fn builds_run_as_another_user_who_cannot_read_the_data_dir(db: &TestDb) {
    let Some(uid) = build_user() else { return };
    let data = tempfile::tempdir().expect("temp dir");
    let data_dir: PathBuf = data.path().join("data");
    std::fs::create_dir(&data_dir).expect("data dir");
    std::fs::write(data_dir.join("jwt.key"), "k".repeat(40)).expect("key");
    let build = format!(
        r#"build_command = ["sh", "-c", "echo uid=$(id -u) home=$HOME; cat {0}/jwt.key || echo key-refused; ls {0} || echo dir-refused; echo built > out.txt"]"#,
        data_dir.display()
    );
    let p = Pipeline::new(db, "sandboxed", None, &build);
    let id = p.submit("sandboxed", &[], None);
    let _worker = secret_worker(db, &data_dir, &[("SLIPWAY_WORKER__RUN_AS", BUILD_USER)]);
    wait_for("the ticket to be staged", Duration::from_secs(60), || {
        staged(&p, db, id)
    });
    let log = p.log_text(id);
    assert!(log.contains(&format!("uid={uid} ")), "{log}");
    assert!(log.contains("key-refused") && log.contains("dir-refused"), "{log}");
    assert!(!log.contains(&"k".repeat(40)), "{log}");
    assert_eq!(p.staged_file("out.txt"), "built\n", "the build wrote the working copy");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&data_dir).expect("meta").permissions());
    assert_eq!(mode & 0o777, 0o700, "the data dir is private");
}

/// The scrub list is complete: the configuration's secrets (SVN and SMTP
/// passwords, JWT key, database URL and password) and every webhook's secret
/// and URL from the database.
fn every_known_secret_is_scrubbed(db: &TestDb) {
    use slipway::process::scrub_known;
    let project = db.import(
        "[[project]]\nname = \"hooked\"\nsvn_url = \"file:///srv/svn/hooked\"\nstaging_dir = \"/srv/staging/hooked\"\n",
    );
    assert_eq!(project.projects, 1);
    let id = slipway::store::projects::by_name(&mut db.conn(), "hooked")
        .expect("query")
        .expect("project")
        .id;
    let hook_url = format!("https://chat.example/hook/{}", common::unique("tok"));
    let hook_secret = common::unique("hooksecret");
    slipway::store::subscriptions::insert_webhook(
        &mut db.conn(),
        id,
        &hook_url,
        &hook_secret,
        "json",
        "en",
        chrono::Utc::now().naive_utc(),
    )
    .expect("webhook");
    slipway::jobs::secrets::register_webhooks(&mut db.conn()).expect("registered");
    let line = format!("posting to {hook_url} signed with {hook_secret}");
    assert_eq!(scrub_known(&line), "posting to *** signed with ***");

    let db_password = common::unique("dbpw");
    let vars = [
        (
            "SLIPWAY_SCRUBTEST_DATABASE__URL",
            format!("postgres://slipway:{db_password}@db.example/slipway"),
        ),
        ("SLIPWAY_SCRUBTEST_SMTP__PASSWORD", common::unique("smtppw")),
        ("SLIPWAY_SCRUBTEST_AUTH__JWT_SECRET", common::unique("jwt-secret-key")),
        (
            "SLIPWAY_SCRUBTEST_SVN__CREDENTIALS__SHOP__USERNAME",
            "deploy".to_owned(),
        ),
        (
            "SLIPWAY_SCRUBTEST_SVN__CREDENTIALS__SHOP__PASSWORD",
            common::unique("svnpw"),
        ),
    ];
    for (key, value) in &vars {
        std::env::set_var(key, value);
    }
    let config = slipway::config::Config::load_from(None, figment::providers::Env::prefixed("SLIPWAY_SCRUBTEST_"))
        .expect("config");
    slipway::jobs::secrets::register_config(&config, None);
    for (key, value) in vars.iter().filter(|(k, _)| !k.ends_with("USERNAME")) {
        assert_eq!(scrub_known(&format!("[{value}]")), "[***]", "{key}");
    }
    assert_eq!(scrub_known(&format!("password {db_password}.")), "password ***.");
}

/// A project stored with a password in its `svn_url` (before that was
/// refused) fails its stage job with a pointer to `svn_credentials`; the
/// password reaches neither the job log nor the ticket.
fn a_stored_svn_url_with_a_password_fails_the_stage_job(db: &TestDb) {
    use diesel::RunQueryDsl;
    let p = Pipeline::new(db, "legacy", None, "");
    let url = p.svn.url.replace("file:///", "svn://deploy:legacy-pa55@127.0.0.1/");
    diesel::sql_query(format!("UPDATE projects SET svn_url = '{url}' WHERE name = 'legacy'"))
        .execute(&mut db.conn())
        .expect("update");
    let id = p.submit("legacy", &[], None);
    let outcomes = common_pipeline::drain(&p.worker(std::collections::BTreeMap::new()));
    assert!(
        matches!(outcomes.as_slice(), [slipway::jobs::worker::JobOutcome::Failed(e)] if e.contains("svn_credentials") && !e.contains("legacy-pa55")),
        "{outcomes:?}"
    );
    let ticket = p.ticket(id);
    assert_eq!(ticket.state, "failed");
    assert!(!p.log_text(id).contains("legacy-pa55"));
}

/// Ships release `version` of `source` to the local target `target`.
fn ship_locally(target: &Path, version: &str, source: &Path) -> slipway::deploy::ShipReport {
    ship_to(
        &target.display().to_string(),
        slipway::deploy::DeploySettings::default(),
        Path::new("/dev/null"),
        version,
        source,
    )
}

/// Ships release `version` of `source` to `target` with `settings`.
fn ship_to(
    target: &str,
    settings: slipway::deploy::DeploySettings,
    known_hosts: &Path,
    version: &str,
    source: &Path,
) -> slipway::deploy::ShipReport {
    let host = slipway::deploy::DeployHost {
        name: "web1".into(),
        target: slipway::deploy::Target::parse(target).expect("target"),
        via: None,
    };
    let ctx = slipway::deploy::Context {
        settings: &settings,
        excludes: &[],
        env: &[],
        known_hosts,
        on_event: &|_| {},
        on_line: &|_, _| {},
        should_abort: &|| false,
        cancel: None,
    };
    slipway::deploy::ship(&ctx, version, source, None, &[host])
}

const SHIP_HELPER: &str = "SLIPWAY_TEST_SHIP_HELPER";

/// Not a test: the process `a_killed_release_leaves_no_writer_and_no_partial_release`
/// SIGKILLs in the middle of its upload.
#[test]
#[ignore = "helper process of a_killed_release_leaves_no_writer_and_no_partial_release"]
fn ship_helper() {
    let Some(dir) = std::env::var_os(SHIP_HELPER).map(PathBuf::from) else {
        return;
    };
    ship_locally(&dir.join("host"), "v2", &dir.join("src-v2"));
}

/// The upload directories under `releases` (`.v2.upload-*`).
fn upload_dirs(releases: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(releases)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().contains(".upload-"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// The pids of processes whose command line mentions `needle`.
fn pids_mentioning(needle: &str) -> Vec<u32> {
    let Ok(proc_dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    proc_dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            (String::from_utf8_lossy(&cmdline).contains(needle) && !gone(pid)).then_some(pid)
        })
        .collect()
}

/// The size of the release file the helper is killed uploading (sparse at
/// the source; a local rsync needs seconds to write it).
const HUGE: u64 = 1024 * 1024 * 1024;

/// Slipway is killed (SIGKILL) while rsync uploads a release: its rsync dies
/// with it, the half-written upload is not a release (`current` and a
/// rollback cannot reach it), and the re-run uploads into a directory of its
/// own and completes.
#[test]
fn a_killed_release_leaves_no_writer_and_no_partial_release() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (host, v1, v2) = (
        dir.path().join("host"),
        dir.path().join("src-v1"),
        dir.path().join("src-v2"),
    );
    for src in [&v1, &v2] {
        std::fs::create_dir_all(src).expect("source");
        std::fs::write(src.join("index.html"), src.display().to_string()).expect("file");
    }
    assert!(ship_locally(&host, "v1", &v1).all_switched());
    let huge = std::fs::File::create(v2.join("huge.bin")).expect("huge");
    huge.set_len(HUGE).expect("sparse file");
    drop(huge);
    let exe = std::env::current_exe().expect("test binary");
    let mut helper = Command::new(exe)
        .args(["--exact", "ship_helper", "--ignored"])
        .env(SHIP_HELPER, dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("helper starts");
    let releases = host.join("releases");
    let needle = v2.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !upload_dirs(&releases)
        .iter()
        .any(|d| std::fs::read_dir(d).map(|mut e| e.next().is_some()).unwrap_or(false))
    {
        assert!(Instant::now() < deadline, "the upload did not start");
        std::thread::sleep(Duration::from_millis(2));
    }
    helper.kill().expect("SIGKILL the helper");
    let _ = helper.wait();
    assert_eq!(upload_dirs(&releases).len(), 1, "the helper was not caught mid-upload");
    // Copying the whole file takes seconds: an rsync still there after one
    // second is a writer that outlived the Slipway that started it.
    wait_for("rsync to die with the helper", Duration::from_secs(1), || {
        pids_mentioning(&needle).is_empty()
    });
    assert!(
        !releases.join("v2").exists(),
        "a partial upload sits where a release would"
    );
    assert_eq!(
        std::fs::read_link(host.join("current")).expect("current"),
        PathBuf::from("releases/v1")
    );
    let report = ship_locally(&host, "v2", &v2);
    assert!(report.all_switched(), "{report:?}");
    assert_eq!(
        std::fs::read_link(host.join("current")).expect("current"),
        PathBuf::from("releases/v2")
    );
    assert!(
        upload_dirs(&releases).is_empty(),
        "the dead attempt's upload was removed"
    );
    let size = std::fs::metadata(host.join("current/huge.bin"))
        .expect("huge.bin")
        .len();
    assert_eq!(size, HUGE);
}

/// The ssh settings and target of the sshd whose details `ssh_helper` gets
/// through its environment: `PORT IDENTITY KNOWN_HOSTS HOST_DIR`.
fn ssh_target(spec: &str) -> (slipway::deploy::DeploySettings, PathBuf, String) {
    let parts: Vec<&str> = spec.split('\n').collect();
    let mut settings = slipway::deploy::DeploySettings::default();
    settings.ssh.port = parts[0].parse().ok();
    settings.ssh.identity_file = Some(PathBuf::from(parts[1]));
    (
        settings,
        PathBuf::from(parts[2]),
        format!("root@127.0.0.1:{}", parts[3]),
    )
}

const SSH_HELPER: &str = "SLIPWAY_TEST_SSH_HELPER";

/// Not a test: the process `a_killed_release_over_ssh_leaves_no_ssh_behind`
/// SIGKILLs in the middle of its upload.
#[test]
#[ignore = "helper process of a_killed_release_over_ssh_leaves_no_ssh_behind"]
fn ssh_helper() {
    let Ok(spec) = std::env::var(SSH_HELPER) else {
        return;
    };
    let (settings, known_hosts, target) = ssh_target(&spec);
    let source = PathBuf::from(spec.split('\n').nth(4).unwrap_or_default());
    ship_to(&target, settings, &known_hosts, "v2", &source);
}

/// Slipway is killed (SIGKILL) while it uploads over ssh: the ssh master
/// connection and the rsync riding on it die with it (no ssh daemon of
/// Slipway's outlives it).
#[test]
fn a_killed_release_over_ssh_leaves_no_ssh_behind() {
    let sshd = common_ssh::Sshd::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (host, v1, v2) = (dir.path().join("host"), dir.path().join("v1"), dir.path().join("v2"));
    for src in [&v1, &v2] {
        std::fs::create_dir_all(src).expect("source");
        std::fs::write(src.join("index.html"), src.display().to_string()).expect("file");
    }
    let spec = format!(
        "{}\n{}\n{}\n{}\n{}",
        sshd.port,
        sshd.identity.display(),
        sshd.known_hosts.display(),
        host.display(),
        v2.display()
    );
    let (settings, known_hosts, target) = ssh_target(&spec);
    assert!(ship_to(&target, settings, &known_hosts, "v1", &v1).all_switched());
    let huge = std::fs::File::create(v2.join("huge.bin")).expect("huge");
    huge.set_len(HUGE).expect("sparse file");
    drop(huge);
    let exe = std::env::current_exe().expect("test binary");
    let mut helper = Command::new(exe)
        .args(["--exact", "ssh_helper", "--ignored"])
        .env(SSH_HELPER, &spec)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("helper starts");
    let releases = host.join("releases");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !upload_dirs(&releases)
        .iter()
        .any(|d| std::fs::read_dir(d).map(|mut e| e.next().is_some()).unwrap_or(false))
    {
        assert!(Instant::now() < deadline, "the upload did not start");
        std::thread::sleep(Duration::from_millis(2));
    }
    let port = format!("-p {}", sshd.port);
    // A master that went to the background renames itself `ssh: <socket> [mux]`;
    // the helper's sockets live in `slipway-mux-<its pid>-…`.
    let socket_dir = format!("slipway-mux-{}-", helper.id());
    let ours = || {
        let mut pids = pids_mentioning(&socket_dir);
        pids.extend(
            pids_mentioning(&sshd.identity.display().to_string())
                .into_iter()
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(&port))
                        .unwrap_or(false)
                }),
        );
        pids
    };
    assert!(!ours().is_empty(), "no ssh seen while the helper uploads");
    helper.kill().expect("SIGKILL the helper");
    let _ = helper.wait();
    wait_for(
        "every ssh and rsync to die with the helper",
        Duration::from_secs(2),
        || ours().is_empty(),
    );
}

backend_tests!(
    a_stored_svn_url_with_a_password_fails_the_stage_job,
    every_known_secret_is_scrubbed,
    builds_see_no_secrets_and_die_with_the_worker,
    builds_run_as_another_user_who_cannot_read_the_data_dir,
);
