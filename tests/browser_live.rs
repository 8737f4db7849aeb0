//! The live ticket page in a real browser (issue 12): `slipway serve` (SQLite
//! in a temp dir, a real SVN repository, two local-directory hosts, its own
//! worker) and headless Chromium. A developer opens their new ticket and
//! stays on it: the stage job ends, a tester and a lead act elsewhere, the
//! release job ships — and the badge, the actions, the approvals and the
//! hosts (`switched`, `v1`, timed steps) change by themselves, without the
//! page being loaded again. Screenshots at 1400 and 400 px land in
//! `target/screenshots/`.

mod common;
mod common_svn;
mod common_webdriver;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use common_svn::SvnRepo;
use common_webdriver::server::{add_user, serve, shots_dir, Server};
use common_webdriver::Browser;
use slipway::domain::Action;
use slipway::service::tickets::{self, ActionInput, ActorRef};

const PASSWORD: &str = "browser-live-pw";

/// Users, project `shop` on `repo` shipping to two local directories, and the server.
fn start(repo: &SvnRepo, data: &Path) -> Server {
    for user in ["dev", "tester", "lead"] {
        add_user(data, user, false, PASSWORD);
    }
    for host in ["web1", "web2"] {
        std::fs::create_dir_all(data.join("prod").join(host)).expect("host dir");
    }
    let toml = format!(
        r#"
[[host_group]]
name = "shop-web"
hosts = [{{ name = "web1", target = "{prod}/web1" }}, {{ name = "web2", target = "{prod}/web2" }}]

[[project]]
name = "shop"
svn_url = "{url}"
staging_dir = "{staging}"
host_groups = ["shop-web"]
leads = ["lead"]
developers = ["dev"]
testers = ["tester"]

[project.approval]
required = 1
"#,
        prod = data.join("prod").display(),
        url = repo.url,
        staging = data.join("staging").join("shop").display(),
    );
    serve(data, &toml, "serve-live.log")
}

/// Someone else acts on ticket `id` (straight through the service, as another
/// browser would).
fn act_elsewhere(data: &Path, id: i64, action: Action, user: &str) {
    let pool = slipway::store::connect(
        &slipway::store::DbLocation::parse(None, data).expect("db location"),
        &slipway::store::PoolOptions::default(),
    )
    .expect("open the database");
    let mut conn = pool.get().expect("connection");
    let uid = slipway::store::listing::user_id(&mut conn, user)
        .expect("query")
        .expect("user");
    tickets::apply(
        &mut conn,
        id,
        &ActionInput::new(action, ActorRef::User(uid)),
        Utc::now(),
    )
    .unwrap_or_else(|e| panic!("{action} by {user}: {e}"));
}

/// Waits (without reloading) until the page's badge says `state`.
fn wait_badge(b: &Browser, state: &str) {
    let start = Instant::now();
    loop {
        let now = b
            .try_find("#ticket-state")
            .and_then(|el| b.attr(&el, "data-state"))
            .unwrap_or_default();
        if now == state {
            return;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let shot = b.screenshot(&format!("live-timeout-{state}"));
            panic!("the badge stayed `{now}`, wanted `{state}` ({})", shot.display());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The page is still the one loaded when the marker was set.
fn same_page(b: &Browser) {
    assert_eq!(
        b.eval("return window.__liveMarker === 1;"),
        serde_json::Value::Bool(true),
        "the page was loaded again"
    );
}

#[test]
fn the_ticket_page_updates_itself_through_stage_and_release() {
    let shots = shots_dir();
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let repo = SvnRepo::create(&[("index.html", "<h1>shop</h1>\n"), ("css/site.css", "body {}\n")]);
    let data = tempfile::tempdir().expect("data dir");
    let server = start(&repo, data.path());
    let b = Browser::start(&shots);

    b.goto(&format!("{}/login", server.base));
    b.type_into(&b.find("#username"), "dev");
    b.type_into(&b.find("#password"), PASSWORD);
    b.click(&b.find("#login"));
    b.wait("dev signed in", || {
        b.try_find("form[action='/logout']")
            .filter(|_| !b.url().contains("/login"))
    });
    b.goto(&format!("{}/tickets/new", server.base));
    b.click(&b.find("#project option[value='shop']"));
    b.type_into(&b.find("#reason"), "New front page");
    b.type_into(&b.find("#svn_paths"), "index.html");
    b.click(&b.find("#file-ticket"));
    let id = b.wait("the new ticket's page", || {
        let url = b.url();
        let id = url.rsplit("/tickets/").next()?.parse::<i64>().ok()?;
        b.try_find("#ticket-state").map(|_| id)
    });
    b.eval("window.__liveMarker = 1; return null;");

    // The stage job ends: the badge, the snapshot and the actions follow.
    wait_badge(&b, "staged");
    same_page(&b);
    assert!(b.try_find("#details code").is_some(), "the snapshot is shown");
    assert!(b.try_find("#act-cancel").is_some());
    b.at_both_widths("live-01-staged");

    // A tester and a lead act elsewhere; the page follows, but a note the
    // reader is typing is kept (its form is swapped once they leave it).
    b.type_into(&b.find("#note"), "half-written");
    act_elsewhere(data.path(), id, Action::MarkTested, "tester");
    wait_badge(&b, "tested");
    assert_eq!(b.prop(&b.find("#note"), "value").as_deref(), Some("half-written"));
    b.eval("var n = document.getElementById('note'); n.value = ''; n.blur(); return null;");
    act_elsewhere(data.path(), id, Action::Approve, "lead");
    wait_badge(&b, "approved");
    same_page(&b);
    b.wait("the Release button", || b.try_find("#act-release"));
    let approvals = b.text(&b.find("#approvals"));
    assert!(approvals.contains("lead"), "{approvals}");
    b.at_both_widths("live-02-approved");

    // The developer releases; the release job ships to both hosts and the
    // page shows each host switched, on v1, with its step timings.
    b.click(&b.find("#act-release"));
    b.wait("the releasing page", || {
        b.try_find("#ticket-state")
            .and_then(|el| b.attr(&el, "data-state"))
            .filter(|s| s == "releasing" || s == "released")
    });
    b.eval("window.__liveMarker = 1; return null;");
    wait_badge(&b, "released");
    same_page(&b);
    for host in ["web1", "web2"] {
        let row = b.wait("the host's row", || {
            b.try_find(&format!("#host-{host}[data-state='switched']"))
        });
        let text = b.text(&row);
        assert!(text.contains("v1"), "{host}: {text}");
    }
    let sent = b.text(&b.find(".host-sent"));
    assert!(sent.contains("files sent"), "{sent}");
    // rsync's raw --stats lines are folded away under the log, one click away.
    let raw = b.wait("the raw rsync lines", || {
        b.try_find("#rsync-raw:not([hidden])").filter(|_| {
            b.prop(&b.find("#rsync-lines"), "textContent")
                .is_some_and(|t| t.contains("Total bytes sent"))
        })
    });
    assert!(b.attr(&raw, "open").is_none(), "folded");
    let log = b.prop(&b.find("#joblog"), "textContent").unwrap_or_default();
    assert!(!log.contains("Total bytes sent"), "{log}");
    let steps = b.text(&b.find(".host-steps"));
    assert!(steps.contains(" ms"), "{steps}");
    assert!(b.try_find("#act-release").is_none(), "no Release button any more");
    assert!(b.try_find("#no-actions").is_some(), "{}", b.body_text());
    let changed = b.text(&b.find("#production-changes"));
    assert!(changed.contains("index.html"), "{changed}");
    b.eval("window.scrollTo(0, 0); return null;");
    b.at_both_widths("live-03-released");
    // On a phone the hosts come right after the decision.
    b.resize(400, 900);
    b.eval("document.getElementById('hosts').scrollIntoView({ behavior: 'instant' }); return null;");
    b.screenshot("live-04-hosts-400");
    b.resize(1280, 1000);
    // The jobs ended, and the Chinese page says so too.
    assert!(b
        .find_all("#jobs li.job")
        .iter()
        .all(|j| b.attr(j, "data-state").as_deref() == Some("done")));
    b.click(&b.find("button[name='lang'][value='zh-CN']"));
    b.wait("the Chinese page", || b.try_find("html[lang='zh-CN'] #hosts"));
    let hosts = b.text(&b.find("#hosts"));
    assert!(hosts.contains("已切换") && hosts.contains("已发送"), "{hosts}");
    assert!(b.text(&b.find("#production-changes")).contains("已变更"));
    b.eval("window.scrollTo(0, 0); return null;");
    b.at_both_widths("live-05-released-zh");
    drop(b);
    drop(server);
}
