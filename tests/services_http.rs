//! The services page, API and jobs on SQLite and PostgreSQL, against a real
//! `supervisord` (tests/common_supervisor) on two local-directory hosts:
//! refresh, start/stop/restart on one host, restart of every host in serial
//! batches (reason + confirmation), the log tail, job pages with output,
//! the audit record, the permission setting through the settings API,
//! hostile service names refused or never matched, and what runs where.

mod common;
mod common_supervisor;

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};
use slipway::jobs::service_job::ServiceHandler;
use slipway::jobs::Registry;
use slipway::store::Backend;

use common::app::TestApp;
use common_supervisor::Supervisor;

fn project_toml(hosts: &std::path::Path, sup: &Supervisor) -> String {
    format!(
        r#"
[[host_group]]
name = "web"
hosts = [{{ name = "web1", target = "{h}/web1" }}, {{ name = "web2", target = "{h}/web2" }}]

[[project]]
name = "shop"
svn_url = "file:///tmp/svn/shop/trunk"
staging_dir = "/tmp/staging/shop"
host_groups = ["web"]
leads = ["lead1"]
developers = ["dev"]
testers = ["tester"]

[[project.services]]
name = "app"
group = "web"
supervisorctl = ["supervisorctl", "-c", "{conf}"]
restart_after_release = true
"#,
        h = hosts.display(),
        conf = sup.conf.display()
    )
}

fn settings(sup: &Supervisor, access: &str, name: &str) -> Value {
    json!({
        "name": "shop", "svn_url": "file:///tmp/svn/shop/trunk", "staging_dir": "/tmp/staging/shop",
        "host_groups": ["web"], "leads": ["lead1"], "developers": ["dev"], "testers": ["tester"],
        "services": [{"name": name, "group": "web", "supervisorctl": ["supervisorctl", "-c", sup.conf.display().to_string()]}],
        "service_actions": access
    })
}

/// Runs the queued jobs; the job's API answer.
fn finish(app: &TestApp, job: i64) -> Value {
    let data = tempfile::tempdir().expect("data dir");
    let worker = app.worker(Registry::new().with(ServiceHandler), data.path());
    app.run_jobs(&worker);
    let reply = app
        .api("lead1")
        .get(&format!("/api/v1/projects/shop/services/jobs/{job}"));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

fn request(app: &TestApp, who: &str, body: Value) -> (StatusCode, Value) {
    let reply = app.api(who).post_json("/api/v1/projects/shop/services/requests", &body);
    let json = if reply.body.is_empty() {
        Value::Null
    } else {
        reply.json()
    };
    (reply.status, json)
}

fn job_of(reply: (StatusCode, Value)) -> i64 {
    assert_eq!(reply.0, StatusCode::ACCEPTED, "{}", reply.1);
    reply.1["job_id"].as_i64().expect("job id")
}

fn log_text(job: &Value) -> String {
    job["lines"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|x| x["line"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn states(app: &TestApp) -> Vec<(String, String, Option<i64>)> {
    let reply = app.api("dev").get("/api/v1/projects/shop/services");
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    body["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| {
            let s = &h["services"][0];
            (
                h["host"].as_str().unwrap_or_default().to_owned(),
                s["state"].as_str().unwrap_or_default().to_owned(),
                s["pid"].as_i64(),
            )
        })
        .collect()
}

fn services_through_page_and_api(backend: Backend) {
    let sup = Supervisor::start();
    let hosts = tempfile::tempdir().expect("hosts");
    let app = TestApp::new(backend)
        .with_users(&["dev", "lead1", "tester"])
        .with_admins(&["admin"])
        .with_project(&project_toml(hosts.path(), &sup))
        .start();

    // Nothing read yet; developers may read but not act (the default).
    let body = app.api("dev").get("/api/v1/projects/shop/services").json();
    assert_eq!(body["may_act"], json!(false), "{body}");
    assert_eq!(body["service_actions"], json!("leads"));
    assert_eq!(
        states(&app),
        [
            ("web1".into(), String::new(), None),
            ("web2".into(), String::new(), None)
        ]
    );
    let (status, body) = request(&app, "dev", json!({"op": "restart", "service": "app", "host": "web1"}));
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], json!("forbidden"), "{body}");

    // A refresh reads every host.
    let job = finish(&app, job_of(request(&app, "dev", json!({"op": "status"}))));
    assert_eq!(job["state"], json!("done"), "{job}");
    let pid = sup.pid("app").map(i64::from);
    assert_eq!(
        states(&app),
        [
            ("web1".into(), "RUNNING".into(), pid),
            ("web2".into(), "RUNNING".into(), pid)
        ]
    );

    // A lead stops one host from the page: a job with its own page and output.
    let reply = app.browser("lead1").post_form(
        "/projects/shop/services",
        &[("op", "stop"), ("service", "app"), ("host", "web1")],
    );
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let location = reply.location().expect("job page").to_owned();
    let job_id: i64 = location
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("job id");
    let job = finish(&app, job_id);
    assert_eq!(job["state"], json!("done"), "{job}");
    assert!(log_text(&job).contains("[web1] app is STOPPED"), "{}", log_text(&job));
    assert_eq!(sup.state("app"), "STOPPED");
    let page = app.browser("lead1").get(&location);
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("app is STOPPED"), "{}", page.text());
    assert!(
        !page.text().contains("http-equiv=\"refresh\""),
        "a finished job page stops reloading"
    );

    // …and starts it again through the API.
    let job = finish(
        &app,
        job_of(request(
            &app,
            "lead1",
            json!({"op": "start", "service": "app", "host": "web1"}),
        )),
    );
    assert_eq!(job["state"], json!("done"), "{job}");
    assert_eq!(sup.state("app"), "RUNNING");

    // Every host: a reason and a confirmation first; then serial batches with a pause.
    let all = json!({"op": "restart", "service": "app", "batch_size": 1, "pause_secs": 1});
    let (status, body) = request(&app, "lead1", all.clone());
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["reason"], json!("input.service_confirm"), "{body}");
    let mut confirmed = all.clone();
    confirmed["reason"] = json!("config reload");
    confirmed["confirm"] = json!(true);
    let before = sup.pid("app");
    let job = finish(&app, job_of(request(&app, "lead1", confirmed)));
    assert_eq!(job["state"], json!("done"), "{job}");
    let text = log_text(&job);
    assert!(
        text.contains("batch 1: web1") && text.contains("batch 2: web2"),
        "{text}"
    );
    assert!(text.contains("pausing 1 s"), "{text}");
    assert_ne!(sup.pid("app"), before);
    assert_eq!(job["request"]["reason"], json!("config reload"));
    assert_eq!(job["request"]["scope"], json!("all 2 hosts in batches of 1, 1 s apart"));

    // The last lines of the log, capped, for whoever sees the project.
    let job = finish(
        &app,
        job_of(request(
            &app,
            "dev",
            json!({"op": "log", "service": "app", "host": "web2", "lines": 3}),
        )),
    );
    let ticks = job["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter(|l| l["line"].as_str().is_some_and(|t| t.starts_with("[web2] tick ")))
        .count();
    assert_eq!(ticks, 3, "{}", log_text(&job));
    let (status, _) = request(&app, "dev", json!({"op": "log", "service": "app", "lines": 100000}));
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The audit record: every request, newest first, with who and why.
    let body = app.api("dev").get("/api/v1/projects/shop/services").json();
    let recent = body["recent"].as_array().expect("recent");
    assert_eq!(recent.len(), 5, "{body}");
    assert_eq!(recent[1]["actor"], json!("lead1"));
    assert_eq!(recent[1]["action"], json!("restart"));
    assert_eq!(recent[1]["reason"], json!("config reload"));

    // The page: host × service table with state and pid.
    let page = app.browser("dev").get("/projects/shop/services").text();
    assert!(page.contains("RUNNING") && page.contains("web2"), "{page}");
    assert!(!page.contains("value=\"restart\""), "no buttons for who may not act");
    let page = app.browser("lead1").get("/projects/shop/services").text();
    assert!(page.contains("value=\"restart\""), "{page}");

    // Hostile names: never matched when asked for, refused when declared.
    let (status, _) = request(
        &app,
        "lead1",
        json!({"op": "restart", "service": "app; touch /tmp/x", "host": "web1"}),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    let reply = app.api("admin").json(
        Method::PUT,
        "/api/v1/projects/shop",
        &settings(&sup, "leads", "app$(id)"),
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert_eq!(
        reply.json()["error"]["reason"],
        json!("input.service"),
        "{}",
        reply.text()
    );

    // The permission setting (through the settings API): developers too.
    let reply = app.api("admin").json(
        Method::PUT,
        "/api/v1/projects/shop",
        &settings(&sup, "developers", "app"),
    );
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["service_actions"], json!("developers"));
    let job = finish(
        &app,
        job_of(request(
            &app,
            "dev",
            json!({"op": "restart", "service": "app", "host": "web1"}),
        )),
    );
    assert_eq!(job["state"], json!("done"), "{job}");
    let edit = app.browser("admin").get("/admin/projects/shop/edit").text();
    assert!(
        edit.contains("supervisorctl") && edit.contains("value=\"developers\" selected"),
        "{edit}"
    );

    // The cron entry only enqueues: one status read per project with services.
    let cron = slipway::jobs::service_job::enqueue_status_reads;
    assert_eq!(cron(&app.db().pool).expect("cron"), 1);
    assert_eq!(cron(&app.db().pool).expect("cron"), 0, "one waiting is enough");

    // What runs where: read from each host's `current`, flagged when the
    // group disagrees and when it is not what Slipway recorded.
    for (host, version) in [("web1", "v1"), ("web2", "v2")] {
        let dir = hosts.path().join(host);
        std::fs::create_dir_all(dir.join("releases").join(version)).expect("release dir");
        std::os::unix::fs::symlink(format!("releases/{version}"), dir.join("current")).expect("current");
    }
    let before = app.api("dev").get("/api/v1/projects/shop/where").json();
    assert_eq!(before[0]["read_at"], Value::Null, "{before}");
    let reply = app.browser("dev").post_form("/projects/shop/where/refresh", &[]);
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let job_id: i64 = reply
        .location()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .expect("job id");
    let job = finish(&app, job_id);
    assert_eq!(job["state"], json!("done"), "{job}");
    let runs = app.api("dev").get("/api/v1/projects/shop/where").json();
    let got: Vec<(Value, Value, Value, Value)> = runs
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| {
            (
                h["host"].clone(),
                h["live"].clone(),
                h["group_disagrees"].clone(),
                h["differs_from_recorded"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (json!("web1"), json!("v1"), json!(true), json!(true)),
            (json!("web2"), json!("v2"), json!(true), json!(true)),
        ],
        "{runs}"
    );
    assert!(runs[0]["read_at"].is_string(), "{runs}");
    let page = app.browser("dev").get("/projects/shop").text();
    assert!(
        page.contains("where-disagrees") && page.contains("<strong>v2</strong>"),
        "{page}"
    );

    // The OpenAPI document lists the endpoints.
    let doc = app.anonymous().get("/api/v1/openapi.json").json();
    for path in [
        "/api/v1/projects/{name}/services",
        "/api/v1/projects/{name}/services/requests",
        "/api/v1/projects/{name}/services/jobs/{id}",
        "/api/v1/projects/{name}/where",
        "/api/v1/projects/{name}/where/refresh",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    std::thread::sleep(Duration::from_millis(10));
}

app_tests!(services_through_page_and_api);
