//! Releases that fail after hosts switched (issue 9, defects 1 and 2), on
//! SQLite and PostgreSQL, with a real SVN repository and local-directory
//! hosts: the ticket always ends `failed` with a readable reason, what
//! Slipway records per host equals each host's `current` (invariant 10),
//! and an older ticket never ships over what any host runs (invariant 3).

mod common;
mod common_pipeline;
mod common_svn;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use slipway::domain::{Action, Refusal};
use slipway::jobs::worker::JobOutcome;
use slipway::service::tickets::{self, ActionInput, ActorRef};
use slipway::service::ServiceError;
use slipway::store::{projects, releases, users};

use common::TestDb;
use common_pipeline::{drain, Pipeline};

/// A project `shop` shipping to `hosts` local directories, with the given
/// hooks (the inside of `hooks = { … }`).
struct Shop<'a> {
    p: Pipeline<'a>,
    root: tempfile::TempDir,
}

fn shop<'a>(db: &'a TestDb, hosts: usize, hooks: &str) -> Shop<'a> {
    let root = tempfile::tempdir().expect("temp dir");
    let list: Vec<String> = (1..=hosts)
        .map(|n| {
            let dir = root.path().join(format!("web{n}"));
            std::fs::create_dir_all(&dir).expect("host dir");
            format!("{{ name = \"web{n}\", target = \"{}\" }}", dir.display())
        })
        .collect();
    let extra = format!(
        "host_groups = [\"web\"]\n[project.deploy]\nhooks = {{ {hooks} }}\n\n[[host_group]]\nname = \"web\"\nhosts = [{}]\n",
        list.join(", ")
    );
    Shop {
        p: Pipeline::new(db, "shop", None, &extra),
        root,
    }
}

impl Shop<'_> {
    fn host(&self, n: usize) -> PathBuf {
        self.root.path().join(format!("web{n}"))
    }

    fn act(&self, id: i64, action: Action, who: i64) -> Result<tickets::Applied, ServiceError> {
        tickets::apply(
            &mut self.p.db.conn(),
            id,
            &ActionInput::new(action, ActorRef::User(who)),
            Utc::now(),
        )
    }

    fn lead(&self) -> i64 {
        users::by_username(&mut self.p.db.conn(), "shop-lead")
            .expect("query")
            .expect("lead")
            .id
    }

    /// Files, stages, tests and approves a ticket.
    fn approved(&self) -> i64 {
        let id = self.p.submit("shop", &[], None);
        assert_eq!(drain(&self.p.worker(BTreeMap::new())), [JobOutcome::Done]);
        self.act(id, Action::MarkTested, self.p.tester).expect("tested");
        self.act(id, Action::Approve, self.lead()).expect("approved");
        id
    }

    fn release(&self, id: i64) -> Vec<JobOutcome> {
        self.act(id, Action::Release, self.p.dev).expect("release");
        drain(&self.p.worker(BTreeMap::new()))
    }

    /// (host name, recorded running version, what `current` points at).
    fn recorded_vs_current(&self) -> Vec<(String, Option<i64>, Option<i64>)> {
        let project = projects::by_name(&mut self.p.db.conn(), "shop")
            .expect("query")
            .expect("project");
        projects::hosts_of(&mut self.p.db.conn(), project.id)
            .expect("hosts")
            .into_iter()
            .map(|(_, h)| {
                let live = std::fs::read_link(Path::new(&h.target).join("current"))
                    .ok()
                    .and_then(|l| l.display().to_string().strip_prefix("releases/v")?.parse().ok());
                (h.name, h.running_version, live)
            })
            .collect()
    }

    fn assert_records_match_hosts(&self, expect: i64) {
        for (name, recorded, live) in self.recorded_vs_current() {
            assert_eq!(live, Some(expect), "{name}'s current");
            assert_eq!(recorded, live, "{name}: recorded running version vs current");
        }
    }
}

/// The ticket page (HTML, in `lang`) and `GET /api/v1/tickets/{id}` as `user` sees them.
fn ticket_page(db: &TestDb, id: i64, user: i64, lang: &str) -> (String, serde_json::Value) {
    use actix_web::{http::header, test, web, App};
    use slipway::web::{configure, session, AppState};
    actix_web::rt::System::new().block_on(async {
        let state = web::Data::new(
            AppState::new(db.pool.clone(), b"0123456789abcdef0123456789abcdef", 12, false).expect("state"),
        );
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        let session = session::issue(&state, user, "session").expect("session").0;
        let req = test::TestRequest::get()
            .uri(&format!("/tickets/{id}"))
            .cookie(actix_web::cookie::Cookie::new(session::SESSION_COOKIE, session))
            .insert_header((header::ACCEPT_LANGUAGE, lang))
            .to_request();
        let html = String::from_utf8(test::call_and_read_body(&app, req).await.to_vec()).expect("utf8");
        let token = session::issue(&state, user, "api").expect("token").0;
        let req = test::TestRequest::get()
            .uri(&format!("/api/v1/tickets/{id}"))
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request();
        let json: serde_json::Value = test::call_and_read_body_json(&app, req).await;
        (html, json)
    })
}

const COLOUR_HOOK: &str = "printf '\\033[31mboom\\n' >&2; exit 1";
/// A plain failing hook (no escapes): the defect-2 tests do not depend on
/// the readable-reason fix.
const PLAIN_HOOK: &str = "echo boom >&2; exit 1";

fn a_failing_hook_printing_colours_fails_the_ticket_readably(db: &TestDb) {
    let s = shop(
        db,
        1,
        &format!("after_switch = [[\"sh\", \"-c\", '''{COLOUR_HOOK}''']]"),
    );
    let id = s.approved();
    let outcomes = s.release(id);
    assert!(matches!(outcomes.as_slice(), [JobOutcome::Failed(_)]), "{outcomes:?}");
    let ticket = s.p.ticket(id);
    assert_eq!(ticket.state, "failed", "the ticket must not stay releasing");
    let reason = ticket.last_error.expect("a reason");
    assert!(reason.contains("boom"), "{reason}");
    assert!(!reason.contains('\u{1b}'), "escape codes stripped: {reason:?}");
    // The host did switch before its hook failed, and that is recorded.
    s.assert_records_match_hosts(1);
}

fn after_switch_failure_records_every_switched_host_and_revert_goes_back(db: &TestDb) {
    let root = tempfile::tempdir().expect("temp dir");
    let marker = root.path().join("fail");
    let hooks = format!(
        "after_switch = [[\"sh\", \"-c\", '''if [ -e {} ]; then {PLAIN_HOOK}; fi''']]",
        marker.display()
    );
    let s = shop(db, 2, &hooks);
    let first = s.approved();
    assert_eq!(s.release(first), [JobOutcome::Done]);
    s.p.svn.commit(&[("index.html", Some("<h1>shop v2</h1>\n"))], "v2");
    let second = s.approved();
    std::fs::write(&marker, "").expect("marker");
    let outcomes = s.release(second);
    assert!(matches!(outcomes.as_slice(), [JobOutcome::Failed(_)]), "{outcomes:?}");
    assert_eq!(s.p.ticket(second).state, "failed");
    // Both hosts run v2 although the release failed: recorded as such.
    s.assert_records_match_hosts(2);
    let rows = releases::for_ticket(&mut db.conn(), second).expect("hosts");
    assert!(rows.iter().all(|r| r.version == Some(2)), "{rows:?}");
    // The ticket page says which hosts run v2 and what retry and revert do.
    let (html, json) = ticket_page(db, second, s.p.dev, "en");
    assert_eq!(
        json["recovery"]["switched"],
        serde_json::json!(["web1", "web2"]),
        "{json}"
    );
    assert_eq!(json["recovery"]["revert_tag"], "v1");
    assert!(
        json["hosts"]
            .as_array()
            .is_some_and(|h| h.iter().all(|h| h["status"] == "failed")),
        "{json}"
    );
    assert!(
        html.contains("id=\"recovery\"") && html.contains("web1, web2"),
        "{html}"
    );
    assert!(html.contains("Retry finishes the remaining steps") && html.contains("switches them back to v1"));
    assert!(html.contains("id=\"revert-form\"") && html.contains("action=\"/projects/shop/rollback\""));
    let (html, _) = ticket_page(db, second, s.p.dev, "zh-CN,zh;q=0.9");
    assert!(html.contains("回退会把它们切换回 v1"), "Chinese page");
    // Revert: a rollback to v1 switches them back and records it.
    std::fs::remove_file(&marker).expect("unmark");
    let rollback = tickets::request_rollback(
        &mut db.conn(),
        ActorRef::User(s.p.dev),
        "shop",
        1,
        "v2's hook failed",
        Utc::now(),
    )
    .expect("a rollback to v1 is a step back from what the hosts run")
    .ticket
    .id;
    s.act(rollback, Action::Approve, s.lead()).expect("approve");
    s.act(rollback, Action::Execute, s.p.dev).expect("execute");
    assert_eq!(drain(&s.p.worker(BTreeMap::new())), [JobOutcome::Done]);
    s.assert_records_match_hosts(1);
}

fn an_older_ticket_never_ships_over_what_a_failed_release_switched(db: &TestDb) {
    let root = tempfile::tempdir().expect("temp dir");
    let marker = root.path().join("fail");
    let hooks = format!(
        "after_release = [[\"sh\", \"-c\", '''if [ -e {} ]; then {PLAIN_HOOK}; fi''']]",
        marker.display()
    );
    let s = shop(db, 2, &hooks);
    let first = s.approved();
    assert_eq!(s.release(first), [JobOutcome::Done]);
    // Two tickets approved: `older` staged before `newer`.
    s.p.svn
        .commit(&[("index.html", Some("<h1>shop older</h1>\n"))], "older");
    let older = s.approved();
    s.p.svn
        .commit(&[("index.html", Some("<h1>shop newer</h1>\n"))], "newer");
    let newer = s.approved();
    std::fs::write(&marker, "").expect("marker");
    let outcomes = s.release(newer);
    assert!(matches!(outcomes.as_slice(), [JobOutcome::Failed(_)]), "{outcomes:?}");
    assert_eq!(s.p.ticket(newer).state, "failed");
    s.assert_records_match_hosts(2);
    // The older snapshot must not go out over the newer one the hosts run.
    let refused = s.act(older, Action::Release, s.p.dev);
    assert!(
        matches!(refused, Err(ServiceError::Refused(Refusal::OlderThanProduction))),
        "{refused:?}"
    );
    // Retry finishes the remaining steps (the after_release hook).
    std::fs::remove_file(&marker).expect("unmark");
    s.act(newer, Action::Retry, s.p.dev).expect("retry is allowed");
    assert_eq!(drain(&s.p.worker(BTreeMap::new())), [JobOutcome::Done]);
    assert_eq!(s.p.ticket(newer).state, "released");
    s.assert_records_match_hosts(2);
    assert_eq!(
        std::fs::read_to_string(s.host(1).join("current/index.html")).expect("shipped"),
        "<h1>shop newer</h1>\n"
    );
}

backend_tests!(
    a_failing_hook_printing_colours_fails_the_ticket_readably,
    after_switch_failure_records_every_switched_host_and_revert_goes_back,
    an_older_ticket_never_ships_over_what_a_failed_release_switched,
);
