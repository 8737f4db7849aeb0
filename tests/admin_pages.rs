//! Issue 12, admin pages: a bad host target comes back beside its field
//! with the input kept; deleting a host or group asks first; host and group
//! changes are in the audit log; "Test connection" shows a real sshd's key
//! fingerprint, trusts it into Slipway's known_hosts (audited, CSRF-checked,
//! admins only) and then reaches the host; project roles are picked from
//! users and freeze windows are fields. Both backends; real sshd and rsync.

mod common;
mod common_ssh;

use std::path::Path;
use std::process::Command;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use slipway::service::{host_admin, lookups};
use slipway::store::Backend;

use common::app::TestApp;
use common_ssh::{RsyncDaemon, Sshd};

const SHOP: &str = r#"
[[project]]
name = "shop"
svn_url = "svn://127.0.0.1/shop/trunk"
staging_dir = "/srv/shop"
leads = ["lead1"]
developers = ["dev"]
host_groups = ["web"]

[[host_group]]
name = "web"
hosts = [{ name = "web1", target = "deploy@10.0.0.1:/srv/shop" }]
"#;

fn app(backend: Backend) -> TestApp<'static> {
    TestApp::new(backend)
        .with_users(&["dev", "lead1", "lead2"])
        .with_admins(&["root"])
        .with_project(SHOP)
        .start()
}

/// A host as (id, name, target).
type Host = (i64, String, String);

/// (group id, hosts) of group `name`.
fn group(app: &TestApp<'_>, name: &str) -> Option<(i64, Vec<Host>)> {
    lookups::host_groups(&mut app.db().conn())
        .expect("groups")
        .into_iter()
        .find(|(g, _)| g.name == name)
        .map(|(g, hs)| (g.id, hs.into_iter().map(|h| (h.id, h.name, h.target)).collect()))
}

fn actions(app: &TestApp<'_>) -> Vec<(String, String, String)> {
    let (rows, _) = host_admin::admin_events(&mut app.db().conn(), None, None, 100).expect("events");
    rows.into_iter()
        .rev()
        .map(|r| (r.action, r.subject, r.detail))
        .collect()
}

fn bad_target_stays_in_the_form(backend: Backend) {
    let app = app(backend);
    let admin = app.browser("root");
    let reply = admin.post_form(
        "/admin/hosts",
        &[
            ("group", "web"),
            ("name", "web2"),
            ("target", "deploy@10.0.0.2:relative dir"),
        ],
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let page = reply.text();
    assert!(page.contains(r#"value="deploy@10.0.0.2:relative dir""#), "{page}");
    assert!(page.contains(r#"value="web2""#), "{page}");
    let target_input = page
        .split("<input")
        .find(|i| i.contains(r#"name="target""#) && i.contains("is-invalid"))
        .unwrap_or_else(|| panic!("no invalid target input: {page}"));
    assert!(target_input.contains("relative dir"), "{target_input}");
    assert!(page.contains(r#"<div class="invalid-feedback">"#), "{page}");
    assert!(!page.contains("Something is not right"), "not the error page: {page}");
    assert_eq!(group(&app, "web").expect("web").1.len(), 1, "nothing added");
    // A name taken in the group: beside the name field.
    let reply = admin.post_form(
        "/admin/hosts",
        &[
            ("group", "web"),
            ("name", "web1"),
            ("target", "deploy@10.0.0.2:/srv/shop"),
        ],
    );
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let page = reply.text();
    let name_input = page
        .split("<input")
        .find(|i| i.contains(r#"name="name""#) && i.contains("is-invalid"))
        .unwrap_or_else(|| panic!("no invalid name input: {page}"));
    assert!(name_input.contains(r#"value="web1""#), "{name_input}");
    // The edit form too, in Chinese labels' language as well.
    let (id, _, _) = group(&app, "web").expect("web").1[0].clone();
    let reply = admin.post_form(
        &format!("/admin/hosts/{id}/edit"),
        &[("name", "web1"), ("target", "-oProxyCommand=x:/p")],
    );
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.text().contains(r#"value="-oProxyCommand=x:&#x2F;p""#),
        "{}",
        reply.text()
    );
    assert_eq!(group(&app, "web").expect("web").1[0].2, "deploy@10.0.0.1:/srv/shop");
}

/// Issue 12: deleting a project asks first, like hosts and groups.
fn deleting_a_project_asks_first(backend: Backend) {
    let app = app(backend);
    let admin = app.browser("root");
    let shop_listed = || admin.get("/admin/projects").text().contains(r#"href="/projects/shop""#);
    let list = admin.get("/admin/projects").text();
    assert!(list.contains(r#"href="/admin/projects/shop/delete""#), "{list}");
    assert!(!list.contains(r#"action="/admin/projects/shop/delete""#), "{list}");
    let ask = admin.get("/admin/projects/shop/delete");
    assert_eq!(ask.status, StatusCode::OK);
    let ask = ask.text();
    assert!(
        ask.contains("<code>shop</code>") && ask.contains(r#"name="confirm" value="yes""#),
        "{ask}"
    );
    // A post without `confirm` asks again and deletes nothing.
    let again = admin.post_form("/admin/projects/shop/delete", &[]);
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.text().contains(r#"id="confirm-delete""#));
    assert!(shop_listed());
    let dev = app.browser("dev");
    assert_eq!(dev.get("/admin/projects/shop/delete").status, StatusCode::FORBIDDEN);
    assert_eq!(
        dev.post_form("/admin/projects/shop/delete", &[("confirm", "yes")])
            .status,
        StatusCode::FORBIDDEN
    );
    assert!(shop_listed());
    let done = admin.post_form("/admin/projects/shop/delete", &[("confirm", "yes")]);
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(!shop_listed());
}

/// Issue 12: hosts the import file creates from the admin pages are in the
/// admin audit like hosts created one by one.
fn imported_hosts_are_audited(backend: Backend) {
    let app = app(backend);
    let admin = app.browser("root");
    let before = actions(&app).len();
    let toml = "[[host_group]]\nname = \"api\"\nhosts = [{ name = \"api1\", target = \"deploy@10.0.1.1:/srv/api\" }]\n";
    let reply = admin.post_form("/admin/import", &[("toml", toml)]);
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(group(&app, "api").is_some());
    let got = actions(&app);
    assert_eq!(
        got[before..].to_vec(),
        [
            ("host_group_create".to_owned(), "api".to_owned(), String::new()),
            (
                "host_create".to_owned(),
                "api/api1".to_owned(),
                "deploy@10.0.1.1:/srv/api".to_owned()
            ),
        ]
    );
}

/// Issue 12: the audit CSV export carries the admin trail (to admins).
fn audit_csv_has_the_admin_trail(backend: Backend) {
    let app = app(backend);
    let admin = app.browser("root");
    let made = admin.post_form("/admin/hosts/groups", &[("name", "api")]);
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text());
    let csv = admin.get("/audit.csv").text();
    let header = csv.lines().next().unwrap_or_default();
    assert!(header.ends_with(",note,subject,detail"), "{csv}");
    let line = csv
        .lines()
        .find(|l| l.contains(r#","host_group_create","#))
        .unwrap_or_else(|| panic!("no admin line: {csv}"));
    assert!(line.starts_with("admin-") && line.contains(r#","root","#), "{line}");
    assert!(line.ends_with(r#","api","""#), "{line}");
    assert_eq!(line.split(',').count(), header.split(',').count(), "{line}");
    // Not for others, nor with a ticket-events filter.
    assert!(!app
        .browser("dev")
        .get("/audit.csv")
        .text()
        .contains("host_group_create"));
    assert!(!admin
        .get("/audit.csv?project=shop")
        .text()
        .contains("host_group_create"));
}

fn deleting_asks_first(backend: Backend) {
    let app = app(backend);
    let admin = app.browser("root");
    let (gid, hosts) = group(&app, "web").expect("web");
    let hid = hosts[0].0;
    // The hosts page links to the questions, it holds no delete form.
    let list = admin.get("/admin/hosts").text();
    assert!(list.contains(&format!(r#"href="/admin/hosts/{hid}/delete""#)), "{list}");
    assert!(
        !list.contains(&format!(r#"action="/admin/hosts/{hid}/delete""#)),
        "{list}"
    );
    let ask = admin.get(&format!("/admin/hosts/{hid}/delete"));
    assert_eq!(ask.status, StatusCode::OK);
    let ask = ask.text();
    assert!(
        ask.contains("web&#x2F;web1") && ask.contains(r#"name="confirm" value="yes""#),
        "{ask}"
    );
    // A post without `confirm` asks again and deletes nothing.
    let again = admin.post_form(&format!("/admin/hosts/{hid}/delete"), &[]);
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.text().contains(r#"id="confirm-delete""#));
    assert_eq!(group(&app, "web").expect("web").1.len(), 1);
    // Not an admin, or no CSRF token: refused.
    let dev = app.browser("dev");
    assert_eq!(
        dev.get(&format!("/admin/hosts/{hid}/delete")).status,
        StatusCode::FORBIDDEN
    );
    let forged = dev.post_form(&format!("/admin/hosts/{hid}/delete"), &[("confirm", "yes")]);
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let no_token = admin.send(
        TestRequest::post()
            .uri(&format!("/admin/hosts/{hid}/delete"))
            .set_form([("csrf", "wrong"), ("confirm", "yes")]),
    );
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(group(&app, "web").expect("web").1.len(), 1);
    // Confirmed: gone.
    let done = admin.post_form(&format!("/admin/hosts/{hid}/delete"), &[("confirm", "yes")]);
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(group(&app, "web").expect("web").1.is_empty());
    // A group: the question, then only a confirmed post deletes.
    assert!(admin
        .get(&format!("/admin/hosts/groups/{gid}/delete"))
        .text()
        .contains(r#"name="confirm" value="yes""#));
    assert_eq!(
        admin
            .post_form(&format!("/admin/hosts/groups/{gid}/delete"), &[])
            .status,
        StatusCode::OK
    );
    assert!(group(&app, "web").is_some());
    let done = admin.post_form(&format!("/admin/hosts/groups/{gid}/delete"), &[("confirm", "yes")]);
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(group(&app, "web").is_none());
}

fn host_and_group_changes_are_audited(backend: Backend) {
    let app = app(backend);
    let admin = app.browser("root");
    let ok = |r: common::app::Reply| assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    ok(admin.post_form("/admin/hosts/groups", &[("name", "api")]));
    let (gid, _) = group(&app, "api").expect("api");
    ok(admin.post_form(
        "/admin/hosts",
        &[
            ("group", "api"),
            ("name", "api1"),
            ("target", "deploy@10.0.1.1:/srv/api"),
        ],
    ));
    let hid = group(&app, "api").expect("api").1[0].0;
    ok(admin.post_form(
        &format!("/admin/hosts/{hid}/edit"),
        &[("name", "api1"), ("target", "deploy@10.0.1.9:/srv/api")],
    ));
    ok(admin.post_form(&format!("/admin/hosts/groups/{gid}"), &[("name", "api-east")]));
    ok(admin.post_form(&format!("/admin/hosts/{hid}/delete"), &[("confirm", "yes")]));
    ok(admin.post_form(&format!("/admin/hosts/groups/{gid}/delete"), &[("confirm", "yes")]));
    let got = actions(&app);
    let names: Vec<&str> = got.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        names,
        [
            "host_group_create",
            "host_create",
            "host_update",
            "host_group_update",
            "host_delete",
            "host_group_delete"
        ]
    );
    assert_eq!(got[1].1, "api/api1");
    assert!(got[2].2.contains("deploy@10.0.1.1:/srv/api") && got[2].2.contains("deploy@10.0.1.9:/srv/api"));
    assert_eq!(got[3].2, "renamed from api");
    assert_eq!(got[5].1, "api-east");
    // A refused change leaves no line.
    admin.post_form("/admin/hosts/groups", &[("name", "web")]);
    assert_eq!(actions(&app).len(), 6);
    // The audit page shows them to admins, with who did it.
    let page = admin.get("/audit").text();
    assert!(page.contains(r#"id="admin-events""#), "{page}");
    for a in &names {
        assert!(page.contains(&format!(r#"data-action="{a}""#)), "{a}: {page}");
    }
    assert!(page.contains("host added") && page.contains("root"), "{page}");
    // Not to others.
    let dev_page = app.browser("dev").get("/audit").text();
    assert!(!dev_page.contains(r#"id="admin-events""#), "{dev_page}");
    // The actor filter applies; a ticket filter hides them.
    assert!(!admin
        .get("/audit?actor=dev")
        .text()
        .contains("data-action=\"host_create\""));
    assert!(!admin.get("/audit?ticket=1").text().contains(r#"id="admin-events""#));
}

fn roles_are_picked_from_users(backend: Backend) {
    let app = app(backend);
    let admin = app.browser("root");
    let form = admin.get("/admin/projects/shop/edit").text();
    assert!(
        form.contains(r#"<select multiple class="form-select" id="leads" name="leads""#),
        "{form}"
    );
    assert!(
        form.contains(r#"<option value="lead1" selected>lead1</option>"#),
        "{form}"
    );
    assert!(form.contains(r#"<option value="lead2">lead2</option>"#), "{form}");
    assert!(form.contains(r#"<option value="web" selected>web</option>"#), "{form}");
    let base = [
        ("name", "blog"),
        ("svn_url", "svn://x/blog"),
        ("staging_dir", "/srv/blog"),
        ("approvals_required", "1"),
    ];
    // An unknown user: refused beside the leads field, nothing created.
    let mut fields = base.to_vec();
    fields.extend([("leads", "lead1"), ("leads", "ghost"), ("testers", "dev")]);
    let reply = admin.post_form("/admin/projects/new", &fields);
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let page = reply.text();
    assert!(
        page.contains(r#"<select multiple class="form-select is-invalid" id="leads""#),
        "{page}"
    );
    assert!(page.contains("ghost"), "{page}");
    assert!(page.contains(r#"<option value="lead1" selected>"#), "kept: {page}");
    assert!(lookups::project_id(&mut app.db().conn(), "blog")
        .expect("query")
        .is_none());
    // Picked users (a multi-select repeats the field): saved.
    let mut fields = base.to_vec();
    fields.extend([
        ("leads", "lead1"),
        ("leads", "lead2"),
        ("developers", "dev"),
        ("host_groups", "web"),
    ]);
    let reply = admin.post_form("/admin/projects/new", &fields);
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let id = lookups::project_id(&mut app.db().conn(), "blog")
        .expect("query")
        .expect("blog");
    let mut members = lookups::members(&mut app.db().conn(), id).expect("members");
    members.sort();
    assert_eq!(
        members,
        [
            ("dev".to_owned(), "developer".to_owned()),
            ("lead1".to_owned(), "lead".to_owned()),
            ("lead2".to_owned(), "lead".to_owned())
        ]
    );
}

fn freeze_windows_are_fields(backend: Backend) {
    let app = app(backend);
    let admin = app.browser("root");
    let fields = [
        ("name", "blog"),
        ("svn_url", "svn://x/blog"),
        ("staging_dir", "/srv/blog"),
        ("approvals_required", "1"),
        ("time_zone", "Asia/Shanghai"),
        ("weekly_0_from_day", "Fri"),
        ("weekly_0_from_time", "18:00"),
        ("weekly_0_to_day", "Mon"),
        ("weekly_0_to_time", "09:00"),
        ("weekly_0_label", "weekend"),
        ("weekly_1_from_day", ""),
        ("range_0_from", "2026-12-24T00:00"),
        ("range_0_to", "2027-01-02T00:00"),
        ("range_0_label", "holidays"),
    ];
    let reply = admin.post_form("/admin/projects/new", &fields);
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let id = lookups::project_id(&mut app.db().conn(), "blog")
        .expect("query")
        .expect("blog");
    let windows = lookups::freeze_windows(&mut app.db().conn(), id).expect("windows");
    assert_eq!(windows.len(), 2, "{windows:?}");
    let range = windows.iter().find(|w| w.kind == "range").expect("range");
    // 2026-12-24 00:00 in Shanghai is 2026-12-23 16:00 UTC.
    assert_eq!(
        range.starts_at.map(|t| t.to_string()).as_deref(),
        Some("2026-12-23 16:00:00")
    );
    let weekly = windows.iter().find(|w| w.kind == "weekly").expect("weekly");
    assert_eq!(
        (weekly.weekly_from, weekly.weekly_to),
        (Some(4 * 1440 + 18 * 60), Some(9 * 60))
    );
    let before = windows_of(&app, id);
    // The edit form shows them as fields, in the project's time.
    let form = admin.get("/admin/projects/blog/edit").text();
    for want in [
        r#"<option selected>Fri</option>"#,
        r#"name="weekly_0_from_time" value="18:00""#,
        r#"name="weekly_0_label" value="weekend""#,
        r#"name="range_0_from" value="2026-12-24T00:00""#,
        r#"name="range_0_to" value="2027-01-02T00:00""#,
        r#"name="range_0_label" value="holidays""#,
        r#"name="range_1_from" value="""#,
    ] {
        assert!(form.contains(want), "{want}: {form}");
    }
    assert!(!form.contains("weekly |"), "no pipe-separated text");
    // Saved again unchanged: the same windows.
    let mut again = fields.to_vec();
    again.retain(|(k, _)| *k != "name");
    again.push(("name", "blog"));
    let reply = admin.post_form("/admin/projects/blog/edit", &again);
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(windows_of(&app, id), before);
    // A half-filled row: refused beside the windows, input kept.
    let mut bad = again.clone();
    bad.extend([("weekly_1_from_day", "Sat"), ("weekly_1_label", "oops")]);
    let reply = admin.post_form("/admin/projects/blog/edit", &bad);
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let page = reply.text();
    assert!(page.contains(r#"id="freeze-error""#), "{page}");
    assert!(page.contains(r#"name="weekly_1_label" value="oops""#), "{page}");
    assert_eq!(windows_of(&app, id), before);
    // Removing a row's values removes the window.
    let mut fewer = again.clone();
    fewer.retain(|(k, _)| !k.starts_with("range_"));
    assert_eq!(
        admin.post_form("/admin/projects/blog/edit", &fewer).status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        lookups::freeze_windows(&mut app.db().conn(), id)
            .expect("windows")
            .len(),
        1
    );
}

/// A project's freeze windows, comparable.
fn windows_of(app: &TestApp<'_>, id: i64) -> Vec<String> {
    lookups::freeze_windows(&mut app.db().conn(), id)
        .expect("windows")
        .iter()
        .map(|w| format!("{w:?}"))
        .collect()
}

fn fingerprint_of(pub_key: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(pub_key)
        .output()
        .expect("ssh-keygen");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_owned()
}

fn test_connection_trusts_a_new_key(backend: Backend) {
    let sshd = Sshd::start();
    let data = tempfile::tempdir().expect("data dir");
    let remote = tempfile::tempdir().expect("remote dir");
    let toml = format!(
        "[[project]]\nname = \"shop\"\nsvn_url = \"svn://127.0.0.1/shop\"\nstaging_dir = \"/srv/shop\"\n\
         leads = [\"lead1\"]\nhost_groups = [\"web\"]\n[project.deploy]\nssh = {{ port = {}, identity_file = \"{}\" }}\n\n\
         [[host_group]]\nname = \"web\"\nhosts = [{{ name = \"web1\", target = \"127.0.0.1:{}\" }}]\n",
        sshd.port,
        sshd.identity.display(),
        remote.path().display()
    );
    let app = TestApp::new(backend)
        .with_users(&["lead1"])
        .with_admins(&["root"])
        .with_project(&toml)
        .with_data_dir(data.path())
        .start();
    let admin = app.browser("root");
    let hid = group(&app, "web").expect("web").1[0].0;
    let known_hosts = data.path().join("ssh").join("known_hosts");
    let expected = fingerprint_of(&sshd.dir.path().join("host_key.pub"));
    // As the page shows it (HTML-escaped).
    let shown = expected.replace('/', "&#x2F;");
    assert!(admin
        .get("/admin/hosts")
        .text()
        .contains(&format!("/admin/hosts/{hid}/check")));
    // First look: the key is unknown, the login fails on it.
    let page = admin.get(&format!("/admin/hosts/{hid}/check"));
    assert_eq!(page.status, StatusCode::OK);
    let page = page.text();
    assert!(page.contains(&shown), "fingerprint {expected}: {page}");
    assert!(page.contains(r#"data-status="unknown""#), "{page}");
    assert!(page.contains(r#"id="reach" data-ok="false""#), "{page}");
    assert!(
        page.contains(r#"action="/admin/hosts/"#) && page.contains("/trust"),
        "{page}"
    );
    assert!(!known_hosts.exists());
    // Forged or foreign trust requests change nothing.
    let lead = app.browser("lead1");
    assert_eq!(
        lead.post_form(&format!("/admin/hosts/{hid}/trust"), &[("fingerprint", &expected)])
            .status,
        StatusCode::FORBIDDEN
    );
    let forged = admin.send(
        TestRequest::post()
            .uri(&format!("/admin/hosts/{hid}/trust"))
            .set_form([("csrf", "not-the-token"), ("fingerprint", expected.as_str())]),
    );
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let wrong = admin.post_form(
        &format!("/admin/hosts/{hid}/trust"),
        &[("fingerprint", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")],
    );
    assert_eq!(wrong.status, StatusCode::CONFLICT);
    assert!(wrong.text().contains(r#"id="trust-error""#));
    assert!(!known_hosts.exists());
    assert!(actions(&app).is_empty());
    // Trusted: exactly the scanned line, audited; then the host is reachable.
    let trusted = admin.post_form(&format!("/admin/hosts/{hid}/trust"), &[("fingerprint", &expected)]);
    assert_eq!(trusted.status, StatusCode::SEE_OTHER, "{}", trusted.text());
    let written = std::fs::read_to_string(&known_hosts).expect("known_hosts");
    let pinned = std::fs::read_to_string(&sshd.known_hosts).expect("fixture known_hosts");
    assert_eq!(written.trim(), pinned.trim(), "the scanned key line");
    let page = admin.get(&format!("/admin/hosts/{hid}/check")).text();
    assert!(page.contains(r#"data-status="trusted""#), "{page}");
    assert!(!page.contains(r#"data-status="unknown""#), "{page}");
    assert!(page.contains(r#"id="reach" data-ok="true""#), "{page}");
    let got = actions(&app);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "host_key_trust");
    assert_eq!(got[0].1, "web/web1");
    assert!(got[0].2.contains(&expected), "{got:?}");
    // Trusting again writes nothing more.
    admin.post_form(&format!("/admin/hosts/{hid}/trust"), &[("fingerprint", &expected)]);
    assert_eq!(std::fs::read_to_string(&known_hosts).expect("known_hosts"), written);
    // A different key for the same host is shown as changed and not trusted.
    let other = data.path().join("other_key");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).expect("pub");
    let other_pub: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{} {} {}\n", sshd.port, other_pub[0], other_pub[1]),
    )
    .expect("write");
    let page = admin.get(&format!("/admin/hosts/{hid}/check")).text();
    assert!(page.contains(r#"data-status="changed""#), "{page}");
    assert!(page.contains(r#"id="reach" data-ok="false""#), "{page}");
    let refused = admin.post_form(&format!("/admin/hosts/{hid}/trust"), &[("fingerprint", &expected)]);
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(std::fs::read_to_string(&known_hosts).expect("kh").lines().count(), 1);
}

fn test_connection_lists_an_rsync_daemon(backend: Backend) {
    let daemon = RsyncDaemon::start();
    let data = tempfile::tempdir().expect("data dir");
    let toml = format!(
        "[[project]]\nname = \"shop\"\nsvn_url = \"svn://127.0.0.1/shop\"\nstaging_dir = \"/srv/shop\"\n\
         host_groups = [\"web\"]\n[project.deploy]\nrsync_password_file = \"{}\"\n\n\
         [[host_group]]\nname = \"web\"\nhosts = [{{ name = \"d1\", target = \"{}\" }}, {{ name = \"d2\", target = \"rsync://deployer@127.0.0.1:{}/nosuchmodule/\" }}]\n",
        daemon.password_file.display(),
        daemon.target(""),
        daemon.port
    );
    let app = TestApp::new(backend)
        .with_admins(&["root"])
        .with_project(&toml)
        .with_data_dir(data.path())
        .start();
    let admin = app.browser("root");
    let hosts = group(&app, "web").expect("web").1;
    let good = admin.get(&format!("/admin/hosts/{}/check", hosts[0].0)).text();
    assert!(good.contains(r#"id="reach" data-ok="true""#), "{good}");
    assert!(!good.contains("data-status="), "no host keys for rsync daemons: {good}");
    let bad = admin.get(&format!("/admin/hosts/{}/check", hosts[1].0)).text();
    assert!(bad.contains(r#"id="reach" data-ok="false""#), "{bad}");
}

app_tests!(
    bad_target_stays_in_the_form,
    deleting_asks_first,
    deleting_a_project_asks_first,
    imported_hosts_are_audited,
    audit_csv_has_the_admin_trail,
    host_and_group_changes_are_audited,
    roles_are_picked_from_users,
    freeze_windows_are_fields,
    test_connection_trusts_a_new_key,
    test_connection_lists_an_rsync_daemon,
);
