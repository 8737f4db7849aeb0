//! Invariant 12 over HTTP on SQLite and PostgreSQL: a project's tickets,
//! logs, hosts, members and audit rows are read by its members, watchers
//! and admins only. An outsider gets 404 from every API route of the
//! OpenAPI document that names a project or ticket and from every page that
//! does, and lists, "my work", audit and CSV leave the project out; with
//! `auth.visibility = "everyone"` the outsider reads.

mod common;

use actix_web::http::{header, Method, StatusCode};
use actix_web::{test, web, App};
use serde_json::{json, Value};
use slipway::service::tickets::{self, ActorRef, NewRelease};
use slipway::service::Visibility;
use slipway::web::{auth, configure, AppState};

use common::TestDb;

const USERS: [&str; 6] = ["dev", "lead1", "tester", "admin", "outsider", "watcher"];

fn setup(db: &TestDb, visibility: Visibility) -> web::Data<AppState> {
    for u in USERS {
        db.user(u, u == "admin");
    }
    db.import(
        r#"
[[host_group]]
name = "web"
hosts = [{ name = "web1", target = "deploy@secret-host.example:/srv/shop" }]

[[project]]
name = "shop"
svn_url = "file:///tmp/svn/shop/trunk"
staging_dir = "/tmp/staging/shop"
staging_url = "http://staging.example/shop/"
host_groups = ["web"]
leads = ["lead1"]
developers = ["dev"]
testers = ["tester"]
watchers = ["watcher"]
"#,
    );
    let mut state = AppState::new(db.pool.clone(), b"0123456789abcdef0123456789abcdef", 12, false).expect("state");
    state.visibility = visibility;
    web::Data::new(state)
}

fn uid(db: &TestDb, name: &str) -> i64 {
    slipway::store::listing::user_id(&mut db.conn(), name)
        .expect("query")
        .expect("user")
}

/// A ticket of `shop` filed by dev, with a line of job output.
fn ticket(db: &TestDb) -> i64 {
    let paths = vec!["src/app.js".to_owned()];
    let applied = tickets::submit(
        &mut db.conn(),
        ActorRef::User(uid(db, "dev")),
        &NewRelease {
            project: "shop",
            reason: "secret checkout fix",
            svn_paths: &paths,
            svn_revision: None,
        },
        chrono::Utc::now(),
    )
    .expect("submit");
    let id = applied.ticket.id;
    let job = slipway::store::listing::ticket_jobs(&mut db.conn(), id).expect("jobs")[0].id;
    let line = slipway::store::models::NewJobLog {
        job_id: job,
        ticket_id: Some(id),
        stream: "stdout".into(),
        line: "building secret-host".into(),
        created_at: slipway::store::timestamp_now(),
    };
    slipway::store::jobs::append_logs(&mut db.conn(), &[line]).expect("log line");
    id
}

macro_rules! app {
    ($state:expr) => {
        test::init_service(App::new().configure(configure($state.clone()))).await
    };
}

/// The API routes of the OpenAPI document, with a project or ticket filled in.
fn api_routes(doc: &Value, ticket: i64) -> Vec<(Method, String, bool)> {
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        let names_one = path.contains("{name}") || path.contains("{id}");
        let uri = path
            .replace("{name}", "shop")
            .replace("{id}", &ticket.to_string())
            .replace("{action}", "approve");
        for method in ops.as_object().expect("operations").keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            // POST /tickets names the project in its body.
            let names = names_one || (method == Method::POST && path == "/api/v1/tickets");
            out.push((method, uri.clone(), names));
        }
    }
    out
}

fn api_body(uri: &str) -> Value {
    if uri.ends_with("/rollbacks") {
        json!({"version": 1, "reason": "why"})
    } else if uri == "/api/v1/tickets" {
        json!({"project": "shop", "reason": "sneaky"})
    } else if uri.starts_with("/api/v1/projects/") {
        json!({"name": "shop", "svn_url": "file:///x", "staging_dir": "/tmp/x"})
    } else {
        json!({"note": "n"})
    }
}

/// Sends a request; the status and the body as text.
macro_rules! read {
    ($app:expr, $req:expr) => {{
        let res = test::call_service(&$app, $req.to_request()).await;
        let status = res.status();
        let body = String::from_utf8_lossy(&test::read_body(res).await).into_owned();
        (status, body)
    }};
}

fn outsider_gets_404_everywhere(db: &TestDb) {
    let state = setup(db, Visibility::Members);
    let id = ticket(db);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let token = |name: &str| format!("Bearer {}", auth::issue(&state, uid(db, name), "api").expect("jwt").0);
        let outsider = token("outsider");
        let doc: Value =
            test::call_and_read_body_json(&app, test::TestRequest::get().uri("/api/v1/openapi.json").to_request())
                .await;
        let routes = api_routes(&doc, id);
        assert!(routes.iter().filter(|r| r.2).count() >= 8, "{routes:?}");
        for (method, uri, names) in &routes {
            let req = test::TestRequest::default()
                .method(method.clone())
                .uri(uri)
                .insert_header((header::AUTHORIZATION, outsider.clone()))
                .set_json(api_body(uri));
            let (status, body) = read!(app, req);
            if *names {
                assert_eq!(status, StatusCode::NOT_FOUND, "outsider {method} {uri}: {body}");
            }
            assert!(!body.contains("secret"), "outsider {method} {uri} leaked: {body}");
        }
        // Lists leave the project out.
        for uri in ["/api/v1/tickets", "/api/v1/projects", "/api/v1/tickets?project=shop"] {
            let req = test::TestRequest::get()
                .uri(uri)
                .insert_header((header::AUTHORIZATION, outsider.clone()));
            let (status, body) = read!(app, req);
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert!(!body.contains("shop") && !body.contains("secret"), "{uri}: {body}");
        }
        // Pages.
        let session = |name: &str| auth::issue(&state, uid(db, name), "session").expect("session").0;
        let csrf = "0123456789abcdef0123456789abcdef";
        let page = |name: &str, method: Method, uri: &str| {
            test::TestRequest::default()
                .method(method)
                .uri(uri)
                .cookie(actix_web::cookie::Cookie::new(auth::SESSION_COOKIE, session(name)))
                .cookie(actix_web::cookie::Cookie::new(auth::CSRF_COOKIE, csrf))
                .set_form([("csrf", csrf), ("action", "approve"), ("version", "1"), ("reason", "x")])
        };
        let named = [
            (Method::GET, format!("/tickets/{id}")),
            (Method::POST, format!("/tickets/{id}/action")),
            (Method::GET, format!("/tickets/{id}/log/stream")),
            (Method::GET, "/projects/shop".to_owned()),
            (Method::POST, "/projects/shop/rollback".to_owned()),
            (Method::GET, "/svn/list?project=shop".to_owned()),
        ];
        for (method, uri) in &named {
            let (status, body) = read!(app, page("outsider", method.clone(), uri));
            assert_eq!(status, StatusCode::NOT_FOUND, "outsider {method} {uri}: {body}");
            assert!(!body.contains("secret"), "{uri}: {body}");
        }
        let listed = [
            "/",
            "/tickets",
            "/tickets?project=shop",
            "/audit",
            "/audit?project=shop",
            "/audit.csv",
        ];
        for uri in listed {
            let (status, body) = read!(app, page("outsider", Method::GET, uri));
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert!(
                !body.contains("secret") && !body.contains(&format!("/tickets/{id}\"")),
                "outsider {uri}: {body}"
            );
            assert!(
                !body.contains(">shop<") && !body.contains("\"shop\""),
                "outsider {uri} names the project: {body}"
            );
        }
        // Members (any role), watchers and admins read all of it.
        for name in ["dev", "tester", "lead1", "watcher", "admin"] {
            // (Not the SSE stream: it stays open while the stage job is queued.)
            for (_, uri) in named
                .iter()
                .filter(|(m, u)| *m == Method::GET && !u.starts_with("/svn") && !u.ends_with("/stream"))
            {
                let (status, body) = read!(app, page(name, Method::GET, uri));
                assert_eq!(status, StatusCode::OK, "{name} {uri}: {body}");
            }
            let (_, csv) = read!(app, page(name, Method::GET, "/audit.csv"));
            assert!(csv.contains(",\"shop\","), "{name}: {csv}");
            let req = test::TestRequest::get()
                .uri(&format!("/api/v1/tickets/{id}/log"))
                .insert_header((header::AUTHORIZATION, token(name)));
            let (status, body) = read!(app, req);
            assert_eq!(status, StatusCode::OK, "{name}");
            assert!(body.contains("building secret-host"), "{name}: {body}");
        }
    });
}

fn everyone_reads_when_the_site_opts_in(db: &TestDb) {
    let state = setup(db, Visibility::Everyone);
    let id = ticket(db);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let outsider = format!(
            "Bearer {}",
            auth::issue(&state, uid(db, "outsider"), "api").expect("jwt").0
        );
        for uri in [
            format!("/api/v1/tickets/{id}"),
            format!("/api/v1/tickets/{id}/log"),
            "/api/v1/projects/shop".to_owned(),
        ] {
            let req = test::TestRequest::get()
                .uri(&uri)
                .insert_header((header::AUTHORIZATION, outsider.clone()));
            let (status, body) = read!(app, req);
            assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        }
        let req = test::TestRequest::get()
            .uri("/api/v1/tickets")
            .insert_header((header::AUTHORIZATION, outsider.clone()));
        let (_, body) = read!(app, req);
        assert!(body.contains("secret checkout fix"), "{body}");
        let session = auth::issue(&state, uid(db, "outsider"), "session").expect("session").0;
        let req = test::TestRequest::get()
            .uri("/audit.csv")
            .cookie(actix_web::cookie::Cookie::new(auth::SESSION_COOKIE, session));
        let (_, csv) = read!(app, req);
        assert!(csv.contains(",\"shop\","), "{csv}");
        // Reading is open; acting still follows the roles (403, not 404).
        let req = test::TestRequest::post()
            .uri(&format!("/api/v1/tickets/{id}/actions/approve"))
            .insert_header((header::AUTHORIZATION, outsider.clone()))
            .set_json(json!({}));
        let (status, body) = read!(app, req);
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::CONFLICT,
            "{status} {body}"
        );
    });
}

#[::core::prelude::v1::test]
fn visibility_config_defaults_to_members() {
    let config = slipway::config::Config::load_from(None, figment::providers::Env::prefixed("SLIPWAY_TEST_NOTHING_"))
        .expect("default config");
    assert_eq!(config.auth.visibility, Visibility::Members);
}

/// An emailed approval link of a user who does not see the project (e.g.
/// removed from it since) shows nothing of the ticket.
fn approval_link_pages_follow_visibility(db: &TestDb) {
    let state = setup(db, Visibility::Members);
    let id = ticket(db);
    let row = slipway::store::tickets::by_id(&mut db.conn(), id)
        .expect("query")
        .expect("ticket");
    let link = |user: &str| {
        let claims = slipway::notify::links::LinkClaims::new(
            id,
            uid(db, user),
            "approve",
            &row.state,
            row.stage_generation,
            row.lock_version,
            slipway::notify::links::unix_now(),
            1,
        );
        let key = jsonwebtoken::EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        slipway::notify::links::sign(&key, &claims).expect("sign")
    };
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let (status, body) = read!(
            app,
            test::TestRequest::get().uri(&format!("/approve/{}", link("lead1")))
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("secret checkout fix"), "{body}");
        let (status, body) = read!(
            app,
            test::TestRequest::get().uri(&format!("/approve/{}", link("outsider")))
        );
        assert_ne!(status, StatusCode::OK, "{body}");
        assert!(!body.contains("secret") && !body.contains(&format!("#{id}")), "{body}");
    });
}

/// A reason with a bidirectional override is refused with its stable code.
fn invisible_characters_are_refused_with_their_code(db: &TestDb) {
    let state = setup(db, Visibility::Members);
    actix_web::rt::System::new().block_on(async {
        let app = app!(state);
        let dev = format!("Bearer {}", auth::issue(&state, uid(db, "dev"), "api").expect("jwt").0);
        for (body, field, reason) in [
            (
                json!({"project": "shop", "reason": "fix \u{202E}txt.exe"}),
                "reason",
                "input.invisible_character",
            ),
            (
                json!({"project": "shop", "reason": "ok", "svn_paths": ["a\u{200B}b"]}),
                "svn_paths",
                "input.invisible_character",
            ),
            (
                json!({"project": "shop", "reason": "a\u{1b}[31mb"}),
                "reason",
                "input.control_character",
            ),
        ] {
            let req = test::TestRequest::post()
                .uri("/api/v1/tickets")
                .insert_header((header::AUTHORIZATION, dev.clone()))
                .set_json(&body);
            let (status, text) = read!(app, req);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
            let answer: Value = serde_json::from_str(&text).expect("json");
            assert_eq!(answer["error"]["code"], "invalid", "{text}");
            assert_eq!(answer["error"]["field"], field, "{text}");
            assert_eq!(answer["error"]["reason"], reason, "{text}");
        }
    });
}

backend_tests!(
    outsider_gets_404_everywhere,
    everyone_reads_when_the_site_opts_in,
    approval_link_pages_follow_visibility,
    invisible_characters_are_refused_with_their_code,
);
