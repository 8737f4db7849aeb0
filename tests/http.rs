//! HTTP tests against the real app factory on SQLite and PostgreSQL: sign-in,
//! CSRF, every person's action × every role through the API, bad input on
//! endpoints and forms (400, nothing stored), pages in both languages, the
//! live log, the OpenAPI document, /readyz and /metrics.

mod common;

use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App};
use diesel::RunQueryDsl;
use serde_json::{json, Value};
use slipway::domain::Action;
use slipway::service::tickets::{self, ActionInput, ActorRef, NewRelease, Snapshot};
use slipway::web::{configure, session, AppState};

use common::app::TestApp;
use common::TestDb;

const USERS: [&str; 8] = ["dev", "dev2", "tester", "lead1", "lead2", "lead3", "admin", "outsider"];

fn setup(db: &TestDb, required: u32) -> web::Data<AppState> {
    for u in USERS {
        db.user(u, u == "admin");
    }
    db.import(&shop(required));
    web::Data::new(AppState::new(db.pool.clone(), b"0123456789abcdef0123456789abcdef", 12, false).expect("state"))
}

/// The app over `db` with [`USERS`] and [`shop`].
fn start(db: &TestDb, required: u32) -> TestApp<'_> {
    TestApp::on(db)
        .with_users(&USERS[..6])
        .with_admins(&USERS[6..7])
        .with_users(&USERS[7..])
        .with_project(&shop(required))
        .start()
}

/// Hosts and the project `shop`, approved by `required` leads.
fn shop(required: u32) -> String {
    format!(
        r#"
[[host_group]]
name = "web"
hosts = [{{ name = "web1", target = "/srv/web1" }}]

[[project]]
name = "shop"
svn_url = "file:///tmp/svn/shop/trunk"
staging_dir = "/tmp/staging/shop"
staging_url = "http://staging.example/shop/"
host_groups = ["web"]
leads = ["lead1", "lead2", "lead3"]
developers = ["dev", "dev2", "lead3"]
testers = ["tester"]

[project.approval]
required = {required}
"#
    )
}

fn uid(db: &TestDb, name: &str) -> i64 {
    slipway::store::listing::user_id(&mut db.conn(), name)
        .expect("query")
        .expect("user")
}

fn bearer(state: &AppState, db: &TestDb, name: &str) -> String {
    format!(
        "Bearer {}",
        session::issue(state, uid(db, name), "api").expect("token").0
    )
}

/// A rollback ticket requested by `dev` (after two releases), in `to`
/// (`rollback_requested` or `rollback_approved`).
fn rollback_in(db: &TestDb, to: &str) -> i64 {
    let now = chrono::Utc::now();
    let mut versions = Vec::new();
    for _ in 0..2 {
        let id = ticket_in(db, "dev", "approved");
        let mut conn = db.conn();
        for (action, actor) in [
            (Action::Release, ActorRef::User(uid(db, "dev"))),
            (Action::ShipSucceeded, ActorRef::System),
        ] {
            tickets::apply(&mut conn, id, &ActionInput::new(action, actor), now).expect("ship");
        }
        let row = slipway::store::tickets::by_id(&mut conn, id)
            .expect("q")
            .expect("ticket");
        versions.push(row.version.expect("version"));
    }
    let mut conn = db.conn();
    let id = tickets::request_rollback(
        &mut conn,
        ActorRef::User(uid(db, "dev")),
        "shop",
        versions[0],
        "bad release",
        now,
    )
    .expect("rollback")
    .ticket
    .id;
    if to == "rollback_approved" {
        tickets::apply(
            &mut conn,
            id,
            &ActionInput::new(Action::Approve, ActorRef::User(uid(db, "lead2"))),
            now,
        )
        .expect("approve rollback");
    }
    id
}

/// A ticket filed by `by` and moved by the service layer to `to`.
fn ticket_in(db: &TestDb, by: &str, to: &str) -> i64 {
    if to.starts_with("rollback_") {
        return rollback_in(db, to);
    }
    let mut conn = db.conn();
    let now = chrono::Utc::now();
    let paths = vec!["src/app.js".to_owned()];
    let t = tickets::submit(
        &mut conn,
        ActorRef::User(uid(db, by)),
        &NewRelease {
            project: "shop",
            reason: "fix checkout",
            svn_paths: &paths,
            svn_revision: None,
        },
        now,
    )
    .expect("submit")
    .ticket
    .id;
    let step = |conn: &mut slipway::store::DbConn, input: ActionInput| {
        tickets::apply(conn, t, &input, now).expect("step");
    };
    if to == "submitted" {
        return t;
    }
    if to == "failed" {
        let failed = ActionInput::new(Action::JobFailed, ActorRef::System).with_note("svn: E170013: unable to connect");
        step(&mut conn, failed);
        return t;
    }
    let mut staged = ActionInput::new(Action::StageSucceeded, ActorRef::System);
    staged.snapshot = Some(Snapshot {
        revision: 42,
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        base_revision: None,
        outside_paths: Vec::new(),
    });
    step(&mut conn, staged);
    match to {
        "staged" => {}
        "returned" => step(
            &mut conn,
            ActionInput::new(Action::Return, ActorRef::User(uid(db, "tester"))).with_note("broken"),
        ),
        "tested" | "approved" => {
            step(
                &mut conn,
                ActionInput::new(Action::MarkTested, ActorRef::User(uid(db, "tester"))),
            );
            if to == "approved" {
                step(
                    &mut conn,
                    ActionInput::new(Action::Approve, ActorRef::User(uid(db, "lead2"))),
                );
            }
        }
        other => panic!("no fixture for {other}"),
    }
    t
}

fn snapshot_of(db: &TestDb, id: i64) -> (String, i32, usize) {
    let mut conn = db.conn();
    let t = slipway::store::tickets::by_id(&mut conn, id)
        .expect("q")
        .expect("ticket");
    let events = slipway::store::tickets::events(&mut conn, id).expect("events").len();
    (t.state, t.lock_version, events)
}

fn ticket_count(db: &TestDb) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let rows: Vec<N> = diesel::sql_query("SELECT COUNT(*) AS n FROM tickets")
        .load(&mut db.conn())
        .expect("count");
    rows[0].n
}

macro_rules! app {
    ($state:expr) => {
        test::init_service(App::new().configure(configure($state.clone()))).await
    };
}

/// (action, state the ticket must be in, users allowed). Everyone else gets 403
/// (or 409 when the action does not apply), and nothing changes.
const MATRIX: [(&str, &str, &[&str]); 12] = [
    ("mark-tested", "staged", &["dev", "dev2", "tester", "lead3"]),
    (
        "return",
        "staged",
        &["dev", "dev2", "tester", "lead1", "lead2", "lead3"],
    ),
    ("resubmit", "returned", &["dev"]),
    ("approve", "tested", &["lead1", "lead2", "lead3"]),
    ("reject", "tested", &["lead1", "lead2", "lead3"]),
    ("release", "approved", &["dev", "lead1", "lead2", "lead3"]),
    ("cancel", "staged", &["dev", "admin"]),
    ("execute", "approved", &[]),
    // Rollbacks (requested by dev): leads approve, the requester or a lead executes.
    ("approve", "rollback_requested", &["lead1", "lead2", "lead3"]),
    ("execute", "rollback_approved", &["dev", "lead1", "lead2", "lead3"]),
    ("execute", "rollback_requested", &[]),
    // A failed stage job: the submitter, a lead or an admin retries.
    ("retry", "failed", &["dev", "lead1", "lead2", "lead3", "admin"]),
];

fn every_action_by_every_role(db: &TestDb) {
    let app = start(db, 1);
    for (action, from, allowed) in MATRIX {
        for user in USERS {
            let id = ticket_in(db, "dev", from);
            let before = snapshot_of(db, id);
            let reply = app.api(user).post_json(
                &format!("/api/v1/tickets/{id}/actions/{action}"),
                &json!({"note": "because"}),
            );
            let status = reply.status;
            let body = reply.json();
            if allowed.contains(&user) {
                assert_eq!(status, StatusCode::OK, "{user} {action}: {body}");
                assert_ne!(snapshot_of(db, id).1, before.1, "{user} {action} changed the ticket");
            } else {
                // An outsider does not see the project at all (404, invariant 12).
                assert!(
                    status == StatusCode::FORBIDDEN
                        || status == StatusCode::CONFLICT
                        || (user == "outsider" && status == StatusCode::NOT_FOUND),
                    "{user} {action} from {from}: {status} {body}"
                );
                assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
                assert_eq!(snapshot_of(db, id), before, "{user} {action} must change nothing");
            }
        }
    }
}

fn a_lead_cannot_approve_their_own_ticket(db: &TestDb) {
    let app = start(db, 2);
    let id = ticket_in(db, "lead3", "tested");
    let before = snapshot_of(db, id);
    let approve = format!("/api/v1/tickets/{id}/actions/approve");
    let reply = app.api("lead3").send(test::TestRequest::post().uri(&approve));
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(snapshot_of(db, id), before);
    // The ticket says why, and shows the progress.
    let body = app.api("lead3").get(&format!("/api/v1/tickets/{id}")).json();
    assert!(
        body["approve_refusal"].as_str().unwrap_or("").contains("self-approval"),
        "{body}"
    );
    assert_eq!(
        body["approve_refusal_code"], "self_approval",
        "a code the pages translate"
    );
    assert_eq!(body["approvals_required"], 2);
    assert!(!body["actions"].as_array().expect("actions").contains(&json!("approve")));
    // "Why can't I?" for every expected action, from the domain's refusal codes.
    let why = |body: &Value, action: &str| {
        body["blocked"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["action"] == action).cloned())
            .unwrap_or_default()
    };
    assert_eq!(why(&body, "approve")["code"], "self_approval", "{body}");
    assert_eq!(why(&body, "release")["code"], "wrong_state", "{body}");
    assert_eq!(
        why(&body, "release")["waits_for"],
        "approved",
        "release before approval: {body}"
    );
    let page = app.browser("lead3").get(&format!("/tickets/{id}")).text();
    assert!(
        page.contains("id=\"why-approve\" data-code=\"self_approval\""),
        "{page}"
    );
    assert!(page.contains("does not allow self-approval"), "{page}");
    assert!(page.contains("not yet: the ticket must first be approved."), "{page}");
    let zh = app
        .browser("lead3")
        .send(
            test::TestRequest::get()
                .uri(&format!("/tickets/{id}"))
                .insert_header((header::ACCEPT_LANGUAGE, "zh-CN")),
        )
        .text();
    assert!(
        zh.contains("本项目不允许自己审批") && zh.contains("工单须先变为「已审批」"),
        "{zh}"
    );
    // A tester is not told about releasing, which is never theirs.
    let body = app.api("tester").get(&format!("/api/v1/tickets/{id}")).json();
    assert!(why(&body, "release").is_null(), "{body}");
    // A first lead approves: 1 of 2, still tested.
    let body = app.api("lead1").send(test::TestRequest::post().uri(&approve)).json();
    assert_eq!(body["state"], "tested");
    assert_eq!(body["approvals"].as_array().map(Vec::len), Some(1));
}

fn bad_input_is_refused_and_nothing_stored(db: &TestDb) {
    let state = setup(db, 1);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let dev = bearer(&state, db, "dev");
        let admin = bearer(&state, db, "admin");
        let huge = "x".repeat(5000);
        let bodies: Vec<Value> = vec![
            json!({}),
            json!({"project": "shop", "reason": ""}),
            json!({"project": "shop", "reason": "   "}),
            json!({"project": "shop", "reason": huge}),
            json!({"project": "shop", "reason": "ok", "svn_paths": ["../etc/passwd"]}),
            json!({"project": "shop", "reason": "ok", "svn_paths": ["-rf"]}),
            json!({"project": "shop", "reason": "ok", "svn_paths": ["/abs"]}),
            json!({"project": "shop", "reason": "ok", "svn_paths": ["a\u{1}b"]}),
            json!({"project": "shop", "reason": "a\u{7}b"}),
            json!({"project": "<script>", "reason": "ok"}),
            json!({"project": 1, "reason": "ok"}),
            json!({"project": "shop", "reason": "ok", "svn_paths": "src"}),
            json!({"project": "shop", "reason": "ok", "svn_revision": "x"}),
            json!({"project": "shop", "reason": "ok", "svn_revision": -1}),
            json!({"project": "shop", "reason": "ok", "extra": true}),
        ];
        for body in bodies {
            let req = test::TestRequest::post()
                .uri("/api/v1/tickets")
                .insert_header((header::AUTHORIZATION, dev.clone()))
                .set_json(&body)
                .to_request();
            let res = test::call_service(&app, req).await;
            let status = res.status();
            let answer: Value = test::read_body_json(res).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
            assert_eq!(answer["error"]["code"], "invalid");
            assert!(!answer["error"]["message"].as_str().unwrap_or("").is_empty());
        }
        for raw in [
            "not json",
            "{\"project\":",
            &format!("{{\"reason\":\"{}\"}}", "y".repeat(300_000)),
        ] {
            let req = test::TestRequest::post()
                .uri("/api/v1/tickets")
                .insert_header((header::AUTHORIZATION, dev.clone()))
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload(raw.to_owned())
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        }
        assert_eq!(ticket_count(db), 0, "nothing stored");
        // Bad notes and actions on an existing ticket.
        let id = ticket_in(db, "dev", "staged");
        let before = snapshot_of(db, id);
        for (action, body) in [
            ("return", json!({})),
            ("return", json!({"note": "bad\u{0}note"})),
            ("return", json!({"note": "z".repeat(4001)})),
            ("mark-tested", json!({"note": 5})),
            ("launch", json!({})),
            ("submit", json!({})),
        ] {
            let req = test::TestRequest::post()
                .uri(&format!("/api/v1/tickets/{id}/actions/{action}"))
                .insert_header((header::AUTHORIZATION, dev.clone()))
                .set_json(&body)
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{action} {body}");
        }
        let req = test::TestRequest::post()
            .uri(&format!("/api/v1/tickets/{id}/actions/mark-tested"))
            .insert_header((header::AUTHORIZATION, dev.clone()))
            .set_json(json!({"lock_version": before.1 + 7}))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::CONFLICT);
        assert_eq!(snapshot_of(db, id), before);
        // Projects.
        let good = json!({"name": "blog", "svn_url": "svn://svn/blog", "staging_dir": "/srv/staging/blog"});
        for (field, value) in [
            ("name", json!("<script>")),
            ("name", json!("")),
            ("name", json!("-x")),
            ("svn_url", json!("-oProxyCommand=x")),
            ("svn_url", json!("ftp://x")),
            ("staging_dir", json!("../x")),
            ("staging_dir", json!("/srv/../etc")),
            ("leads", json!(["nobody"])),
            ("approvals_required", json!(0)),
            ("approvals_required", json!("two")),
            ("build_command", json!(["-c"])),
            ("description", json!("a\u{1b}[31m")),
            (
                "freeze",
                json!([{"weekly_from": "Funday 25:00", "weekly_to": "Mon 09:00"}]),
            ),
        ] {
            let mut body = good.clone();
            body[field] = value.clone();
            let req = test::TestRequest::post()
                .uri("/api/v1/projects")
                .insert_header((header::AUTHORIZATION, admin.clone()))
                .set_json(&body)
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{field} = {value}");
        }
        let req = test::TestRequest::get()
            .uri("/api/v1/projects/blog")
            .insert_header((header::AUTHORIZATION, admin.clone()))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::NOT_FOUND);
        // A non-admin cannot create one; an admin can, and update and delete it.
        let req = test::TestRequest::post()
            .uri("/api/v1/projects")
            .insert_header((header::AUTHORIZATION, dev.clone()))
            .set_json(&good)
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::FORBIDDEN);
        let req = test::TestRequest::post()
            .uri("/api/v1/projects")
            .insert_header((header::AUTHORIZATION, admin.clone()))
            .set_json(&good)
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::CREATED);
        let mut changed = good.clone();
        changed["leads"] = json!(["lead1"]);
        changed["freeze"] = json!([{"weekly_from": "Fri 18:00", "weekly_to": "Mon 09:00", "label": "weekend"}]);
        let req = test::TestRequest::put()
            .uri("/api/v1/projects/blog")
            .insert_header((header::AUTHORIZATION, admin.clone()))
            .set_json(&changed)
            .to_request();
        let body: Value = test::call_and_read_body_json(&app, req).await;
        assert_eq!(body["leads"], json!(["lead1"]));
        assert_eq!(body["freeze"].as_array().map(Vec::len), Some(1));
        let req = test::TestRequest::delete()
            .uri("/api/v1/projects/shop")
            .insert_header((header::AUTHORIZATION, admin.clone()))
            .to_request();
        assert_eq!(
            test::call_service(&app, req).await.status(),
            StatusCode::CONFLICT,
            "shop has tickets"
        );
        let req = test::TestRequest::delete()
            .uri("/api/v1/projects/blog")
            .insert_header((header::AUTHORIZATION, admin.clone()))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::NO_CONTENT);
        // Rollbacks.
        for body in [
            json!({"version": "1", "reason": "x"}),
            json!({"version": 99, "reason": "x"}),
            json!({"version": 1, "reason": ""}),
        ] {
            let req = test::TestRequest::post()
                .uri("/api/v1/projects/shop/rollbacks")
                .insert_header((header::AUTHORIZATION, dev.clone()))
                .set_json(&body)
                .to_request();
            assert_eq!(
                test::call_service(&app, req).await.status(),
                StatusCode::BAD_REQUEST,
                "{body}"
            );
        }
        // No token, a bad token.
        let req = test::TestRequest::get().uri("/api/v1/tickets").to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::UNAUTHORIZED);
        let req = test::TestRequest::get()
            .uri("/api/v1/tickets")
            .insert_header((header::AUTHORIZATION, "Bearer nonsense"))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::UNAUTHORIZED);
        let req = test::TestRequest::get()
            .uri("/api/v1/tickets?state=nope")
            .insert_header((header::AUTHORIZATION, dev.clone()))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::BAD_REQUEST);
    });
}

/// The cookie value named `name` in a response.
fn cookie(res: &actix_web::dev::ServiceResponse, name: &str) -> Option<String> {
    res.response()
        .cookies()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

fn sign_in_pages_csrf_and_forms(db: &TestDb) {
    let state = setup(db, 1);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        // Not signed in: to the login page.
        let res = test::call_service(&app, test::TestRequest::get().uri("/tickets").to_request()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()),
            Some("/login?next=/tickets")
        );
        let res = test::call_service(&app, test::TestRequest::get().uri("/login").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let csp = res
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        let csrf = cookie(&res, session::CSRF_COOKIE).expect("csrf cookie");
        let login = |user: &str, pw: &str, token: &str| {
            test::TestRequest::post()
                .uri("/login")
                .cookie(actix_web::cookie::Cookie::new(session::CSRF_COOKIE, csrf.clone()))
                .set_form([
                    ("username", user),
                    ("password", pw),
                    ("csrf", token),
                    ("next", "/tickets"),
                ])
                .to_request()
        };
        // Without the CSRF token: refused.
        assert_eq!(
            test::call_service(&app, login("dev", "password-1234", ""))
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        // Wrong password: 401; then throttled.
        for _ in 0..5 {
            assert_eq!(
                test::call_service(&app, login("dev2", "wrong", &csrf)).await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            test::call_service(&app, login("dev2", "password-1234", &csrf))
                .await
                .status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        let res = test::call_service(&app, login("dev", "password-1234", &csrf)).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let session = cookie(&res, session::SESSION_COOKIE).expect("session cookie");
        let set = res
            .headers()
            .get_all(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>();
        assert!(
            set.iter()
                .any(|c| c.starts_with("slipway_session=") && c.contains("HttpOnly") && c.contains("SameSite=Lax")),
            "{set:?}"
        );
        let with = |req: test::TestRequest| {
            req.cookie(actix_web::cookie::Cookie::new(session::SESSION_COOKIE, session.clone()))
                .cookie(actix_web::cookie::Cookie::new(session::CSRF_COOKIE, csrf.clone()))
        };
        // Every page renders.
        let id = ticket_in(db, "dev", "tested");
        for path in [
            "/",
            "/tickets",
            "/tickets?state=tested&project=shop",
            "/tickets/new",
            &format!("/tickets/{id}"),
            "/projects/shop",
            "/audit",
            "/audit.csv",
            "/profile",
        ] {
            let res = test::call_service(&app, with(test::TestRequest::get().uri(path)).to_request()).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
        }
        // The ticket page in Chinese.
        let req = with(test::TestRequest::get().uri(&format!("/tickets/{id}")))
            .insert_header((header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9"))
            .to_request();
        let html = String::from_utf8(test::call_and_read_body(&app, req).await.to_vec()).expect("utf8");
        assert!(html.contains("已测试") && html.contains("时间线"), "Chinese page");
        // The new-ticket form keeps input and shows the error next to the field, escaped.
        let req = with(test::TestRequest::post().uri("/tickets/new"))
            .set_form([
                ("csrf", csrf.as_str()),
                ("project", "shop"),
                ("reason", "<script>alert(1)</script>"),
                ("svn_paths", "ok/path\n../../etc"),
            ])
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let html = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf8");
        assert!(
            html.contains("is-invalid") && html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"));
        let before = ticket_count(db);
        // A form without CSRF token changes nothing.
        let req = with(test::TestRequest::post().uri("/tickets/new"))
            .set_form([
                ("csrf", "0000"),
                ("project", "shop"),
                ("reason", "fine"),
                ("svn_paths", ""),
            ])
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(ticket_count(db), before);
        // A good one files the ticket.
        let req = with(test::TestRequest::post().uri("/tickets/new"))
            .set_form([
                ("csrf", csrf.as_str()),
                ("project", "shop"),
                ("reason", "fine"),
                ("svn_paths", "src/a.js"),
            ])
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::SEE_OTHER);
        assert_eq!(ticket_count(db), before + 1);
        // A developer is not an admin.
        let res = test::call_service(&app, with(test::TestRequest::get().uri("/admin/users")).to_request()).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        // Disabled: out at once.
        slipway::service::users::disable(&mut db.conn(), "dev").expect("disable");
        let res = test::call_service(&app, with(test::TestRequest::get().uri("/")).to_request()).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    });
}

fn admin_pages_and_forms(db: &TestDb) {
    let state = setup(db, 1);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let session = session::issue(&state, uid(db, "admin"), "session").expect("session").0;
        let csrf = "0123456789abcdef0123456789abcdef".to_owned();
        let with = |req: test::TestRequest| {
            req.cookie(actix_web::cookie::Cookie::new(session::SESSION_COOKIE, session.clone()))
                .cookie(actix_web::cookie::Cookie::new(session::CSRF_COOKIE, csrf.clone()))
        };
        for path in [
            "/admin/users",
            "/admin/projects",
            "/admin/projects/new",
            "/admin/projects/shop/edit",
            "/admin/hosts",
            "/admin/import",
        ] {
            let res = test::call_service(&app, with(test::TestRequest::get().uri(path)).to_request()).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
        }
        let users_before = slipway::store::users::list(&mut db.conn()).expect("users").len();
        for name in ["<script>", "", "-x", "a/../b", "ok\u{1}"] {
            let req = with(test::TestRequest::post().uri("/admin/users"))
                .set_form([
                    ("csrf", csrf.as_str()),
                    ("username", name),
                    ("password", "long-enough-password"),
                ])
                .to_request();
            assert_eq!(
                test::call_service(&app, req).await.status(),
                StatusCode::BAD_REQUEST,
                "{name:?}"
            );
        }
        assert_eq!(
            slipway::store::users::list(&mut db.conn()).expect("users").len(),
            users_before
        );
        let req = with(test::TestRequest::post().uri("/admin/users"))
            .set_form([
                ("csrf", csrf.as_str()),
                ("username", "newbie"),
                ("password", "long-enough-password"),
            ])
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::SEE_OTHER);
        for target in ["-e sh", "../x", "has space", "relative/path", ""] {
            let req = with(test::TestRequest::post().uri("/admin/hosts"))
                .set_form([
                    ("csrf", csrf.as_str()),
                    ("group", "web"),
                    ("name", "web2"),
                    ("target", target),
                ])
                .to_request();
            assert_eq!(
                test::call_service(&app, req).await.status(),
                StatusCode::BAD_REQUEST,
                "{target:?}"
            );
        }
        let req = with(test::TestRequest::post().uri("/admin/import"))
            .set_form([("csrf", csrf.as_str()), ("toml", "[[project]]\nname = \"<x>\"\n")])
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::BAD_REQUEST);
        let req = with(test::TestRequest::post().uri("/admin/projects/new"))
            .set_form([
                ("csrf", csrf.as_str()),
                ("name", "blog"),
                ("svn_url", "svn://x/blog"),
                ("staging_dir", "../etc"),
                ("approvals_required", "1"),
            ])
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::BAD_REQUEST);
        let req = with(test::TestRequest::post().uri("/admin/projects/new"))
            .set_form([
                ("csrf", csrf.as_str()),
                ("name", "blog"),
                ("svn_url", "svn://x/blog"),
                ("staging_dir", "/srv/blog"),
                ("approvals_required", "2"),
                ("leads", "lead1"),
                ("leads", "lead2"),
                ("weekly_0_from_day", "Fri"),
                ("weekly_0_from_time", "18:00"),
                ("weekly_0_to_day", "Mon"),
                ("weekly_0_to_time", "09:00"),
                ("weekly_0_label", "weekend"),
            ])
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::SEE_OTHER);
    });
}

fn log_stream_openapi_and_ops(db: &TestDb) {
    let state = setup(db, 1);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let dev = bearer(&state, db, "dev");
        let id = ticket_in(db, "dev", "submitted");
        let job = slipway::store::jobs::for_ticket(&mut db.conn(), id).expect("jobs")[0].id;
        diesel::sql_query(format!(
            "INSERT INTO job_logs (job_id, ticket_id, stream, line, created_at) VALUES \
             ({job}, {id}, 'stdout', 'U src/app.js', CURRENT_TIMESTAMP), ({job}, {id}, 'stderr', 'warning', CURRENT_TIMESTAMP)"
        ))
        .execute(&mut db.conn())
        .expect("log lines");
        let req = test::TestRequest::get()
            .uri(&format!("/api/v1/tickets/{id}/log"))
            .insert_header((header::AUTHORIZATION, dev.clone()))
            .to_request();
        let body: Value = test::call_and_read_body_json(&app, req).await;
        assert_eq!(body["lines"].as_array().map(Vec::len), Some(2));
        assert_eq!(body["done"], false);
        diesel::sql_query(format!("UPDATE jobs SET state = 'done' WHERE id = {job}"))
            .execute(&mut db.conn())
            .expect("job done");
        let req = test::TestRequest::get()
            .uri(&format!("/api/v1/tickets/{id}/log/stream"))
            .insert_header((header::AUTHORIZATION, dev.clone()))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
        let text = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf8");
        assert!(text.contains("event: line") && text.contains("U src/app.js") && text.ends_with("event: end\ndata: {}\n\n"), "{text}");
        // OpenAPI: every documented operation is routed.
        let req = test::TestRequest::get().uri("/api/v1/openapi.json").to_request();
        let doc: Value = test::call_and_read_body_json(&app, req).await;
        assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() >= 9, "{paths:?}");
        for (path, ops) in paths {
            for method in ops.as_object().expect("ops").keys() {
                let uri = path.replace("{id}", &id.to_string()).replace("{name}", "shop").replace("{action}", "cancel");
                let req = test::TestRequest::default()
                    .method(method.to_uppercase().parse().expect("method"))
                    .uri(&uri)
                    .to_request();
                let res = test::call_service(&app, req).await;
                let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap_or_default();
                assert!(!body.contains("no such endpoint"), "{method} {uri} is documented but not routed");
            }
        }
        let res = test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let req = test::TestRequest::get().uri("/metrics").to_request();
        let text = String::from_utf8(test::call_and_read_body(&app, req).await.to_vec()).expect("utf8");
        assert!(text.contains("slipway_tickets{state=\"submitted\"} 1"), "{text}");
        assert!(text.contains("slipway_jobs{state=\"queued\"}"));
        assert!(text.contains("slipway_http_request_duration_seconds_bucket"));
        assert!(text.contains("slipway_job_duration_seconds_count{kind=\"stage\"} 1"), "{text}");
        // A due job nobody claims for ten minutes: the workers are not alive.
        diesel::sql_query(format!(
            "UPDATE jobs SET state = 'queued', run_after = '2000-01-01 00:00:00' WHERE id = {job}"
        ))
        .execute(&mut db.conn())
        .expect("stall");
        let res = test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["workers"], "stalled", "{body}");
        diesel::sql_query(format!("UPDATE jobs SET state = 'done' WHERE id = {job}"))
            .execute(&mut db.conn())
            .expect("unstall");
        // Token endpoint and personal tokens.
        let req = test::TestRequest::post()
            .uri("/api/v1/auth/token")
            .set_json(json!({"username": "dev", "password": "password-1234"}))
            .to_request();
        let body: Value = test::call_and_read_body_json(&app, req).await;
        let token = body["token"].as_str().expect("token").to_owned();
        let req = test::TestRequest::get()
            .uri("/api/v1/tickets?project=shop")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request();
        let body: Value = test::call_and_read_body_json(&app, req).await;
        assert_eq!(body["tickets"].as_array().map(Vec::len), Some(1));
        let (_, personal) = slipway::service::admin::create_token(&mut db.conn(), uid(db, "dev"), "ci").expect("token");
        let req = test::TestRequest::get()
            .uri(&format!("/api/v1/tickets/{id}"))
            .insert_header((header::AUTHORIZATION, format!("Bearer {personal}")))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::OK);
    });
}

/// The project's staging URL shows on the ticket (page and API) once it is staged.
fn staging_url_once_staged(db: &TestDb) {
    let state = setup(db, 1);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let session = session::issue(&state, uid(db, "tester"), "session").expect("session").0;
        let url = "http://staging.example/shop/";
        for (to, shown) in [("submitted", false), ("staged", true), ("tested", true)] {
            let id = ticket_in(db, "dev", to);
            let req = test::TestRequest::get()
                .uri(&format!("/api/v1/tickets/{id}"))
                .insert_header((header::AUTHORIZATION, bearer(&state, db, "tester")))
                .to_request();
            let body: Value = test::call_and_read_body_json(&app, req).await;
            let want = if shown { json!(url) } else { Value::Null };
            assert_eq!(body["staging_url"], want, "{to}: {body}");
            let req = test::TestRequest::get()
                .uri(&format!("/tickets/{id}"))
                .cookie(actix_web::cookie::Cookie::new(session::SESSION_COOKIE, session.clone()))
                .to_request();
            let html = String::from_utf8(test::call_and_read_body(&app, req).await.to_vec()).expect("utf8");
            assert_eq!(html.contains("id=\"staging-url\""), shown, "{to}");
            assert_eq!(
                html.contains(&format!("href=\"{}\"", url.replace('/', "&#x2F;"))),
                shown,
                "{to}: {html}"
            );
        }
    });
}

/// In a freeze window an admin sees the emergency override (checkbox and
/// reason) instead of a release button, and releasing with it is audited.
fn emergency_override_in_a_freeze(db: &TestDb) {
    let state = setup(db, 1);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let id = ticket_in(db, "dev", "approved");
        diesel::sql_query(
            "INSERT INTO freeze_windows (project_id, kind, starts_at, ends_at, label) \
             SELECT id, 'range', '2000-01-01 00:00:00', '2999-01-01 00:00:00', 'forever' FROM projects WHERE name = 'shop'",
        )
        .execute(&mut db.conn())
        .expect("freeze");
        let page = |user: &str| {
            let session = session::issue(&state, uid(db, user), "session").expect("session").0;
            test::TestRequest::get()
                .uri(&format!("/tickets/{id}"))
                .cookie(actix_web::cookie::Cookie::new(session::SESSION_COOKIE, session))
                .to_request()
        };
        diesel::sql_query("UPDATE projects SET time_zone = 'Asia/Shanghai' WHERE name = 'shop'")
            .execute(&mut db.conn())
            .expect("zone");
        let html = String::from_utf8(test::call_and_read_body(&app, page("dev")).await.to_vec()).expect("utf8");
        assert!(html.contains("id=\"freeze\"") && !html.contains("id=\"act-release\""));
        assert!(!html.contains("emergency-override"), "only admins get the override");
        // Instead of a missing button: frozen, until when (project zone named), who and how.
        assert!(html.contains("id=\"why-release\" data-code=\"frozen\""), "{html}");
        assert!(html.contains("frozen until 2999-01-01 08:00 (Asia&#x2F;Shanghai)"), "{html}");
        assert!(html.contains("datetime=\"2999-01-01T00:00:00Z\""), "{html}");
        assert!(html.contains("an admin, with an emergency override"), "{html}");
        let zh = test::TestRequest::get()
            .uri(&format!("/tickets/{id}"))
            .insert_header((header::ACCEPT_LANGUAGE, "zh-CN"))
            .cookie(actix_web::cookie::Cookie::new(
                session::SESSION_COOKIE,
                session::issue(&state, uid(db, "dev"), "session").expect("session").0,
            ))
            .to_request();
        let html = String::from_utf8(test::call_and_read_body(&app, zh).await.to_vec()).expect("utf8");
        assert!(html.contains("本项目封版至 2999-01-01 08:00（Asia&#x2F;Shanghai）"), "{html}");
        let req = test::TestRequest::get()
            .uri(&format!("/api/v1/tickets/{id}"))
            .insert_header((header::AUTHORIZATION, bearer(&state, db, "dev")))
            .to_request();
        let body: Value = test::call_and_read_body_json(&app, req).await;
        let blocked = body["blocked"].as_array().cloned().unwrap_or_default();
        let release = blocked.iter().find(|b| b["action"] == "release").cloned().unwrap_or_default();
        assert_eq!(release["code"], "frozen", "{body}");
        assert_eq!(release["until"], "2999-01-01T00:00:00Z", "{body}");
        assert_eq!(release["time_zone"], "Asia/Shanghai", "{body}");
        assert_eq!(release["admin_override"], true, "{body}");
        let html = String::from_utf8(test::call_and_read_body(&app, page("admin")).await.to_vec()).expect("utf8");
        assert!(html.contains("id=\"emergency-override\"") && html.contains("id=\"override-release\""), "{html}");
        // Without the box ticked: refused, nothing changes.
        let admin = bearer(&state, db, "admin");
        let before = snapshot_of(db, id);
        let req = test::TestRequest::post()
            .uri(&format!("/api/v1/tickets/{id}/actions/release"))
            .insert_header((header::AUTHORIZATION, admin.clone()))
            .set_json(json!({"note": "hotfix"}))
            .to_request();
        let status = test::call_service(&app, req).await.status();
        assert!(status == StatusCode::FORBIDDEN || status == StatusCode::CONFLICT, "{status}");
        assert_eq!(snapshot_of(db, id), before);
        let req = test::TestRequest::post()
            .uri(&format!("/api/v1/tickets/{id}/actions/release"))
            .insert_header((header::AUTHORIZATION, admin))
            .set_json(json!({"note": "payment outage", "emergency_override": true}))
            .to_request();
        let body: Value = test::call_and_read_body_json(&app, req).await;
        assert_eq!(body["state"], "releasing", "{body}");
        let last = &body["events"].as_array().expect("events").last().cloned().unwrap_or_default();
        assert_eq!(last["emergency_override"], true, "{last}");
    });
}

/// The new-ticket form shows every field's problem at once, beside the
/// field, with the field's label, in the reader's language; nothing is stored.
fn new_ticket_form_shows_every_error_with_labels(db: &TestDb) {
    let app = start(db, 1);
    let before = ticket_count(db);
    let form = [
        ("csrf", common::app::CSRF),
        ("project", ""),
        ("reason", "   "),
        ("svn_paths", "src/app.js\n../../etc/passwd"),
        ("svn_revision", "abc"),
    ];
    let send = |lang: &str| {
        app.browser("dev").send(
            test::TestRequest::post()
                .uri("/tickets/new")
                .insert_header((header::ACCEPT_LANGUAGE, lang))
                .set_form(form),
        )
    };
    let reply = send("en");
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let page = reply.text();
    for expected in [
        "Project: choose a project.",
        "Reason: must not be empty.",
        "SVN paths: `../../etc/passwd` must not contain `..`.",
        "SVN revision: must be a whole number.",
    ] {
        assert!(page.contains(&expected.replace('/', "&#x2F;")), "{expected}: {page}");
    }
    assert!(!page.contains("svn_paths:"), "no raw keys: {page}");
    assert_eq!(page.matches("class=\"invalid-feedback\"").count(), 4, "{page}");
    let page = send("zh-CN").text();
    for expected in [
        "项目：请选择一个项目。",
        "原因：不能为空。",
        "SVN 路径：",
        "SVN 版本号：必须是整数。",
    ] {
        assert!(page.contains(expected), "{expected}: {page}");
    }
    assert!(!page.contains("must not") && !page.contains("svn_paths:"), "{page}");
    // A service refusal in Chinese: the reason too long, after the form's checks pass.
    let long = "x".repeat(4001);
    let reply = app.browser("dev").send(
        test::TestRequest::post()
            .uri("/tickets/new")
            .insert_header((header::ACCEPT_LANGUAGE, "zh-CN"))
            .set_form([
                ("csrf", common::app::CSRF),
                ("project", "shop"),
                ("reason", long.as_str()),
                ("svn_paths", "src/app.js"),
            ]),
    );
    assert!(reply.text().contains("原因：最多 4000 个字符。"), "{}", reply.text());
    assert_eq!(ticket_count(db), before, "nothing stored");
}

backend_tests!(
    new_ticket_form_shows_every_error_with_labels,
    emergency_override_in_a_freeze,
    staging_url_once_staged,
    every_action_by_every_role,
    a_lead_cannot_approve_their_own_ticket,
    bad_input_is_refused_and_nothing_stored,
    sign_in_pages_csrf_and_forms,
    admin_pages_and_forms,
    log_stream_openapi_and_ops,
);
