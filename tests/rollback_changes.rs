//! Issue 12: a rollback ticket shows what production will become, the files
//! that change from the running version's tag to the target's (a git diff
//! in the snapshot repository, through `service::changes`), and its ticket
//! page names the finished step "Rolled back". Real SVN, real releases to
//! local host directories, both backends.

mod common;
mod common_pipeline;
mod common_svn;

use std::collections::BTreeMap;

use chrono::Utc;
use slipway::domain::Action;
use slipway::jobs::worker::JobOutcome;
use slipway::service::changes;
use slipway::service::tickets::{self, ActionInput, ActorRef};
use slipway::service::{Reader, Visibility};
use slipway::store::users;

use common::app::TestApp;
use common::TestDb;
use common_pipeline::{drain, Pipeline};

fn shop<'a>(db: &'a TestDb) -> (Pipeline<'a>, tempfile::TempDir) {
    let hosts = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(hosts.path().join("web1")).expect("host dir");
    let extra = format!(
        "host_groups = [\"web\"]\n\n[[host_group]]\nname = \"web\"\nhosts = [{{ name = \"web1\", target = \"{}\" }}]\n",
        hosts.path().join("web1").display()
    );
    (Pipeline::new(db, "shop", None, &extra), hosts)
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

fn user(p: &Pipeline<'_>, name: &str) -> slipway::service::rows::UserRow {
    users::by_username(&mut p.db.conn(), name)
        .expect("query")
        .expect("user")
}

fn release(p: &Pipeline<'_>) -> i64 {
    let id = p.submit("shop", &[], None);
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    act(p, id, Action::MarkTested, p.tester);
    act(p, id, Action::Approve, user(p, "shop-lead").id);
    act(p, id, Action::Release, p.dev);
    assert_eq!(
        drain(&p.worker(BTreeMap::new())),
        [JobOutcome::Done],
        "{}",
        p.log_text(id)
    );
    id
}

/// The production diff of ticket `id` as the dev sees it.
fn production_changes(p: &Pipeline<'_>, id: i64) -> Option<changes::ProductionChanges> {
    let reader = Reader::new(user(p, "shop-dev"), Visibility::Members);
    let mut facts = changes::ticket_facts(&mut p.db.conn(), id, &reader, Utc::now(), true).expect("facts");
    let inputs = facts.diff.take()?;
    changes::production_changes(p.data.path(), &facts.view, inputs)
}

fn a_rollback_lists_the_files_production_goes_back_to(db: &TestDb) {
    let (p, _hosts) = shop(db);
    release(&p);
    p.svn.commit(
        &[
            ("index.html", Some("<h1>shop v2</h1>\n")),
            ("lib/cart.js", Some("// new cart\n")),
            ("lib/app.js", None),
        ],
        "v2",
    );
    release(&p);
    let rollback = tickets::request_rollback(
        &mut db.conn(),
        ActorRef::User(p.dev),
        "shop",
        1,
        "v2 broke it",
        Utc::now(),
    )
    .expect("rollback requested")
    .ticket
    .id;
    let pc = production_changes(&p, rollback).expect("a rollback shows what production becomes");
    assert_eq!(pc.error, None);
    assert_eq!(pc.production_tag.as_deref(), Some("v2"));
    assert_eq!(pc.target_tag.as_deref(), Some("v1"));
    let files: Vec<(String, String)> = pc.files.into_iter().map(|f| (f.status, f.path)).collect();
    assert_eq!(
        files,
        [
            ("M".to_owned(), "index.html".to_owned()),
            ("A".to_owned(), "lib/app.js".to_owned()),
            ("D".to_owned(), "lib/cart.js".to_owned()),
        ]
    );
    let app = TestApp::on(db).with_data_dir(p.data.path()).start();
    let page = app.browser("shop-dev").get(&format!("/tickets/{rollback}")).text();
    assert!(page.contains("What production will become"), "{page}");
    assert!(page.contains("goes back from v2 to v1"), "{page}");
    assert!(
        page.contains("lib&#x2F;cart.js") && page.contains(r#"id="rollback-target">v1<"#),
        "{page}"
    );
    assert!(
        !page.contains("not staged yet") && !page.contains("the whole tree"),
        "{page}"
    );
    let api = app.api("shop-dev").get(&format!("/api/v1/tickets/{rollback}")).json();
    assert_eq!(api["production_changes"]["target_tag"], "v1", "{api}");
    act(&p, rollback, Action::Approve, user(&p, "shop-lead").id);
    assert!(production_changes(&p, rollback).is_some(), "still shown once approved");
    act(&p, rollback, Action::Execute, p.dev);
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    assert!(production_changes(&p, rollback).is_none(), "done: nothing will change");
}

/// A finished rollback's last step reads "Rolled back", and lists tell the
/// release it undid ("reverted") from the rollback ("rolled back").
fn reverted_release_and_finished_rollback_read_differently(db: &TestDb) {
    let (p, _hosts) = shop(db);
    release(&p);
    p.svn.commit(&[("index.html", Some("<h1>shop v2</h1>\n"))], "v2");
    let second = release(&p);
    let rollback = tickets::request_rollback(&mut db.conn(), ActorRef::User(p.dev), "shop", 1, "undo", Utc::now())
        .expect("rollback requested")
        .ticket
        .id;
    act(&p, rollback, Action::Approve, user(&p, "shop-lead").id);
    act(&p, rollback, Action::Execute, p.dev);
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    let app = TestApp::on(db).with_data_dir(p.data.path()).start();
    let client = app.browser("shop-dev");
    let page = client.get(&format!("/tickets/{rollback}")).text();
    assert!(page.contains("<strong>Rolled back</strong>"), "{page}");
    assert!(!page.contains("<strong>Shipped</strong>"), "{page}");
    let page = client.get(&format!("/tickets/{second}")).text();
    assert!(
        page.contains(r#"state-reverted fs-6" id="ticket-state" data-state="rolled_back">reverted<"#),
        "{page}"
    );
    let list = client.get("/tickets").text();
    assert!(list.contains(r#"state-reverted">reverted<"#), "{list}");
    assert!(list.contains(r#"state-rolled_back">rolled back<"#), "{list}");
}

backend_tests!(
    a_rollback_lists_the_files_production_goes_back_to,
    reverted_release_and_finished_rollback_read_differently,
);
