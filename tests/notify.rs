//! Notifications against real servers on loopback, on SQLite and PostgreSQL:
//! an SMTP server (Debian's python3-aiosmtpd saving to a maildir), the
//! `.eml` file mailer, a webhook receiver; one-click approval links through
//! the real app (invariant 8 of DESIGN.md); reminders; opt-outs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::{header, StatusCode};
use actix_web::{test, web, App};
use base64::Engine;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use jsonwebtoken::EncodingKey;
use sha2::Sha256;
use slipway::domain::Action;
use slipway::jobs::announce::{enqueue_reminders_at, NotifyHandler, NotifySettings, WebhookHandler};
use slipway::jobs::worker::JobOutcome;
use slipway::jobs::{Registry, Waker, Worker, WorkerOptions};
use slipway::notify::links::{self, LinkClaims};
use slipway::notify::mail::Mailer;
use slipway::notify::templates;
use slipway::service::tickets::{self, ActionInput, ActorRef, NewRelease, Snapshot};
use slipway::store::schema::users;
use slipway::store::{subscriptions, tickets as ticket_rows, tokens as token_rows};
use slipway::web::{configure, session, AppState};

use common::TestDb;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const PY: &str = "/usr/bin/python3";

/// POSTs a urlencoded form; (status, body).
macro_rules! post_form {
    ($app:expr, $path:expr, $form:expr) => {{
        let req = test::TestRequest::post()
            .uri($path)
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(String::from($form))
            .to_request();
        let res = test::call_service($app, req).await;
        let status = res.status();
        let body = test::read_body(res).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }};
}

/// POSTs the confirmation form of an approval link with `note`.
macro_rules! post_link {
    ($app:expr, $path:expr, $note:expr) => {{
        let path: &str = $path;
        let token = path.trim_start_matches("/approve/").to_owned();
        let note: String = String::from($note).replace(' ', "+");
        post_form!($app, path, format!("token={token}&note={note}"))
    }};
}

// ---------------------------------------------------------------- fixtures

/// (name, locale, admin)
const PEOPLE: [(&str, &str, bool); 8] = [
    ("dev", "en", false),
    ("tester", "zh-CN", false),
    ("lead1", "zh-CN", false),
    ("lead2", "en", false),
    ("lead3", "en", false),
    ("watcher", "zh-CN", false),
    ("admin", "en", true),
    ("quiet", "en", false),
];

struct Cast {
    ids: BTreeMap<String, i64>,
}

impl Cast {
    fn id(&self, name: &str) -> i64 {
        self.ids[name]
    }
    fn user(&self, name: &str) -> ActorRef {
        ActorRef::User(self.id(name))
    }
    fn name_of_address(&self, address: &str) -> String {
        address.split('@').next().unwrap_or_default().to_owned()
    }
}

fn setup(db: &TestDb, extra: &str) -> Cast {
    let mut ids = BTreeMap::new();
    for (name, locale, admin) in PEOPLE {
        let id = db.user(name, admin);
        diesel::update(users::table.find(id))
            .set((users::email.eq(format!("{name}@example.com")), users::locale.eq(locale)))
            .execute(&mut *db.conn())
            .expect("set email");
        ids.insert(name.to_owned(), id);
    }
    db.import(&format!(
        r#"
[[project]]
name = "shop"
svn_url = "file:///tmp/svn/shop/trunk"
staging_dir = "/tmp/staging/shop"
staging_url = "http://staging.shop.test/"
leads = ["lead1", "lead2", "lead3"]
developers = ["dev", "lead3"]
testers = ["tester", "quiet"]
watchers = ["watcher"]
{extra}
"#
    ));
    Cast { ids }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn submit(db: &TestDb, who: ActorRef) -> i64 {
    let paths = vec!["src/app.js".to_owned()];
    let input = NewRelease {
        project: "shop",
        reason: "fix the checkout",
        svn_paths: &paths,
        svn_revision: None,
    };
    tickets::submit(&mut db.conn(), who, &input, now())
        .expect("submit")
        .ticket
        .id
}

fn act(db: &TestDb, id: i64, action: Action, who: ActorRef, note: Option<&str>) {
    let mut input = ActionInput::new(action, who);
    input.note = note.map(str::to_owned);
    tickets::apply(&mut db.conn(), id, &input, now()).unwrap_or_else(|e| panic!("{action:?}: {e}"));
}

fn stage(db: &TestDb, id: i64) {
    let mut input = ActionInput::new(Action::StageSucceeded, ActorRef::System);
    input.snapshot = Some(Snapshot {
        revision: 42,
        commit: "c0ffee".into(),
        base_revision: None,
        outside_paths: Vec::new(),
    });
    tickets::apply(&mut db.conn(), id, &input, now()).expect("stage");
}

fn tested_ticket(db: &TestDb, cast: &Cast, by: &str) -> i64 {
    let id = submit(db, cast.user(by));
    stage(db, id);
    act(db, id, Action::MarkTested, cast.user("tester"), None);
    id
}

fn state_of(db: &TestDb, id: i64) -> (String, i32) {
    let t = ticket_rows::by_id(&mut db.conn(), id).expect("query").expect("ticket");
    (t.state, t.lock_version)
}

fn settings(mailer: Mailer) -> NotifySettings {
    NotifySettings {
        mailer,
        from: "Slipway <slipway@example.com>".into(),
        public_url: "http://slipway.test".into(),
        link_key: EncodingKey::from_secret(KEY),
        link_hours: 72,
        webhooks: slipway::notify::webhook::Client::new(None, Duration::from_secs(5)).expect("client"),
        tera: Arc::new(templates::load().expect("email templates")),
        max_attempts: 5,
        park_delay: Duration::from_secs(600),
    }
}

fn worker(db: &TestDb, mailer: Mailer, data_dir: &Path) -> Worker {
    worker_with(db, mailer, data_dir, 5)
}

fn worker_with(db: &TestDb, mailer: Mailer, data_dir: &Path, max_attempts: u32) -> Worker {
    let registry = Registry::new()
        .with(WebhookHandler {
            public_url: "http://slipway.test".into(),
            client: slipway::notify::webhook::Client::new(None, Duration::from_secs(5)).expect("client"),
        })
        .with(NotifyHandler {
            settings: NotifySettings {
                max_attempts,
                ..settings(mailer)
            },
        });
    let options = WorkerOptions {
        name: "test-worker".into(),
        concurrency: 1,
        lease: Duration::from_secs(60),
        poll_interval: Duration::from_secs(1),
        max_attempts,
        retry_base: Duration::from_secs(1),
        retry_cap: Duration::from_secs(1),
        data_dir: data_dir.to_owned(),
    };
    Worker::new(db.pool.clone(), registry, options, Waker::new())
}

/// Runs every runnable job; returns the outcomes.
fn drain(worker: &Worker) -> Vec<(i64, JobOutcome)> {
    let mut out = Vec::new();
    for _ in 0..500 {
        match worker.run_one().expect("claim") {
            Some(done) => out.push(done),
            None => break,
        }
    }
    out
}

// ---------------------------------------------------------------- mail parsing

/// A received message: recipient address, subject header, decoded text of every part.
#[derive(Debug, Clone)]
struct Mail {
    to: String,
    text: String,
}

fn decode_parts(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let mut out = String::new();
    for part in raw.split("\n--") {
        let Some((head, body)) = part.split_once("\n\n") else {
            continue;
        };
        let head_l = head.to_ascii_lowercase();
        if head_l.contains("content-transfer-encoding: base64") {
            let joined: String = body
                .lines()
                .take_while(|l| !l.starts_with("--"))
                .collect::<Vec<_>>()
                .concat();
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(joined.trim()) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        } else if head_l.contains("content-transfer-encoding: quoted-printable") {
            if let Ok(bytes) = quoted_printable::decode(body.as_bytes(), quoted_printable::ParseMode::Robust) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        } else if head_l.contains("content-type: text/") {
            out.push_str(body);
        }
        out.push('\n');
    }
    out
}

fn parse_mail(raw: &str) -> Mail {
    let to = raw
        .lines()
        .find_map(|l| l.strip_prefix("To: "))
        .map(|v| {
            let v = v.trim();
            match (v.find('<'), v.find('>')) {
                (Some(a), Some(b)) => v[a + 1..b].to_owned(),
                _ => v.to_owned(),
            }
        })
        .unwrap_or_default();
    Mail {
        to,
        text: decode_parts(raw),
    }
}

/// Messages in `dir` (a maildir's `new/` or the `.eml` directory) not seen yet.
fn new_mail(dir: &Path, seen: &mut BTreeSet<PathBuf>) -> Vec<Mail> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .filter(|p| seen.insert(p.clone()))
        .map(|p| parse_mail(&std::fs::read_to_string(&p).expect("read mail")))
        .collect()
}

/// Who got mail, with the language each got it in.
fn recipients(cast: &Cast, mails: &[Mail]) -> BTreeMap<String, &'static str> {
    mails
        .iter()
        .map(|m| {
            let lang = if m.text.contains("您好") { "zh-CN" } else { "en" };
            (cast.name_of_address(&m.to), lang)
        })
        .collect()
}

fn expect(pairs: &[(&str, &'static str)]) -> BTreeMap<String, &'static str> {
    pairs.iter().map(|(n, l)| ((*n).to_owned(), *l)).collect()
}

// ---------------------------------------------------------------- SMTP server

struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(port: u16, maildir: &Path) -> Self {
        let child = Command::new(PY)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd (apt-get install python3-aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer {
            child,
            port,
            maildir: maildir.to_owned(),
        }
    }

    fn new_dir(&self) -> PathBuf {
        self.maildir.join("new")
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

use common::net::free_port;

fn smtp_mailer(port: u16) -> Mailer {
    Mailer::plain_smtp("127.0.0.1", port, Duration::from_secs(5))
}

// ---------------------------------------------------------------- tests

fn each_notification_reaches_the_right_people_in_their_language(db: &TestDb) {
    let cast = setup(db, "");
    let dir = tempfile::tempdir().expect("temp dir");
    let server = SmtpServer::start(free_port(), &dir.path().join("maildir"));
    let worker = worker(db, smtp_mailer(server.port), dir.path());
    let seen = std::cell::RefCell::new(BTreeSet::new());
    let step = |expected: &[(&str, &'static str)], what: &str| -> Vec<Mail> {
        let outcomes = drain(&worker);
        assert!(
            outcomes.iter().all(|(_, o)| *o == JobOutcome::Done),
            "{what}: {outcomes:?}"
        );
        let mails = new_mail(&server.new_dir(), &mut seen.borrow_mut());
        assert_eq!(recipients(&cast, &mails), expect(expected), "{what}");
        assert_eq!(mails.len(), expected.len(), "{what}: one message each");
        mails
    };
    // The opt-out: `quiet` (a tester) turned "staged" mail off.
    subscriptions::set_pref(&mut db.conn(), cast.id("quiet"), "staged", false).expect("pref");

    let id = submit(db, cast.user("dev"));
    step(&[], "filing tells nobody");
    stage(db, id);
    let staged = step(&[("dev", "en"), ("tester", "zh-CN")], "staged");
    assert!(
        staged.iter().all(|m| m.text.contains("http://staging.shop.test/")),
        "staging URL"
    );

    act(db, id, Action::MarkTested, cast.user("tester"), None);
    let asked = step(
        &[("lead1", "zh-CN"), ("lead2", "en"), ("lead3", "en")],
        "approval requested",
    );
    for m in &asked {
        assert!(m.text.contains("http://slipway.test/approve/"), "links: {}", m.text);
        assert!(m.text.contains(&format!("#{id}")));
        assert!(m.text.contains("<a href="), "an HTML part");
        assert!(m.text.contains("fix the checkout"));
    }
    let zh = asked.iter().find(|m| m.to.starts_with("lead1")).expect("lead1");
    assert!(zh.text.contains("批准") && zh.text.contains("驳回"), "{}", zh.text);

    act(db, id, Action::Approve, cast.user("lead1"), None);
    let approved = step(&[("dev", "en")], "approved");
    assert!(
        approved[0].text.contains("approved your ticket"),
        "{}",
        approved[0].text
    );

    act(db, id, Action::Release, cast.user("dev"), None);
    step(&[], "releasing tells nobody");
    act(db, id, Action::ShipSucceeded, ActorRef::System, None);
    let released = step(
        &[("dev", "en"), ("lead1", "zh-CN"), ("watcher", "zh-CN")],
        "released: submitter, approver, watcher",
    );
    assert!(released.iter().any(|m| m.text.contains("已发布")));

    // Returned and rejected go to the submitter.
    let id2 = tested_ticket(db, &cast, "dev");
    drain(&worker);
    new_mail(&server.new_dir(), &mut seen.borrow_mut());
    act(db, id2, Action::Return, cast.user("lead2"), Some("needs a test"));
    let returned = step(&[("dev", "en")], "returned");
    assert!(returned[0].text.contains("needs a test"));
    let id3 = tested_ticket(db, &cast, "dev");
    drain(&worker);
    new_mail(&server.new_dir(), &mut seen.borrow_mut());
    act(db, id3, Action::Reject, cast.user("lead2"), Some("not now"));
    step(&[("dev", "en")], "rejected");
}

fn the_file_mailer_and_a_link_that_works_once(db: &TestDb) {
    let cast = setup(db, "");
    let dir = tempfile::tempdir().expect("temp dir");
    let mail_dir = dir.path().join("mail");
    let worker = worker(db, Mailer::Files(mail_dir.clone()), dir.path());
    let id = tested_ticket(db, &cast, "dev");
    drain(&worker);
    let mails = new_mail(&mail_dir, &mut BTreeSet::new());
    let to_lead2 = mails
        .iter()
        .find(|m| m.to == "lead2@example.com" && m.text.contains("/approve/"))
        .expect("lead2's approval request is an .eml file");
    let approve = link(&to_lead2.text, "Approve: ");
    let state = app_state(db);
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        // GET shows a confirmation page and changes nothing.
        let before = state_of(db, id);
        for _ in 0..3 {
            let res = test::call_service(&app, test::TestRequest::get().uri(&approve).to_request()).await;
            assert_eq!(res.status(), StatusCode::OK);
            let body = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
            assert!(body.contains("id=\"link-form\""), "{body}");
            assert!(body.contains("lead2"), "names the approver");
            // Approve takes a second tap: the confirm button sits in a closed step.
            let step = body
                .find("<details class=\"confirm-step\" id=\"link-step\">")
                .expect("a confirm step");
            assert!(body[step..].contains("id=\"link-confirm\""), "{body}");
            assert!(
                body.contains(&format!("href=\"/tickets/{id}\" id=\"link-ticket\"")),
                "links to the ticket"
            );
        }
        assert_eq!(state_of(db, id), before, "GET changes nothing");
        // The POST from the page approves, as lead2, without a session.
        let (status, body) = post_link!(&app, &approve, "");
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("id=\"link-done\""), "{body}");
        assert_eq!(state_of(db, id).0, "approved");
        let approvals = ticket_rows::approvals(&mut db.conn(), id).expect("approvals");
        assert_eq!(
            approvals.iter().map(|a| a.user_id).collect::<Vec<_>>(),
            [cast.id("lead2")]
        );
        // Second use is refused, and changes nothing.
        let after = state_of(db, id);
        let (status, body) = post_link!(&app, &approve, "");
        assert_eq!(status, StatusCode::GONE, "{body}");
        assert!(body.contains("data-reason=\"used\""), "{body}");
        let res = test::call_service(&app, test::TestRequest::get().uri(&approve).to_request()).await;
        assert_eq!(res.status(), StatusCode::GONE);
        assert_eq!(state_of(db, id), after);
        // A form whose token differs from the URL's is refused.
        let (status, _) = post_form!(&app, &approve, "token=forged&note=");
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // An approval token is no API bearer token.
        let token = approve.trim_start_matches("/approve/");
        let res = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/api/v1/tickets")
                .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    });
}

fn expired_stale_foreign_and_self_approval_links_are_refused(db: &TestDb) {
    let cast = setup(db, "");
    let state = app_state(db);
    let key = EncodingKey::from_secret(KEY);
    let sign = |claims: &LinkClaims| format!("/approve/{}", links::sign(&key, claims).expect("sign"));
    let id = tested_ticket(db, &cast, "dev");
    let t = ticket_rows::by_id(&mut db.conn(), id).expect("query").expect("ticket");
    let at = links::unix_now();
    let claims = |who: &str, action: &str, issued: u64| {
        LinkClaims::new(
            id,
            cast.id(who),
            action,
            &t.state,
            t.stage_generation,
            t.lock_version,
            issued,
            72,
        )
    };
    let expired = sign(&claims("lead1", "approve", at - 73 * 3600));
    let replayed = sign(&claims("lead2", "approve", at));
    let reject = sign(&claims("lead1", "reject", at));
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        let before = state_of(db, id);
        let (status, body) = post_link!(&app, &expired, "");
        assert_eq!(status, StatusCode::GONE);
        assert!(body.contains("data-reason=\"expired\""), "{body}");
        let res = test::call_service(&app, test::TestRequest::get().uri(&expired).to_request()).await;
        assert_eq!(res.status(), StatusCode::GONE);
        // Opened while signed in as someone else.
        let session = session::issue(&state, cast.id("lead3"), "session").expect("session").0;
        let req = test::TestRequest::post()
            .uri(&replayed)
            .cookie(actix_web::cookie::Cookie::new(session::SESSION_COOKIE, session))
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(format!("token={}&note=", replayed.trim_start_matches("/approve/")))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(state_of(db, id), before, "refused links change nothing");
        // Reject asks for the reason: without one the service refuses.
        let (status, body) = post_link!(&app, &reject, "");
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(state_of(db, id), before);
        // The ticket is returned, staged again and tested again: the old link is stale.
        act(db, id, Action::Return, cast.user("tester"), Some("one more fix"));
        act(db, id, Action::Resubmit, cast.user("dev"), None);
        stage(db, id);
        act(db, id, Action::MarkTested, cast.user("tester"), None);
        assert_eq!(state_of(db, id).0, "tested", "same state as when the link was sent");
        let before = state_of(db, id);
        let (status, body) = post_link!(&app, &replayed, "");
        assert_eq!(status, StatusCode::GONE);
        assert!(body.contains("data-reason=\"stale\""), "{body}");
        assert_eq!(state_of(db, id), before);
        // A lead cannot approve their own ticket by link (even a validly signed one).
        let own = tested_ticket(db, &cast, "lead3");
        let o = ticket_rows::by_id(&mut db.conn(), own).expect("query").expect("ticket");
        let self_link = sign(&LinkClaims::new(
            own,
            cast.id("lead3"),
            "approve",
            &o.state,
            o.stage_generation,
            o.lock_version,
            at,
            72,
        ));
        let before = state_of(db, own);
        let (status, body) = post_link!(&app, &self_link, "");
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(body.contains("data-reason=\"refused\""), "{body}");
        assert_eq!(state_of(db, own), before);
        assert!(ticket_rows::approvals(&mut db.conn(), own)
            .expect("approvals")
            .is_empty());
        // The rejection with a reason works.
        let fresh = ticket_rows::by_id(&mut db.conn(), id).expect("query").expect("ticket");
        let reject = sign(&LinkClaims::new(
            id,
            cast.id("lead1"),
            "reject",
            &fresh.state,
            fresh.stage_generation,
            fresh.lock_version,
            at,
            72,
        ));
        let (status, body) = post_link!(&app, &reject, "too risky");
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(state_of(db, id).0, "rejected");
    });
}

fn smtp_down_during_a_transition_then_delivered(db: &TestDb) {
    let cast = setup(db, "");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let worker = worker(db, smtp_mailer(port), dir.path());
    // No server: the transition still succeeds.
    let id = submit(db, cast.user("dev"));
    stage(db, id);
    assert_eq!(state_of(db, id).0, "staged");
    let outcomes = drain(&worker);
    let retrying = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, JobOutcome::Retrying(_)))
        .count();
    assert_eq!(retrying, 3, "the three messages wait for the server: {outcomes:?}");
    let server = SmtpServer::start(port, &dir.path().join("maildir"));
    std::thread::sleep(Duration::from_millis(1100));
    let outcomes = drain(&worker);
    assert!(outcomes.iter().all(|(_, o)| *o == JobOutcome::Done), "{outcomes:?}");
    let mails = new_mail(&server.new_dir(), &mut BTreeSet::new());
    assert_eq!(
        recipients(&cast, &mails),
        expect(&[("dev", "en"), ("quiet", "en"), ("tester", "zh-CN")])
    );
}

fn a_long_smtp_outage_parks_mail_instead_of_dropping_it(db: &TestDb) {
    let cast = setup(db, "");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let worker = worker_with(db, smtp_mailer(port), dir.path(), 1);
    let id = submit(db, cast.user("dev"));
    stage(db, id);
    let outcomes = drain(&worker);
    assert!(
        outcomes.iter().all(|(_, o)| *o == JobOutcome::Done),
        "parked, not failed: {outcomes:?}"
    );
    let parked: i64 = {
        use slipway::store::schema::jobs;
        jobs::table
            .filter(jobs::kind.eq("notify"))
            .filter(jobs::state.eq("queued"))
            .count()
            .get_result(&mut *db.conn())
            .expect("count")
    };
    assert_eq!(parked, 3, "one parked message per recipient");
    // The server comes back; the parked messages fall due.
    let server = SmtpServer::start(port, &dir.path().join("maildir"));
    {
        use slipway::store::schema::jobs;
        diesel::update(jobs::table.filter(jobs::state.eq("queued")))
            .set(jobs::run_after.eq(chrono::Utc::now().naive_utc() - chrono::TimeDelta::seconds(1)))
            .execute(&mut *db.conn())
            .expect("due now");
    }
    let outcomes = drain(&worker);
    assert!(outcomes.iter().all(|(_, o)| *o == JobOutcome::Done), "{outcomes:?}");
    let mails = new_mail(&server.new_dir(), &mut BTreeSet::new());
    assert_eq!(
        recipients(&cast, &mails),
        expect(&[("dev", "en"), ("quiet", "en"), ("tester", "zh-CN")])
    );
}

/// A received request: lower-case headers and the body.
type Received = (BTreeMap<String, String>, Vec<u8>);

/// A webhook receiver: answers each request with the next status (then 200).
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

fn receiver(statuses: Vec<u16>) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let mut reader = BufReader::new(stream);
            let mut headers = BTreeMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).ok();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).ok();
            sink.lock().expect("lock").push((headers, body));
            let status = statuses.next().unwrap_or(200);
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    Receiver { port, got }
}

fn webhooks_are_signed_and_retried_after_a_500(db: &TestDb) {
    let hook = receiver(vec![500]);
    let slack = receiver(vec![]);
    let cast = setup(
        db,
        &format!(
            r#"webhooks = [
  {{ url = "http://127.0.0.1:{}/hook", secret = "s3cret" }},
  {{ url = "http://127.0.0.1:{}/slack", preset = "slack" }},
]"#,
            hook.port, slack.port
        ),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let worker = worker(db, Mailer::Files(dir.path().join("mail")), dir.path());
    let id = submit(db, cast.user("dev"));
    let outcomes = drain(&worker);
    assert_eq!(
        outcomes
            .iter()
            .filter(|(_, o)| matches!(o, JobOutcome::Retrying(e) if e.contains("500")))
            .count(),
        1,
        "{outcomes:?}"
    );
    std::thread::sleep(Duration::from_millis(1100));
    let outcomes = drain(&worker);
    assert_eq!(outcomes.len(), 1, "only the failed post is retried: {outcomes:?}");
    assert_eq!(outcomes[0].1, JobOutcome::Done);
    let got = hook.got.lock().expect("lock").clone();
    assert_eq!(got.len(), 2, "posted, 500, posted again");
    assert_eq!(got[0].1, got[1].1, "the retry sends the same event");
    for (headers, body) in &got {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"s3cret").expect("key");
        mac.update(body);
        let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(headers.get("x-slipway-signature"), Some(&format!("sha256={expected}")));
        assert_eq!(
            headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
    }
    let event: serde_json::Value = serde_json::from_slice(&got[0].1).expect("JSON");
    assert_eq!(event["ticket"]["id"], id);
    assert_eq!(event["to"], "submitted");
    assert_eq!(event["actor"], "dev");
    assert_eq!(event["ticket"]["project"], "shop");
    let slack_got = slack.got.lock().expect("lock").clone();
    assert_eq!(slack_got.len(), 1);
    assert!(
        !slack_got[0].0.contains_key("x-slipway-signature"),
        "no secret, no signature"
    );
    let text: serde_json::Value = serde_json::from_slice(&slack_got[0].1).expect("JSON");
    assert!(
        text["text"].as_str().is_some_and(|t| t.contains(&format!("#{id}"))),
        "{text}"
    );
}

fn reminders_go_to_approvers_then_admins_once(db: &TestDb) {
    let cast = setup(db, "reminder_hours = 2");
    let dir = tempfile::tempdir().expect("temp dir");
    let mail_dir = dir.path().join("mail");
    let worker = worker(db, Mailer::Files(mail_dir.clone()), dir.path());
    let id = tested_ticket(db, &cast, "dev");
    drain(&worker);
    let mut seen = BTreeSet::new();
    new_mail(&mail_dir, &mut seen);
    let t0 = chrono::Utc::now().naive_utc();
    let hours = |h: i64| t0 + chrono::TimeDelta::hours(h);
    assert_eq!(enqueue_reminders_at(&db.pool, hours(1)).expect("scan"), 0, "not yet");
    assert_eq!(enqueue_reminders_at(&db.pool, hours(3)).expect("scan"), 1);
    assert_eq!(
        enqueue_reminders_at(&db.pool, hours(3)).expect("scan"),
        0,
        "once per level"
    );
    drain(&worker);
    let first = new_mail(&mail_dir, &mut seen);
    assert_eq!(
        recipients(&cast, &first),
        expect(&[("lead1", "zh-CN"), ("lead2", "en"), ("lead3", "en")])
    );
    assert!(
        first.iter().all(|m| m.text.contains("/approve/")),
        "reminders carry the links"
    );
    assert_eq!(enqueue_reminders_at(&db.pool, hours(5)).expect("scan"), 1);
    drain(&worker);
    let second = new_mail(&mail_dir, &mut seen);
    assert_eq!(
        recipients(&cast, &second),
        expect(&[("admin", "en"), ("lead1", "zh-CN"), ("lead2", "en"), ("lead3", "en")])
    );
    assert_eq!(enqueue_reminders_at(&db.pool, hours(50)).expect("scan"), 0);
    // Once approved, nothing more.
    act(db, id, Action::Approve, cast.user("lead1"), None);
    assert_eq!(enqueue_reminders_at(&db.pool, hours(100)).expect("scan"), 0);
}

fn the_profile_page_turns_kinds_off(db: &TestDb) {
    let cast = setup(db, "");
    let state = app_state(db);
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        let session = session::issue(&state, cast.id("tester"), "session").expect("session").0;
        let csrf = "0123456789abcdef0123456789abcdef";
        let cookies = |req: test::TestRequest| {
            req.cookie(actix_web::cookie::Cookie::new(session::SESSION_COOKIE, session.clone()))
                .cookie(actix_web::cookie::Cookie::new(session::CSRF_COOKIE, csrf))
        };
        let res = test::call_service(
            &app,
            cookies(test::TestRequest::get().uri("/profile/notifications")).to_request(),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
        assert!(body.contains("id=\"pref-staged\" checked"), "all on by default");
        assert!(body.contains("Email notifications"), "{body}");
        // Without the CSRF token: refused.
        let req = cookies(test::TestRequest::post().uri("/profile/notifications"))
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload("on=released")
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), StatusCode::FORBIDDEN);
        let req = cookies(test::TestRequest::post().uri("/profile/notifications"))
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(format!("csrf={csrf}&on=released&on=approval_requested"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
    });
    let off = subscriptions::disabled_kinds(&mut db.conn(), cast.id("tester")).expect("prefs");
    assert!(
        off.contains(&"staged".to_owned()) && !off.contains(&"released".to_owned()),
        "{off:?}"
    );
    // And the staged mail is no longer sent to the tester.
    let dir = tempfile::tempdir().expect("temp dir");
    let worker = worker(db, Mailer::Files(dir.path().join("mail")), dir.path());
    let id = submit(db, cast.user("dev"));
    stage(db, id);
    drain(&worker);
    let mails = new_mail(&dir.path().join("mail"), &mut BTreeSet::new());
    assert_eq!(recipients(&cast, &mails), expect(&[("dev", "en"), ("quiet", "en")]));
}

fn with_two_approvals_the_first_one_mails_nobody_and_the_second_link_works(db: &TestDb) {
    let cast = setup(db, "[project.approval]\nrequired = 2");
    let dir = tempfile::tempdir().expect("temp dir");
    let mail_dir = dir.path().join("mail");
    let worker = worker(db, Mailer::Files(mail_dir.clone()), dir.path());
    let id = tested_ticket(db, &cast, "dev");
    drain(&worker);
    let mut seen = BTreeSet::new();
    let asked = new_mail(&mail_dir, &mut seen);
    let to_lead2 = asked
        .iter()
        .find(|m| m.to == "lead2@example.com" && m.text.contains("/approve/"))
        .expect("lead2 asked");
    let approve = link(&to_lead2.text, "Approve: ");
    act(db, id, Action::Approve, cast.user("lead1"), None);
    assert_eq!(state_of(db, id).0, "tested", "one of two approvals");
    drain(&worker);
    assert!(
        new_mail(&mail_dir, &mut seen).is_empty(),
        "no mail for a change without a state change"
    );
    let state = app_state(db);
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        let (status, body) = post_link!(&app, &approve, "");
        assert_eq!(status, StatusCode::OK, "{body}");
    });
    assert_eq!(state_of(db, id).0, "approved");
}

fn import_checks_watchers_webhooks_and_reminders(db: &TestDb) {
    db.user("lead", false);
    let bad = r#"
[[project]]
name = "shop"
svn_url = "file:///tmp/svn/shop/trunk"
staging_dir = "/tmp/staging/shop"
watchers = ["nobody"]
reminder_hours = 0
webhooks = [
  { url = "ftp://x/", preset = "json" },
  { url = "http://127.0.0.1:9/", preset = "teams" },
]
"#;
    let error = slipway::service::import::import(&mut db.conn(), bad).expect_err("refused");
    let text = error.to_string();
    for needle in [
        "line 9, column 11: webhook url",
        "line 10, column 43: webhook preset",
        "line 7, column 18: reminder_hours",
    ] {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }
    let unknown = bad
        .replace("reminder_hours = 0", "reminder_hours = 1")
        .replace("ftp://x/", "http://127.0.0.1:9/")
        .replace("teams", "wecom");
    let error = slipway::service::import::import(&mut db.conn(), &unknown).expect_err("refused");
    assert!(
        error.to_string().contains("line 6, column 13: no user `nobody`"),
        "{error}"
    );
    assert!(slipway::store::projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .is_none());
    let good = unknown.replace("nobody", "lead");
    db.import(&good);
    let project = slipway::store::projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("imported");
    let hooks = subscriptions::webhooks(&mut db.conn(), project.id).expect("hooks");
    assert_eq!(
        hooks.iter().map(|h| h.preset.as_str()).collect::<Vec<_>>(),
        ["json", "wecom"]
    );
    assert_eq!(
        subscriptions::reminder_minutes(&mut db.conn(), project.id).expect("minutes"),
        60
    );
    assert_eq!(
        subscriptions::watchers(&mut db.conn(), project.id)
            .expect("watchers")
            .len(),
        1
    );
}

/// Using a link and applying its action are one transaction: a refused
/// action leaves the link unused (so it can be used again once the cause is
/// fixed), and a link recorded as used by a concurrent request acts no more.
fn a_refused_link_action_leaves_the_token_unused(db: &TestDb) {
    use slipway::service::approval_links::{use_link, LinkVerdict};
    let cast = setup(db, "");
    let id = tested_ticket(db, &cast, "dev");
    let t = ticket_rows::by_id(&mut db.conn(), id).expect("query").expect("ticket");
    let reject = LinkClaims::new(
        id,
        cast.id("lead1"),
        "reject",
        &t.state,
        t.stage_generation,
        t.lock_version,
        links::unix_now(),
        72,
    );
    let visibility = slipway::service::Visibility::default();
    let now = chrono::Utc::now();
    // A rejection needs a reason: the service refuses, and the link stays unused.
    let refused = use_link(&mut db.conn(), &reject, None, visibility, None, now);
    assert!(refused.is_err(), "{refused:?}");
    assert!(!token_rows::token_used(&mut db.conn(), &reject.jti).expect("query"));
    assert_eq!(state_of(db, id).0, "tested");
    // With a reason the same link works, once.
    let done = use_link(&mut db.conn(), &reject, None, visibility, Some("too risky".into()), now).expect("use");
    assert!(matches!(done, LinkVerdict::Usable(_)), "{done:?}");
    assert!(token_rows::token_used(&mut db.conn(), &reject.jti).expect("query"));
    assert_eq!(state_of(db, id).0, "rejected");
    // A link whose id a concurrent request already recorded does not act.
    let other = tested_ticket(db, &cast, "dev");
    let o = ticket_rows::by_id(&mut db.conn(), other)
        .expect("query")
        .expect("ticket");
    let approve = LinkClaims::new(
        other,
        cast.id("lead1"),
        "approve",
        &o.state,
        o.stage_generation,
        o.lock_version,
        links::unix_now(),
        72,
    );
    let before = state_of(db, other);
    assert!(token_rows::use_token(
        &mut db.conn(),
        &approve.jti,
        other,
        cast.id("lead1"),
        slipway::store::timestamp_now()
    )
    .expect("record"));
    let used = use_link(&mut db.conn(), &approve, None, visibility, None, now).expect("use");
    assert!(matches!(used, LinkVerdict::Refused("used", _)), "{used:?}");
    assert_eq!(state_of(db, other), before);
}

// ---------------------------------------------------------------- helpers (HTTP)

fn app_state(db: &TestDb) -> web::Data<AppState> {
    web::Data::new(AppState::new(db.pool.clone(), KEY, 12, false).expect("state"))
}

/// The path of the link after `label` in a mail's text.
fn link(text: &str, label: &str) -> String {
    let start = text.find(label).expect("link label") + label.len();
    let url: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    url.trim_start_matches("http://slipway.test").to_owned()
}

backend_tests!(
    each_notification_reaches_the_right_people_in_their_language,
    the_file_mailer_and_a_link_that_works_once,
    expired_stale_foreign_and_self_approval_links_are_refused,
    a_refused_link_action_leaves_the_token_unused,
    smtp_down_during_a_transition_then_delivered,
    webhooks_are_signed_and_retried_after_a_500,
    reminders_go_to_approvers_then_admins_once,
    the_profile_page_turns_kinds_off,
    import_checks_watchers_webhooks_and_reminders,
    with_two_approvals_the_first_one_mails_nobody_and_the_second_link_works,
    a_long_smtp_outage_parks_mail_instead_of_dropping_it,
);

// ---------------------------------------------------------------- TLS (no database)

/// A CA and a `localhost` certificate it signed, made with the openssl CLI.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Slipway test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

fn tls_server(port: u16, maildir: &Path, flag_cert: &str, flag_key: &str, cert: &Path, key: &Path) -> SmtpServer {
    let child = Command::new(PY)
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .arg(flag_cert)
        .arg(cert)
        .arg(flag_key)
        .arg(key)
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    SmtpServer {
        child,
        port,
        maildir: maildir.to_owned(),
    }
}

fn a_message() -> lettre::Message {
    let rendered = templates::Rendered {
        subject: "TLS check".into(),
        text: "hello".into(),
        html: "<p>hello</p>".into(),
    };
    slipway::notify::mail::build("Slipway <slipway@example.com>", "Ann", "ann@example.com", &rendered).expect("build")
}

#[std::prelude::v1::test]
fn starttls_and_smtps_with_a_private_ca() {
    use slipway::config::SmtpSecurity;
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, cert, key) = certificates(dir.path());
    let timeout = Duration::from_secs(10);
    // STARTTLS (aiosmtpd requires it before MAIL by default).
    let server = tls_server(
        free_port(),
        &dir.path().join("md1"),
        "--tlscert",
        "--tlskey",
        &cert,
        &key,
    );
    let plain = Mailer::plain_smtp("127.0.0.1", server.port, timeout);
    assert!(plain.send(&a_message()).is_err(), "the server insists on STARTTLS");
    let untrusted = Mailer::smtp("localhost", server.port, SmtpSecurity::Starttls, None, timeout).expect("mailer");
    assert!(untrusted.send(&a_message()).is_err(), "an unknown CA is refused");
    let starttls = Mailer::smtp("localhost", server.port, SmtpSecurity::Starttls, Some(&ca), timeout).expect("mailer");
    starttls.send(&a_message()).expect("sent over STARTTLS");
    assert_eq!(new_mail(&server.new_dir(), &mut BTreeSet::new()).len(), 1);
    // TLS from the start (SMTPS).
    let server = tls_server(
        free_port(),
        &dir.path().join("md2"),
        "--smtpscert",
        "--smtpskey",
        &cert,
        &key,
    );
    let smtps = Mailer::smtp("localhost", server.port, SmtpSecurity::Tls, Some(&ca), timeout).expect("mailer");
    smtps.send(&a_message()).expect("sent over TLS");
    assert_eq!(new_mail(&server.new_dir(), &mut BTreeSet::new()).len(), 1);
}

/// An https webhook receiver for one request (answers 200).
fn https_receiver(cert: &Path, key: &Path) -> (u16, std::thread::JoinHandle<Received>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .expect("cert")
        .collect::<Result<Vec<_>, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(key).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        let conn = rustls::ServerConnection::new(Arc::new(config)).expect("server connection");
        let mut reader = BufReader::new(rustls::StreamOwned::new(conn, tcp));
        let mut headers = BTreeMap::new();
        let mut line = String::new();
        reader.read_line(&mut line).expect("request line");
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).expect("body");
        let mut stream = reader.into_inner();
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = stream.flush();
        stream.conn.send_close_notify();
        let _ = stream.flush();
        (headers, body)
    });
    (port, handle)
}

#[std::prelude::v1::test]
fn https_webhooks_check_the_certificate() {
    use slipway::notify::webhook::{Client, PostError};
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, cert, key) = certificates(dir.path());
    let timeout = Duration::from_secs(10);
    let (port, handle) = https_receiver(&cert, &key);
    let untrusted = Client::new(None, timeout).expect("client");
    let url = format!("https://localhost:{port}/hook");
    assert!(
        matches!(untrusted.post(&url, "k", b"{}"), Err(PostError::Transient(_))),
        "an unknown CA is refused"
    );
    drop(handle);
    let (port, handle) = https_receiver(&cert, &key);
    let client = Client::new(Some(&ca), timeout).expect("client");
    let url = format!("https://localhost:{port}/hook");
    assert_eq!(client.post(&url, "k", br#"{"a":1}"#), Ok(200));
    let (headers, body) = handle.join().expect("receiver");
    assert_eq!(body, br#"{"a":1}"#);
    assert_eq!(
        headers.get("x-slipway-signature").map(String::as_str),
        Some(slipway::notify::webhook::signature("k", br#"{"a":1}"#).as_str())
    );
    assert_eq!(
        headers.get("host").map(String::as_str),
        Some(format!("localhost:{port}").as_str())
    );
}
