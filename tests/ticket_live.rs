//! The ticket page tells the truth, live (issue 12), on SQLite and
//! PostgreSQL, with a real SVN repository and local-directory hosts: after a
//! release, `GET /api/v1/tickets/{id}` and the page show each host
//! `switched` with its version (`v1`) and timed steps; the page's change
//! fingerprint (`/tickets/{id}/stamp`) moves when a job ends or someone
//! acts, and says when polling may stop; a released ticket keeps its list
//! of files that changed; lists show versions as `v1`; the hosts' step
//! names read in Chinese on a Chinese page.

mod common;
mod common_pipeline;
mod common_svn;

use std::collections::BTreeMap;

use actix_web::{http::header, test, web, App};
use chrono::Utc;
use slipway::domain::Action;
use slipway::jobs::worker::JobOutcome;
use slipway::service::tickets::{self, ActionInput, ActorRef};
use slipway::store::users;
use slipway::web::{configure, session, AppState};

use common::TestDb;
use common_pipeline::{drain, Pipeline};

/// A project `shop` shipping to two local directories.
fn shop(db: &TestDb) -> (Pipeline<'_>, tempfile::TempDir) {
    let root = tempfile::tempdir().expect("temp dir");
    let list: Vec<String> = (1..=2)
        .map(|n| {
            let dir = root.path().join(format!("web{n}"));
            std::fs::create_dir_all(&dir).expect("host dir");
            format!("{{ name = \"web{n}\", target = \"{}\" }}", dir.display())
        })
        .collect();
    let extra = format!(
        "host_groups = [\"web\"]\n\n[[host_group]]\nname = \"web\"\nhosts = [{}]\n",
        list.join(", ")
    );
    (Pipeline::new(db, "shop", None, &extra), root)
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

fn lead(p: &Pipeline<'_>) -> i64 {
    users::by_username(&mut p.db.conn(), "shop-lead")
        .expect("query")
        .expect("lead")
        .id
}

/// What a reader sees: the stamp (JSON), the page (HTML) and the API's ticket.
struct Seen {
    stamp: serde_json::Value,
    html: String,
    api: serde_json::Value,
    list_html: String,
    list_api: serde_json::Value,
}

fn look(db: &TestDb, data: Option<&std::path::Path>, id: i64, user: i64) -> Seen {
    actix_web::rt::System::new().block_on(async {
        let mut state = AppState::new(db.pool.clone(), b"0123456789abcdef0123456789abcdef", 12, false).expect("state");
        state.data_dir = data.map(|d| d.to_owned());
        let state = web::Data::new(state);
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        let cookie = session::issue(&state, user, "session").expect("session").0;
        let get = |uri: String| {
            test::TestRequest::get()
                .uri(&uri)
                .cookie(actix_web::cookie::Cookie::new(session::SESSION_COOKIE, cookie.clone()))
                .to_request()
        };
        let res = test::call_service(&app, get(format!("/tickets/{id}/stamp"))).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers().get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let stamp: serde_json::Value = test::read_body_json(res).await;
        let html = test::call_and_read_body(&app, get(format!("/tickets/{id}"))).await;
        let html = String::from_utf8(html.to_vec()).expect("utf8");
        let token = session::issue(&state, user, "api").expect("token").0;
        let req = test::TestRequest::get()
            .uri(&format!("/api/v1/tickets/{id}"))
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request();
        let api: serde_json::Value = test::call_and_read_body_json(&app, req).await;
        let req = test::TestRequest::get()
            .uri("/api/v1/tickets")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request();
        let list_api: serde_json::Value = test::call_and_read_body_json(&app, req).await;
        let list_html = test::call_and_read_body(&app, get("/tickets".to_owned())).await;
        let list_html = String::from_utf8(list_html.to_vec()).expect("utf8");
        Seen {
            stamp,
            html,
            api,
            list_html,
            list_api,
        }
    })
}

/// The ticket page as a Chinese browser gets it.
fn page_in_chinese(db: &TestDb, data: Option<&std::path::Path>, id: i64, user: i64) -> String {
    actix_web::rt::System::new().block_on(async {
        let mut state = AppState::new(db.pool.clone(), b"0123456789abcdef0123456789abcdef", 12, false).expect("state");
        state.data_dir = data.map(|d| d.to_owned());
        let state = web::Data::new(state);
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        let cookie = session::issue(&state, user, "session").expect("session").0;
        let req = test::TestRequest::get()
            .uri(&format!("/tickets/{id}"))
            .insert_header((header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9"))
            .cookie(actix_web::cookie::Cookie::new(session::SESSION_COOKIE, cookie))
            .to_request();
        let html = test::call_and_read_body(&app, req).await;
        String::from_utf8(html.to_vec()).expect("utf8")
    })
}

fn stamp_of(seen: &Seen) -> String {
    seen.stamp["stamp"].as_str().expect("stamp").to_owned()
}

fn hosts_switched_with_version_and_steps_after_a_release(db: &TestDb) {
    let (p, _hosts) = shop(db);
    let id = p.submit("shop", &["index.html"], None);
    let filed = look(db, None, id, p.dev);
    assert_eq!(filed.stamp["state"], "submitted");
    assert_eq!(filed.stamp["settled"], false);
    assert!(
        filed.html.contains(&format!("data-stamp=\"{}\"", stamp_of(&filed))),
        "the page carries its stamp"
    );

    // The stage job ends: the stamp moves.
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    let staged = look(db, None, id, p.dev);
    assert_eq!(staged.stamp["state"], "staged");
    assert_ne!(stamp_of(&staged), stamp_of(&filed));
    // Someone else acts: it moves again.
    act(&p, id, Action::MarkTested, p.tester);
    let tested = look(db, None, id, p.dev);
    assert_ne!(stamp_of(&tested), stamp_of(&staged));
    // Nothing happens: it stays.
    assert_eq!(stamp_of(&look(db, None, id, p.dev)), stamp_of(&tested));

    act(&p, id, Action::Approve, lead(&p));
    act(&p, id, Action::Release, p.dev);
    let releasing = look(db, None, id, p.dev);
    let hosts = releasing.api["hosts"].as_array().expect("hosts");
    assert!(hosts.iter().all(|h| h["status"] == "pending"), "{hosts:?}");
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);

    let released = look(db, Some(p.data.path()), id, p.dev);
    assert_eq!(released.api["state"], "released");
    assert_eq!(released.stamp["settled"], true, "a released ticket stops the polling");
    let hosts = released.api["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    for h in hosts {
        assert_eq!(h["status"], "switched", "{h}");
        assert_eq!(h["version"], "v1", "{h}");
        assert!(h["error"].is_null(), "{h}");
        let steps = h["steps"].as_array().expect("steps");
        assert!(!steps.is_empty(), "{h}");
        assert!(
            steps.iter().all(|s| s["step"].is_string() && s["millis"].is_u64()),
            "{h}"
        );
    }
    let html = &released.html;
    assert!(html.contains("id=\"host-web1\" data-state=\"switched\""), "{html}");
    assert!(html.contains("host-switched"), "distinct badge class");
    assert!(html.contains(" ms</span>"), "step timings shown");
    assert!(html.contains(">read live "), "step names in English: {html}");
    // In Chinese, the step names are translated too.
    let zh = page_in_chinese(db, Some(p.data.path()), id, p.dev);
    assert!(zh.contains(">读取线上版本 "), "{zh}");
    assert!(zh.contains(">上传 "), "{zh}");
    assert!(zh.contains(">切换 "), "{zh}");
    assert!(
        !zh.contains(">read live ") && !zh.contains(">upload "),
        "no English step names: {zh}"
    );
    assert!(html.contains("files sent"), "rsync summary shown");
    assert!(html.contains("id=\"rsync-raw\""), "raw rsync lines one click away");
    // The files that changed stay on the released ticket.
    let pc = &released.api["production_changes"];
    assert_eq!(pc["shipped"], true, "{pc}");
    assert!(pc["production_tag"].is_null(), "first release: {pc}");
    assert!(
        pc["files"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["path"] == "index.html")),
        "{pc}"
    );
    assert!(html.contains("Files that changed on production"), "{html}");
    // Versions read the same everywhere: `v1`, never a bare `1`.
    assert_eq!(released.list_api["tickets"][0]["version_tag"], "v1");
    assert!(released.list_html.contains("<td>v1</td>"), "{}", released.list_html);
}

backend_tests!(hosts_switched_with_version_and_steps_after_a_release);
