//! Relay release (issue 14) against real programs: two sshd on loopback.
//! Slipway reaches the relay (the fixture's sshd, with Slipway's key and
//! known_hosts); the hosts behind it are on a second sshd that only the
//! relay can reach: its port, its user key (a file only the relay side is
//! told about) and its host key (pinned for `[localhost]:port` in a
//! known_hosts file only the relay side uses; Slipway's own known_hosts
//! has no entry for `localhost` at all). So a host reached any way but
//! through the relay would fail, and every host that switches proves the
//! relay path.

mod common;
mod common_deploy;
mod common_ssh;

use std::fs;
use std::path::{Path, PathBuf};

use common_deploy::*;
use common_ssh::{write, Sshd};
use slipway::deploy::{self, ChangeSet, Delta, DeployHost, HostState, Relay, Target};

/// The fixture (Slipway → relay) plus the hosts' sshd (relay → hosts).
struct Relayed {
    fx: Fixture,
    hosts_sshd: Sshd,
    /// The relay-side known_hosts file (pins the hosts' sshd as `[localhost]:port`).
    relay_known_hosts: PathBuf,
}

impl Relayed {
    fn new() -> Self {
        let fx = Fixture::new();
        let hosts_sshd = Sshd::start();
        let pinned = read(&hosts_sshd.known_hosts).replace("[127.0.0.1]", "[localhost]");
        let relay_known_hosts = fx.tmp.path().join("relay_known_hosts");
        fs::write(&relay_known_hosts, pinned).expect("relay known_hosts");
        Self {
            fx,
            hosts_sshd,
            relay_known_hosts,
        }
    }

    fn relay(&self, login: &str) -> Relay {
        Relay::parse(
            &format!("{login}@127.0.0.1:{}", self.fx.dir("relay").display()),
            Some(self.hosts_sshd.port),
            Some(&self.hosts_sshd.identity.display().to_string()),
            Some(&self.relay_known_hosts.display().to_string()),
        )
        .expect("relay")
    }

    /// `n` hosts `web1…` behind `relay`, each in `<tmp>/<name>` on the hosts' sshd.
    fn hosts(&self, n: usize, relay: &Relay) -> Vec<DeployHost> {
        (1..=n)
            .map(|i| {
                let name = format!("web{i}");
                DeployHost {
                    target: Target::parse(&format!("root@localhost:{}", self.fx.dir(&name).display())).expect("target"),
                    name,
                    via: Some(relay.clone()),
                }
            })
            .collect()
    }
}

fn tree_v1(fx: &Fixture) -> PathBuf {
    let v1 = fx.tree(
        "v1",
        &[
            ("index.html", "one"),
            ("lib/big.bin", &big()),
            ("lib/keep.js", "keep"),
            ("gone/file.txt", "deleted later"),
        ],
    );
    std::os::unix::fs::symlink("index.html", v1.join("link.html")).expect("symlink");
    v1
}

fn tree_v2(fx: &Fixture) -> PathBuf {
    let v2 = fx.tree(
        "v2",
        &[
            ("index.html", "two"),
            ("lib/big.bin", &big()),
            ("lib/keep.js", "keep"),
            ("added/file.txt", "new"),
        ],
    );
    std::os::unix::fs::symlink("lib/keep.js", v2.join("link.html")).expect("symlink");
    v2
}

const EXCLUDES: [&str; 1] = ["*.log"];

fn assert_runs(fx: &Fixture, h: &DeployHost, version: &str, tree: &Path) {
    let dir = fx.path_of(h);
    assert_eq!(
        live(&dir).as_deref(),
        Some(format!("releases/{version}").as_str()),
        "{}",
        h.name
    );
    let mut on_host = listing(&dir.join("current/"), &|_| false);
    on_host.retain(|path, _| !path.ends_with(".log"));
    assert_eq!(on_host, listing(tree, &|_| false), "{} differs from {version}", h.name);
}

#[test]
fn a_group_behind_a_relay_gets_full_and_delta_releases_rolls_back_and_reports_what_runs_where() {
    let r = Relayed::new();
    let fx = &r.fx;
    let relay = r.relay("root");
    let hosts = r.hosts(3, &relay);
    let settings = fx.settings();
    let (v1, v2) = (tree_v1(fx), tree_v2(fx));

    // First release: a full upload to the relay, then the relay to each host.
    let (report, seen) = fx.ship_with(&settings, &EXCLUDES, "v1", &v1, None, &hosts);
    assert_all_switched(&report);
    for h in &hosts {
        assert_runs(fx, h, "v1", &v1);
        assert_eq!(
            report.hosts.iter().find(|x| x.host == h.name).map(|x| x.bytes_sent),
            Some(0)
        );
        let lines = seen.lines_of(&h.name);
        assert!(
            lines.iter().any(|l| l.starts_with("via relay root@127.0.0.1:")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("via relay") && l.contains("Total bytes sent:")),
            "{lines:?}"
        );
    }
    assert_eq!(report.relays.len(), 1);
    let relay_v1 = report.relays[0].bytes_sent;
    assert!(relay_v1 > 1_000_000, "the relay got the whole release once: {relay_v1}");
    let relay_dir = fx.dir("relay");
    assert_eq!(live(&relay_dir).as_deref(), Some("releases/v1"));
    let relay_name = format!("relay {}", relay.name());
    assert!(seen
        .lines_of(&relay_name)
        .iter()
        .any(|l| l.starts_with("Total bytes sent:")));

    // Host-only files stay across releases.
    write(&fx.path_of(&hosts[0]).join("current/app.log"), "log line");

    // Second release: only the changes cross to the relay.
    let mut delta = Delta::default();
    for h in &hosts {
        delta.recorded.insert(h.name.clone(), "v1".into());
    }
    delta.changes.insert(
        "v1".into(),
        Ok(ChangeSet {
            present: vec!["index.html".into(), "added/file.txt".into(), "link.html".into()],
            deleted: vec!["gone/file.txt".into()],
        }),
    );
    let (report, seen) = fx.ship_with(&settings, &EXCLUDES, "v2", &v2, Some(&delta), &hosts);
    assert_all_switched(&report);
    for h in &hosts {
        assert_runs(fx, h, "v2", &v2);
    }
    assert_eq!(read(&fx.path_of(&hosts[0]).join("current/app.log")), "log line");
    let relay_v2 = report.relays[0].bytes_sent;
    assert!(relay_v2 < relay_v1 / 20, "delta to the relay: {relay_v2} vs {relay_v1}");
    assert!(
        seen.lines_of(&relay_name).iter().any(|l| l.contains("delta from v1")),
        "{:?}",
        seen.lines_of(&relay_name)
    );
    assert!(report.hosts.iter().all(|h| h.bytes_sent == 0));
    for h in &hosts {
        // The relay sends each host only the changes too.
        let lines = seen.lines_of(&h.name);
        assert!(
            lines.iter().any(|l| l.starts_with("delta from v1: 4 file(s) change")),
            "{lines:?}"
        );
        assert!(!fx.path_of(h).join("releases/v2/gone").exists());
    }

    // Rollback by switch through the relay.
    let report = fx.switch_to(&settings, "v1", &hosts);
    assert_all_switched(&report);
    assert!(report.relays.is_empty(), "a plain switch needs nothing from the relay");
    for h in &hosts {
        assert_runs(fx, h, "v1", &v1);
    }

    // What runs where, read through the relay.
    let seen = Seen::default();
    let live_now = fx.run(&settings, &[], &|| false, &seen, |ctx| {
        deploy::live_versions(ctx, &hosts)
    });
    assert_eq!(
        live_now,
        hosts
            .iter()
            .map(|h| (h.name.clone(), Some("v1".to_owned())))
            .collect::<Vec<_>>()
    );

    // A rollback to a release one host no longer keeps: that host gets it
    // from the relay's copy, the others switch.
    fs::remove_dir_all(fx.path_of(&hosts[0]).join("releases/v2")).expect("prune v2 on web1");
    let seen = Seen::default();
    let report = fx.run(&settings, &EXCLUDES, &|| false, &seen, |ctx| {
        deploy::restore(ctx, "v2", Some(&v2), &hosts)
    });
    assert_all_switched(&report);
    assert_eq!(report.relays.len(), 1, "the relay is brought the release first");
    assert_eq!(report.relays[0].bytes_sent, 0, "the relay still keeps v2: {report:#?}");
    for h in &hosts {
        assert_runs(fx, h, "v2", &v2);
    }
    assert!(seen
        .lines_of("web1")
        .iter()
        .any(|l| l.contains("v2 is not kept on this host; uploading it")));

    // The same hosts are out of Slipway's own reach: without the relay they fail.
    let direct: Vec<DeployHost> = hosts.iter().map(|h| DeployHost { via: None, ..h.clone() }).collect();
    let seen = Seen::default();
    let live_direct = fx.run(&settings, &[], &|| false, &seen, |ctx| {
        deploy::live_versions(ctx, &direct)
    });
    assert!(live_direct.iter().all(|(_, v)| v.is_none()), "{live_direct:?}");
}

#[test]
fn an_unreachable_relay_fails_its_hosts_with_the_reason_and_others_continue() {
    let r = Relayed::new();
    let fx = &r.fx;
    let relay = r.relay("nosuchuser");
    let mut hosts = r.hosts(2, &relay);
    hosts.push(fx.ssh_host("direct"));
    let settings = fx.settings();
    let v1 = tree_v1(fx);
    let (report, _) = fx.ship_with(&settings, &EXCLUDES, "v1", &v1, None, &hosts);
    assert_eq!(
        states(&report),
        vec![
            ("web1", HostState::Failed),
            ("web2", HostState::Failed),
            ("direct", HostState::Switched)
        ]
    );
    for h in &report.hosts[..2] {
        let error = h.error.as_deref().unwrap_or_default();
        assert!(error.contains("relay nosuchuser@127.0.0.1:"), "{error}");
        assert!(error.contains("was not touched"), "{error}");
    }
    assert_eq!(report.relays.len(), 1);
    assert_eq!(report.relays[0].state, HostState::Failed);
    assert!(!fx.dir("web1").exists());
    assert_runs(fx, &hosts[2], "v1", &v1);
}

#[test]
fn eight_hosts_behind_a_relay_cost_slipway_the_bytes_of_one_host() {
    let r = Relayed::new();
    let fx = &r.fx;
    let relay = r.relay("root");
    let hosts = r.hosts(8, &relay);
    let settings = fx.settings();
    let v1 = tree_v1(fx);
    let (report, _) = fx.ship_with(&settings, &EXCLUDES, "v1", &v1, None, &hosts);
    assert_all_switched(&report);
    let via_relay: u64 = report.relays.iter().map(|r| r.bytes_sent).sum::<u64>()
        + report.hosts.iter().map(|h| h.bytes_sent).sum::<u64>();
    let one = [fx.ssh_host("alone")];
    let (direct, _) = fx.ship_with(&settings, &EXCLUDES, "v1", &v1, None, &one);
    assert_all_switched(&direct);
    let one_host = direct.hosts[0].bytes_sent;
    eprintln!("bytes leaving Slipway: 8 hosts behind a relay {via_relay}, one direct host {one_host}");
    // The same rsync of the same tree: equal up to a few bytes of protocol
    // chatter (rsync's own figures differ by a handful of bytes run to run).
    assert!(
        via_relay.abs_diff(one_host) <= one_host / 1000,
        "{via_relay} vs {one_host}"
    );
}

/// Answers every request with `status` on 127.0.0.1; the port.
fn serve(status: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(format!("HTTP/1.0 {status}\r\nContent-Length: 2\r\n\r\nok").as_bytes());
        }
    });
    port
}

#[test]
fn hooks_and_the_health_check_run_through_the_relay() {
    let r = Relayed::new();
    let fx = &r.fx;
    let relay = r.relay("root");
    let hosts = r.hosts(2, &relay);
    let mut settings = fx.settings();
    settings.hooks.before_switch = vec![vec![
        "sh".into(),
        "-c".into(),
        "echo \"$SLIPWAY_RELEASE_DIR\" > before".into(),
    ]];
    settings.hooks.after_switch = vec![vec!["sh".into(), "-c".into(), "readlink current > after".into()]];
    let ok = serve("200 OK");
    settings.health = Some(deploy::HealthCheck {
        url: format!("http://{{host}}:{ok}/health"),
        timeout_secs: 5,
        revert_canary: false,
    });
    let v1 = tree_v1(fx);
    let (report, seen) = fx.ship_with(&settings, &EXCLUDES, "v1", &v1, None, &hosts);
    assert_all_switched(&report);
    for h in &hosts {
        let dir = fx.path_of(h);
        assert_eq!(
            read(&dir.join("before")).trim(),
            dir.join("releases/v1").display().to_string()
        );
        assert_eq!(read(&dir.join("after")).trim(), "releases/v1");
        let steps: Vec<&str> = report
            .hosts
            .iter()
            .find(|x| x.host == h.name)
            .map(|x| x.steps.iter().map(|s| s.step.as_ref()).collect())
            .unwrap_or_default();
        assert!(steps.contains(&"health") && steps.contains(&"after hooks"), "{steps:?}");
    }
    // The relay itself runs no hooks.
    assert!(!fx.dir("relay").join("before").exists());
    assert!(!fx.dir("relay").join("after").exists());
    drop(seen);

    let bad = serve("500 Oops");
    settings.health = Some(deploy::HealthCheck {
        url: format!("http://{{host}}:{bad}/health"),
        timeout_secs: 1,
        revert_canary: false,
    });
    let v2 = tree_v2(fx);
    let (report, _) = fx.ship_with(&settings, &EXCLUDES, "v2", &v2, None, &hosts);
    for h in &report.hosts {
        assert_eq!(h.state, HostState::Failed);
        let error = h.error.as_deref().unwrap_or_default();
        assert!(
            error.contains("health check") && error.contains("from relay") && error.contains("500"),
            "{error}"
        );
    }
}

// ---- the relay as stored: admin (service), import, both backends ----

use common::TestDb;
use slipway::service::host_admin::{self, RelayInput};
use slipway::service::ServiceError;
use slipway::store::projects;

fn field_of(e: ServiceError) -> &'static str {
    match e {
        ServiceError::Invalid(i) => i.field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

fn an_admin_sets_checks_audits_and_clears_a_relay(db: &TestDb) {
    let admin = db.user("root-admin", true);
    let mut conn = db.conn();
    let id = host_admin::add_host_group(&mut conn, admin, "eu-web").expect("group");
    let input = |target: &str, port: &str, identity: &str| RelayInput {
        target: target.into(),
        port: port.into(),
        identity: identity.into(),
        known_hosts: String::new(),
    };
    for (bad, field) in [
        (input("/srv/relay", "", ""), "relay"),
        (input("rsync://r/m", "", ""), "relay"),
        (input("deploy@relay1:/srv/relay;x", "", ""), "relay"),
        (input("deploy@relay1:/srv/relay", "0", ""), "relay_port"),
        (input("deploy@relay1:/srv/relay", "ssh", ""), "relay_port"),
        (input("deploy@relay1:/srv/relay", "", "id file"), "relay_identity"),
        (input("deploy@relay1:/srv/relay", "", "relative/id"), "relay_identity"),
    ] {
        let e = host_admin::set_group_relay(&mut conn, admin, id, &bad).expect_err("refused");
        assert_eq!(field_of(e), field, "{bad:?}");
    }
    let good = RelayInput {
        known_hosts: "/home/deploy/.ssh/known_hosts".into(),
        ..input("deploy@relay1:/srv/relay", "2222", "/home/deploy/.ssh/id_fanout")
    };
    host_admin::set_group_relay(&mut conn, admin, id, &good).expect("set");
    let project = projects::host_group_by_name(&mut conn, "eu-web")
        .expect("read")
        .expect("group");
    assert_eq!(host_admin::relay_input(&project), good);
    let relay = slipway::jobs::relays::relay_of(&project)
        .expect("parses")
        .expect("a relay");
    assert_eq!(relay.port, Some(2222));
    assert_eq!(relay.name(), "deploy@relay1:/srv/relay");
    let (events, _) = host_admin::admin_events(&mut conn, None, None, 10).expect("audit");
    assert!(
        events.iter().any(|e| e.action == "host_group_update"
            && e.detail.starts_with("relay none → deploy@relay1:/srv/relay port=2222")),
        "{events:?}"
    );
    host_admin::set_group_relay(&mut conn, admin, id, &RelayInput::default()).expect("clear");
    let cleared = projects::host_group_by_name(&mut conn, "eu-web")
        .expect("read")
        .expect("group");
    assert_eq!(cleared.relay, None);
    assert!(slipway::jobs::relays::relay_of(&cleared).expect("parses").is_none());
}

fn the_import_file_sets_a_relay_and_refuses_a_bad_one(db: &TestDb) {
    let summary = db.import(
        r#"
[[host_group]]
name = "eu-web"
relay = "deploy@relay1:/srv/relay"
relay_port = 2222
relay_identity = "/home/deploy/.ssh/id_fanout"
hosts = [{ name = "web1", target = "deploy@10.1.0.1:/srv/shop" }]
"#,
    );
    assert_eq!(summary.host_groups, 1);
    let mut conn = db.conn();
    let g = projects::host_group_by_name(&mut conn, "eu-web")
        .expect("read")
        .expect("group");
    assert_eq!(g.relay.as_deref(), Some("deploy@relay1:/srv/relay"));
    assert_eq!(g.relay_port, Some(2222));
    assert_eq!(g.relay_identity.as_deref(), Some("/home/deploy/.ssh/id_fanout"));
    let bad = slipway::service::import::import(
        &mut conn,
        "[[host_group]]\nname = \"asia-web\"\nrelay = \"/local/path\"\n",
    )
    .expect_err("refused");
    let text = format!("{bad:?}");
    assert!(text.contains("relay") && text.contains("line: 3"), "{text}");
    assert!(projects::host_group_by_name(&mut conn, "asia-web")
        .expect("read")
        .is_none());
}

backend_tests!(
    an_admin_sets_checks_audits_and_clears_a_relay,
    the_import_file_sets_a_relay_and_refuses_a_bad_one
);

/// The admin page's relay form and the API (both backends).
mod web {
    use actix_web::http::{Method, StatusCode};
    use serde_json::json;
    use slipway::service::lookups;
    use slipway::store::Backend;

    use crate::app_tests;
    use crate::common::app::TestApp;

    const WEB: &str = r#"
[[host_group]]
name = "eu-web"
hosts = [{ name = "web1", target = "deploy@10.1.0.1:/srv/shop" }]
"#;

    fn relay_of(app: &TestApp<'_>) -> (i64, Option<String>, Option<i32>) {
        lookups::host_groups(&mut app.db().conn())
            .expect("groups")
            .into_iter()
            .find(|(g, _)| g.name == "eu-web")
            .map(|(g, _)| (g.id, g.relay, g.relay_port))
            .expect("eu-web")
    }

    fn relay_in_the_form_and_the_api(backend: Backend) {
        let app = TestApp::new(backend)
            .with_admins(&["root"])
            .with_users(&["dev"])
            .with_project(WEB)
            .start();
        let admin = app.browser("root");
        let (id, _, _) = relay_of(&app);
        let reply = admin.post_form(
            &format!("/admin/hosts/groups/{id}/relay"),
            &[("relay", "deploy@relay1:/srv/relay"), ("relay_port", "70000")],
        );
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let page = reply.text();
        let port_input = page
            .split("<input")
            .find(|i| i.contains(r#"name="relay_port""#) && i.contains("is-invalid"))
            .unwrap_or_else(|| panic!("no invalid port input: {page}"));
        assert!(port_input.contains(r#"value="70000""#), "{port_input}");
        assert_eq!(relay_of(&app).1, None, "nothing stored");
        let reply = admin.post_form(
            &format!("/admin/hosts/groups/{id}/relay"),
            &[("relay", "deploy@relay1:/srv/relay"), ("relay_port", "2222")],
        );
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
        assert_eq!(
            relay_of(&app),
            (id, Some("deploy@relay1:/srv/relay".into()), Some(2222))
        );
        let page = admin.get("/admin/hosts").text();
        assert!(
            page.contains("<code>deploy@relay1:&#x2F;srv&#x2F;relay</code>"),
            "{page}"
        );

        // The API: admins only; a bad relay is a 400 naming the field.
        let api = app.api("root");
        let listed = api.get("/api/v1/host-groups").json();
        assert_eq!(listed[0]["relay"]["target"], "deploy@relay1:/srv/relay");
        assert_eq!(listed[0]["hosts"][0]["name"], "web1");
        assert_eq!(app.api("dev").get("/api/v1/host-groups").status, StatusCode::FORBIDDEN);
        let bad = api.json(
            Method::PUT,
            "/api/v1/host-groups/eu-web/relay",
            &json!({"target": "rsync://r/m"}),
        );
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.json()["error"]["field"], "relay");
        let ok = api.json(
            Method::PUT,
            "/api/v1/host-groups/eu-web/relay",
            &json!({"target": "ops@relay2:/data/relay", "identity": "/home/ops/.ssh/id_fanout"}),
        );
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
        assert_eq!(ok.json()["relay"]["identity"], "/home/ops/.ssh/id_fanout");
        assert_eq!(relay_of(&app), (id, Some("ops@relay2:/data/relay".into()), None));
        let cleared = api.json(Method::PUT, "/api/v1/host-groups/eu-web/relay", &json!({"target": ""}));
        assert_eq!(cleared.status, StatusCode::OK);
        assert_eq!(relay_of(&app).1, None);
        let doc = api.get("/api/v1/openapi.json").json();
        assert!(doc["paths"]["/api/v1/host-groups/{name}/relay"]["put"].is_object());
    }

    app_tests!(relay_in_the_form_and_the_api);
}
