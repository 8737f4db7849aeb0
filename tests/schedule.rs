//! Scheduled releases (issue 14) end to end on SQLite and PostgreSQL: a
//! real SVN repository, the real stage, release and `scheduled` jobs, the
//! cron entry that starts due schedules, and hosts that are local
//! directories. Schedule → time passes → cron tick → released; change and
//! cancel; a refusal at the time (freeze window, expired approval) fails
//! the schedule with the reason and mails the scheduler; a new instance on
//! the same database picks a schedule up; only releasers schedule.

mod common;
mod common_pipeline;
mod common_svn;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as Span, Utc};
use diesel::prelude::*;
use slipway::domain::{Action, Refusal};
use slipway::jobs::announce::{NotifyHandler, NotifySettings};
use slipway::jobs::cron::enqueue_due_schedules;
use slipway::jobs::release::{Release, Rollback};
use slipway::jobs::scheduled::Scheduled;
use slipway::jobs::worker::JobOutcome;
use slipway::jobs::{Registry, Waker, Worker, WorkerOptions};
use slipway::notify::mail::Mailer;
use slipway::service::schedules::{self, When};
use slipway::service::tickets::{self, ActionInput, ActorRef};
use slipway::service::ServiceError;
use slipway::store::{self, schedules as rows, tickets as ticket_rows, users, Backend, DbLocation, Pool, PoolOptions};

use common::TestDb;
use common_pipeline::{drain, Pipeline};

/// Project `shop` shipping to one local directory; `project_extra` goes
/// into its `[[project]]` table.
fn shop<'a>(db: &'a TestDb, project_extra: &str) -> (Pipeline<'a>, tempfile::TempDir) {
    let hosts = tempfile::tempdir().expect("temp dir");
    let web1 = hosts.path().join("web1");
    std::fs::create_dir_all(&web1).expect("host dir");
    let extra = format!(
        "host_groups = [\"web\"]\n{project_extra}\n\n[[host_group]]\nname = \"web\"\nhosts = [{{ name = \"web1\", target = \"{}\" }}]\n",
        web1.display()
    );
    (Pipeline::new(db, "shop", None, &extra), hosts)
}

fn uid(db: &TestDb, name: &str) -> i64 {
    users::by_username(&mut db.conn(), name)
        .expect("query")
        .expect("user")
        .id
}

fn act(p: &Pipeline<'_>, id: i64, action: Action, who: i64) {
    tickets::apply(
        &mut p.db.conn(),
        id,
        &ActionInput::new(action, ActorRef::User(who)),
        Utc::now(),
    )
    .unwrap_or_else(|e| panic!("{action}: {e}"));
}

/// Files, stages, tests and approves a ticket; returns its id.
fn approved(p: &Pipeline<'_>) -> i64 {
    let id = p.submit("shop", &[], None);
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    act(p, id, Action::MarkTested, p.tester);
    act(p, id, Action::Approve, uid(p.db, "shop-lead"));
    id
}

/// Schedules `id` as `who` `ahead` from now.
fn schedule_in(p: &Pipeline<'_>, id: i64, who: i64, ahead: Span) -> slipway::store::models::ScheduleRow {
    let at = Utc::now() + ahead;
    schedules::schedule(&mut p.db.conn(), id, who, &When::Instant(at), Utc::now()).expect("schedule")
}

/// Waits until `schedule`'s time has passed, then runs the cron entry.
fn tick_after(pool: &Pool, schedule: &slipway::store::models::ScheduleRow) -> usize {
    let wait = (schedule.run_at.and_utc() - Utc::now()).num_milliseconds() + 50;
    if wait > 0 {
        std::thread::sleep(Duration::from_millis(wait.unsigned_abs()));
    }
    enqueue_due_schedules(pool).expect("cron tick")
}

fn schedule_row(db: &TestDb, id: i64) -> slipway::store::models::ScheduleRow {
    rows::latest_for(&mut db.conn(), id).expect("query").expect("schedule")
}

fn scheduled_release_ships_after_its_time(db: &TestDb) {
    let (p, hosts) = shop(db, "");
    let id = approved(&p);
    let s = schedule_in(&p, id, p.dev, Span::milliseconds(1500));
    assert_eq!(s.state, "pending");
    // Before its time, the cron entry leaves it alone.
    assert_eq!(enqueue_due_schedules(&db.pool).expect("tick"), 0);
    assert_eq!(tick_after(&db.pool, &s), 1);
    // Ticking again starts nothing twice.
    assert_eq!(enqueue_due_schedules(&db.pool).expect("tick"), 0);
    let outcomes = drain(&p.worker(BTreeMap::new()));
    assert_eq!(outcomes, [JobOutcome::Done, JobOutcome::Done], "{}", p.log_text(id));
    let ticket = p.ticket(id);
    assert_eq!((ticket.state.as_str(), ticket.version), ("released", Some(1)));
    assert_eq!(
        std::fs::read_to_string(hosts.path().join("web1/current/index.html")).expect("shipped"),
        "<h1>shop v1</h1>\n"
    );
    assert_eq!(schedule_row(db, id).state, "done");
    // The release is the scheduler's, and says it was scheduled.
    let events = ticket_rows::events(&mut db.conn(), id).expect("events");
    let release = events.iter().find(|e| e.action == "release").expect("release event");
    assert_eq!(release.actor_id, Some(p.dev));
    assert!(
        release.note.as_deref().is_some_and(|n| n.contains("scheduled")),
        "{release:?}"
    );
    assert!(events.iter().any(|e| e.action == "schedule"));
}

fn change_and_cancel_until_it_starts(db: &TestDb) {
    let (p, _hosts) = shop(db, "");
    let id = approved(&p);
    let lead = uid(db, "shop-lead");
    let s = schedule_in(&p, id, p.dev, Span::hours(1));
    // A second schedule is refused: change that one.
    let twice = schedules::schedule(
        &mut db.conn(),
        id,
        lead,
        &When::Instant(Utc::now() + Span::hours(2)),
        Utc::now(),
    )
    .expect_err("scheduled already");
    assert_eq!(twice.code(), "error.already_scheduled");
    // A lead moves it (the release becomes no one else's: its maker stays).
    let later = Utc::now() + Span::hours(3);
    let moved = schedules::change(&mut db.conn(), id, lead, &When::Instant(later), Utc::now()).expect("change");
    assert_eq!(moved.id, s.id);
    assert_eq!(moved.run_at.and_utc().timestamp(), later.timestamp());
    // Into the past: refused with a clear error.
    let past = schedules::change(
        &mut db.conn(),
        id,
        lead,
        &When::Local("2020-01-01 06:00".into()),
        Utc::now(),
    )
    .expect_err("past");
    assert_eq!(past.code(), "input.schedule_in_past");
    assert!(past.to_string().contains("2020-01-01 06:00"), "{past}");
    // Not due: the cron entry starts nothing. Cancel it.
    assert_eq!(enqueue_due_schedules(&db.pool).expect("tick"), 0);
    schedules::cancel(&mut db.conn(), id, p.dev, Utc::now()).expect("cancel");
    assert_eq!(schedule_row(db, id).state, "cancelled");
    let again = schedules::cancel(&mut db.conn(), id, p.dev, Utc::now()).expect_err("nothing to cancel");
    assert_eq!(again.code(), "error.not_scheduled");
    let actions: Vec<String> = ticket_rows::events(&mut db.conn(), id)
        .expect("events")
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.contains("schedule"))
        .collect();
    assert_eq!(actions, ["schedule", "reschedule", "unschedule"]);
    // Scheduling anew after a cancel works; the ticket is still approved.
    schedule_in(&p, id, p.dev, Span::hours(1));
    assert_eq!(p.ticket(id).state, "approved");
    // Released by hand meanwhile: the waiting schedule is dropped.
    act(&p, id, Action::Release, p.dev);
    let dropped = schedule_row(db, id);
    assert_eq!(dropped.state, "cancelled");
    assert!(
        dropped.error.as_deref().is_some_and(|e| e.contains("by hand")),
        "{dropped:?}"
    );
}

fn only_releasers_schedule(db: &TestDb) {
    let (p, _hosts) = shop(db, "");
    let id = approved(&p);
    let outsider = db.user("outsider", false);
    let admin = db.user("root", true);
    let at = When::Instant(Utc::now() + Span::hours(1));
    // A tester, someone without a role, an admin without one.
    for who in [p.tester, outsider, admin] {
        let refused = schedules::schedule(&mut db.conn(), id, who, &at, Utc::now()).expect_err("not a releaser");
        assert!(
            matches!(refused, ServiceError::Refused(Refusal::NotPermitted { .. })),
            "{refused:?}"
        );
    }
    // Before approval nobody schedules.
    let early = p.submit("shop", &[], None);
    let refused = schedules::schedule(&mut db.conn(), early, p.dev, &at, Utc::now()).expect_err("not approved");
    assert!(
        matches!(refused, ServiceError::Refused(Refusal::WrongState { .. })),
        "{refused:?}"
    );
    assert!(rows::latest_for(&mut db.conn(), id).expect("query").is_none());
}

/// A worker with the release handlers and the mail handler writing `.eml`
/// files to `mail`, on `pool` (a fresh pool: another instance).
fn instance(pool: Pool, data: &std::path::Path, mail: &std::path::Path) -> Worker {
    let settings = NotifySettings {
        mailer: Mailer::Files(mail.to_owned()),
        from: "Slipway <slipway@example.com>".into(),
        public_url: "http://slipway.test".into(),
        link_key: jsonwebtoken::EncodingKey::from_secret(common::app::SIGNING_KEY),
        link_hours: 72,
        webhooks: slipway::notify::webhook::Client::new(None, Duration::from_secs(5)).expect("client"),
        tera: Arc::new(slipway::notify::templates::load().expect("email templates")),
        max_attempts: 2,
        park_delay: Duration::from_secs(600),
    };
    let registry = Registry::new()
        .with(Release)
        .with(Rollback)
        .with(Scheduled)
        .with(NotifyHandler { settings });
    let options = WorkerOptions {
        name: "second-instance".into(),
        concurrency: 1,
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(100),
        max_attempts: 2,
        retry_base: Duration::ZERO,
        retry_cap: Duration::ZERO,
        data_dir: data.to_owned(),
    };
    Worker::new(pool, registry, options, Waker::new())
}

fn reopen(db: &TestDb) -> Pool {
    let location = match db.backend {
        Backend::Sqlite => DbLocation::SqliteFile(db.url.clone().into()),
        Backend::Postgres => DbLocation::Postgres(db.url.clone()),
    };
    let options = PoolOptions {
        max_size: 4,
        connect_timeout: Duration::from_secs(30),
        busy_timeout: Duration::from_secs(30),
    };
    store::connect(&location, &options).expect("reopen the database")
}

fn set_email(db: &TestDb, id: i64) {
    use slipway::store::schema::users as u;
    diesel::update(u::table.find(id))
        .set(u::email.eq("dev@example.com"))
        .execute(&mut *db.conn())
        .expect("set email");
}

fn mails(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                // Unfold headers and quoted-printable soft breaks.
                .map(|m| m.replace("=\r\n", "").replace("\r\n ", " ").replace("\r\n\t", " "))
                .collect()
        })
        .unwrap_or_default()
}

fn a_refusal_at_the_time_fails_the_schedule_and_mails_the_scheduler(db: &TestDb) {
    // A freeze from in a second until tomorrow covers the scheduled time.
    let from = (Utc::now() + Span::seconds(1)).to_rfc3339();
    let to = (Utc::now() + Span::days(1)).to_rfc3339();
    let freeze = format!("[[project.freeze]]\nfrom = \"{from}\"\nto = \"{to}\"\nlabel = \"launch\"\n");
    let (p, _hosts) = shop(db, &freeze);
    set_email(db, p.dev);
    let id = approved(&p);
    let s = schedule_in(&p, id, p.dev, Span::milliseconds(1500));
    let mail = p.data.path().join("mail");
    let worker = instance(reopen(db), p.data.path(), &mail);
    assert_eq!(tick_after(&db.pool, &s), 1);
    let outcomes = drain(&worker);
    assert!(outcomes.iter().all(|o| *o == JobOutcome::Done), "{outcomes:?}");
    let failed = schedule_row(db, id);
    assert_eq!(failed.state, "failed");
    let reason = failed.error.unwrap_or_default();
    assert!(reason.contains("release is frozen"), "{reason}");
    // The stable code beside it: pages show the reason in the reader's language.
    assert_eq!(failed.error_code.as_deref(), Some("refusal.frozen"));
    assert_eq!(p.ticket(id).state, "approved", "nothing was released");
    let events = ticket_rows::events(&mut db.conn(), id).expect("events");
    let event = events
        .iter()
        .find(|e| e.action == "schedule-failed")
        .expect("failure event");
    assert!(event.note.as_deref().is_some_and(|n| n.contains("frozen")), "{event:?}");
    let sent = mails(&mail);
    assert!(
        sent.iter()
            .any(|m| m.contains("dev@example.com") && m.contains("did not start") && m.contains("frozen")),
        "{sent:?}"
    );
}

fn expired_approvals_fail_the_schedule(db: &TestDb) {
    let (p, _hosts) = shop(db, "[project.approval]\nexpiry_hours = 1\n");
    let id = approved(&p);
    let s = schedule_in(&p, id, p.dev, Span::milliseconds(1200));
    // The approval ages past its expiry before the time comes.
    {
        use slipway::store::schema::approvals as a;
        let old = (Utc::now() - Span::hours(2)).naive_utc();
        diesel::update(a::table.filter(a::ticket_id.eq(id)))
            .set(a::created_at.eq(old))
            .execute(&mut *db.conn())
            .expect("age the approval");
    }
    assert_eq!(tick_after(&db.pool, &s), 1);
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    let failed = schedule_row(db, id);
    assert_eq!(failed.state, "failed");
    assert!(
        failed.error.as_deref().is_some_and(|e| e.contains("expired")),
        "{failed:?}"
    );
}

fn a_new_instance_picks_the_schedule_up(db: &TestDb) {
    let (p, hosts) = shop(db, "");
    let id = approved(&p);
    let s = schedule_in(&p, id, p.dev, Span::milliseconds(1500));
    // "Restart": a new pool and worker on the same database run the cron
    // entry and the jobs; nothing of the first instance is used.
    let pool = reopen(db);
    let worker = instance(pool.clone(), p.data.path(), &p.data.path().join("mail"));
    assert_eq!(tick_after(&pool, &s), 1);
    let outcomes = drain(&worker);
    assert!(
        outcomes.len() >= 2 && outcomes.iter().all(|o| *o == JobOutcome::Done),
        "{outcomes:?}"
    );
    assert_eq!(p.ticket(id).state, "released", "{}", p.log_text(id));
    assert!(hosts.path().join("web1/current/index.html").exists());
    assert_eq!(schedule_row(db, id).state, "done");
}

backend_tests!(
    scheduled_release_ships_after_its_time,
    change_and_cancel_until_it_starts,
    only_releasers_schedule,
    a_refusal_at_the_time_fails_the_schedule_and_mails_the_scheduler,
    expired_approvals_fail_the_schedule,
    a_new_instance_picks_the_schedule_up,
);
