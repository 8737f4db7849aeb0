//! Invariant 12 over HTTP on SQLite and PostgreSQL: a project's tickets,
//! logs, hosts, members and audit rows are read by its members, watchers
//! and admins only. An outsider gets 404 from every API route of the
//! OpenAPI document that names a project or ticket and from every page that
//! does, and lists, "my work", audit and CSV leave the project out; with
//! `auth.visibility = "everyone"` the outsider reads.

mod common;

use actix_web::http::{Method, StatusCode};
use actix_web::test;
use serde_json::{json, Value};
use slipway::service::tickets::{self, ActorRef, NewRelease};
use slipway::service::Visibility;
use slipway::store::Backend;

use common::app::{TestApp, CSRF};

const USERS: [&str; 6] = ["dev", "lead1", "tester", "admin", "outsider", "watcher"];

const SHOP: &str = r#"
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
"#;

fn setup(backend: Backend, visibility: Visibility) -> TestApp<'static> {
    TestApp::new(backend)
        .with_users(&USERS[..3])
        .with_admins(&USERS[3..4])
        .with_users(&USERS[4..])
        .with_project(SHOP)
        .with_visibility(visibility)
        .start()
}

/// A ticket of `shop` filed by dev, with a line of job output.
fn ticket(app: &TestApp) -> i64 {
    let db = app.db();
    let paths = vec!["src/app.js".to_owned()];
    let applied = tickets::submit(
        &mut db.conn(),
        ActorRef::User(app.uid("dev")),
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

fn outsider_gets_404_everywhere(backend: Backend) {
    let app = setup(backend, Visibility::Members);
    let id = ticket(&app);
    let outsider = app.api("outsider");
    let doc = app.anonymous().get("/api/v1/openapi.json").json();
    let routes = api_routes(&doc, id);
    assert!(routes.iter().filter(|r| r.2).count() >= 8, "{routes:?}");
    for (method, uri, names) in &routes {
        let reply = outsider.json(method.clone(), uri, &api_body(uri));
        let (status, body) = (reply.status, reply.text());
        if uri.starts_with("/api/v1/host-groups") {
            // Host groups belong to no project: admins only, refused before
            // any lookup, so the answer is the same whether the group exists.
            assert_eq!(status, StatusCode::FORBIDDEN, "outsider {method} {uri}: {body}");
        } else if *names {
            assert_eq!(status, StatusCode::NOT_FOUND, "outsider {method} {uri}: {body}");
        }
        assert!(!body.contains("secret"), "outsider {method} {uri} leaked: {body}");
    }
    // Lists leave the project out.
    for uri in ["/api/v1/tickets", "/api/v1/projects", "/api/v1/tickets?project=shop"] {
        let reply = outsider.get(uri);
        let body = reply.text();
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert!(!body.contains("shop") && !body.contains("secret"), "{uri}: {body}");
    }
    // Pages.
    let page = |name: &str, method: Method, uri: &str| {
        let reply = app
            .browser(name)
            .send(test::TestRequest::default().method(method).uri(uri).set_form([
                ("csrf", CSRF),
                ("action", "approve"),
                ("version", "1"),
                ("reason", "x"),
            ]));
        (reply.status, reply.text())
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
        let (status, body) = page("outsider", method.clone(), uri);
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
        let (status, body) = page("outsider", Method::GET, uri);
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
            let (status, body) = page(name, Method::GET, uri);
            assert_eq!(status, StatusCode::OK, "{name} {uri}: {body}");
        }
        let (_, csv) = page(name, Method::GET, "/audit.csv");
        assert!(csv.contains(",\"shop\","), "{name}: {csv}");
        let reply = app.api(name).get(&format!("/api/v1/tickets/{id}/log"));
        let body = reply.text();
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        assert!(body.contains("building secret-host"), "{name}: {body}");
    }
}

fn everyone_reads_when_the_site_opts_in(backend: Backend) {
    let app = setup(backend, Visibility::Everyone);
    let id = ticket(&app);
    let outsider = app.api("outsider");
    for uri in [
        format!("/api/v1/tickets/{id}"),
        format!("/api/v1/tickets/{id}/log"),
        "/api/v1/projects/shop".to_owned(),
    ] {
        let reply = outsider.get(&uri);
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
    }
    let body = outsider.get("/api/v1/tickets").text();
    assert!(body.contains("secret checkout fix"), "{body}");
    let csv = app.browser("outsider").get("/audit.csv").text();
    assert!(csv.contains(",\"shop\","), "{csv}");
    // Reading is open; acting still follows the roles (403, not 404).
    let reply = outsider.post_json(&format!("/api/v1/tickets/{id}/actions/approve"), &json!({}));
    let status = reply.status;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::CONFLICT,
        "{status} {}",
        reply.text()
    );
}

#[::core::prelude::v1::test]
fn visibility_config_defaults_to_members() {
    let config = slipway::config::Config::load_from(None, figment::providers::Env::prefixed("SLIPWAY_TEST_NOTHING_"))
        .expect("default config");
    assert_eq!(config.auth.visibility, Visibility::Members);
}

/// An emailed approval link of a user who does not see the project (e.g.
/// removed from it since) shows nothing of the ticket.
fn approval_link_pages_follow_visibility(backend: Backend) {
    let app = setup(backend, Visibility::Members);
    let id = ticket(&app);
    let row = slipway::store::tickets::by_id(&mut app.db().conn(), id)
        .expect("query")
        .expect("ticket");
    let link = |user: &str| {
        let claims = slipway::notify::links::LinkClaims::new(
            id,
            app.uid(user),
            "approve",
            &row.state,
            row.stage_generation,
            row.lock_version,
            slipway::notify::links::unix_now(),
            1,
        );
        let key = jsonwebtoken::EncodingKey::from_secret(common::app::SIGNING_KEY);
        slipway::notify::links::sign(&key, &claims).expect("sign")
    };
    let reply = app.anonymous().get(&format!("/approve/{}", link("lead1")));
    let body = reply.text();
    assert_eq!(reply.status, StatusCode::OK, "{body}");
    assert!(body.contains("secret checkout fix"), "{body}");
    let reply = app.anonymous().get(&format!("/approve/{}", link("outsider")));
    let body = reply.text();
    assert_ne!(reply.status, StatusCode::OK, "{body}");
    assert!(!body.contains("secret") && !body.contains(&format!("#{id}")), "{body}");
}

/// A reason with a bidirectional override is refused with its stable code.
fn invisible_characters_are_refused_with_their_code(backend: Backend) {
    let app = setup(backend, Visibility::Members);
    let dev = app.api("dev");
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
        let reply = dev.post_json("/api/v1/tickets", &body);
        let text = reply.text();
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{text}");
        let answer: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(answer["error"]["code"], "invalid", "{text}");
        assert_eq!(answer["error"]["field"], field, "{text}");
        assert_eq!(answer["error"]["reason"], reason, "{text}");
    }
}

app_tests!(
    outsider_gets_404_everywhere,
    everyone_reads_when_the_site_opts_in,
    approval_link_pages_follow_visibility,
    invisible_characters_are_refused_with_their_code,
);
