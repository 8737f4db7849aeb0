//! Issue 12: a release that also changes files outside its ticket's SVN
//! paths (left on the shared staging by an earlier ticket) says so, names
//! what brought them, and, when the project requires it, cannot be approved
//! until a tester confirms them. Real SVN, real snapshots, both backends.

mod common;
mod common_pipeline;
mod common_svn;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use chrono::Utc;
use jsonwebtoken::EncodingKey;
use serde_json::json;
use slipway::domain::{Action, Refusal};
use slipway::notify::links::{self, LinkClaims};
use slipway::service::settings::ProjectSettings;
use slipway::service::tickets::{self, ActionInput, ActorRef};
use slipway::service::ServiceError;
use slipway::service::{admin, outside};
use slipway::store::{projects, tickets as ticket_rows, users};

use common::app::{TestApp, SIGNING_KEY};
use common::TestDb;
use common_pipeline::{drain, Pipeline};

fn act(p: &Pipeline<'_>, id: i64, action: Action, who: i64, confirm: bool) -> Result<(), ServiceError> {
    let mut input = ActionInput::new(action, ActorRef::User(who));
    input.confirm_outside_paths = confirm;
    tickets::apply(&mut p.db.conn(), id, &input, Utc::now()).map(drop)
}

/// Stages the whole tree and records it as what production runs (v1), then
/// lets ticket `#b` bring a change of `lib/app.js` to staging and cancels
/// it, then stages a ticket for `css/site.css`: its release also carries
/// the `lib/app.js` change. Returns (b, c).
fn shared_staging(p: &Pipeline<'_>) -> (i64, i64) {
    let worker = p.worker(BTreeMap::new());
    let a = p.submit("shop", &[], None);
    drain(&worker);
    let mut conn = p.db.conn();
    let mut row = p.ticket(a);
    row.version = Some(1);
    row.state = "released".into();
    assert!(ticket_rows::update_if_unchanged(&mut conn, &row).expect("update"));
    projects::set_production(&mut conn, row.project_id, Some(1), row.snapshot_seq).expect("production");
    drop(conn);
    p.svn.commit(
        &[
            ("lib/app.js", Some("console.log('v2');\n")),
            ("css/site.css", Some("body { color: navy }\n")),
        ],
        "cart and colours",
    );
    let b = p.submit("shop", &["lib/app.js"], None);
    drain(&worker);
    act(p, b, Action::Cancel, p.dev, false).expect("cancel");
    let c = p.submit("shop", &["css/site.css"], None);
    drain(&worker);
    assert_eq!(p.ticket(c).state, "staged", "{}", p.log_text(c));
    (b, c)
}

fn lead(p: &Pipeline<'_>) -> i64 {
    users::by_username(&mut p.db.conn(), "shop-lead")
        .expect("query")
        .expect("lead")
        .id
}

fn outside_files_are_listed_with_what_brought_them(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "");
    let (b, c) = shared_staging(&p);
    let files = outside::stored(&p.ticket(c));
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!((files[0].status.as_str(), files[0].path.as_str()), ("M", "lib/app.js"));
    assert_eq!(files[0].brought_by, ["r2".to_owned(), format!("ticket #{b}")]);
    assert!(p.log_text(c).contains("outside the ticket's SVN paths: lib/app.js"));
    // Without the project setting a tester need not confirm, and a lead approves.
    act(&p, c, Action::MarkTested, p.tester, false).expect("tested");
    act(&p, c, Action::Approve, lead(&p), false).expect("approved");
}

fn a_required_confirmation_is_enforced_by_the_service(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "require_outside_paths_confirmation = true");
    let (_, c) = shared_staging(&p);
    let refused = act(&p, c, Action::MarkTested, p.tester, false).expect_err("needs confirmation");
    assert!(
        matches!(refused, ServiceError::Refused(Refusal::OutsidePathsUnconfirmed)),
        "{refused:?}"
    );
    assert_eq!(refused.code(), "refusal.outside_paths_unconfirmed");
    assert_eq!(p.ticket(c).state, "staged");
    act(&p, c, Action::MarkTested, p.tester, true).expect("tested with confirmation");
    let ticket = p.ticket(c);
    assert_eq!(ticket.outside_paths_confirmed_by, Some(p.tester));
    let events = ticket_rows::events(&mut db.conn(), c).expect("events");
    let tested = events.iter().rfind(|e| e.action == "mark-tested").expect("event");
    assert!(
        tested.note.as_deref().is_some_and(|n| n.contains("lib/app.js")),
        "{:?}",
        tested.note
    );
    act(&p, c, Action::Approve, lead(&p), false).expect("approved");
}

fn a_ticket_tested_without_confirmation_is_not_approved(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "");
    let (_, c) = shared_staging(&p);
    act(&p, c, Action::MarkTested, p.tester, false).expect("tested");
    // The project starts requiring the confirmation after the test.
    let mut conn = db.conn();
    let project = projects::by_id(&mut conn, p.ticket(c).project_id)
        .expect("query")
        .expect("project");
    drop(conn);
    // Through the one settings path the API and the admin form use.
    let settings: ProjectSettings = serde_json::from_value(serde_json::json!({
        "name": "shop",
        "svn_url": project.svn_url,
        "staging_dir": project.staging_dir,
        "require_outside_paths_confirmation": true,
        "leads": ["shop-lead"],
        "developers": ["shop-dev"],
        "testers": ["shop-tester"],
    }))
    .expect("settings");
    admin::update_project(&mut db.conn(), "shop", &settings).expect("update");
    let refused = act(&p, c, Action::Approve, lead(&p), false).expect_err("unconfirmed");
    assert!(
        matches!(refused, ServiceError::Refused(Refusal::OutsidePathsUnconfirmed)),
        "{refused:?}"
    );
}

/// Over HTTP: the API refuses mark-tested without the confirmation with a
/// stable code and takes it with one; the ticket and the approval-link page
/// show the warning; the project's setting reads back from the API.
fn over_http_the_confirmation_is_asked_and_shown(db: &TestDb) {
    let p = Pipeline::new(db, "shop", None, "require_outside_paths_confirmation = true");
    let (_, c) = shared_staging(&p);
    let app = TestApp::on(db).with_data_dir(p.data.path()).start();
    let project = app.api("shop-lead").get("/api/v1/projects/shop").json();
    assert_eq!(project["require_outside_paths_confirmation"], true, "{project}");
    let tester = app.api("shop-tester");
    let uri = format!("/api/v1/tickets/{c}/actions/mark-tested");
    let refused = tester.post_json(&uri, &json!({}));
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    let error = &refused.json()["error"];
    assert_eq!(error["code"], "conflict", "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("outside the ticket's SVN paths")),
        "{error}"
    );
    let page = app.browser("shop-tester").get(&format!("/tickets/{c}")).text();
    assert!(
        page.contains(r#"id="outside-paths""#) && page.contains(r#"id="confirm-outside-paths""#),
        "{page}"
    );
    let done = tester.post_json(&uri, &json!({ "confirm_outside_paths": true }));
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let detail = tester.get(&format!("/api/v1/tickets/{c}")).json();
    assert_eq!(detail["outside_paths"][0]["path"], "lib/app.js", "{detail}");
    assert_eq!(detail["outside_paths_confirmed"], true, "{detail}");
    // The approval-link page warns too, in the approver's language.
    let t = p.ticket(c);
    let claims = LinkClaims::new(
        c,
        lead(&p),
        "approve",
        &t.state,
        t.stage_generation,
        t.lock_version,
        links::unix_now(),
        72,
    );
    let token = links::sign(&EncodingKey::from_secret(SIGNING_KEY), &claims).expect("sign");
    let link = app.anonymous().get(&format!("/approve/{token}")).text();
    assert!(
        link.contains(r#"id="outside-paths""#) && link.contains("lib&#x2F;app.js"),
        "{link}"
    );
    assert!(link.contains(r#"id="outside-confirmed""#), "{link}");
}

/// The admin form sets the project's rule and shows it again.
fn the_admin_form_sets_the_rule(db: &TestDb) {
    let app = TestApp::on(db).with_admins(&["root"]).start();
    let admin = app.browser("root");
    let saved = admin.post_form(
        "/admin/projects/new",
        &[
            ("name", "blog"),
            ("svn_url", "svn://x/blog"),
            ("staging_dir", "/srv/blog"),
            ("approvals_required", "1"),
            ("require_outside_paths_confirmation", "on"),
        ],
    );
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let project = projects::by_name(&mut db.conn(), "blog")
        .expect("query")
        .expect("project");
    assert!(project.require_outside_paths_confirmation);
    let form = admin.get("/admin/projects/blog/edit").text();
    assert!(
        form.contains(r#"name="require_outside_paths_confirmation" checked"#),
        "{form}"
    );
}

backend_tests!(
    the_admin_form_sets_the_rule,
    over_http_the_confirmation_is_asked_and_shown,
    outside_files_are_listed_with_what_brought_them,
    a_required_confirmation_is_enforced_by_the_service,
    a_ticket_tested_without_confirmation_is_not_approved,
);
