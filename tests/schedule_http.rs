//! Scheduled releases over HTTP (issue 14) on SQLite and PostgreSQL: the
//! API (schedule, change, cancel, errors, OpenAPI), the ticket page and the
//! lists showing the schedule in the project's time zone, the page's form
//! with "next maintenance window", and maintenance windows through the
//! admin form and the import file.

mod common;

use actix_web::http::{Method, StatusCode};
use chrono::{Duration as Span, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use slipway::domain::schedule::next_window_start;
use slipway::domain::{Action, MaintenanceWindow};
use slipway::service::tickets::{self, ActionInput, ActorRef, NewRelease, Snapshot};

use common::app::TestApp;
use common::TestDb;

const SHOP: &str = r#"
[[host_group]]
name = "web"
hosts = [{ name = "web1", target = "/srv/web1" }]

[[project]]
name = "shop"
svn_url = "file:///tmp/svn/shop/trunk"
staging_dir = "/tmp/staging/shop"
host_groups = ["web"]
leads = ["lead"]
developers = ["dev", "dev2"]
testers = ["tester"]
time_zone = "Europe/Berlin"

[[project.maintenance]]
from = "Thu 06:00"
to = "Thu 08:00"
label = "patch window"
"#;

fn start(db: &TestDb) -> TestApp<'_> {
    TestApp::on(db)
        .with_users(&["dev", "dev2", "tester", "lead"])
        .with_admins(&["root"])
        .with_project(SHOP)
        .start()
}

/// An approved release ticket filed by `dev` (staging reported directly).
fn approved(app: &TestApp<'_>) -> i64 {
    let mut conn = app.db().conn();
    let release = NewRelease {
        project: "shop",
        reason: "ship it",
        svn_paths: &[],
        svn_revision: None,
    };
    let id = tickets::submit(&mut conn, ActorRef::User(app.uid("dev")), &release, Utc::now())
        .expect("submit")
        .ticket
        .id;
    let mut staged = ActionInput::new(Action::StageSucceeded, ActorRef::System);
    staged.snapshot = Some(Snapshot {
        revision: 42,
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        base_revision: None,
        outside_paths: Vec::new(),
    });
    for input in [
        staged,
        ActionInput::new(Action::MarkTested, ActorRef::User(app.uid("tester"))),
        ActionInput::new(Action::Approve, ActorRef::User(app.uid("lead"))),
    ] {
        tickets::apply(&mut conn, id, &input, Utc::now()).expect("step");
    }
    id
}

fn berlin_in_30_days_at_six() -> (String, String) {
    let day = (Utc::now() + Span::days(30))
        .with_timezone(&Tz::Europe__Berlin)
        .date_naive();
    let local = day.and_time(NaiveTime::from_hms_opt(6, 0, 0).expect("time"));
    let utc = Tz::Europe__Berlin
        .from_local_datetime(&local)
        .earliest()
        .expect("exists")
        .with_timezone(&Utc);
    (
        local.format("%Y-%m-%dT%H:%M").to_string(),
        utc.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

fn the_api_schedules_changes_and_cancels(db: &TestDb) {
    let app = start(db);
    let id = approved(&app);
    let uri = format!("/api/v1/tickets/{id}/schedule");
    let dev = app.api("dev");
    // The time is typed in the project's zone (Europe/Berlin).
    let (local, utc) = berlin_in_30_days_at_six();
    let made = dev.post_json(&uri, &json!({ "at": local }));
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let s = &made.json()["schedule"];
    assert_eq!(s["run_at"], utc.as_str(), "{s}");
    assert_eq!(s["state"], "pending");
    assert_eq!(s["time_zone"], "Europe/Berlin");
    assert_eq!(s["scheduled_by"], "dev");
    assert!(
        s["run_at_local"]
            .as_str()
            .is_some_and(|t| t.starts_with(&local.replace('T', " "))),
        "{s}"
    );
    // Twice: conflict. In the past: 400 with a clear message.
    let twice = dev.post_json(&uri, &json!({ "at": local }));
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.text());
    let past = dev.json(Method::PUT, &uri, &json!({ "at": "2020-01-02T06:00" }));
    assert_eq!(past.status, StatusCode::BAD_REQUEST, "{}", past.text());
    assert!(past.text().contains("in the past"), "{}", past.text());
    let both = dev.json(Method::PUT, &uri, &json!({ "at": local, "next_window": true }));
    assert_eq!(both.status, StatusCode::BAD_REQUEST, "{}", both.text());
    // Into the next maintenance window: Thursday 06:00 Berlin time.
    let moved = dev.json(Method::PUT, &uri, &json!({ "next_window": true }));
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text());
    let window = MaintenanceWindow {
        from: "Thu 06:00".parse().expect("time"),
        to: "Thu 08:00".parse().expect("time"),
        label: String::new(),
    };
    let next = next_window_start(&[window], Tz::Europe__Berlin, Utc::now()).expect("a window");
    assert_eq!(
        moved.json()["schedule"]["run_at"],
        next.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    // A tester and a developer who did not file it may not schedule or change it.
    for who in ["tester", "dev2"] {
        let refused = app.api(who).json(Method::PUT, &uri, &json!({ "next_window": true }));
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{who}: {}", refused.text());
        let refused = app.api(who).send(actix_web::test::TestRequest::delete().uri(&uri));
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{who}: {}", refused.text());
    }
    // The lead may cancel it.
    let cancelled = app.api("lead").send(actix_web::test::TestRequest::delete().uri(&uri));
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
    assert_eq!(cancelled.json()["schedule"], Value::Null);
    let audit: Vec<String> = cancelled.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .filter(|a| a.contains("schedule"))
        .collect();
    assert_eq!(audit, ["schedule", "reschedule", "unschedule"]);
    // The audit log filters by them.
    let log = app.browser("root").get("/audit?action=reschedule");
    assert_eq!(log.status, StatusCode::OK, "{}", log.text());
    assert!(
        log.text().contains("Schedule changed") && log.text().contains("moved from"),
        "{}",
        log.text()
    );
    // The OpenAPI document lists the endpoints.
    let doc = app.anonymous().get("/api/v1/openapi.json").json();
    let path = &doc["paths"]["/api/v1/tickets/{id}/schedule"];
    for method in ["post", "put", "delete"] {
        assert!(path[method].is_object(), "{method}: {path}");
    }
}

fn the_ticket_page_and_lists_show_the_schedule(db: &TestDb) {
    let app = start(db);
    let id = approved(&app);
    let page = app.browser("dev");
    let before = page.get(&format!("/tickets/{id}")).text();
    assert!(before.contains(r#"id="schedule-form""#), "{before}");
    assert!(before.contains(r#"id="schedule-next-window""#), "{before}");
    assert!(before.contains("Europe&#x2F;Berlin"), "{before}");
    // One click: the next maintenance window.
    let done = page.post_form(
        &format!("/tickets/{id}/schedule"),
        &[("op", "schedule"), ("at", ""), ("next_window", "on")],
    );
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let detail = app.api("dev").get(&format!("/api/v1/tickets/{id}")).json();
    let local = detail["schedule"]["run_at_local"]
        .as_str()
        .expect("scheduled")
        .to_owned();
    assert!(local.contains("06:00"), "{local}");
    let shown = page.get(&format!("/tickets/{id}")).text();
    assert!(
        shown.contains(r#"id="schedule-at""#) && shown.contains(&local),
        "{shown}"
    );
    assert!(shown.contains(r#"id="schedule-cancel""#), "{shown}");
    // A tester sees the schedule but no form.
    let tester = app.browser("tester").get(&format!("/tickets/{id}")).text();
    assert!(
        tester.contains(&local) && !tester.contains(r#"id="schedule-form""#),
        "{tester}"
    );
    // The list and "my work" show it too.
    let list = page.get("/tickets").text();
    assert!(list.contains("scheduled-at") && list.contains(&local), "{list}");
    let home = page.get("/").text();
    assert!(home.contains(&local), "{home}");
    // A time in the past through the form: the page says why.
    let past = page.post_form(
        &format!("/tickets/{id}/schedule"),
        &[("op", "change"), ("at", "2020-01-02T06:00")],
    );
    assert_eq!(past.status, StatusCode::BAD_REQUEST, "{}", past.text());
    assert!(past.text().contains("in the past"), "{}", past.text());
    // Refused at its time (as the scheduler records it): the reason is in
    // the reader's language, from its code.
    {
        use diesel::prelude::*;
        use slipway::store::schema::release_schedules as rs;
        let updated = diesel::update(rs::table.filter(rs::ticket_id.eq(id)))
            .set((
                rs::state.eq("failed"),
                rs::error.eq("the release is frozen"),
                rs::error_code.eq("refusal.frozen"),
            ))
            .execute(&mut db.conn())
            .expect("fail the schedule");
        assert_eq!(updated, 1);
        let zh = page.send(
            actix_web::test::TestRequest::get()
                .uri(&format!("/tickets/{id}"))
                .insert_header((actix_web::http::header::ACCEPT_LANGUAGE, "zh-CN")),
        );
        let html = zh.text();
        assert!(
            html.contains("id=\"schedule-error\"") && html.contains("当前处于封版期"),
            "{html}"
        );
        let en = page.get(&format!("/tickets/{id}")).text();
        assert!(en.contains("a freeze window is in force"), "{en}");
        let api = app.api("dev").get(&format!("/api/v1/tickets/{id}")).json();
        assert_eq!(api["schedule"]["error_code"], "refusal.frozen", "{api}");
        assert_eq!(api["schedule"]["error"], "the release is frozen", "{api}");
        // Back to pending for the rest of the test.
        diesel::update(rs::table.filter(rs::ticket_id.eq(id)))
            .set((
                rs::state.eq("pending"),
                rs::error.eq(None::<String>),
                rs::error_code.eq(None::<String>),
            ))
            .execute(&mut db.conn())
            .expect("pending again");
    }
    // Cancel through the page.
    let cancel = page.post_form(&format!("/tickets/{id}/schedule"), &[("op", "cancel")]);
    assert_eq!(cancel.status, StatusCode::SEE_OTHER, "{}", cancel.text());
    assert!(!page.get("/tickets").text().contains("scheduled-at"));
}

fn maintenance_windows_go_through_the_settings(db: &TestDb) {
    let app = start(db);
    let project = app.api("root").get("/api/v1/projects/shop").json();
    assert_eq!(project["maintenance"][0]["from"], "Thu 06:00", "{project}");
    assert_eq!(project["maintenance"][0]["label"], "patch window", "{project}");
    let admin = app.browser("root");
    let form = |maintenance: &'static str| {
        vec![
            ("name", "blog"),
            ("svn_url", "svn://x/blog"),
            ("staging_dir", "/srv/blog"),
            ("approvals_required", "1"),
            ("time_zone", "Asia/Shanghai"),
            ("maintenance", maintenance),
        ]
    };
    let bad = admin.post_form("/admin/projects/new", &form("Xyz 06:00 | Thu 08:00"));
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());
    assert!(bad.text().contains("Xyz 06:00"), "{}", bad.text());
    let saved = admin.post_form("/admin/projects/new", &form("Tue 22:00 | Wed 01:00 | night"));
    assert!(saved.status.is_redirection(), "{}", saved.text());
    let blog = app.api("root").get("/api/v1/projects/blog").json();
    assert_eq!(
        blog["maintenance"],
        json!([{ "from": "Tue 22:00", "to": "Wed 01:00", "label": "night" }])
    );
    let edit = admin.get("/admin/projects/blog/edit").text();
    assert!(edit.contains("Tue 22:00 | Wed 01:00 | night"), "{edit}");
}

backend_tests!(
    the_api_schedules_changes_and_cancels,
    the_ticket_page_and_lists_show_the_schedule,
    maintenance_windows_go_through_the_settings,
);
