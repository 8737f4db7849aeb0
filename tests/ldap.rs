//! Directory sign-in (`[auth.ldap]`) against a real OpenLDAP `slapd` on
//! loopback (tests/common_ldap), over HTTP on SQLite and PostgreSQL: the
//! first sign-in creates the account without roles, name, email and admin
//! flag follow the directory, wrong passwords, unknown and hostile names
//! (`*)(uid=*`) sign nobody in, a user disabled in Slipway stays out, a
//! local account is never taken over by a directory entry of the same name,
//! an unreachable directory is a clear 503 while local accounts still
//! sign in, and StartTLS / ldaps:// check the certificate against `ca_file`.

mod common;
mod common_ldap;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{test, web, App};
use serde_json::json;
use slipway::config::LdapConfig;
use slipway::service::directory::Directory;
use slipway::store::users;
use slipway::web::{configure, session, AppState};

use common::net::free_port;
use common::TestDb;
use common_ldap::{Person, Slapd, ADMINS, PEOPLE, ROOT_DN, ROOT_PW};

const ALICE: Person<'static> = Person {
    uid: "alice",
    cn: "Alice Liddell",
    mail: "alice@example.com",
    password: "alice-directory-pw",
};
const BOB: Person<'static> = Person {
    uid: "bob",
    cn: "Bob Builder",
    mail: "bob@example.com",
    password: "bob-directory-pw",
};
const CAROL: Person<'static> = Person {
    uid: "carol",
    cn: "Carol Directory",
    mail: "carol@example.com",
    password: "carol-directory-pw",
};

fn directory(url: &str, admin_group: bool) -> Arc<Directory> {
    directory_with(url, admin_group, "")
}

/// A directory at `url`; `extra` adds TOML lines (TLS settings).
fn directory_with(url: &str, admin_group: bool, extra: &str) -> Arc<Directory> {
    let group = if admin_group { ADMINS } else { "" };
    let config: LdapConfig = toml::from_str(&format!(
        "{extra}\nurl = \"{url}\"\nbind_dn = \"{ROOT_DN}\"\nbind_password = \"{ROOT_PW}\"\nuser_base = \"{PEOPLE}\"\n\
         user_filter = \"(uid={{username}})\"\nadmin_group = \"{group}\"\ntimeout_secs = 3\n"
    ))
    .expect("ldap config");
    config.validate().expect("valid ldap config");
    Arc::new(Directory::new(&config).expect("directory"))
}

fn state(db: &TestDb, directory: Arc<Directory>) -> web::Data<AppState> {
    let mut state = AppState::new(db.pool.clone(), b"0123456789abcdef0123456789abcdef", 12, false).expect("state");
    state.directory = Some(directory);
    web::Data::new(state)
}

/// `POST /api/v1/auth/token` answers, in order, for each (user, password).
fn sign_ins(state: &web::Data<AppState>, tries: &[(&str, &str)]) -> Vec<StatusCode> {
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        let mut out = Vec::new();
        for (i, (user, password)) in tries.iter().enumerate() {
            let req = test::TestRequest::post()
                .uri("/api/v1/auth/token")
                .peer_addr(format!("192.0.2.{}:4000", i % 200 + 1).parse().expect("peer"))
                .set_json(json!({"username": user, "password": password}));
            out.push(test::call_service(&app, req.to_request()).await.status());
        }
        out
    })
}

fn user(db: &TestDb, name: &str) -> Option<slipway::store::models::UserRow> {
    users::by_username(&mut db.conn(), name).expect("query")
}

fn first_sign_in_creates_the_user_without_roles(db: &TestDb) {
    let slapd = Slapd::start(&[ALICE, BOB], &["alice"]);
    let state = state(db, directory(&slapd.url(), true));
    assert_eq!(user(db, "bob").map(|u| u.id), None);
    assert_eq!(sign_ins(&state, &[("bob", BOB.password)]), [StatusCode::OK]);
    let bob = user(db, "bob").expect("created");
    assert_eq!(
        (bob.display_name.as_str(), bob.email.as_str()),
        ("Bob Builder", "bob@example.com")
    );
    assert_eq!(bob.source, "ldap");
    assert!(!bob.is_admin && !bob.disabled);
    assert!(bob.password_hash.is_empty(), "no local password");
    let memberships: i64 = {
        use diesel::prelude::*;
        use slipway::store::schema::project_members;
        project_members::table
            .filter(project_members::user_id.eq(bob.id))
            .count()
            .get_result(&mut db.conn())
            .expect("count")
    };
    assert_eq!(memberships, 0, "no project roles until an admin grants them");
}

fn wrong_password_unknown_user_and_empty_password_are_refused(db: &TestDb) {
    let slapd = Slapd::start(&[ALICE, BOB], &[]);
    let state = state(db, directory(&slapd.url(), false));
    let answers = sign_ins(
        &state,
        &[
            ("bob", "not-bobs-password"),
            ("bob", ALICE.password),
            ("nobody", BOB.password),
            ("bob", ""),
        ],
    );
    assert_eq!(answers, [StatusCode::UNAUTHORIZED; 4]);
    assert!(
        user(db, "bob").is_none() && user(db, "nobody").is_none(),
        "nobody created"
    );
    // The service refuses an empty password itself (an LDAP bind with an
    // empty password is an anonymous bind, which succeeds).
    let dir = directory(&slapd.url(), false);
    let checked = actix_web::rt::System::new().block_on(async { dir.check("bob", "").await });
    assert_eq!(checked, Ok(None));
}

fn admin_group_and_directory_fields_follow_each_sign_in(db: &TestDb) {
    let slapd = Slapd::start(&[ALICE, BOB], &["alice"]);
    let state = state(db, directory(&slapd.url(), true));
    assert_eq!(
        sign_ins(&state, &[("alice", ALICE.password), ("bob", BOB.password)]),
        [StatusCode::OK; 2]
    );
    assert!(
        user(db, "alice").expect("alice").is_admin,
        "a member of the admin group"
    );
    assert!(!user(db, "bob").expect("bob").is_admin);

    // The directory changes: alice leaves the group, gets a new name and mail.
    slapd.modify(&format!(
        "dn: {ADMINS}\nchangetype: modify\ndelete: member\nmember: uid=alice,{PEOPLE}\n\n\
         dn: uid=alice,{PEOPLE}\nchangetype: modify\nreplace: cn\ncn: Alice Kingsleigh\n-\nreplace: mail\nmail: ak@example.com\n"
    ));
    assert_eq!(sign_ins(&state, &[("alice", ALICE.password)]), [StatusCode::OK]);
    let alice = user(db, "alice").expect("alice");
    assert!(!alice.is_admin, "left the admin group");
    assert_eq!(
        (alice.display_name.as_str(), alice.email.as_str()),
        ("Alice Kingsleigh", "ak@example.com")
    );
}

fn filter_injection_matches_no_one(db: &TestDb) {
    let slapd = Slapd::start(&[ALICE, BOB], &["alice"]);
    let state = state(db, directory(&slapd.url(), true));
    let hostile = ["*)(uid=*", "*", "bob)(|(uid=*", "al*", "bob\\", "*)(&"];
    let tries: Vec<(&str, &str)> = hostile
        .iter()
        .flat_map(|name| [(*name, BOB.password), (*name, ALICE.password)])
        .collect();
    assert_eq!(sign_ins(&state, &tries), vec![StatusCode::UNAUTHORIZED; tries.len()]);
    // The directory itself matches no one: `al*` unescaped would find alice,
    // whose password would then bind.
    let dir = directory(&slapd.url(), true);
    let found = actix_web::rt::System::new().block_on(async {
        let mut found = Vec::new();
        for (name, password) in &tries {
            found.push(dir.check(name, password).await);
        }
        found
    });
    assert!(found.iter().all(|f| *f == Ok(None)), "{found:?}");
    let created = users::list(&mut db.conn()).expect("users");
    assert!(
        created.is_empty(),
        "nobody created: {:?}",
        created.iter().map(|u| &u.username).collect::<Vec<_>>()
    );
}

fn a_user_disabled_in_slipway_stays_out(db: &TestDb) {
    let slapd = Slapd::start(&[BOB], &[]);
    let state = state(db, directory(&slapd.url(), false));
    assert_eq!(sign_ins(&state, &[("bob", BOB.password)]), [StatusCode::OK]);
    slipway::service::users::disable(&mut db.conn(), "bob").expect("disable");
    assert_eq!(sign_ins(&state, &[("bob", BOB.password)]), [StatusCode::UNAUTHORIZED]);
    assert!(
        user(db, "bob").expect("bob").disabled,
        "the directory does not re-enable"
    );
}

fn a_local_account_is_not_taken_over_by_the_directory(db: &TestDb) {
    db.user("carol", true); // local, password `password-1234`
    let slapd = Slapd::start(&[CAROL], &[]);
    let state = state(db, directory(&slapd.url(), false));
    assert_eq!(
        sign_ins(&state, &[("carol", CAROL.password), ("carol", "password-1234")]),
        [StatusCode::UNAUTHORIZED, StatusCode::OK]
    );
    let carol = user(db, "carol").expect("carol");
    assert_eq!((carol.source.as_str(), carol.is_admin), ("local", true));
}

fn unreachable_directory_is_a_clear_error_and_local_accounts_still_sign_in(db: &TestDb) {
    db.user("breakglass", true);
    let nothing_there = format!("ldap://127.0.0.1:{}", free_port());
    let state = state(db, directory(&nothing_there, true));
    assert_eq!(
        sign_ins(&state, &[("bob", BOB.password), ("breakglass", "password-1234")]),
        [StatusCode::SERVICE_UNAVAILABLE, StatusCode::OK]
    );
    // The sign-in page says so (503), in the user's language.
    let page = actix_web::rt::System::new().block_on(async {
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        let csrf = "0123456789abcdef0123456789abcdef";
        let req = test::TestRequest::post()
            .uri("/login")
            .cookie(actix_web::cookie::Cookie::new(session::CSRF_COOKIE, csrf))
            .cookie(actix_web::cookie::Cookie::new(session::LANG_COOKIE, "zh-CN"))
            .set_form([
                ("username", "bob"),
                ("password", BOB.password),
                ("csrf", csrf),
                ("next", "/"),
            ]);
        let res = test::call_service(&app, req.to_request()).await;
        (
            res.status(),
            String::from_utf8_lossy(&test::read_body(res).await).into_owned(),
        )
    });
    assert_eq!(page.0, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.1.contains("无法连接公司目录"), "{}", page.1);
}

/// StartTLS and ldaps:// with the directory's CA in `ca_file` sign in; a
/// certificate from an unknown CA is a 503, never a plain-text fallback.
fn tls_sign_in_checks_the_certificate(db: &TestDb) {
    let slapd = Slapd::start_tls(&[BOB], &[]);
    let (ldaps_port, ca) = slapd.tls.clone().expect("tls");
    let ca_line = format!("ca_file = \"{}\"", ca.display());
    let starttls = format!("starttls = true\n{ca_line}");
    let starttls_url = format!("ldap://localhost:{}", slapd.port);
    let ldaps_url = format!("ldaps://localhost:{ldaps_port}");
    for (url, extra) in [(&starttls_url, starttls.as_str()), (&ldaps_url, ca_line.as_str())] {
        let state = state(db, directory_with(url, false, extra));
        assert_eq!(sign_ins(&state, &[("bob", BOB.password)]), [StatusCode::OK], "{url}");
    }
    let untrusted = state(db, directory_with(&ldaps_url, false, ""));
    assert_eq!(
        sign_ins(&untrusted, &[("bob", BOB.password)]),
        [StatusCode::SERVICE_UNAVAILABLE]
    );
    let untrusted = state(db, directory_with(&starttls_url, false, "starttls = true"));
    assert_eq!(
        sign_ins(&untrusted, &[("bob", BOB.password)]),
        [StatusCode::SERVICE_UNAVAILABLE]
    );
}

backend_tests!(
    tls_sign_in_checks_the_certificate,
    first_sign_in_creates_the_user_without_roles,
    wrong_password_unknown_user_and_empty_password_are_refused,
    admin_group_and_directory_fields_follow_each_sign_in,
    filter_injection_matches_no_one,
    a_user_disabled_in_slipway_stays_out,
    a_local_account_is_not_taken_over_by_the_directory,
    unreachable_directory_is_a_clear_error_and_local_accounts_still_sign_in,
);
