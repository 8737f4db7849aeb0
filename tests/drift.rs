//! Drift detection at the deploy layer against real hosts (local directory
//! and the loopback sshd): a clean host, then a hand edit, a deleted file
//! and an added file found by content checksums (excluded files ignored),
//! and the next release leaving the host clean again; and `verify` of a
//! project's hosts against the tag recorded on each (SQLite, PostgreSQL);
//! drift found is an audit line, a mail to the project's leads and watchers
//! and a webhook post, once per new or changed drift, and a release of the
//! host clears it.

mod common;
mod common_deploy;
mod common_ssh;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slipway::deploy::drift::{drift, Drift};
use slipway::deploy::DeployHost;

use common::TestDb;
use common_deploy::{assert_all_switched, Fixture, Seen};

fn check(fx: &Fixture, host: &DeployHost, release: &std::path::Path) -> Drift {
    let seen = Seen::default();
    let settings = fx.settings();
    fx.run(&settings, &["*.log"], &|| false, &seen, |ctx| drift(ctx, host, release))
        .unwrap_or_else(|e| panic!("drift on {}: {e}", host.name))
}

#[test]
fn drift_finds_changed_missing_and_added_files_until_the_next_release() {
    let fx = Fixture::new();
    let hosts = [fx.local_host("local"), fx.ssh_host("ssh")];
    let v1 = fx.tree(
        "v1",
        &[("index.html", "v1\n"), ("lib/a.js", "a\n"), ("lib/b.js", "b\n")],
    );
    let settings = fx.settings();
    assert_all_switched(&fx.ship(&settings, &["*.log"], "v1", &v1, &hosts));
    for host in &hosts {
        assert!(check(&fx, host, &v1).is_clean(), "{}", host.name);
    }

    // By hand on the ssh host: same size, other content; a deleted and an added file; a log.
    let live = fx.path_of(&hosts[1]).join("current");
    fs::write(live.join("lib/a.js"), "A\n").expect("edit");
    fs::remove_file(live.join("lib/b.js")).expect("delete");
    fs::write(live.join("lib/extra.js"), "x\n").expect("add");
    fs::write(live.join("app.log"), "excluded\n").expect("log");
    assert!(check(&fx, &hosts[0], &v1).is_clean());
    let d = check(&fx, &hosts[1], &v1);
    assert_eq!(
        d,
        Drift {
            changed: vec!["lib/a.js".into()],
            missing: vec!["lib/b.js".into()],
            added: vec!["lib/extra.js".into()],
        }
    );

    // The next release replaces the tree: clean again.
    let v2 = fx.tree(
        "v2",
        &[("index.html", "v2\n"), ("lib/a.js", "a\n"), ("lib/b.js", "b\n")],
    );
    assert_all_switched(&fx.ship(&settings, &["*.log"], "v2", &v2, &hosts));
    for host in &hosts {
        assert!(
            check(&fx, host, &v2).is_clean(),
            "{}: {:?}",
            host.name,
            check(&fx, host, &v2)
        );
    }
}

fn verify_compares_each_host_with_its_recorded_tag(db: &TestDb) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let host_dir = tmp.path().join("web1");
    db.import(&format!(
        "[[host_group]]\nname = \"web\"\nhosts = [{{ name = \"web1\", target = \"{}\" }}]\n\n\
         [[project]]\nname = \"shop\"\nsvn_url = \"file:///tmp/svn/shop\"\nstaging_dir = \"/tmp/staging/shop\"\n\
         host_groups = [\"web\"]\nexcludes = [\"*.log\"]\n",
        host_dir.display()
    ));
    // The tag v1 in the project's snapshot repository, and a host running it.
    let data = tmp.path().join("data");
    let src = tmp.path().join("src");
    for (path, text) in [("index.html", "v1\n"), ("lib/a.js", "a\n")] {
        common_ssh::write(&src.join(path), text);
        common_ssh::write(&host_dir.join("releases/v1").join(path), text);
    }
    std::os::unix::fs::symlink("releases/v1", host_dir.join("current")).expect("current");
    let repo =
        slipway::vcs::SnapshotRepo::open_or_init(&slipway::vcs::snapshot_repo_path(&data, "shop")).expect("repo");
    let sig = slipway::vcs::Signature {
        name: "t".into(),
        email: "t@example".into(),
    };
    let snap = repo.snapshot(&src, &[], "v1", &sig).expect("snapshot");
    repo.tag(&snap.commit, "v1", "v1", &sig).expect("tag");
    let verify = |only: Option<&str>| slipway::jobs::verify::verify_project(&db.pool, &data, "shop", only);

    let report = verify(None).expect("verify");
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].result, Err("Slipway recorded no release on this host".into()));
    let project = slipway::store::projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    let (_, host) = slipway::store::projects::hosts_of(&mut db.conn(), project.id)
        .expect("hosts")
        .remove(0);
    slipway::store::releases::set_running(&mut db.conn(), 0, "web1", Some(host.id), Some(1)).expect("record");
    let report = verify(Some("web1")).expect("verify");
    assert_eq!(
        (report[0].version.as_deref(), report[0].result.clone()),
        (Some("v1"), Ok(Drift::default()))
    );

    fs::write(host_dir.join("current/lib/a.js"), "b\n").expect("edit");
    fs::write(host_dir.join("current/debug.log"), "excluded\n").expect("log");
    let report = verify(None).expect("verify");
    assert_eq!(
        report[0].result,
        Ok(Drift {
            changed: vec!["lib/a.js".into()],
            ..Drift::default()
        })
    );
    assert!(verify(Some("nope")).is_err());

    // The project page's button: a job that records the drift, shown with
    // what runs where until a clean verify (or another release) clears it.
    let app = common::app::TestApp::on(db).with_admins(&["admin"]).start();
    let worker = app.worker(
        slipway::jobs::Registry::new().with(slipway::jobs::service_job::ServiceHandler),
        &data,
    );
    let verify_and_read = || {
        let reply = app.browser("admin").post_form("/projects/shop/verify", &[]);
        assert_eq!(reply.status, actix_web::http::StatusCode::SEE_OTHER, "{}", reply.text());
        app.run_jobs(&worker);
        app.api("admin").get("/api/v1/projects/shop/where").json()
    };
    let runs = verify_and_read();
    assert_eq!(runs[0]["drift"]["changed"], serde_json::json!(1), "{runs}");
    assert_eq!(
        runs[0]["drift"]["paths"],
        serde_json::json!(["changed lib/a.js"]),
        "{runs}"
    );
    assert!(app
        .browser("admin")
        .get("/projects/shop")
        .text()
        .contains("where-drift"));
    // Another release recorded on the host: the old drift is no longer shown.
    slipway::store::releases::set_running(&mut db.conn(), 0, "web1", Some(host.id), Some(2)).expect("record");
    let runs = app.api("admin").get("/api/v1/projects/shop/where").json();
    assert_eq!(runs[0]["drift"], serde_json::Value::Null, "{runs}");
    // Back on v1 and repaired by hand: a clean verify clears it.
    slipway::store::releases::set_running(&mut db.conn(), 0, "web1", Some(host.id), Some(1)).expect("record");
    fs::write(host_dir.join("current/lib/a.js"), "a\n").expect("repair");
    let runs = verify_and_read();
    assert_eq!(runs[0]["drift"], serde_json::Value::Null, "{runs}");
    let doc = app.anonymous().get("/api/v1/openapi.json").json();
    assert!(doc["paths"]["/api/v1/projects/{name}/verify"].is_object());
}

/// A webhook receiver on loopback: keeps each request's body, answers 200.
fn receiver() -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let mut reader = BufReader::new(stream);
            let (mut line, mut len) = (String::new(), 0usize);
            reader.read_line(&mut line).ok();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).ok();
            sink.lock().expect("lock").push(body);
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (port, got)
}

fn mails(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn drift_is_audited_and_announced_once_and_cleared_by_a_release(db: &TestDb) {
    use diesel::prelude::*;
    use slipway::store::schema::users;
    let tmp = tempfile::tempdir().expect("temp dir");
    let host_dir = tmp.path().join("web1");
    let (port, posts) = receiver();
    for (name, locale) in [("lead", "en"), ("watcher", "zh-CN")] {
        let id = db.user(name, false);
        diesel::update(users::table.find(id))
            .set((users::email.eq(format!("{name}@example.com")), users::locale.eq(locale)))
            .execute(&mut *db.conn())
            .expect("set email");
    }
    let dev = db.user("dev", false);
    db.import(&format!(
        "[[host_group]]\nname = \"web\"\nhosts = [{{ name = \"web1\", target = \"{}\" }}]\n\n\
         [[project]]\nname = \"shop\"\nsvn_url = \"file:///tmp/svn/shop\"\nstaging_dir = \"/tmp/staging/shop\"\n\
         host_groups = [\"web\"]\nleads = [\"lead\"]\ndevelopers = [\"dev\"]\nwatchers = [\"watcher\"]\n\
         webhooks = [{{ url = \"http://127.0.0.1:{port}/hook\" }}]\n",
        host_dir.display()
    ));
    let data = tmp.path().join("data");
    let src = tmp.path().join("src");
    for (path, text) in [("index.html", "v1\n"), ("lib/a.js", "a\n")] {
        common_ssh::write(&src.join(path), text);
        common_ssh::write(&host_dir.join("releases/v1").join(path), text);
    }
    std::os::unix::fs::symlink("releases/v1", host_dir.join("current")).expect("current");
    let repo =
        slipway::vcs::SnapshotRepo::open_or_init(&slipway::vcs::snapshot_repo_path(&data, "shop")).expect("repo");
    let sig = slipway::vcs::Signature {
        name: "t".into(),
        email: "t@example".into(),
    };
    let snap = repo.snapshot(&src, &[], "v1", &sig).expect("snapshot");
    repo.tag(&snap.commit, "v1", "v1", &sig).expect("tag");
    let project = slipway::store::projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    let (_, host) = slipway::store::projects::hosts_of(&mut db.conn(), project.id)
        .expect("hosts")
        .remove(0);
    slipway::store::releases::set_running(&mut db.conn(), 0, "web1", Some(host.id), Some(1)).expect("record");
    fs::write(host_dir.join("current/lib/a.js"), "b\n").expect("edit");

    let spool = tmp.path().join("mail");
    let settings = slipway::jobs::announce::NotifySettings {
        mailer: slipway::notify::mail::Mailer::Files(spool.clone()),
        from: "Slipway <slipway@example.com>".into(),
        public_url: "http://slipway.test".into(),
        link_key: jsonwebtoken::EncodingKey::from_secret(common::app::SIGNING_KEY),
        link_hours: 72,
        webhooks: slipway::notify::webhook::Client::new(None, Duration::from_secs(5)).expect("client"),
        tera: Arc::new(slipway::notify::templates::load().expect("email templates")),
        max_attempts: 2,
        park_delay: Duration::from_secs(600),
    };
    let app = common::app::TestApp::on(db).with_admins(&["admin"]).start();
    let worker = app.worker(
        slipway::jobs::Registry::new()
            .with(slipway::jobs::service_job::ServiceHandler)
            .with(slipway::jobs::announce::DriftNoticeHandler { settings }),
        &data,
    );
    let verify = || {
        let reply = app.browser("admin").post_form("/projects/shop/verify", &[]);
        assert_eq!(reply.status, actix_web::http::StatusCode::SEE_OTHER, "{}", reply.text());
        let outcomes = app.run_jobs(&worker);
        assert!(
            outcomes
                .iter()
                .all(|(_, o)| *o == slipway::jobs::worker::JobOutcome::Done),
            "{outcomes:?}"
        );
    };
    let audit = || {
        slipway::store::admin_events::page(&mut db.conn(), None, None, 50)
            .expect("audit")
            .0
            .into_iter()
            .filter(|e| e.action == "drift")
            .map(|e| (e.subject, e.detail))
            .collect::<Vec<_>>()
    };

    verify();
    assert_eq!(
        audit(),
        [("shop/web1".to_owned(), "v1: 1 changed, 0 missing, 0 added".to_owned())]
    );
    let page = app.browser("admin").get("/audit").text();
    assert!(
        page.contains("drift found on a host") && page.contains("data-action=\"drift\""),
        "{page}"
    );
    let sent = mails(&spool);
    assert_eq!(sent.len(), 2, "the lead and the watcher: {sent:?}");
    assert!(sent
        .iter()
        .any(|m| m.contains("lead@example.com") && m.contains("Drift on web1")));
    assert!(sent.iter().any(|m| m.contains("watcher@example.com")));
    assert!(
        !sent.iter().any(|m| m.contains("dev@example.com")),
        "developers are not told"
    );
    let got = posts.lock().expect("lock").clone();
    assert_eq!(got.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&got[0]).expect("JSON");
    assert_eq!(
        (body["type"].as_str(), body["host"].as_str(), body["changed"].as_i64()),
        (Some("host.drift"), Some("web1"), Some(1)),
        "{body}"
    );
    assert_eq!(body["paths"], serde_json::json!(["changed lib/a.js"]));

    // The same drift found again: nothing new to tell.
    verify();
    assert_eq!(audit().len(), 1);
    assert_eq!(mails(&spool).len(), 2);
    assert_eq!(posts.lock().expect("lock").len(), 1);

    // It changed (a file added too): told again.
    fs::write(host_dir.join("current/extra.txt"), "x\n").expect("add");
    verify();
    assert_eq!(audit().len(), 2);
    assert_eq!(mails(&spool).len(), 4);
    assert_eq!(posts.lock().expect("lock").len(), 2);

    // A release of the host clears its drift row.
    let now = slipway::store::timestamp_now();
    let ticket = slipway::store::tickets::insert(
        &mut db.conn(),
        &slipway::store::models::NewTicket {
            project_id: project.id,
            kind: "release".into(),
            state: "releasing".into(),
            reason: "fix".into(),
            svn_paths: "[]".into(),
            svn_revision: None,
            target_version: None,
            submitter_id: dev,
            created_at: now,
            updated_at: now,
        },
    )
    .expect("ticket");
    assert_eq!(
        slipway::store::services::drifts(&mut db.conn(), project.id)
            .expect("drifts")
            .len(),
        1
    );
    slipway::store::releases::set_running(&mut db.conn(), ticket.id, "web1", Some(host.id), Some(2)).expect("record");
    assert!(slipway::store::services::drifts(&mut db.conn(), project.id)
        .expect("drifts")
        .is_empty());
}

fn verify_cron_is_a_setting_and_enqueues_due_verifies(db: &TestDb) {
    let project = |cron: &str| {
        format!(
            "[[host_group]]\nname = \"web\"\nhosts = [{{ name = \"web1\", target = \"/srv/shop\" }}]\n\n\
             [[project]]\nname = \"shop\"\nsvn_url = \"file:///tmp/svn/shop\"\nstaging_dir = \"/tmp/staging/shop\"\n\
             host_groups = [\"web\"]\nverify_cron = \"{cron}\"\n"
        )
    };
    let bad = slipway::service::import::import(&mut db.conn(), &project("0 3 * * *"));
    assert!(format!("{bad:?}").contains("verify_cron"), "{bad:?}");
    db.import(&project("* * * * * *"));
    let row = slipway::store::projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    assert_eq!(row.verify_cron, "* * * * * *");
    assert_eq!(slipway::jobs::verify::enqueue_due_verifies(&db.pool).expect("cron"), 1);
    // A verify is waiting: none is added.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(slipway::jobs::verify::enqueue_due_verifies(&db.pool).expect("cron"), 0);
    let row = slipway::store::projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    assert!(row.verify_cron_at.is_some());

    // The same setting in the admin form and the API; a bad one is refused there too.
    let app = common::app::TestApp::on(db).with_admins(&["admin"]).start();
    let form = app.browser("admin").get("/admin/projects/shop/edit").text();
    assert!(
        form.contains("id=\"verify_cron\"") && form.contains("* * * * * *"),
        "{form}"
    );
    let settings = |cron: &str| {
        serde_json::json!({
            "name": "shop", "svn_url": "file:///tmp/svn/shop", "staging_dir": "/tmp/staging/shop",
            "host_groups": ["web"], "verify_cron": cron
        })
    };
    let put = |cron: &str| {
        app.api("admin")
            .json(actix_web::http::Method::PUT, "/api/v1/projects/shop", &settings(cron))
    };
    let refused = put("every night");
    assert_eq!(
        refused.status,
        actix_web::http::StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    assert_eq!(refused.json()["error"]["reason"], "input.verify_cron");
    let reply = put("0 0 3 * * *");
    assert!(reply.status.is_success(), "{}", reply.text());
    assert_eq!(reply.json()["verify_cron"], "0 0 3 * * *");
    let doc = app.anonymous().get("/api/v1/openapi.json").json();
    assert!(doc.to_string().contains("verify_cron"));
}

backend_tests!(
    verify_compares_each_host_with_its_recorded_tag,
    drift_is_audited_and_announced_once_and_cleared_by_a_release,
    verify_cron_is_a_setting_and_enqueues_due_verifies
);
