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

use common_svn::SvnRepo;
use common_webdriver::server::{add_user, serve, shots_dir, Server};
use common_webdriver::session::{Session, PASSWORD};
use common_webdriver::Browser;

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
