//! Release and rollback end to end through tickets: a real SVN repository,
//! the real stage job, git tags and exports, and hosts that are local
//! directories (ssh and rsync-daemon targets are covered in tests/deploy.rs),
//! on SQLite and PostgreSQL.

mod common;
mod common_pipeline;
mod common_svn;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use slipway::domain::Action;
use slipway::jobs::worker::JobOutcome;
use slipway::service::tickets::{self, ActionInput, ActorRef};
use slipway::store::{projects, releases, users};
use slipway::vcs::snapshot_repo_path;
use slipway::vcs::SnapshotRepo;

use common::TestDb;
use common_pipeline::{drain, Pipeline};

/// A project `shop` shipping to `hosts` local directories (kept until the
/// returned directory is dropped).
fn shop<'a>(db: &'a TestDb, hosts: usize) -> (Pipeline<'a>, tempfile::TempDir) {
    let hosts_root = tempfile::tempdir().expect("temp dir");
    let hosts_dir = hosts_root.path().to_owned();
    let list: Vec<String> = (1..=hosts)
        .map(|n| {
            format!(
                "{{ name = \"web{n}\", target = \"{}\" }}",
                hosts_dir.join(format!("web{n}")).display()
            )
        })
        .collect();
    for n in 1..=hosts {
        std::fs::create_dir_all(hosts_dir.join(format!("web{n}"))).expect("host dir");
    }
    let extra = format!(
        "host_groups = [\"web\"]\n\n[[host_group]]\nname = \"web\"\nhosts = [{}]\n",
        list.join(", ")
    );
    (Pipeline::new(db, "shop", None, &extra), hosts_root)
}

fn host_dir(db: &TestDb, name: &str) -> std::path::PathBuf {
    let project = projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    let hosts = projects::hosts_of(&mut db.conn(), project.id).expect("hosts");
    let (_, host) = hosts.into_iter().find(|(_, h)| h.name == name).expect("host");
    host.target.into()
}

fn act(p: &Pipeline<'_>, id: i64, action: Action, who: i64) -> slipway::service::tickets::Applied {
    tickets::apply(
        &mut p.db.conn(),
        id,
        &ActionInput::new(action, ActorRef::User(who)),
        Utc::now(),
    )
    .unwrap_or_else(|e| panic!("{action}: {e}"))
}

fn lead(p: &Pipeline<'_>) -> i64 {
    users::by_username(&mut p.db.conn(), "shop-lead")
        .expect("query")
        .expect("lead")
        .id
}

/// Files, stages, tests and approves a ticket; returns its id.
fn approved(p: &Pipeline<'_>) -> i64 {
    let id = p.submit("shop", &[], None);
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    act(p, id, Action::MarkTested, p.tester);
    act(p, id, Action::Approve, lead(p));
    id
}

fn release(p: &Pipeline<'_>) -> i64 {
    let id = approved(p);
    act(p, id, Action::Release, p.dev);
    let outcomes = drain(&p.worker(BTreeMap::new()));
    assert_eq!(outcomes, [JobOutcome::Done], "{}", p.log_text(id));
    id
}

fn current(host: &Path) -> String {
    std::fs::read_link(host.join("current"))
        .map(|l| l.display().to_string())
        .unwrap_or_default()
}

fn releases_the_tested_snapshot_to_every_host(db: &TestDb) {
    let (p, _hosts) = shop(db, 2);
    let id = release(&p);
    let ticket = p.ticket(id);
    assert_eq!((ticket.state.as_str(), ticket.version), ("released", Some(1)));
    for name in ["web1", "web2"] {
        let host = host_dir(db, name);
        assert_eq!(current(&host), "releases/v1");
        assert_eq!(
            std::fs::read_to_string(host.join("current/index.html")).expect("shipped"),
            "<h1>shop v1</h1>\n"
        );
    }
    let hosts = releases::for_ticket(&mut db.conn(), id).expect("hosts");
    assert!(
        hosts.iter().all(|h| h.state == "switched" && h.version == Some(1)),
        "{hosts:?}"
    );
    let repo = SnapshotRepo::open_or_init(&snapshot_repo_path(p.data.path(), "shop")).expect("repo");
    let tagged = repo.tag_target("v1").expect("tag lookup").map(|oid| oid.to_string());
    assert_eq!(tagged, ticket.snapshot_commit, "the tag is exactly the tested snapshot");
    let project = projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    assert_eq!(project.production_version, Some(1));
}

fn what_ships_is_the_snapshot_not_the_live_staging_dir(db: &TestDb) {
    let (p, _hosts) = shop(db, 1);
    let id = approved(&p);
    // Someone edits staging after it was tested: that must not ship.
    std::fs::write(p.staging().join("index.html"), "<h1>edited after testing</h1>\n").expect("edit");
    act(&p, id, Action::Release, p.dev);
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    let shipped = std::fs::read_to_string(host_dir(db, "web1").join("current/index.html")).expect("shipped");
    assert_eq!(shipped, "<h1>shop v1</h1>\n");
}

fn failed_host_fails_the_release_and_retry_ships_only_it(db: &TestDb) {
    let (p, _hosts) = shop(db, 2);
    let broken = host_dir(db, "web2");
    std::fs::remove_dir_all(&broken).expect("remove");
    std::fs::write(&broken, "not a directory").expect("block the host");
    let id = approved(&p);
    act(&p, id, Action::Release, p.dev);
    let outcomes = drain(&p.worker(BTreeMap::new()));
    assert!(
        matches!(outcomes.as_slice(), [JobOutcome::Failed(e)] if e.contains("web2")),
        "{outcomes:?}"
    );
    assert_eq!(p.ticket(id).state, "failed");
    let project = projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    assert_eq!(
        project.production_version, None,
        "production moves only when every host switched"
    );
    std::fs::remove_file(&broken).expect("unblock");
    std::fs::create_dir_all(&broken).expect("host dir");
    let web1_before = std::fs::metadata(host_dir(db, "web1").join("current/index.html"))
        .expect("web1")
        .modified()
        .ok();
    act(&p, id, Action::Retry, p.dev);
    assert_eq!(
        drain(&p.worker(BTreeMap::new())),
        [JobOutcome::Done],
        "{}",
        p.log_text(id)
    );
    assert_eq!(p.ticket(id).state, "released");
    assert_eq!(current(&broken), "releases/v1");
    let web1_after = std::fs::metadata(host_dir(db, "web1").join("current/index.html"))
        .expect("web1")
        .modified()
        .ok();
    assert_eq!(web1_before, web1_after, "the retry left the switched host alone");
}

fn rollback_switches_back_and_marks_the_undone_release(db: &TestDb) {
    let (p, _hosts) = shop(db, 2);
    let first = release(&p);
    p.svn.commit(&[("index.html", Some("<h1>shop v2</h1>\n"))], "v2");
    let second = release(&p);
    assert_eq!(current(&host_dir(db, "web1")), "releases/v2");
    let rollback = tickets::request_rollback(
        &mut db.conn(),
        ActorRef::User(p.dev),
        "shop",
        1,
        "v2 broke checkout",
        Utc::now(),
    )
    .expect("rollback requested")
    .ticket
    .id;
    act(&p, rollback, Action::Approve, lead(&p));
    act(&p, rollback, Action::Execute, p.dev);
    assert_eq!(
        drain(&p.worker(BTreeMap::new())),
        [JobOutcome::Done],
        "{}",
        p.log_text(rollback)
    );
    assert_eq!(p.ticket(rollback).state, "rolled_back");
    assert_eq!(p.ticket(second).state, "rolled_back");
    assert_eq!(p.ticket(first).state, "released");
    for name in ["web1", "web2"] {
        let host = host_dir(db, name);
        assert_eq!(current(&host), "releases/v1");
        assert_eq!(
            std::fs::read_to_string(host.join("current/index.html")).expect("v1"),
            "<h1>shop v1</h1>\n"
        );
    }
    let project = projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    assert_eq!(project.production_version, Some(1));
}

fn abort_before_start_fails_the_release_untouched(db: &TestDb) {
    let (p, _hosts) = shop(db, 1);
    let id = approved(&p);
    act(&p, id, Action::Release, p.dev);
    act(&p, id, Action::Abort, p.dev);
    let outcomes = drain(&p.worker(BTreeMap::new()));
    assert!(
        matches!(outcomes.as_slice(), [JobOutcome::Failed(e)] if e.contains("aborted")),
        "{outcomes:?}"
    );
    assert_eq!(p.ticket(id).state, "failed");
    assert_eq!(current(&host_dir(db, "web1")), "", "no host was touched");
}

/// A malformed stored `excludes` is an error, never "no excludes": the
/// release fails naming the column, and no host is touched (rsync never
/// ran, so `--delete` could not remove host-only files).
fn malformed_excludes_fail_the_release_before_any_rsync(db: &TestDb) {
    use diesel::RunQueryDsl;
    let (p, _hosts) = shop(db, 1);
    let id = approved(&p);
    let web1 = host_dir(db, "web1");
    std::fs::write(web1.join("jdbc.properties"), "host only\n").expect("host-only file");
    diesel::sql_query("UPDATE projects SET excludes = '[\"jdbc.properties\"' WHERE name = 'shop'")
        .execute(&mut db.conn())
        .expect("corrupt excludes");
    let project = projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    assert!(project.excludes.get().is_err(), "the row loads; the value is an error");
    act(&p, id, Action::Release, p.dev);
    let outcomes = drain(&p.worker(BTreeMap::new()));
    assert!(
        matches!(outcomes.as_slice(), [JobOutcome::Failed(e)] if e.contains("excludes") && e.contains("malformed")),
        "{outcomes:?}"
    );
    assert_eq!(p.ticket(id).state, "failed");
    assert_eq!(current(&web1), "", "no host was switched");
    assert!(!web1.join("releases").exists(), "rsync never ran");
    assert_eq!(
        std::fs::read_to_string(web1.join("jdbc.properties")).expect("kept"),
        "host only\n"
    );
    assert!(p.log_text(id).contains("excludes"), "{}", p.log_text(id));
}

fn a_second_release_sends_only_what_changed_since_the_recorded_version(db: &TestDb) {
    let (p, _hosts) = shop(db, 2);
    release(&p);
    p.svn.commit(
        &[
            ("index.html", Some("<h1>shop v2</h1>\n")),
            ("css/new.css", Some("body{}\n")),
        ],
        "v2",
    );
    let second = release(&p);
    let log = p.log_text(second);
    assert!(
        log.contains("[web1] delta from v1: 2 file(s) change, 0 deleted"),
        "{log}"
    );
    assert!(log.contains("[web1] steps: read live"), "{log}");
    // The release tree itself was made from v1's export, not written whole.
    assert!(
        log.contains("exported v2: 2 path(s) changed since the export of v1"),
        "{log}"
    );
    for name in ["web1", "web2"] {
        let host = host_dir(db, name);
        assert_eq!(current(&host), "releases/v2");
        assert_eq!(
            std::fs::read_to_string(host.join("current/index.html")).expect("v2"),
            "<h1>shop v2</h1>\n"
        );
        assert_eq!(
            std::fs::read_to_string(host.join("current/css/new.css")).expect("new"),
            "body{}\n"
        );
        assert_eq!(
            std::fs::read_to_string(host.join("releases/v1/index.html")).expect("v1 kept"),
            "<h1>shop v1</h1>\n"
        );
    }
    let hosts = releases::for_ticket(&mut db.conn(), second).expect("hosts");
    for h in &hosts {
        let steps = h.steps.get().expect("steps stored");
        let names: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(
            names[..4],
            ["read live", "prepare dir", "upload", "switch"],
            "{}: {names:?}",
            h.host_name
        );
    }
}

backend_tests!(
    a_second_release_sends_only_what_changed_since_the_recorded_version,
    malformed_excludes_fail_the_release_before_any_rsync,
    releases_the_tested_snapshot_to_every_host,
    what_ships_is_the_snapshot_not_the_live_staging_dir,
    failed_host_fails_the_release_and_retry_ships_only_it,
    rollback_switches_back_and_marks_the_undone_release,
    abort_before_start_fails_the_release_untouched,
);
