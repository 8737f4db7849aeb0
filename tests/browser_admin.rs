//! Issue 12, admin pages in a real browser: the real `slipway serve`
//! binary, headless Chromium, and a real sshd on loopback as the host. An
//! admin mistypes a target (the error stands beside the field, the input
//! stays), tests the connection (an unknown key with its fingerprint),
//! trusts the key and sees the host reachable, and is asked before a
//! delete. Every page at 1400 and 400 px (no sideways scroll), screenshots
//! in `target/screenshots/`.

mod common;
mod common_ssh;
mod common_webdriver;

use common_ssh::Sshd;
use common_webdriver::server::{add_user, serve, shots_dir};
use common_webdriver::session::{Session, PASSWORD};
use common_webdriver::Browser;

#[test]
fn admin_tests_a_host_and_trusts_its_key() {
    let shots = shots_dir();
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let sshd = Sshd::start();
    let data = tempfile::tempdir().expect("data dir");
    let remote = tempfile::tempdir().expect("remote dir");
    add_user(data.path(), "admin", true, PASSWORD);
    let toml = format!(
        "[[host_group]]\nname = \"web\"\nhosts = [{{ name = \"web1\", target = \"127.0.0.1:{remote}\" }}]\n\n\
         [[project]]\nname = \"shop\"\nsvn_url = \"svn://127.0.0.1/shop\"\nstaging_dir = \"{staging}\"\n\
         host_groups = [\"web\"]\n[project.deploy]\nssh = {{ port = {port}, identity_file = \"{id}\" }}\n",
        remote = remote.path().display(),
        staging = data.path().join("staging").display(),
        port = sshd.port,
        id = sshd.identity.display(),
    );
    let server = serve(data.path(), &toml, "serve-admin.log");
    let browser = Browser::start(&shots);
    let s = Session {
        b: &browser,
        base: &server.base,
    };
    s.login("admin");

    // A bad target: beside the field, the input kept.
    s.goto("/admin/hosts");
    let name = browser.find("form[action='/admin/hosts'] input[name='name']");
    browser.type_into(&name, "web2");
    let target = browser.find("form[action='/admin/hosts'] input[name='target']");
    browser.type_into(&target, "deploy@10.0.0.2:relative");
    browser.click(&browser.find("form[action='/admin/hosts'] button"));
    let bad = browser.find("input[name='target'].is-invalid");
    assert_eq!(browser.prop(&bad, "value").as_deref(), Some("deploy@10.0.0.2:relative"));
    assert!(browser.displayed(&browser.find(".invalid-feedback")));
    browser.at_both_widths("w-admin-hosts-error");

    // Test connection: the key is unknown, the login fails.
    browser.click(&browser.find("a[href$='/check']"));
    let status = browser.find(".key-status");
    assert_eq!(browser.attr(&status, "data-status").as_deref(), Some("unknown"));
    assert!(browser.text(&browser.find(".fingerprint")).starts_with("SHA256:"));
    assert_eq!(
        browser.attr(&browser.find("#reach"), "data-ok").as_deref(),
        Some("false")
    );
    browser.at_both_widths("w-admin-host-check-unknown");

    // Trust it: trusted, reachable.
    browser.click(&browser.find("form[action$='/trust'] button"));
    browser.wait("the key trusted", || {
        browser
            .try_find(".key-status[data-status='trusted']")
            .filter(|_| browser.try_find("#reach[data-ok='true']").is_some())
    });
    let written = std::fs::read_to_string(data.path().join("ssh").join("known_hosts")).expect("known_hosts");
    assert!(
        written.starts_with(&format!("[127.0.0.1]:{} ssh-", sshd.port)),
        "{written}"
    );
    browser.at_both_widths("w-admin-host-check-trusted");

    // Deleting asks first; Cancel keeps the host.
    s.goto("/admin/hosts");
    browser.click(&browser.find("a.btn-outline-danger[href^='/admin/hosts/'][href$='/delete']:not([href*='groups'])"));
    browser.find("#confirm-delete");
    browser.at_both_widths("w-admin-confirm-delete");
    browser.click(&browser.find("a[href='/admin/hosts'].btn-outline-secondary"));
    assert!(browser.body_text().contains("web1"));

    // The change log on the audit page.
    s.goto("/audit");
    browser.find("#admin-events tr[data-action='host_key_trust']");
    browser.at_both_widths("w-audit-admin");
}
