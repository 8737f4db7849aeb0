//! The service layer on both backends: filing tickets, every transition of
//! the release and rollback flows, the approval policy, freeze windows,
//! invariants 1–4 of DESIGN.md as far as the data model goes, and races.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::RunQueryDsl;
use slipway::domain::{Action, Refusal};
use slipway::service::tickets::{self, ActionInput, ActorRef, Applied, NewRelease, Snapshot};
use slipway::service::{ErrorKind, ServiceError, ServiceResult};
use slipway::store::{jobs, projects, tickets as ticket_rows};

use common::TestDb;

/// A Wednesday noon, outside the fixture's weekend freeze.
fn weekday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid time")
}

/// A Saturday noon, inside the fixture's weekend freeze.
fn saturday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
        .single()
        .expect("valid time")
}

struct Cast {
    ids: BTreeMap<&'static str, i64>,
}

impl Cast {
    fn id(&self, name: &str) -> i64 {
        self.ids[name]
    }
    fn user(&self, name: &str) -> ActorRef {
        ActorRef::User(self.id(name))
    }
}

/// Users and project `shop` (approvals per `required`, weekend freeze).
fn setup(db: &TestDb, required: u32, tested_by_may_approve: bool) -> Cast {
    let mut ids = BTreeMap::new();
    for name in ["dev", "dev2", "tester", "lead1", "lead2", "lead3", "admin", "outsider"] {
        ids.insert(name, db.user(name, name == "admin"));
    }
    db.import(&format!(
        r#"
[[host_group]]
name = "web"
hosts = [{{ name = "web1", target = "/srv/web1" }}]

[[project]]
name = "shop"
svn_url = "file:///tmp/svn/shop/trunk"
staging_dir = "/tmp/staging/shop"
host_groups = ["web"]
leads = ["lead1", "lead2", "lead3"]
developers = ["dev", "dev2", "lead3"]
testers = ["tester"]

[project.approval]
required = {required}
tested_by_may_approve = {tested_by_may_approve}

[[project.freeze]]
weekly = {{ from = "Sat 00:00", to = "Mon 00:00" }}
label = "weekend"
"#
    ));
    Cast { ids }
}

fn submit(db: &TestDb, who: ActorRef) -> ServiceResult<Applied> {
    let paths = vec!["src/app.js".to_owned()];
    let input = NewRelease {
        project: "shop",
        reason: "fix the login page",
        svn_paths: &paths,
        svn_revision: None,
    };
    tickets::submit(&mut db.conn(), who, &input, weekday())
}

fn act_at(
    db: &TestDb,
    id: i64,
    action: Action,
    who: ActorRef,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> ServiceResult<Applied> {
    let mut input = ActionInput::new(action, who);
    input.note = note.map(str::to_owned);
    tickets::apply(&mut db.conn(), id, &input, now)
}

fn act(db: &TestDb, id: i64, action: Action, who: ActorRef) -> ServiceResult<Applied> {
    act_at(db, id, action, who, None, weekday())
}

fn stage(db: &TestDb, id: i64, commit: &str) -> Applied {
    let mut input = ActionInput::new(Action::StageSucceeded, ActorRef::System);
    input.snapshot = Some(Snapshot {
        revision: 42,
        commit: commit.to_owned(),
        base_revision: None,
        outside_paths: Vec::new(),
    });
    tickets::apply(&mut db.conn(), id, &input, weekday()).expect("stage succeeds")
}

fn state(db: &TestDb, id: i64) -> String {
    ticket_rows::by_id(&mut db.conn(), id)
        .expect("query")
        .expect("ticket")
        .state
}

fn events(db: &TestDb, id: i64) -> Vec<(Option<String>, String, String)> {
    ticket_rows::events(&mut db.conn(), id)
        .expect("events")
        .into_iter()
        .map(|e| (e.from_state, e.to_state, e.action))
        .collect()
}

fn kind(result: ServiceResult<Applied>) -> ErrorKind {
    result.expect_err("should be refused").kind()
}

/// Files, stages, tests and approves a ticket; returns its id.
fn approved_ticket(db: &TestDb, cast: &Cast, commit: &str) -> i64 {
    let id = submit(db, cast.user("dev")).expect("submit").ticket.id;
    stage(db, id, commit);
    act(db, id, Action::MarkTested, cast.user("tester")).expect("mark tested");
    act(db, id, Action::Approve, cast.user("lead1")).expect("approve");
    id
}

fn release_flow_writes_one_event_per_change(db: &TestDb) {
    let cast = setup(db, 1, true);
    let filed = submit(db, cast.user("dev")).expect("developer files");
    let id = filed.ticket.id;
    assert_eq!(filed.ticket.state, "submitted");
    assert!(filed.job_id.is_some(), "a stage job is enqueued with the ticket");
    stage(db, id, "c0ffee");
    act(db, id, Action::MarkTested, cast.user("tester")).expect("tester marks tested");
    act(db, id, Action::Approve, cast.user("lead1")).expect("lead approves");
    let released = act(db, id, Action::Release, cast.user("dev")).expect("submitter releases");
    assert_eq!(released.ticket.version, Some(1));
    assert_eq!(
        released.ticket.snapshot_commit.as_deref(),
        Some("c0ffee"),
        "what ships is the tested snapshot"
    );
    act(db, id, Action::ShipSucceeded, ActorRef::System).expect("job reports success");
    assert_eq!(state(db, id), "released");
    let expected: Vec<(Option<String>, String, String)> = [
        (None, "submitted", "submit"),
        (Some("submitted"), "staged", "stage-succeeded"),
        (Some("staged"), "tested", "mark-tested"),
        (Some("tested"), "approved", "approve"),
        (Some("approved"), "releasing", "release"),
        (Some("releasing"), "released", "ship-succeeded"),
    ]
    .into_iter()
    .map(|(f, t, a)| (f.map(str::to_owned), t.to_owned(), a.to_owned()))
    .collect();
    assert_eq!(events(db, id), expected);
    let job_kinds: Vec<String> = jobs::for_ticket(&mut db.conn(), id)
        .expect("jobs")
        .into_iter()
        .map(|j| j.kind)
        .collect();
    assert_eq!(job_kinds, ["stage", "release"]);
    let project = projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    assert_eq!(project.production_version, Some(1));
}

fn roles_are_enforced_and_refusals_change_nothing(db: &TestDb) {
    let cast = setup(db, 1, true);
    assert_eq!(kind(submit(db, cast.user("tester"))), ErrorKind::Forbidden);
    assert_eq!(kind(submit(db, cast.user("outsider"))), ErrorKind::Forbidden);
    let id = submit(db, cast.user("dev")).expect("submit").ticket.id;
    assert_eq!(
        kind(act(db, id, Action::MarkTested, cast.user("tester"))),
        ErrorKind::Conflict,
        "not staged yet"
    );
    assert_eq!(
        kind(act(db, id, Action::StageSucceeded, cast.user("dev"))),
        ErrorKind::Forbidden,
        "system only"
    );
    stage(db, id, "aaa");
    assert_eq!(
        kind(act(db, id, Action::MarkTested, cast.user("lead1"))),
        ErrorKind::Forbidden
    );
    assert_eq!(
        kind(act(db, id, Action::Approve, cast.user("lead1"))),
        ErrorKind::Conflict,
        "not tested yet"
    );
    assert_eq!(
        kind(act(db, id, Action::Return, cast.user("tester"))),
        ErrorKind::Invalid,
        "return needs a reason"
    );
    act(db, id, Action::MarkTested, cast.user("tester")).expect("tester");
    assert_eq!(
        kind(act(db, id, Action::Approve, cast.user("dev2"))),
        ErrorKind::Forbidden,
        "developers do not approve"
    );
    assert_eq!(
        kind(act(db, id, Action::Cancel, cast.user("dev2"))),
        ErrorKind::Forbidden,
        "only own tickets"
    );
    assert_eq!(
        kind(act(db, id, Action::Reject, cast.user("lead1"))),
        ErrorKind::Invalid,
        "reject needs a reason"
    );
    assert_eq!(events(db, id).len(), 3, "refused actions wrote no events");
    assert_eq!(state(db, id), "tested");
    act_at(
        db,
        id,
        Action::Reject,
        cast.user("lead1"),
        Some("not this week"),
        weekday(),
    )
    .expect("reject");
    assert_eq!(state(db, id), "rejected");
    assert_eq!(
        kind(act(db, id, Action::Cancel, cast.user("admin"))),
        ErrorKind::Conflict,
        "rejected is final"
    );
}

fn self_approval_is_banned_unless_allowed(db: &TestDb) {
    let cast = setup(db, 1, true);
    // lead3 is also a developer and files a ticket.
    let id = submit(db, cast.user("lead3")).expect("submit").ticket.id;
    stage(db, id, "bbb");
    act(db, id, Action::MarkTested, cast.user("tester")).expect("tested");
    let refused = act(db, id, Action::Approve, cast.user("lead3")).expect_err("own ticket");
    assert!(
        matches!(refused, ServiceError::Refused(Refusal::SelfApproval)),
        "{refused:?}"
    );
    assert_eq!(state(db, id), "tested");
    act(db, id, Action::Approve, cast.user("lead1")).expect("another lead approves");
    assert_eq!(state(db, id), "approved");
}

fn two_of_three_approvals(db: &TestDb) {
    let cast = setup(db, 2, true);
    let id = submit(db, cast.user("dev")).expect("submit").ticket.id;
    stage(db, id, "ccc");
    act(db, id, Action::MarkTested, cast.user("tester")).expect("tested");
    let first = act(db, id, Action::Approve, cast.user("lead1")).expect("first approval");
    assert_eq!(first.ticket.state, "tested", "one of two approvals keeps it tested");
    assert_eq!(
        kind(act(db, id, Action::Approve, cast.user("lead1"))),
        ErrorKind::Conflict,
        "same lead twice"
    );
    assert_eq!(
        kind(act(db, id, Action::Release, cast.user("dev"))),
        ErrorKind::Conflict
    );
    act(db, id, Action::Approve, cast.user("lead2")).expect("second approval");
    assert_eq!(state(db, id), "approved");
    let actions: Vec<String> = events(db, id).into_iter().map(|e| e.2).collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "approve").count(),
        2,
        "each approval is an event"
    );
}

fn tester_may_not_approve_what_they_tested(db: &TestDb) {
    let cast = setup(db, 1, false);
    let id = submit(db, cast.user("dev")).expect("submit").ticket.id;
    stage(db, id, "ddd");
    // lead3 is a developer too, so may mark tested.
    act(db, id, Action::MarkTested, cast.user("lead3")).expect("tested");
    let refused = act(db, id, Action::Approve, cast.user("lead3")).expect_err("tested it");
    assert!(matches!(refused, ServiceError::Refused(Refusal::TesterApproval)));
    act(db, id, Action::Approve, cast.user("lead2")).expect("another lead");
}

fn resubmit_voids_approvals_of_the_old_snapshot(db: &TestDb) {
    let cast = setup(db, 2, true);
    let id = submit(db, cast.user("dev")).expect("submit").ticket.id;
    stage(db, id, "e1");
    act(db, id, Action::MarkTested, cast.user("tester")).expect("tested");
    act(db, id, Action::Approve, cast.user("lead1")).expect("first approval");
    act_at(
        db,
        id,
        Action::Return,
        cast.user("lead2"),
        Some("typo on the page"),
        weekday(),
    )
    .expect("returned");
    let resubmitted = act(db, id, Action::Resubmit, cast.user("dev")).expect("resubmit");
    assert!(resubmitted.job_id.is_some(), "a new stage job");
    let restaged = stage(db, id, "e2");
    assert_eq!(restaged.ticket.stage_generation, 2);
    act(db, id, Action::MarkTested, cast.user("tester")).expect("tested again");
    act(db, id, Action::Approve, cast.user("lead2")).expect("approval of the new snapshot");
    assert_eq!(state(db, id), "tested", "lead1's approval was for the old snapshot");
    act(db, id, Action::Approve, cast.user("lead1")).expect("lead1 approves the new snapshot");
    assert_eq!(state(db, id), "approved");
}

fn freeze_window_blocks_release_without_override(db: &TestDb) {
    let cast = setup(db, 1, true);
    let id = approved_ticket(db, &cast, "f1");
    let refused = act_at(db, id, Action::Release, cast.user("dev"), None, saturday()).expect_err("frozen");
    assert!(
        matches!(refused, ServiceError::Refused(Refusal::Frozen { .. })),
        "{refused:?}"
    );
    let mut input = ActionInput::new(Action::Release, cast.user("dev"));
    input.emergency_override = true;
    input.note = Some("hotfix".into());
    assert_eq!(
        kind(tickets::apply(&mut db.conn(), id, &input, saturday())),
        ErrorKind::Forbidden,
        "only admins override"
    );
    let mut input = ActionInput::new(Action::Release, cast.user("admin"));
    input.emergency_override = true;
    assert_eq!(
        kind(tickets::apply(&mut db.conn(), id, &input, saturday())),
        ErrorKind::Invalid,
        "override needs a reason"
    );
    input.note = Some("payment outage, CTO agreed".into());
    tickets::apply(&mut db.conn(), id, &input, saturday()).expect("admin override");
    let last = ticket_rows::events(&mut db.conn(), id)
        .expect("events")
        .pop()
        .expect("event");
    assert!(last.emergency_override, "the override is audited");
    assert_eq!(last.note.as_deref(), Some("payment outage, CTO agreed"));
    assert_eq!(last.actor_id, Some(cast.id("admin")));
}

fn older_snapshot_is_never_released_over_a_newer_one(db: &TestDb) {
    let cast = setup(db, 1, true);
    let older = approved_ticket(db, &cast, "old");
    let newer = approved_ticket(db, &cast, "new");
    act(db, newer, Action::Release, cast.user("dev")).expect("release newer");
    act(db, newer, Action::ShipSucceeded, ActorRef::System).expect("shipped");
    let refused = act(db, older, Action::Release, cast.user("dev")).expect_err("older than production");
    assert!(matches!(refused, ServiceError::Refused(Refusal::OlderThanProduction)));
}

fn rollback_goes_back_and_marks_undone_releases(db: &TestDb) {
    let cast = setup(db, 1, true);
    let mut shipped = Vec::new();
    for commit in ["r1", "r2", "r3"] {
        let id = approved_ticket(db, &cast, commit);
        act(db, id, Action::Release, cast.user("dev")).expect("release");
        act(db, id, Action::ShipSucceeded, ActorRef::System).expect("shipped");
        shipped.push(id);
    }
    let conn = &mut db.conn();
    assert!(
        tickets::request_rollback(conn, cast.user("dev"), "shop", 3, "x", weekday()).is_err(),
        "v3 is what runs"
    );
    assert!(
        tickets::request_rollback(conn, cast.user("dev"), "shop", 9, "x", weekday()).is_err(),
        "never released"
    );
    assert!(
        tickets::request_rollback(conn, cast.user("tester"), "shop", 1, "x", weekday()).is_err(),
        "testers may not"
    );
    let rollback = tickets::request_rollback(conn, cast.user("dev"), "shop", 1, "v2 and v3 break checkout", weekday())
        .expect("rollback requested");
    let rid = rollback.ticket.id;
    assert_eq!(rollback.ticket.state, "rollback_requested");
    assert_eq!(
        kind(act(db, rid, Action::Execute, cast.user("dev"))),
        ErrorKind::Conflict,
        "not approved"
    );
    act(db, rid, Action::Approve, cast.user("lead1")).expect("approved");
    let executing = act(db, rid, Action::Execute, cast.user("dev")).expect("execute");
    assert!(executing.job_id.is_some(), "a rollback job");
    act(db, rid, Action::ShipSucceeded, ActorRef::System).expect("rolled back");
    assert_eq!(state(db, rid), "rolled_back");
    assert_eq!(state(db, shipped[0]), "released");
    assert_eq!(state(db, shipped[1]), "rolled_back");
    assert_eq!(state(db, shipped[2]), "rolled_back");
    assert_eq!(
        events(db, shipped[2]).last().map(|e| e.2.clone()),
        Some("supersede".into())
    );
    let project = projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    assert_eq!(project.production_version, Some(1));
    // A new release after the rollback gets the next number, never a reused one.
    let next = approved_ticket(db, &cast, "r4");
    let released = act(db, next, Action::Release, cast.user("dev")).expect("release after rollback");
    assert_eq!(released.ticket.version, Some(4));
}

fn failed_job_can_be_retried_or_cancelled(db: &TestDb) {
    let cast = setup(db, 1, true);
    let id = submit(db, cast.user("dev")).expect("submit").ticket.id;
    assert_eq!(
        kind(act(db, id, Action::JobFailed, ActorRef::System)),
        ErrorKind::Invalid,
        "a failure has a reason"
    );
    act_at(
        db,
        id,
        Action::JobFailed,
        ActorRef::System,
        Some("svn: E170013: unable to connect"),
        weekday(),
    )
    .expect("failed");
    let row = ticket_rows::by_id(&mut db.conn(), id).expect("query").expect("ticket");
    assert_eq!(
        (row.state.as_str(), row.last_error.as_deref()),
        ("failed", Some("svn: E170013: unable to connect"))
    );
    let retried = act(db, id, Action::Retry, cast.user("dev")).expect("retry");
    assert_eq!(retried.ticket.state, "submitted");
    assert!(retried.job_id.is_some(), "stage job again");
    act_at(db, id, Action::JobFailed, ActorRef::System, Some("again"), weekday()).expect("failed again");
    act(db, id, Action::Cancel, cast.user("dev")).expect("cancel");
    assert_eq!(state(db, id), "cancelled");
}

fn disabled_users_cannot_act(db: &TestDb) {
    let cast = setup(db, 1, true);
    let id = submit(db, cast.user("dev")).expect("submit").ticket.id;
    slipway::service::users::disable(&mut db.conn(), "dev").expect("disable");
    let refused = act(db, id, Action::Cancel, cast.user("dev")).expect_err("disabled");
    assert!(matches!(refused, ServiceError::Disabled(_)));
    assert_eq!(kind(submit(db, cast.user("dev"))), ErrorKind::Forbidden);
}

fn bad_input_is_refused_and_nothing_is_stored(db: &TestDb) {
    let cast = setup(db, 1, true);
    let long = "x".repeat(5000);
    for (reason, paths) in [
        ("", vec!["a"]),
        ("   ", vec!["a"]),
        (long.as_str(), vec!["a"]),
        ("ok", vec!["../etc/passwd"]),
        ("ok", vec!["/abs"]),
        ("ok", vec!["-rf"]),
        ("ok", vec!["a\nb"]),
        ("bell\u{7}", vec!["a"]),
    ] {
        let paths: Vec<String> = paths.into_iter().map(str::to_owned).collect();
        let input = NewRelease {
            project: "shop",
            reason,
            svn_paths: &paths,
            svn_revision: None,
        };
        let result = tickets::submit(&mut db.conn(), cast.user("dev"), &input, weekday());
        assert_eq!(kind(result), ErrorKind::Invalid, "{reason:?} {paths:?}");
    }
    let paths = vec!["a".to_owned()];
    let input = NewRelease {
        project: "nope",
        reason: "ok",
        svn_paths: &paths,
        svn_revision: None,
    };
    assert_eq!(
        kind(tickets::submit(&mut db.conn(), cast.user("dev"), &input, weekday())),
        ErrorKind::NotFound
    );
    let count: i64 = {
        use diesel::prelude::*;
        use slipway::store::schema::tickets::dsl::tickets as all;
        all.count().get_result(&mut db.conn()).expect("count")
    };
    assert_eq!(count, 0);
}

fn event_log_is_append_only(db: &TestDb) {
    let cast = setup(db, 1, true);
    submit(db, cast.user("dev")).expect("submit");
    let mut conn = db.conn();
    let update = diesel::sql_query("UPDATE ticket_events SET note = 'forged'").execute(&mut conn);
    assert!(update.is_err(), "events cannot be edited");
    let delete = diesel::sql_query("DELETE FROM ticket_events").execute(&mut conn);
    assert!(delete.is_err(), "events cannot be deleted");
}

fn stale_lock_version_is_a_conflict(db: &TestDb) {
    let cast = setup(db, 1, true);
    let filed = submit(db, cast.user("dev")).expect("submit");
    stage(db, filed.ticket.id, "g1");
    let mut input = ActionInput::new(Action::MarkTested, cast.user("tester"));
    input.expected_lock_version = Some(filed.ticket.lock_version);
    let stale = tickets::apply(&mut db.conn(), filed.ticket.id, &input, weekday()).expect_err("stale");
    assert!(matches!(stale, ServiceError::Conflict(..)), "{stale:?}");
    input.expected_lock_version = Some(filed.ticket.lock_version + 1);
    tickets::apply(&mut db.conn(), filed.ticket.id, &input, weekday()).expect("fresh");
}

/// Runs `threads` copies of `action` on ticket `id` at once; returns the results.
fn race(
    db: &TestDb,
    id: i64,
    threads: usize,
    make: impl Fn(usize) -> ActionInput + Sync,
) -> Vec<ServiceResult<Applied>> {
    let barrier = Arc::new(Barrier::new(threads));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                let input = make(i);
                let pool = db.pool.clone();
                scope.spawn(move || {
                    let mut conn = pool.get().expect("connection");
                    barrier.wait();
                    tickets::apply(&mut conn, id, &input, weekday())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    })
}

fn twenty_threads_one_winner(db: &TestDb) {
    let cast = setup(db, 1, true);
    let id = submit(db, cast.user("dev")).expect("submit").ticket.id;
    stage(db, id, "h1");
    let tester = cast.user("tester");
    let results = race(db, id, 20, |_| ActionInput::new(Action::MarkTested, tester));
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "exactly one of 20 wins: {results:?}");
    for loser in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(loser.kind(), ErrorKind::Conflict, "{loser:?}");
    }
    let marked = events(db, id).iter().filter(|e| e.2 == "mark-tested").count();
    assert_eq!(marked, 1, "one event, not twenty");
}

fn concurrent_approvals_are_counted_exactly(db: &TestDb) {
    let cast = setup(db, 2, true);
    let id = submit(db, cast.user("dev")).expect("submit").ticket.id;
    stage(db, id, "i1");
    act(db, id, Action::MarkTested, cast.user("tester")).expect("tested");
    let leads = [cast.user("lead1"), cast.user("lead2"), cast.user("lead3")];
    // Each lead approves from several threads at once; retry conflicts like a user would.
    let mut approved_by = std::collections::BTreeSet::new();
    for _round in 0..6 {
        let results = race(db, id, 6, |i| ActionInput::new(Action::Approve, leads[i % 3]));
        for (i, result) in results.iter().enumerate() {
            if result.is_ok() {
                approved_by.insert(i % 3);
            }
        }
        if state(db, id) == "approved" {
            break;
        }
    }
    assert_eq!(state(db, id), "approved");
    assert_eq!(approved_by.len(), 2, "exactly two distinct approvals made it approved");
    let approvals = ticket_rows::approvals(&mut db.conn(), id).expect("approvals");
    assert_eq!(approvals.len(), 2);
    let _ = Duration::zero();
}

backend_tests!(
    release_flow_writes_one_event_per_change,
    roles_are_enforced_and_refusals_change_nothing,
    self_approval_is_banned_unless_allowed,
    two_of_three_approvals,
    tester_may_not_approve_what_they_tested,
    resubmit_voids_approvals_of_the_old_snapshot,
    freeze_window_blocks_release_without_override,
    older_snapshot_is_never_released_over_a_newer_one,
    rollback_goes_back_and_marks_undone_releases,
    failed_job_can_be_retried_or_cancelled,
    disabled_users_cannot_act,
    bad_input_is_refused_and_nothing_is_stored,
    event_log_is_append_only,
    stale_lock_version_is_a_conflict,
    twenty_threads_one_winner,
    concurrent_approvals_are_counted_exactly,
);
