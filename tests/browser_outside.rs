//! Browser test of issue 12's outside-paths warning: the real `slipway
//! serve` (SQLite, a real SVN repository, its own worker) in headless
//! Chromium. v1 ships the whole tree; a later ticket for `src/cart.js` is
//! staged and cancelled, which leaves its change on the shared staging; a
//! ticket for `index.html` then warns that its release also changes
//! `src/cart.js`, names the SVN commit and the ticket that brought it, and
//! (the project requires it) the tester confirms it when marking tested.
//! Screenshots: `target/screenshots/outside-paths-{1400,400}.png`.

mod common;
mod common_svn;
mod common_webdriver;

use std::path::Path;
use std::time::{Duration, Instant};

use common_svn::SvnRepo;
use common_webdriver::server::{add_user, serve, shots_dir, Server};
use common_webdriver::Browser;

const PASSWORD: &str = "browser-test-pw";

/// Users, a project on a real SVN repository, and the server.
fn start(repo: &SvnRepo, data: &Path) -> Server {
    for (user, admin) in [
        ("admin", true),
        ("dev", false),
        ("tester", false),
        ("lead", false),
        ("lead2", false),
    ] {
        add_user(data, user, admin, PASSWORD);
    }
    let toml = format!(
        r#"
[[host_group]]
name = "shop-web"
hosts = [{{ name = "web1", target = "{prod}" }}]

[[project]]
name = "shop"
description = "Web shop (browser test)"
svn_url = "{url}"
staging_dir = "{staging}"
staging_url = "http://staging.example/shop/"
host_groups = ["shop-web"]
excludes = ["*.log"]
leads = ["lead", "lead2"]
developers = ["dev", "lead2"]
testers = ["tester"]

require_outside_paths_confirmation = true

[project.approval]
required = 1
allow_self_approval = false
"#,
        prod = data.join("prod").display(),
        url = repo.url,
        staging = data.join("staging").join("shop").display(),
    );
    serve(data, &toml, "serve.log")
}

struct Session<'a> {
    b: &'a Browser,
    base: &'a str,
}

impl Session<'_> {
    fn goto(&self, path: &str) {
        self.b.goto(&format!("{}{path}", self.base));
    }

    fn login(&self, user: &str) {
        self.goto("/login");
        let name = self.b.find("#username");
        self.b.type_into(&name, user);
        let pw = self.b.find("#password");
        self.b.type_into(&pw, PASSWORD);
        self.b.click(&self.b.find("#login"));
        self.b.wait(&format!("{user} signed in"), || {
            self.b
                .try_find("form[action='/logout']")
                .filter(|_| !self.b.url().contains("/login"))
        });
    }

    fn logout(&self) {
        self.b.click(&self.b.find("form[action='/logout'] button"));
        self.b.wait("the login page", || {
            self.b.try_find("#login").filter(|_| self.b.url().ends_with("/login"))
        });
    }

    fn state(&self) -> String {
        self.b.wait("the ticket's state", || {
            self.b
                .try_find("#ticket-state")
                .and_then(|el| self.b.attr(&el, "data-state"))
        })
    }

    /// Reloads the ticket page until it is in `state` (the worker's jobs take a moment).
    fn wait_state(&self, id: i64, states: &[&str]) -> String {
        let start = Instant::now();
        loop {
            self.goto(&format!("/tickets/{id}"));
            let now = self.state();
            if states.contains(&now.as_str()) {
                return now;
            }
            if start.elapsed() > Duration::from_secs(90) {
                let shot = self.b.screenshot(&format!("timeout-ticket-{id}"));
                panic!(
                    "ticket {id} stayed `{now}`, wanted {states:?}: {} ({})",
                    self.b.body_text(),
                    shot.display()
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Presses an action button on the ticket page and waits for the page to come back.
    fn act(&self, id: i64, action: &str, note: &str) {
        self.goto(&format!("/tickets/{id}"));
        self.act_here(id, action, note);
    }

    /// Presses an action button on the ticket page already shown.
    fn act_here(&self, id: i64, action: &str, note: &str) {
        if !note.is_empty() {
            let n = self.b.find("#note");
            self.b.type_into(&n, note);
        }
        let before = self.state();
        self.b.click(&self.b.find(&format!("#act-{action}")));
        self.b.wait(&format!("{action} on #{id} done"), || {
            self.b
                .try_find("#ticket-state")
                .and_then(|el| self.b.attr(&el, "data-state"))
                .filter(|s| *s != before || self.b.try_find("#action-error").is_some())
        });
        if let Some(err) = self.b.try_find("#action-error") {
            panic!("{action} on #{id} refused: {}", self.b.text(&err));
        }
    }

    /// Files a ticket through the form; returns its id.
    fn file_ticket(&self, reason: &str, paths: &str) -> i64 {
        self.goto("/tickets/new");
        self.b.click(&self.b.find("#project option[value='shop']"));
        let r = self.b.find("#reason");
        self.b.type_into(&r, reason);
        let p = self.b.find("#svn_paths");
        self.b.type_into(&p, paths);
        self.b.click(&self.b.find("#file-ticket"));
        self.b.wait("the new ticket's page", || {
            let url = self.b.url();
            let id = url.rsplit("/tickets/").next()?.parse::<i64>().ok()?;
            self.b.try_find("#ticket-state").map(|_| id)
        })
    }
}

#[test]
fn the_ticket_page_warns_about_files_outside_the_ticket_paths() {
    let shots = shots_dir();
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let repo = SvnRepo::create(&[
        ("index.html", "<h1>shop</h1>\n"),
        ("src/app.js", "console.log('v1');\n"),
        ("src/cart.js", "// cart\n"),
    ]);
    let data = tempfile::tempdir().expect("data dir");
    let server = start(&repo, data.path());
    let browser = Browser::start(&shots);
    let s = Session {
        b: &browser,
        base: &server.base,
    };
    // v1: the whole tree goes to production.
    s.login("dev");
    let first = s.file_ticket("First release", "");
    s.wait_state(first, &["staged"]);
    s.logout();
    s.login("tester");
    s.act(first, "mark-tested", "");
    s.logout();
    s.login("lead");
    s.act(first, "approve", "");
    s.logout();
    s.login("dev");
    s.act(first, "release", "");
    s.wait_state(first, &["released"]);
    // A cart change is staged by a ticket that is then cancelled: it stays on staging.
    repo.commit(
        &[
            ("src/cart.js", Some("// cart v2\n")),
            ("index.html", Some("<h1>shop v2</h1>\n")),
        ],
        "cart rewrite and new title",
    );
    let cart = s.file_ticket("Cart rewrite", "src/cart.js");
    s.wait_state(cart, &["staged"]);
    s.act(cart, "cancel", "not yet");
    let title = s.file_ticket("New title", "index.html");
    s.wait_state(title, &["staged"]);
    let warning = browser.find("#outside-paths");
    let text = browser.text(&warning);
    assert!(text.contains("src/cart.js"), "{text}");
    assert!(text.contains(&format!("ticket #{cart}")), "{text}");
    assert!(text.contains("r2"), "{text}");
    assert!(
        !text.contains("index.html"),
        "the ticket's own path is not outside: {text}"
    );
    browser.at_both_widths("outside-paths");
    s.logout();
    // The project requires the tester's confirmation: without it, refused.
    s.login("tester");
    s.goto(&format!("/tickets/{title}"));
    browser.click(&browser.find("#act-mark-tested"));
    let error = browser.wait("the refusal", || browser.try_find("#action-error"));
    assert!(browser.text(&error).contains("outside"), "{}", browser.text(&error));
    browser.screenshot("outside-paths-refused");
    s.goto(&format!("/tickets/{title}"));
    browser.click(&browser.find("#confirm-outside-paths"));
    s.act_here(title, "mark-tested", "");
    assert_eq!(s.state(), "tested");
    browser.find("#outside-confirmed");
    browser.at_both_widths("outside-paths-confirmed");
}
