//! Version order across retries and rollbacks to pruned releases, over a
//! real sshd, on SQLite and PostgreSQL, with a real SVN repository:
//!
//! - a release retried after another one went out takes a fresh version
//!   number, so production's version never goes down while its content moves
//!   forward (invariant 3), and the release it overtook stays reachable by a
//!   rollback; a release job that finds a newer number already running
//!   refuses to ship its own;
//! - a rollback to a release that the hosts pruned uploads it and switches,
//!   under the `serial` strategy too, and every host's recorded version
//!   equals its `current` (invariant 10).

mod common;
mod common_pipeline;
mod common_ssh;
mod common_svn;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use slipway::domain::Action;
use slipway::jobs::worker::JobOutcome;
use slipway::service::tickets::{self, ActionInput, ActorRef};
use slipway::store::{projects, tickets as ticket_rows, users};
use slipway::vcs::snapshot_repo_path;
use slipway::vcs::SnapshotRepo;

use common::TestDb;
use common_pipeline::{drain, Pipeline};
use common_ssh::Sshd;

/// A project `shop` shipping over ssh to `hosts` directories of a real sshd.
struct Shop<'a> {
    p: Pipeline<'a>,
    sshd: Sshd,
}

/// `deploy` is the inside of `[project.deploy]` besides the ssh settings.
fn shop<'a>(db: &'a TestDb, hosts: usize, deploy: &str) -> Shop<'a> {
    let sshd = Sshd::start();
    let list: Vec<String> = (1..=hosts)
        .map(|n| {
            let dir = sshd.dir.path().join(format!("web{n}"));
            std::fs::create_dir_all(&dir).expect("host dir");
            format!("{{ name = \"web{n}\", target = \"root@127.0.0.1:{}\" }}", dir.display())
        })
        .collect();
    let extra = format!(
        "host_groups = [\"web\"]\n[project.deploy]\nssh = {{ port = {}, identity_file = \"{}\" }}\n{deploy}\n\n\
         [[host_group]]\nname = \"web\"\nhosts = [{}]\n",
        sshd.port,
        sshd.identity.display(),
        list.join(", ")
    );
    let p = Pipeline::new(db, "shop", None, &extra);
    let known = p.data.path().join("ssh");
    std::fs::create_dir_all(&known).expect("ssh dir");
    std::fs::copy(&sshd.known_hosts, known.join("known_hosts")).expect("known_hosts");
    Shop { p, sshd }
}

impl Shop<'_> {
    fn host(&self, n: usize) -> PathBuf {
        self.sshd.dir.path().join(format!("web{n}"))
    }

    fn act(&self, id: i64, action: Action, who: i64) {
        tickets::apply(
            &mut self.p.db.conn(),
            id,
            &ActionInput::new(action, ActorRef::User(who)),
            Utc::now(),
        )
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    }

    fn lead(&self) -> i64 {
        users::by_username(&mut self.p.db.conn(), "shop-lead")
            .expect("query")
            .expect("lead")
            .id
    }

    /// Commits `content` as index.html, then files, stages, tests and
    /// approves a ticket.
    fn approved(&self, content: &str) -> i64 {
        self.p.svn.commit(&[("index.html", Some(content))], content);
        let id = self.p.submit("shop", &[], None);
        assert_eq!(drain(&self.p.worker(BTreeMap::new())), [JobOutcome::Done]);
        self.act(id, Action::MarkTested, self.p.tester);
        self.act(id, Action::Approve, self.lead());
        id
    }

    fn run(&self, id: i64, action: Action) -> Vec<JobOutcome> {
        self.act(id, action, self.p.dev);
        drain(&self.p.worker(BTreeMap::new()))
    }

    fn rollback(&self, version: i64) -> Vec<JobOutcome> {
        let id = tickets::request_rollback(
            &mut self.p.db.conn(),
            ActorRef::User(self.p.dev),
            "shop",
            version,
            "go back",
            Utc::now(),
        )
        .unwrap_or_else(|e| panic!("rollback to v{version}: {e}"))
        .ticket
        .id;
        self.act(id, Action::Approve, self.lead());
        let outcomes = self.run(id, Action::Execute);
        assert_eq!(self.p.ticket(id).state, "rolled_back", "{outcomes:?}");
        outcomes
    }

    fn production(&self) -> Option<i64> {
        projects::by_name(&mut self.p.db.conn(), "shop")
            .expect("query")
            .expect("project")
            .production_version
    }

    /// Every host's `current` is `releases/v<expect>`, recorded as such,
    /// serving `content`.
    fn assert_hosts_run(&self, expect: i64, content: &str) {
        let project = projects::by_name(&mut self.p.db.conn(), "shop")
            .expect("query")
            .expect("project");
        for (_, h) in projects::hosts_of(&mut self.p.db.conn(), project.id).expect("hosts") {
            let dir = Path::new(h.target.split_once(':').expect("ssh target").1);
            let live = std::fs::read_link(dir.join("current"))
                .ok()
                .and_then(|l| l.display().to_string().strip_prefix("releases/v")?.parse().ok());
            assert_eq!(live, Some(expect), "{}'s current", h.name);
            assert_eq!(h.running_version, live, "{}: recorded vs current", h.name);
            let served = std::fs::read_to_string(dir.join("current/index.html")).expect("index");
            assert_eq!(served, content, "{} serves", h.name);
        }
    }
}

fn a_retried_release_overtaken_by_another_takes_a_fresh_version(db: &TestDb) {
    let root = tempfile::tempdir().expect("temp dir");
    let marker = root.path().join("fail");
    let s = shop(
        db,
        2,
        &format!(
            "hooks = {{ before_switch = [[\"sh\", \"-c\", '''if [ -e {} ]; then echo no >&2; exit 1; fi''']] }}",
            marker.display()
        ),
    );
    let older = s.approved("<h1>older</h1>\n");
    let newer = s.approved("<h1>newer</h1>\n");
    // The newer ticket takes v1 and fails before any host switches.
    std::fs::write(&marker, "").expect("marker");
    let outcomes = s.run(newer, Action::Release);
    assert!(matches!(outcomes.as_slice(), [JobOutcome::Failed(_)]), "{outcomes:?}");
    assert_eq!(s.p.ticket(newer).version, Some(1));
    assert!(!s.host(1).join("current").exists() && !s.host(2).join("current").exists());
    // The older one goes out as v2.
    std::fs::remove_file(&marker).expect("unmark");
    assert_eq!(s.run(older, Action::Release), [JobOutcome::Done]);
    assert_eq!(s.p.ticket(older).version, Some(2));
    s.assert_hosts_run(2, "<h1>older</h1>\n");
    // The retry ships the newer content under a fresh number, never v1.
    assert_eq!(s.run(newer, Action::Retry), [JobOutcome::Done]);
    let ticket = s.p.ticket(newer);
    assert_eq!((ticket.state.as_str(), ticket.version), ("released", Some(3)));
    assert_eq!(s.production(), Some(3), "production's version never goes down");
    s.assert_hosts_run(3, "<h1>newer</h1>\n");
    let events = ticket_rows::events(&mut db.conn(), newer).expect("events");
    let retry = events.iter().rev().find(|e| e.action == "retry").expect("retry event");
    let note = retry.note.clone().unwrap_or_default();
    assert!(
        note.contains("v1 renumbered to v3") && note.contains("runs v2"),
        "{note}"
    );
    let repo = SnapshotRepo::open_or_init(&snapshot_repo_path(s.p.data.path(), "shop")).expect("repo");
    let commit = ticket.snapshot_commit.expect("snapshot");
    assert_eq!(repo.tag_target("v3").expect("tag").map(|o| o.to_string()), Some(commit));
    let project = projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    assert!(
        ticket_rows::by_version(&mut db.conn(), project.id, 1)
            .expect("query")
            .is_none(),
        "no ticket holds the unused v1"
    );
    // v2 is still a step back from production, and rolling back works.
    assert_eq!(s.rollback(2), [JobOutcome::Done]);
    s.assert_hosts_run(2, "<h1>older</h1>\n");
}

/// Moves job `id`'s start `seconds` from now.
fn defer(db: &TestDb, id: i64, seconds: i64) {
    use diesel::prelude::*;
    use slipway::store::schema::jobs;
    diesel::update(jobs::table.find(id))
        .set(jobs::run_after.eq(Utc::now().naive_utc() + chrono::TimeDelta::seconds(seconds)))
        .execute(&mut *db.conn())
        .expect("defer");
}

fn a_release_job_overtaken_in_the_queue_refuses_its_older_number(db: &TestDb) {
    let s = shop(db, 1, "");
    let older = s.approved("<h1>older</h1>\n");
    let newer = s.approved("<h1>newer</h1>\n");
    // `newer` is released first (v1) but its job runs after `older`'s (v2).
    let release = |id| {
        tickets::apply(
            &mut db.conn(),
            id,
            &ActionInput::new(Action::Release, ActorRef::User(s.p.dev)),
            Utc::now(),
        )
        .expect("release")
        .job_id
        .expect("a release job")
    };
    let late = release(newer);
    release(older);
    defer(db, late, 3600);
    assert_eq!(drain(&s.p.worker(BTreeMap::new())), [JobOutcome::Done]);
    assert_eq!(s.p.ticket(older).version, Some(2));
    s.assert_hosts_run(2, "<h1>older</h1>\n");
    defer(db, late, -1);
    let outcomes = drain(&s.p.worker(BTreeMap::new()));
    assert!(
        matches!(outcomes.as_slice(), [JobOutcome::Failed(e)] if e.contains("v1 is older than v2")),
        "{outcomes:?}"
    );
    s.assert_hosts_run(2, "<h1>older</h1>\n");
    assert_eq!(s.run(newer, Action::Retry), [JobOutcome::Done]);
    assert_eq!(s.p.ticket(newer).version, Some(3));
    s.assert_hosts_run(3, "<h1>newer</h1>\n");
}

fn a_rollback_to_a_pruned_release_ships_it_under_serial(db: &TestDb) {
    let s = shop(db, 2, "strategy = \"serial\"\nkeep_releases = 3");
    for n in 1..=5 {
        let id = s.approved(&format!("<h1>shop {n}</h1>\n"));
        assert_eq!(s.run(id, Action::Release), [JobOutcome::Done]);
        assert_eq!(s.p.ticket(id).version, Some(n));
    }
    assert!(!s.host(1).join("releases/v1").exists() && !s.host(2).join("releases/v1").exists());
    // v4 pruned on web1 only: web1 gets it uploaded, then web2 (next in
    // the serial order) switches to its kept copy.
    std::fs::remove_dir_all(s.host(1).join("releases/v4")).expect("prune v4 on web1");
    assert_eq!(s.rollback(4), [JobOutcome::Done]);
    s.assert_hosts_run(4, "<h1>shop 4</h1>\n");
    // v1 is pruned everywhere: both hosts get it uploaded, in order.
    assert_eq!(s.rollback(1), [JobOutcome::Done]);
    s.assert_hosts_run(1, "<h1>shop 1</h1>\n");
}

backend_tests!(
    a_retried_release_overtaken_by_another_takes_a_fresh_version,
    a_release_job_overtaken_in_the_queue_refuses_its_older_number,
    a_rollback_to_a_pruned_release_ships_it_under_serial,
);
