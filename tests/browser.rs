//! Browser tests: the real `slipway serve` binary (SQLite in a temp dir, a
//! real SVN repository, its own worker staging the tickets) driven through
//! headless Chromium over WebDriver. A developer files a ticket in the form,
//! the worker stages it, a tester marks it tested, a lead approves, the
//! developer releases; a lead cannot approve their own ticket; the Chinese UI
//! renders. Screenshots of the main pages land in `target/screenshots/`.

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

/// A signed approval link for `user` on ticket `id`, as the mail job makes it.
fn approval_link(data: &Path, id: i64, user: &str) -> String {
    let pool = slipway::store::connect(
        &slipway::store::DbLocation::parse(None, data).expect("db location"),
        &slipway::store::PoolOptions::default(),
    )
    .expect("open the database");
    let mut conn = pool.get().expect("connection");
    let row = slipway::store::tickets::by_id(&mut conn, id)
        .expect("query")
        .expect("ticket");
    let uid = slipway::store::listing::user_id(&mut conn, user)
        .expect("query")
        .expect("user");
    let claims = slipway::notify::links::LinkClaims::new(
        id,
        uid,
        "approve",
        &row.state,
        row.stage_generation,
        row.lock_version,
        slipway::notify::links::unix_now(),
        1,
    );
    let key = slipway::keys::key_file(&data.join("jwt.key")).expect("signing key");
    slipway::notify::links::sign(&jsonwebtoken::EncodingKey::from_secret(&key), &claims).expect("sign")
}

/// Freezes project `shop` until 2999 and sets its time zone.
fn freeze_forever(data: &Path, zone: &str) {
    use diesel::RunQueryDsl;
    let pool = slipway::store::connect(
        &slipway::store::DbLocation::parse(None, data).expect("db location"),
        &slipway::store::PoolOptions::default(),
    )
    .expect("open the database");
    let mut conn = pool.get().expect("connection");
    let slipway::store::DbConn::Sqlite(c) = &mut *conn else {
        panic!("the browser tests run on SQLite")
    };
    diesel::sql_query(
        "INSERT INTO freeze_windows (project_id, kind, starts_at, ends_at, label) \
         SELECT id, 'range', '2000-01-01 00:00:00', '2999-01-01 00:00:00', 'forever' FROM projects WHERE name = 'shop'",
    )
    .execute(c)
    .expect("freeze");
    diesel::sql_query(format!("UPDATE projects SET time_zone = '{zone}' WHERE name = 'shop'"))
        .execute(c)
        .expect("zone");
}

#[test]
fn release_flow_in_a_real_browser() {
    let shots = shots_dir();
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let repo = SvnRepo::create(&[
        ("index.html", "<h1>shop</h1>\n"),
        ("src/app.js", "console.log('v1');\n"),
        ("src/cart.js", "// cart\n"),
        ("img/logo.txt", "logo\n"),
    ]);
    repo.commit(&[("src/app.js", Some("console.log('v2');\n"))], "checkout button fix");
    let data = tempfile::tempdir().expect("data dir");
    let server = start(&repo, data.path());
    let browser = Browser::start(&shots);
    let s = Session {
        b: &browser,
        base: &server.base,
    };

    // The login page.
    s.goto("/login");
    browser.find("#login");
    browser.screenshot("01-login");
    browser.at_both_widths("w-login");

    // A developer files a ticket; a bad path is refused next to the field, input kept.
    s.login("dev");
    s.goto("/tickets/new");
    browser.click(&browser.find("#project option[value='shop']"));
    let reason = browser.find("#reason");
    browser.type_into(&reason, "Fix the checkout button (JIRA-123)");
    let paths = browser.find("#svn_paths");
    browser.type_into(&paths, "src/app.js\n../../etc/passwd");
    browser.click(&browser.find("#file-ticket"));
    let feedback = browser.find("#svn_paths ~ .invalid-feedback");
    assert!(!browser.text(&feedback).is_empty());
    assert_eq!(
        browser.prop(&browser.find("#reason"), "value").as_deref(),
        Some("Fix the checkout button (JIRA-123)")
    );
    browser.screenshot("03-new-ticket-error");
    browser.at_both_widths("w-new-ticket-error");
    let paths = browser.find("#svn_paths");
    browser.type_into(&paths, "src/app.js");
    browser.click(&browser.find("#file-ticket"));
    let id = browser.wait("the ticket page", || {
        browser
            .url()
            .rsplit("/tickets/")
            .next()
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|_| browser.try_find("#ticket-state").is_some())
    });

    // serve's own worker stages it from SVN.
    s.wait_state(id, &["staged"]);
    let staging = browser.find("#staging-url");
    assert_eq!(browser.text(&staging), "http://staging.example/shop/");
    assert!(
        browser.body_text().contains("checkout button fix"),
        "the SVN commit is listed"
    );
    browser.screenshot("04-ticket-staged");
    s.logout();

    // The tester sees it on "my work" and marks it tested.
    s.login("tester");
    s.goto("/");
    assert!(browser.body_text().contains("Fix the checkout button"));
    browser.screenshot("02-my-work");
    browser.at_both_widths("w-my-work");
    s.act(id, "mark-tested", "works on staging");
    assert_eq!(s.state(), "tested");
    s.logout();

    // A lead approves.
    s.login("lead");
    s.act(id, "approve", "");
    assert_eq!(s.state(), "approved");
    s.logout();

    // The developer releases. (The release pipeline is built elsewhere; once it
    // is registered, the ticket goes on to `released`.)
    s.login("dev");
    s.act(id, "release", "");
    let state = s.state();
    assert!(state == "releasing" || state == "released", "{state}");
    browser.screenshot("05-ticket-releasing");
    s.logout();

    // A lead who is also a developer files a ticket: they may not approve it.
    s.login("lead2");
    // The path comes from the SVN picker (svn list of the real repository).
    s.goto("/tickets/new");
    browser.click(&browser.find("#project option[value='shop']"));
    browser.click(&browser.find("#svn-picker li.dir:has(> button.add[data-path='img']) > .toggle"));
    browser.click(&browser.find("#svn-picker button.add[data-path='img/logo.txt']"));
    let picked = browser.prop(&browser.find("#svn_paths"), "value");
    assert_eq!(picked.as_deref(), Some("img/logo.txt"));
    browser.screenshot("16-new-ticket-picker");
    let own = s.file_ticket("Update the logo", "img/logo.txt");
    s.wait_state(own, &["staged"]);
    s.logout();
    s.login("tester");
    s.act(own, "mark-tested", "");
    s.logout();
    s.login("lead2");
    s.goto(&format!("/tickets/{own}"));
    assert_eq!(s.state(), "tested");
    assert!(browser.try_find("#act-approve").is_none(), "no approve button");
    let why = browser.text(&browser.find("#why-approve"));
    assert!(why.contains("self-approval"), "{why}");
    browser.screenshot("06-ticket-self-approval");
    browser.at_both_widths("w-ticket-self-approval");
    s.logout();

    // The other lead approves from the emailed link, on a phone: the
    // summary and a link to the ticket, and Approve asks for a second tap.
    let token = approval_link(data.path(), own, "lead");
    s.goto(&format!("/approve/{token}"));
    browser.find("#link-summary");
    assert!(
        browser.try_find("#link-ticket").is_some(),
        "the page links to the ticket"
    );
    browser.at_both_widths("w-approval-link");
    browser.resize(400, 900);
    browser.click(&browser.find("#link-approve"));
    let confirm = browser.wait("the confirm button", || {
        browser.try_find("#link-step[open] #link-confirm")
    });
    browser.screenshot("w-approval-link-second-tap-400");
    browser.click(&confirm);
    browser.find("#link-done");
    browser.resize(1280, 1000);

    // A freeze window: the submitter sees why there is no Release button,
    // until when (in the project's zone, named), and who may release now.
    freeze_forever(data.path(), "Europe/Berlin");
    s.login("lead2");
    s.goto(&format!("/tickets/{own}"));
    assert_eq!(s.state(), "approved");
    assert!(
        browser.try_find("#act-release").is_none(),
        "no release button in a freeze"
    );
    let why = browser.text(&browser.find("#why-release[data-code='frozen']"));
    assert!(why.contains("frozen until 2999-01-01 01:00 (Europe/Berlin)"), "{why}");
    assert!(why.contains("an admin, with an emergency override"), "{why}");
    browser.at_both_widths("w-ticket-frozen");

    // Lists and pages.
    s.goto("/tickets");
    assert!(browser.find_all("table tbody tr").len() >= 2);
    browser.screenshot("07-ticket-list");
    s.goto("/projects/shop");
    browser.find("h1");
    browser.screenshot("08-project");
    s.goto("/audit");
    assert!(browser.body_text().contains("approve"));
    browser.screenshot("09-audit");
    s.logout();

    s.login("admin");
    s.goto("/admin/users");
    assert!(browser.body_text().contains("lead2"));
    browser.screenshot("10-admin-users");
    browser.at_both_widths("w-admin-users");
    s.goto("/admin/projects");
    browser.screenshot("11-admin-projects");
    browser.at_both_widths("w-admin-projects");
    s.goto("/admin/projects/shop/edit");
    browser.screenshot("12-admin-project-edit");
    browser.at_both_widths("w-admin-project-edit");
    s.goto("/admin/hosts");
    browser.at_both_widths("w-admin-hosts");
    s.goto("/admin/import");
    browser.at_both_widths("w-admin-import");
    s.goto(&format!("/tickets/{own}"));
    browser.find("#override-form");
    browser.at_both_widths("w-ticket-admin");
    // At 400 px the menu is folded: one tap opens it.
    browser.resize(400, 900);
    assert!(!browser.displayed(&browser.find("#nav-menu")), "the menu is folded");
    browser.click(&browser.find("#nav-toggler"));
    assert!(browser.displayed(&browser.find("#nav-menu")), "the menu opens");
    assert!(
        browser.displayed(&browser.find("form[action='/logout'] button")),
        "Sign out is reachable"
    );
    let (scroll, inner) = browser.widths();
    assert!(scroll <= inner, "the open menu fits: {scroll} > {inner}");
    browser.screenshot("w-nav-open-400");
    browser.resize(1280, 1000);

    // The Chinese UI: the switch is remembered across pages.
    s.goto(&format!("/tickets/{id}"));
    browser.click(&browser.find("button[name='lang'][value='zh-CN']"));
    browser.wait("the Chinese page", || {
        browser.try_find("html[lang='zh-CN'] #ticket-state")
    });
    let text = browser.body_text();
    assert!(text.contains("时间线"), "{text}");
    assert!(text.contains("发布中") || text.contains("已发布"), "{text}");
    browser.screenshot("13-ticket-zh");
    s.goto("/");
    browser.find("html[lang='zh-CN']");
    browser.screenshot("14-my-work-zh");
    s.goto("/tickets/new");
    browser.screenshot("15-new-ticket-zh");
    // Every problem at once, beside its field, with the field's label, in Chinese.
    let paths = browser.find("#svn_paths");
    browser.type_into(&paths, "../../etc/passwd");
    let revision = browser.find("#svn_revision");
    browser.type_into(&revision, "abc");
    browser.click(&browser.find("#file-ticket"));
    let feedback = browser.text(&browser.wait("the errors", || browser.try_find("#svn_paths ~ .invalid-feedback")));
    assert!(
        feedback.starts_with("SVN 路径：") && feedback.contains("不能包含"),
        "{feedback}"
    );
    let all = browser.text(&browser.find("#form-errors"));
    for expected in ["项目：请选择一个项目。", "原因：不能为空。", "SVN 版本号：必须是整数。"]
    {
        assert!(all.contains(expected), "{expected}: {all}");
    }
    assert_eq!(browser.find_all(".invalid-feedback").len(), 4);
    browser.at_both_widths("w-new-ticket-errors-zh");
    drop(browser);
    drop(server);
}
