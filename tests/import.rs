//! `project import`: a good file imports everything; a bad one reports each
//! problem with its line and column and imports nothing.

mod common;

use slipway::service::import::{import, ImportError, ImportProblem};
use slipway::store::projects;

use common::TestDb;

const GOOD: &str = r#"
[[host_group]]
name = "shop-web"
hosts = [
  { name = "web1", target = "deploy@10.0.0.1:/srv/shop" },
  { name = "web2", target = "rsync://10.0.0.2/shop" },
  { name = "local", target = "/srv/shop" },
]

[[project]]
name = "shop"
description = "Web shop"
svn_url = "svn://127.0.0.1/shop/trunk"
staging_dir = "/var/lib/slipway/staging/shop"
staging_url = "http://staging.shop.test/"
build_command = ["mvn", "-B", "package"]
host_groups = ["shop-web"]
excludes = ["WEB-INF/jdbc.properties", "*.log"]
version_format = "shop-{n}"
time_zone = "Asia/Shanghai"
leads = ["lead"]
developers = ["dev"]
testers = ["tester"]

[project.approval]
required = 2
allow_self_approval = true
tested_by_may_approve = false
expiry_hours = 24

[project.deploy]
strategy = "batches"
keep_releases = 3
verify = true
ssh = { port = 2222, options = ["Compression=yes"] }
hooks = { after_switch = [["supervisorctl", "restart", "shop"]] }
health = { url = "http://{host}:8080/health", revert_canary = true }

[[project.freeze]]
weekly = { from = "Fri 18:00", to = "Mon 09:00" }
label = "weekend"

[[project.freeze]]
from = "2026-12-24T00:00:00+08:00"
to = "2027-01-02T00:00:00+08:00"
label = "holidays"
"#;

/// 1-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).expect("needle in text");
    text[..at].matches('\n').count() + 1
}

fn people(db: &TestDb) {
    for name in ["lead", "dev", "tester"] {
        db.user(name, false);
    }
}

fn problems(result: Result<slipway::service::import::ImportSummary, ImportError>) -> Vec<ImportProblem> {
    match result {
        Err(ImportError::Problems(problems)) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

fn imports_a_good_file(db: &TestDb) {
    people(db);
    let summary = db.import(GOOD);
    assert_eq!((summary.projects, summary.host_groups, summary.hosts), (1, 1, 3));
    let mut conn = db.conn();
    let shop = projects::by_name(&mut conn, "shop").expect("query").expect("imported");
    assert_eq!(shop.approvals_required, 2);
    assert!(shop.allow_self_approval && !shop.tested_by_may_approve);
    assert_eq!(shop.approval_expiry_minutes, Some(24 * 60));
    assert_eq!(shop.version_format, "shop-{n}");
    assert_eq!(shop.build_command, r#"["mvn","-B","package"]"#);
    assert_eq!(projects::members(&mut conn, shop.id).expect("members").len(), 3);
    assert_eq!(projects::hosts_of(&mut conn, shop.id).expect("hosts").len(), 3);
    assert_eq!(projects::freeze_windows(&mut conn, shop.id).expect("windows").len(), 2);
    let deploy = slipway::deploy::DeploySettings::from_json(&shop.deploy).expect("deploy settings");
    assert_eq!(deploy.strategy, slipway::deploy::Strategy::Batches);
    assert_eq!(
        (deploy.keep_releases, deploy.ssh.port, deploy.verify),
        (3, Some(2222), true)
    );
    assert_eq!(
        deploy.hooks.after_switch,
        vec![vec!["supervisorctl", "restart", "shop"]]
    );
    assert!(deploy.health.expect("health").revert_canary);
    let again = problems(import(&mut conn, GOOD));
    assert!(again.iter().any(|p| p.message.contains("already exists")), "{again:?}");
}

fn reports_every_problem_with_its_line(db: &TestDb) {
    people(db);
    let bad = GOOD
        .replace("deploy@10.0.0.1:/srv/shop", "-oProxyCommand=x")
        .replace("svn://127.0.0.1/shop/trunk", "ftp://x")
        .replace("Fri 18:00", "Fri 25:00")
        .replace("\"tester\"", "\"nobody\"");
    let found = problems(import(&mut db.conn(), &bad));
    let lines: Vec<usize> = found.iter().map(|p| p.line).collect();
    let expected = [
        line_of(&bad, "-oProxyCommand"),
        line_of(&bad, "ftp://"),
        line_of(&bad, "Fri 25:00"),
    ];
    assert_eq!(lines, expected, "{found:#?}");
    assert!(found[0].message.contains("must be user@host:/path") || found[0].message.contains("not start with `-`"));
    assert!(found[2].message.contains("Fri 25:00"));
    // The unknown user is found only in the database pass, and still nothing is stored.
    let fixed = GOOD.replace("\"tester\"", "\"nobody\"");
    let found = problems(import(&mut db.conn(), &fixed));
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].line, found[0].column), (line_of(&fixed, "testers ="), 12));
    assert!(found[0].message.contains("no user `nobody`"));
    let mut conn = db.conn();
    assert!(
        projects::list(&mut conn).expect("list").is_empty(),
        "all or nothing: no project"
    );
    assert!(
        projects::host_group_by_name(&mut conn, "shop-web")
            .expect("query")
            .is_none(),
        "nor host group"
    );
}

fn reports_toml_syntax_errors_with_their_line(db: &TestDb) {
    let found = problems(import(&mut db.conn(), "[[project]]\nname = \"x\"\nsvn_url = \n"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 3, "{found:?}");
    let found = problems(import(&mut db.conn(), "[[project]]\nname = \"x\"\nbogus = 1\n"));
    assert_eq!(found[0].line, 3, "unknown keys are errors: {found:?}");
    assert!(found[0].message.contains("bogus"));
}

fn reports_bad_deploy_settings_with_their_line(db: &TestDb) {
    people(db);
    let bad = GOOD.replace("Compression=yes", "StrictHostKeyChecking=no");
    let found = problems(import(&mut db.conn(), &bad));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("StrictHostKeyChecking"), "{found:?}");
    let table = line_of(&bad, "[project.deploy]");
    assert!(
        (table..=line_of(&bad, "StrictHostKeyChecking")).contains(&found[0].line),
        "{found:?}"
    );
    let bad = GOOD.replace("keep_releases = 3", "keep_releases = 3\nbogus = 1");
    let found = problems(import(&mut db.conn(), &bad));
    assert_eq!(found[0].line, line_of(&bad, "bogus"), "{found:?}");
    let bad = GOOD.replace("deploy@10.0.0.1:/srv/shop", "deploy@10.0.0.1:/srv/$(x)");
    let found = problems(import(&mut db.conn(), &bad));
    assert_eq!(found[0].line, line_of(&bad, "$(x)"), "{found:?}");
}

/// A password in `svn_url` is refused by the import file and by the admin
/// form / API (one check, `domain::svn_url`), pointing to `svn_credentials`,
/// without echoing the password.
fn refuses_a_password_in_the_svn_url(db: &TestDb) {
    people(db);
    let bad = GOOD.replace(
        "svn://127.0.0.1/shop/trunk",
        "svn://deploy:hunter2@127.0.0.1/shop/trunk",
    );
    let found = problems(import(&mut db.conn(), &bad));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].line, line_of(&bad, "hunter2"), "{found:?}");
    assert!(found[0].message.contains("svn_credentials"), "{found:?}");
    assert!(!found[0].message.contains("hunter2"), "{found:?}");
    let settings = slipway::service::admin::ProjectSettings {
        name: "formshop".into(),
        svn_url: "https://deploy:hunter2@svn.example/shop".into(),
        staging_dir: "/srv/staging/formshop".into(),
        ..Default::default()
    };
    let error = slipway::service::admin::create_project(&mut db.conn(), &settings).expect_err("refused");
    assert!(error.to_string().contains("svn_credentials"), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(projects::list(&mut db.conn()).expect("list").is_empty());
}

/// One check of project settings: the import file and the admin form / API
/// (`service::admin::create_project`, `update_project`) refuse the same bad
/// values with the same limits, and accept the same boundary values.
fn every_entry_point_refuses_the_same_settings(db: &TestDb) {
    people(db);
    let form = |name: &str| slipway::service::admin::ProjectSettings {
        name: name.into(),
        svn_url: "svn://127.0.0.1/shop/trunk".into(),
        staging_dir: "/srv/staging/shop".into(),
        version_format: "v{n}".into(),
        approvals_required: 1,
        ..Default::default()
    };
    // (field, import file edit, form edit)
    type Edit = Box<dyn Fn(&mut slipway::service::admin::ProjectSettings)>;
    let cases: Vec<(&str, (&str, &str), Edit)> = vec![
        (
            "approvals_required",
            ("required = 2", "required = 21"),
            Box::new(|s| s.approvals_required = 21),
        ),
        (
            "approvals_required",
            ("required = 2", "required = 0"),
            Box::new(|s| s.approvals_required = 0),
        ),
        (
            "staging_dir",
            ("/var/lib/slipway/staging/shop", "/var/lib/slipway/../../etc"),
            Box::new(|s| s.staging_dir = "/var/lib/slipway/../../etc".into()),
        ),
        (
            "staging_url",
            ("http://staging.shop.test/", "ftp://staging.shop.test/"),
            Box::new(|s| s.staging_url = "ftp://staging.shop.test/".into()),
        ),
        (
            "build_command",
            (r#"["mvn", "-B", "package"]"#, r#"["-rf", "/"]"#),
            Box::new(|s| s.build_command = vec!["-rf".into(), "/".into()]),
        ),
        (
            "excludes",
            ("\"*.log\"", "\"--delete-excluded\""),
            Box::new(|s| s.excludes = vec!["--delete-excluded".into()]),
        ),
        (
            "approval_expiry_hours",
            ("expiry_hours = 24", "expiry_hours = 9000"),
            Box::new(|s| s.approval_expiry_hours = Some(9000)),
        ),
        (
            "version_format",
            ("version_format = \"shop-{n}\"", "version_format = \"shop\""),
            Box::new(|s| s.version_format = "shop".into()),
        ),
        (
            "time_zone",
            ("time_zone = \"Asia/Shanghai\"", "time_zone = \"Asia/Shanghia\""),
            Box::new(|s| s.time_zone = "Asia/Shanghia".into()),
        ),
    ];
    for (field, (from, to), edit) in cases {
        let file = GOOD.replace(from, to);
        assert_ne!(file, GOOD, "{field}: the edit applies");
        let found = problems(import(&mut db.conn(), &file));
        assert_eq!(found.len(), 1, "{field}: {found:?}");
        assert_eq!(found[0].line, line_of(&file, to), "{field}: {found:?}");
        let mut settings = form("formshop");
        edit(&mut settings);
        let error = slipway::service::admin::create_project(&mut db.conn(), &settings).expect_err(field);
        match error {
            slipway::service::ServiceError::Invalid(e) => {
                assert_eq!(e.field, field, "{e}");
                if field == "time_zone" {
                    assert_eq!(e.code, "input.unknown_time_zone", "{e}");
                    assert!(e.problem.contains("Asia/Shanghia") && e.problem.contains("IANA"), "{e}");
                }
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(projects::list(&mut db.conn()).expect("list").is_empty());
    // The upper limit is the same too: 20 approvals pass both ways.
    let mut settings = form("formshop");
    settings.approvals_required = 20;
    slipway::service::admin::create_project(&mut db.conn(), &settings).expect("20 approvals");
    settings.approvals_required = 21;
    assert!(slipway::service::admin::update_project(&mut db.conn(), "formshop", &settings).is_err());
    db.import(&GOOD.replace("required = 2", "required = 20"));
    let shop = projects::by_name(&mut db.conn(), "shop").expect("query").expect("shop");
    assert_eq!(shop.time_zone, "Asia/Shanghai");
    // Settings written for the old fixed offsets still pass, as the zone the migration picks.
    let mut settings = form("tzshop");
    settings.utc_offset_minutes = Some(480);
    slipway::service::admin::create_project(&mut db.conn(), &settings).expect("legacy offset");
    let tz = projects::by_name(&mut db.conn(), "tzshop")
        .expect("query")
        .expect("tzshop");
    assert_eq!(tz.time_zone, "Etc/GMT-8");
}

backend_tests!(
    every_entry_point_refuses_the_same_settings,
    refuses_a_password_in_the_svn_url,
    imports_a_good_file,
    reports_every_problem_with_its_line,
    reports_toml_syntax_errors_with_their_line,
    reports_bad_deploy_settings_with_their_line
);
