//! Property tests of the pure domain core (`slipway::domain`), no database.
//!
//! Each sequence property generates a random project (approval policy with
//! 1..=3 required approvals, random self-approval and tester-approval rules,
//! optional expiry of 5..=720 minutes; a freeze calendar with 0..=3 random
//! weekly and fixed-range windows and a random UTC offset), a random cast of
//! 2..=4 users with random lead/developer/tester roles and admin flags (plus
//! `Actor::System` for the jobs), one ticket of either kind filed with
//! `decide_create`, and 1..=40 random steps: a given action by a given actor
//! (mostly refused), one of the (actor, action) pairs `decide` accepts now
//! (so tickets get far), time passing, or another ticket of the project being
//! staged or shipped (which moves the project's snapshot counter and
//! production). Notes and emergency-override flags are random. Every accepted
//! `Decision` is applied to a model the way `service::tickets::apply_in_tx`
//! writes it (approvals at the current generation and time, tested-by, new
//! snapshot = generation + 1 and the project's next snapshot number,
//! failed-from, production snapshot on ship, one event per decision), and the
//! recorded trace is checked against:
//!
//! | test | property | cases |
//! |------|----------|-------|
//! | `p1_only_allowed_edges` | filing follows the roles; every accepted (from, action, to) is in an edge list written by hand from DESIGN.md's diagram, per kind; retry goes back where the job failed; refusals change nothing | 3000 |
//! | `p2_one_event_per_accepted_action` | one event per accepted decision (approvals that keep the state too), none per refusal; the event's (from, to) is the state change and the log replays the history; entering a job-owned state enqueues its job, nothing else enqueues | 3000 |
//! | `p3_banned_approvers_never_approve` | only leads approve; never the submitter without self-approval, never whoever marked it tested when the project forbids that | 3000 |
//! | `p4_approved_only_with_enough_valid_approvals` | entering `approved`/`rollback_approved`, and releasing/executing from it, needs `required` distinct current-generation unexpired approvals at that moment | 3000 |
//! | `p5_no_release_in_a_freeze_without_override` | nothing enters `releasing` (release or retry) in an active freeze unless an admin overrides with a note, and then the decision carries `EmergencyOverride` (never otherwise); a release is started by the submitter or a lead, or by an admin only to override a freeze | 3000 |
//! | `p6_available_actions_agree_with_decide` | for every actor in every reached state, `available_actions` lists exactly the people's actions `decide` accepts with a note, and nothing for the system | 1500 |
//! | `p7_never_ship_older_than_production` | nothing enters `releasing` (release or retry) unless its snapshot is newer than production's | 3000 |
//!
//! Freeze windows and approval validity are recomputed here independently of
//! `FreezeCalendar::active` and `ApprovalPolicy::valid_approvers`.
//! `generator_reaches_every_edge` checks on a fixed-seed sample of 2000
//! scenarios that the generator reaches every allowed edge and the situations
//! the release guards exist for, so the properties cannot pass vacuously.
//! Plain tests pin the edge cases random runs reach rarely, and the three bugs
//! the properties found (retry of a failed release skipped the freeze and the
//! older-than-production guard; an admin's override allowed releasing outside
//! a freeze). The whole file runs in about 7 s in a debug build on 2 cores.
//! Proptest failure persistence is off, so no regression files are written.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use slipway::domain::{
    available_actions, decide, decide_create, Action, Actor, Approval, ApprovalPolicy, Decision, Effect,
    FreezeCalendar, FreezeWindow, JobKind, ProjectRules, Refusal, Request, Role, TicketFacts, TicketKind, TicketState,
    UserActor, WeekTime,
};

use Action as A;
use TicketState as S;

const WEEK_MINUTES: i64 = 7 * 24 * 60;
const NOTE: &str = "because";

// ---------------------------------------------------------------------------
// The allowed edges, written out by hand from DESIGN.md "The ticket".
// ---------------------------------------------------------------------------

/// Release tickets: submitted → staged → tested → approved → releasing →
/// released (→ rolled_back when a later rollback undoes it); return from
/// staged or tested, resubmit from returned; reject from tested; cancel from
/// any open state (not final, and no ship job running); any job fails to
/// failed, which retries back to where the job was or is cancelled. An
/// approval that does not complete the count keeps the state (tested →
/// tested), and a re-approval after expiry keeps `approved`.
const RELEASE_EDGES: &[(TicketState, Action, TicketState)] = &[
    (S::Submitted, A::StageSucceeded, S::Staged),
    (S::Staged, A::MarkTested, S::Tested),
    (S::Tested, A::Approve, S::Approved),
    (S::Tested, A::Approve, S::Tested),
    (S::Approved, A::Approve, S::Approved),
    (S::Approved, A::Release, S::Releasing),
    (S::Releasing, A::ShipSucceeded, S::Released),
    (S::Released, A::Supersede, S::RolledBack),
    (S::Staged, A::Return, S::Returned),
    (S::Tested, A::Return, S::Returned),
    (S::Returned, A::Resubmit, S::Submitted),
    (S::Tested, A::Reject, S::Rejected),
    (S::Submitted, A::Cancel, S::Cancelled),
    (S::Staged, A::Cancel, S::Cancelled),
    (S::Tested, A::Cancel, S::Cancelled),
    (S::Approved, A::Cancel, S::Cancelled),
    (S::Returned, A::Cancel, S::Cancelled),
    (S::Failed, A::Cancel, S::Cancelled),
    (S::Submitted, A::JobFailed, S::Failed),
    (S::Releasing, A::JobFailed, S::Failed),
    (S::Failed, A::Retry, S::Submitted),
    (S::Failed, A::Retry, S::Releasing),
    // An abort only flags the running release; its job stops and fails it.
    (S::Releasing, A::Abort, S::Releasing),
];

/// Rollback tickets: rollback_requested → rollback_approved → rolling_back →
/// rolled_back; leads approve (partial approvals keep the state) or reject;
/// cancel while open; the rollback job fails to failed, retry or cancel.
const ROLLBACK_EDGES: &[(TicketState, Action, TicketState)] = &[
    (S::RollbackRequested, A::Approve, S::RollbackApproved),
    (S::RollbackRequested, A::Approve, S::RollbackRequested),
    (S::RollbackApproved, A::Approve, S::RollbackApproved),
    (S::RollbackRequested, A::Reject, S::Rejected),
    (S::RollbackApproved, A::Execute, S::RollingBack),
    (S::RollingBack, A::ShipSucceeded, S::RolledBack),
    (S::RollbackRequested, A::Cancel, S::Cancelled),
    (S::RollbackApproved, A::Cancel, S::Cancelled),
    (S::Failed, A::Cancel, S::Cancelled),
    (S::RollingBack, A::JobFailed, S::Failed),
    (S::Failed, A::Retry, S::RollingBack),
    (S::RollingBack, A::Abort, S::RollingBack),
];

fn allowed_edges(kind: TicketKind) -> &'static [(TicketState, Action, TicketState)] {
    match kind {
        TicketKind::Release => RELEASE_EDGES,
        TicketKind::Rollback => ROLLBACK_EDGES,
    }
}

/// The job that owns a state (the stage, release and rollback jobs).
fn expected_job(state: TicketState) -> Option<JobKind> {
    match state {
        S::Submitted => Some(JobKind::Stage),
        S::Releasing => Some(JobKind::Release),
        S::RollingBack => Some(JobKind::Rollback),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Independent re-computations of the rules.
// ---------------------------------------------------------------------------

/// Whether a freeze window is in force at `now` (computed from the Unix
/// minute, not with chrono's calendar as the domain does).
fn frozen_at(calendar: &FreezeCalendar, now: DateTime<Utc>) -> bool {
    let offset = {
        use chrono::Offset;
        calendar
            .zone
            .offset_from_utc_datetime(&now.naive_utc())
            .fix()
            .local_minus_utc()
            / 60
    };
    let minute = now.timestamp().div_euclid(60) + i64::from(offset);
    // 1970-01-01 was a Thursday, three days after a Monday 00:00.
    let week_minute = (minute + 3 * 1440).rem_euclid(WEEK_MINUTES);
    calendar.windows.iter().any(|window| match *window {
        FreezeWindow::Range { from, to } => from <= now && now < to,
        FreezeWindow::Weekly { from, to } => {
            let (from, to) = (i64::from(from.minutes()), i64::from(to.minutes()));
            (week_minute - from).rem_euclid(WEEK_MINUTES) < (to - from).rem_euclid(WEEK_MINUTES)
        }
    })
}

/// Distinct approvers whose approval counts at `now`.
fn valid_approvers(policy: &ApprovalPolicy, facts: &TicketFacts, now: DateTime<Utc>) -> usize {
    facts
        .approvals
        .iter()
        .filter(|a| a.generation == facts.generation)
        .filter(|a| match policy.expiry {
            Some(ttl) => now < a.at + ttl,
            None => true,
        })
        .map(|a| a.user_id)
        .collect::<BTreeSet<_>>()
        .len()
}

fn user(actor: &Actor) -> Option<&UserActor> {
    match actor {
        Actor::User(user) => Some(user),
        Actor::System => None,
    }
}

// ---------------------------------------------------------------------------
// The scenario and its generators.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Step {
    /// `action` by cast member `who` (an index past the cast is the system).
    Act {
        action: Action,
        who: usize,
        note: bool,
        emergency_override: bool,
    },
    /// One of the (actor, action) pairs `decide` accepts now, chosen by
    /// `pick`; unless `detour`, cancel, reject and return are left out when
    /// anything else is possible (so tickets get far).
    Any {
        pick: u32,
        detour: bool,
        note: bool,
        emergency_override: bool,
    },
    /// Time passes (minutes).
    Wait(i64),
    /// Another ticket of the project ships (or a rollback lands): production
    /// now runs one of the other tickets' snapshots, older or newer than ours.
    OtherShips(u32),
    /// Another ticket is staged: the project's snapshot counter moves on.
    OtherStages,
}

#[derive(Debug, Clone)]
struct Scenario {
    kind: TicketKind,
    cast: Vec<UserActor>,
    submitter_pick: usize,
    policy: ApprovalPolicy,
    freeze: FreezeCalendar,
    start: DateTime<Utc>,
    production: Option<i64>,
    steps: Vec<Step>,
}

/// Monday 2026-01-05 00:00 UTC.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).single().expect("valid date")
}

fn week_time(minutes: i64) -> WeekTime {
    let minutes = u32::try_from(minutes.rem_euclid(WEEK_MINUTES)).expect("fits");
    WeekTime::from_minutes(minutes).expect("inside the week")
}

fn policy_strategy() -> impl Strategy<Value = ApprovalPolicy> {
    (1..=3u32, any::<bool>(), any::<bool>(), prop::option::of(5..=720i64)).prop_map(
        |(required, allow_self_approval, tested_by_may_approve, expiry)| ApprovalPolicy {
            required,
            allow_self_approval,
            tested_by_may_approve,
            require_outside_paths_confirmation: false,
            expiry: expiry.map(Duration::minutes),
        },
    )
}

fn freeze_strategy() -> impl Strategy<Value = FreezeCalendar> {
    let window = prop_oneof![
        (0..WEEK_MINUTES, 1..=4000i64).prop_map(|(from, len)| FreezeWindow::Weekly {
            from: week_time(from),
            to: week_time(from + len),
        }),
        (0..30_000i64, 1..=3000i64).prop_map(|(from, len)| FreezeWindow::Range {
            from: base() + Duration::minutes(from),
            to: base() + Duration::minutes(from + len),
        }),
    ];
    // Fixed-offset zones (Etc/GMT±N and the like) plus a zone with daylight saving.
    let zone = prop_oneof![
        (-12..=14i32).prop_map(|h| slipway::domain::zone_for_offset(h * 60).unwrap_or(chrono_tz::Tz::UTC)),
        Just(chrono_tz::Tz::Europe__Berlin),
        Just(chrono_tz::Tz::Asia__Kolkata),
    ];
    (prop::collection::vec(window, 0..=3), zone).prop_map(|(windows, zone)| FreezeCalendar { windows, zone })
}

/// Lead, developer, tester.
fn role_flags() -> impl Strategy<Value = [bool; 3]> {
    (
        prop::bool::weighted(0.6),
        prop::bool::weighted(0.6),
        prop::bool::weighted(0.5),
    )
        .prop_map(|(l, d, t)| [l, d, t])
}

fn cast_strategy() -> impl Strategy<Value = Vec<UserActor>> {
    prop::collection::vec((role_flags(), prop::bool::weighted(0.3)), 2..=4).prop_map(|people| {
        let mut cast: Vec<UserActor> = people
            .into_iter()
            .zip(1i64..)
            .map(|((has, is_admin), id)| UserActor {
                id,
                is_admin,
                roles: Role::ALL
                    .into_iter()
                    .zip(has)
                    .filter(|(_, on)| *on)
                    .map(|(r, _)| r)
                    .collect(),
            })
            .collect();
        // Someone must be able to file the ticket.
        if !cast.iter().any(|u| u.has(Role::Developer)) {
            cast[0].roles.insert(Role::Developer);
        }
        cast
    })
}

fn step_strategy() -> impl Strategy<Value = Step> {
    let flags = || (prop::bool::weighted(0.85), prop::bool::weighted(0.15));
    prop_oneof![
        8 => (any::<u32>(), prop::bool::weighted(0.15), flags()).prop_map(|(pick, detour, (note, emergency_override))| {
            Step::Any { pick, detour, note, emergency_override }
        }),
        2 => (0..6usize, 0..Action::ALL.len(), flags()).prop_map(|(who, action, (note, emergency_override))| {
            Step::Act { action: Action::ALL[action], who, note, emergency_override }
        }),
        3 => prop_oneof![6 => 0..=90i64, 2 => 91..=1440i64, 1 => 1441..=5 * 1440i64].prop_map(Step::Wait),
        1 => any::<u32>().prop_map(Step::OtherShips),
        1 => Just(Step::OtherStages),
    ]
}

fn scenario(max_steps: usize) -> impl Strategy<Value = Scenario> {
    (
        prop_oneof![3 => Just(TicketKind::Release), 1 => Just(TicketKind::Rollback)],
        cast_strategy(),
        0..4usize,
        policy_strategy(),
        freeze_strategy(),
        0..2 * WEEK_MINUTES,
        prop::option::of(1..=5i64),
        prop::collection::vec(step_strategy(), 1..=max_steps),
    )
        .prop_map(
            |(kind, cast, submitter_pick, policy, freeze, start, production, steps)| Scenario {
                kind,
                cast,
                submitter_pick,
                policy,
                freeze,
                start: base() + Duration::minutes(start),
                production,
                steps,
            },
        )
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

// ---------------------------------------------------------------------------
// The model and the simulation.
// ---------------------------------------------------------------------------

/// One row of the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    action: Action,
    actor: Option<i64>,
    from: Option<TicketState>,
    to: TicketState,
    emergency_override: bool,
}

/// What the service layer would hold: the ticket, the project's production
/// snapshot and snapshot counter, the clock and the ticket's event log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    facts: TicketFacts,
    production: Option<i64>,
    next_seq: i64,
    /// Snapshots staged for the project's other tickets.
    other_seqs: Vec<i64>,
    now: DateTime<Utc>,
    events: Vec<Event>,
}

impl Model {
    /// Writes `decision` the way `apply_in_tx` does.
    fn apply(&mut self, action: Action, actor: &Actor, decision: &Decision) {
        let mut emergency_override = false;
        for effect in &decision.effects {
            match effect {
                Effect::RecordApproval => self.facts.approvals.push(Approval {
                    user_id: actor.user_id().unwrap_or_default(),
                    generation: self.facts.generation,
                    at: self.now,
                }),
                Effect::SetTestedBy(id) => self.facts.tested_by = Some(*id),
                Effect::ClearTestedBy => self.facts.tested_by = None,
                Effect::ConfirmOutsidePaths(_) => self.facts.outside_paths_confirmed = true,
                Effect::NewSnapshot => {
                    self.facts.generation += 1;
                    self.facts.snapshot_seq = Some(self.next_seq);
                    self.next_seq += 1;
                }
                Effect::AssignVersion | Effect::RenewVersionIfBehind | Effect::RequestAbort => {}
                Effect::RememberFailedFrom(state) => self.facts.failed_from = Some(*state),
                Effect::ClearFailedFrom => self.facts.failed_from = None,
                Effect::EmergencyOverride => emergency_override = true,
                Effect::Shipped => match self.facts.kind {
                    TicketKind::Release => self.production = self.facts.snapshot_seq,
                    // Production goes back to the target's (older) snapshot.
                    TicketKind::Rollback => self.production = self.production.map(|p| (p - 1).max(1)),
                },
            }
        }
        self.facts.state = decision.to;
        self.events.push(Event {
            action,
            actor: actor.user_id(),
            from: Some(decision.from),
            to: decision.to,
            emergency_override,
        });
    }
}

/// One call of `decide`, with the model before and after.
#[derive(Debug)]
struct Attempt {
    action: Action,
    actor: Actor,
    note: Option<&'static str>,
    emergency_override: bool,
    outcome: Result<Decision, Refusal>,
    before: Model,
    after: Model,
}

#[derive(Debug)]
struct Trace {
    kind: TicketKind,
    policy: ApprovalPolicy,
    freeze: FreezeCalendar,
    /// The cast, then `Actor::System`.
    actors: Vec<Actor>,
    /// `decide_create` for each of `actors`.
    creation: Vec<Result<Decision, Refusal>>,
    /// The submitter (None: nobody could file the ticket).
    submitter: Option<i64>,
    attempts: Vec<Attempt>,
    /// The model after filing and after each step.
    settled: Vec<Model>,
}

impl Trace {
    fn rules<'a>(&'a self, model: &Model) -> ProjectRules<'a> {
        ProjectRules {
            policy: &self.policy,
            freeze: &self.freeze,
            production_snapshot_seq: model.production,
        }
    }

    fn last(&self) -> Option<&Model> {
        self.settled.last()
    }
}

fn create_action(kind: TicketKind) -> Action {
    match kind {
        TicketKind::Release => A::Submit,
        TicketKind::Rollback => A::RequestRollback,
    }
}

fn simulate(sc: &Scenario) -> Trace {
    let mut actors: Vec<Actor> = sc.cast.iter().cloned().map(Actor::User).collect();
    actors.push(Actor::System);
    let creation: Vec<_> = actors.iter().map(|a| decide_create(sc.kind, a)).collect();
    let filers: Vec<usize> = (0..sc.cast.len()).filter(|&i| creation[i].is_ok()).collect();
    let mut trace = Trace {
        kind: sc.kind,
        policy: sc.policy.clone(),
        freeze: sc.freeze.clone(),
        actors,
        creation,
        submitter: None,
        attempts: Vec::new(),
        settled: Vec::new(),
    };
    if filers.is_empty() {
        return trace;
    }
    let filer = filers[sc.submitter_pick % filers.len()];
    let created = trace.creation[filer].clone().expect("accepted");
    let submitter = sc.cast[filer].id;
    trace.submitter = Some(submitter);
    let mut model = Model {
        facts: TicketFacts {
            kind: sc.kind,
            state: created.to,
            submitter_id: submitter,
            tested_by: None,
            generation: 0,
            snapshot_seq: None,
            approvals: Vec::new(),
            failed_from: None,
            has_outside_paths: false,
            outside_paths_confirmed: false,
        },
        production: sc.production,
        next_seq: 6,
        other_seqs: (1..6).collect(),
        now: sc.start,
        events: vec![Event {
            action: create_action(sc.kind),
            actor: Some(submitter),
            from: None,
            to: created.to,
            emergency_override: false,
        }],
    };
    trace.settled.push(model.clone());
    let system = trace.actors.len() - 1;
    for step in &sc.steps {
        match *step {
            Step::Act {
                action,
                who,
                note,
                emergency_override,
            } => {
                let actor = trace.actors[who.min(system)].clone();
                attempt(&mut trace, &mut model, action, actor, note, emergency_override);
            }
            Step::Any {
                pick,
                detour,
                note,
                emergency_override,
            } => {
                let rules = trace.rules(&model);
                let possible: Vec<(usize, Action)> = (0..trace.actors.len())
                    .flat_map(|who| Action::ALL.map(|action| (who, action)))
                    .filter(|&(who, action)| {
                        let request = Request {
                            action,
                            actor: &trace.actors[who],
                            note: note.then_some(NOTE),
                            emergency_override,
                            confirm_outside_paths: false,
                            now: model.now,
                        };
                        decide(&model.facts, rules, request).is_ok()
                    })
                    .collect();
                let onward: Vec<(usize, Action)> = possible
                    .iter()
                    .copied()
                    .filter(|(_, action)| !matches!(action, A::Cancel | A::Reject | A::Return))
                    .collect();
                let choices = if detour || onward.is_empty() { possible } else { onward };
                if !choices.is_empty() {
                    let (who, action) = choices[pick as usize % choices.len()];
                    let actor = trace.actors[who].clone();
                    attempt(&mut trace, &mut model, action, actor, note, emergency_override);
                }
            }
            Step::Wait(minutes) => model.now += Duration::minutes(minutes),
            Step::OtherShips(pick) => {
                model.production = Some(model.other_seqs[pick as usize % model.other_seqs.len()]);
            }
            Step::OtherStages => {
                model.other_seqs.push(model.next_seq);
                model.next_seq += 1;
            }
        }
        trace.settled.push(model.clone());
    }
    trace
}

/// Asks the domain, applies an accepted decision, records the attempt.
fn attempt(trace: &mut Trace, model: &mut Model, action: Action, actor: Actor, note: bool, emergency_override: bool) {
    let note = note.then_some(NOTE);
    let before = model.clone();
    let outcome = decide(
        &model.facts,
        trace.rules(&before),
        Request {
            action,
            actor: &actor,
            note,
            emergency_override,
            confirm_outside_paths: false,
            now: model.now,
        },
    );
    if let Ok(decision) = &outcome {
        model.apply(action, &actor, decision);
    }
    trace.attempts.push(Attempt {
        action,
        actor,
        note,
        emergency_override,
        outcome,
        before,
        after: model.clone(),
    });
}

fn accepted(trace: &Trace) -> impl Iterator<Item = (&Attempt, &Decision)> {
    trace
        .attempts
        .iter()
        .filter_map(|a| a.outcome.as_ref().ok().map(|d| (a, d)))
}

// ---------------------------------------------------------------------------
// The properties.
// ---------------------------------------------------------------------------

fn check_only_allowed_edges(trace: &Trace) -> Result<(), TestCaseError> {
    // Filing: release tickets by developers, rollbacks by developers or leads,
    // never by the system; they start submitted (with a stage job) or
    // rollback_requested.
    for (actor, created) in trace.actors.iter().zip(&trace.creation) {
        let may = user(actor).is_some_and(|u| match trace.kind {
            TicketKind::Release => u.has(Role::Developer),
            TicketKind::Rollback => u.has(Role::Developer) || u.has(Role::Lead),
        });
        prop_assert_eq!(created.is_ok(), may, "decide_create by {:?}: {:?}", actor, created);
        if let Ok(d) = created {
            let start = match trace.kind {
                TicketKind::Release => S::Submitted,
                TicketKind::Rollback => S::RollbackRequested,
            };
            prop_assert_eq!((d.from, d.to), (start, start));
        }
    }
    prop_assert!(trace.submitter.is_some(), "someone in the cast is a developer");
    let edges = allowed_edges(trace.kind);
    for a in &trace.attempts {
        match &a.outcome {
            Ok(d) => {
                let edge = (a.before.facts.state, a.action, d.to);
                prop_assert!(
                    edges.contains(&edge),
                    "{:?} ticket took the edge {:?}, not in DESIGN.md ({:?} by {:?})",
                    trace.kind,
                    edge,
                    d,
                    a.actor
                );
                prop_assert_eq!(d.from, a.before.facts.state);
                if a.action == A::Retry {
                    prop_assert_eq!(
                        Some(d.to),
                        a.before.facts.failed_from,
                        "retry goes back where the job failed"
                    );
                }
                if a.action == A::JobFailed {
                    prop_assert!(d.effects.contains(&Effect::RememberFailedFrom(a.before.facts.state)));
                }
                prop_assert_eq!(
                    a.action.is_system(),
                    a.actor == Actor::System,
                    "{:?} by {:?}",
                    a.action,
                    a.actor
                );
            }
            Err(refusal) => {
                prop_assert_eq!(&a.before, &a.after, "refused ({}) yet the model changed", refusal);
            }
        }
    }
    Ok(())
}

fn check_one_event_per_accepted_action(trace: &Trace) -> Result<(), TestCaseError> {
    let Some(last) = trace.last() else {
        return Ok(());
    };
    for a in &trace.attempts {
        match &a.outcome {
            Ok(d) => {
                prop_assert_eq!(a.after.events.len(), a.before.events.len() + 1);
                let event = a.after.events.last().expect("an event");
                prop_assert_eq!(event.from, Some(a.before.facts.state));
                prop_assert_eq!(event.to, a.after.facts.state);
                prop_assert_eq!((d.from, d.to), (a.before.facts.state, a.after.facts.state));
                prop_assert_eq!(event.actor, a.actor.user_id());
                prop_assert_eq!(event.action, a.action);
                // The job: entering a job-owned state enqueues its job, nothing else does.
                let entering = (d.from != d.to).then_some(d.to).and_then(expected_job);
                prop_assert_eq!(d.enqueue, entering, "{:?} {:?} -> {:?}", a.action, d.from, d.to);
            }
            Err(_) => prop_assert_eq!(&a.after.events, &a.before.events),
        }
    }
    let decisions = accepted(trace).count();
    prop_assert_eq!(
        last.events.len(),
        1 + decisions,
        "one filing event plus one per decision"
    );
    // The log replays the state history.
    for pair in last.events.windows(2) {
        prop_assert_eq!(pair[1].from, Some(pair[0].to));
    }
    prop_assert_eq!(last.events.last().map(|e| e.to), Some(last.facts.state));
    for created in trace.creation.iter().flatten() {
        prop_assert_eq!(
            created.enqueue,
            expected_job(created.to),
            "filing enqueues the first job"
        );
    }
    Ok(())
}

fn check_banned_approvers(trace: &Trace) -> Result<(), TestCaseError> {
    for (a, d) in accepted(trace) {
        if !d.effects.contains(&Effect::RecordApproval) {
            continue;
        }
        prop_assert_eq!(a.action, A::Approve);
        let approver = user(&a.actor).expect("people approve");
        prop_assert!(approver.has(Role::Lead), "approval by a non-lead {:?}", approver);
        if !trace.policy.allow_self_approval {
            prop_assert_ne!(
                approver.id,
                a.before.facts.submitter_id,
                "self-approval under {:?}",
                trace.policy
            );
        }
        if !trace.policy.tested_by_may_approve {
            prop_assert_ne!(
                Some(approver.id),
                a.before.facts.tested_by,
                "tester approved under {:?}",
                trace.policy
            );
        }
    }
    Ok(())
}

fn check_enough_valid_approvals(trace: &Trace) -> Result<(), TestCaseError> {
    let required = trace.policy.required as usize;
    for (a, d) in accepted(trace) {
        let entering = d.from != d.to && matches!(d.to, S::Approved | S::RollbackApproved);
        if entering {
            let valid = valid_approvers(&trace.policy, &a.after.facts, a.after.now);
            prop_assert!(
                valid >= required,
                "entered {:?} with {} of {} valid approvals: {:?}",
                d.to,
                valid,
                required,
                a.after.facts.approvals
            );
        }
        if matches!(a.action, A::Release | A::Execute) {
            let valid = valid_approvers(&trace.policy, &a.before.facts, a.before.now);
            prop_assert!(
                valid >= required,
                "{:?} with {} of {} valid approvals",
                a.action,
                valid,
                required
            );
        }
    }
    Ok(())
}

fn check_no_release_in_freeze(trace: &Trace) -> Result<(), TestCaseError> {
    for (a, d) in accepted(trace) {
        let overridden = d.effects.contains(&Effect::EmergencyOverride);
        // Only a start counts; an abort keeps a running release `releasing`.
        if d.to != S::Releasing || d.from == S::Releasing {
            prop_assert!(!overridden, "override effect on {:?}", d);
            continue;
        }
        let frozen = frozen_at(&trace.freeze, a.before.now);
        let admin = user(&a.actor).is_some_and(|u| u.is_admin);
        if frozen {
            prop_assert!(
                admin && a.emergency_override && a.note.is_some() && overridden,
                "{:?} started a release in a freeze at {} by {:?} (override {}, note {:?}): {:?}",
                a.action,
                a.before.now,
                a.actor,
                a.emergency_override,
                a.note,
                d
            );
        } else {
            prop_assert!(!overridden, "override effect outside a freeze: {:?}", d);
        }
        if a.action == A::Release {
            let u = user(&a.actor).expect("people release");
            let own_or_lead = u.id == a.before.facts.submitter_id || u.has(Role::Lead);
            prop_assert!(
                own_or_lead || (frozen && overridden),
                "release by {:?}, neither submitter nor lead, with no freeze to override",
                u
            );
        }
    }
    Ok(())
}

fn check_available_actions(trace: &Trace) -> Result<(), TestCaseError> {
    for model in &trace.settled {
        let rules = trace.rules(model);
        for actor in &trace.actors {
            let listed = available_actions(&model.facts, rules, actor, model.now);
            let mut seen = BTreeSet::new();
            for action in &listed {
                prop_assert!(A::BY_PEOPLE.contains(action), "listed {:?}", action);
                prop_assert!(seen.insert(*action), "listed {:?} twice", action);
            }
            if *actor == Actor::System {
                prop_assert!(listed.is_empty(), "the system has buttons: {:?}", listed);
            }
            for action in A::BY_PEOPLE {
                let ask = |note: Option<&str>| {
                    decide(
                        &model.facts,
                        rules,
                        Request {
                            action,
                            actor,
                            note,
                            emergency_override: false,
                            confirm_outside_paths: false,
                            now: model.now,
                        },
                    )
                };
                let with_note = ask(Some(NOTE));
                prop_assert_eq!(
                    listed.contains(&action),
                    with_note.is_ok(),
                    "{:?} by {:?} in {:?}: listed {:?}, decide {:?}",
                    action,
                    actor,
                    model.facts.state,
                    listed,
                    with_note
                );
                if with_note.is_err() {
                    prop_assert!(ask(None).is_err(), "{:?} refused with a note, accepted without", action);
                }
            }
        }
    }
    Ok(())
}

fn check_never_older_than_production(trace: &Trace) -> Result<(), TestCaseError> {
    for (a, d) in accepted(trace) {
        // Only a start counts; an abort keeps a running release `releasing`.
        if d.to != S::Releasing || d.from == S::Releasing {
            continue;
        }
        let seq = a.before.facts.snapshot_seq;
        prop_assert!(seq.is_some(), "releasing without a staged snapshot");
        if let (Some(prod), Some(seq)) = (a.before.production, seq) {
            prop_assert!(
                seq > prod,
                "{:?} ships snapshot {} while production runs {}",
                a.action,
                seq,
                prod
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(3000))]
    #[test]
    fn p1_only_allowed_edges(sc in scenario(40)) {
        check_only_allowed_edges(&simulate(&sc))?;
    }
}

proptest! {
    #![proptest_config(config(3000))]
    #[test]
    fn p2_one_event_per_accepted_action(sc in scenario(40)) {
        check_one_event_per_accepted_action(&simulate(&sc))?;
    }
}

proptest! {
    #![proptest_config(config(3000))]
    #[test]
    fn p3_banned_approvers_never_approve(sc in scenario(40)) {
        check_banned_approvers(&simulate(&sc))?;
    }
}

proptest! {
    #![proptest_config(config(3000))]
    #[test]
    fn p4_approved_only_with_enough_valid_approvals(sc in scenario(40)) {
        check_enough_valid_approvals(&simulate(&sc))?;
    }
}

proptest! {
    #![proptest_config(config(3000))]
    #[test]
    fn p5_no_release_in_a_freeze_without_override(sc in scenario(40)) {
        check_no_release_in_freeze(&simulate(&sc))?;
    }
}

proptest! {
    #![proptest_config(config(1500))]
    #[test]
    fn p6_available_actions_agree_with_decide(sc in scenario(40)) {
        check_available_actions(&simulate(&sc))?;
    }
}

proptest! {
    #![proptest_config(config(3000))]
    #[test]
    fn p7_never_ship_older_than_production(sc in scenario(40)) {
        check_never_older_than_production(&simulate(&sc))?;
    }
}

/// The properties above are only worth their case counts if the generator
/// gets tickets far: every allowed edge, and the situations the release
/// guards are about, must come up in a fixed-seed sample of scenarios.
#[test]
fn generator_reaches_every_edge() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = scenario(40);
    let mut edges = BTreeSet::new();
    let (mut failed_release_in_freeze, mut failed_release_behind_production) = (false, false);
    let mut frozen_release = false;
    for _ in 0..2000 {
        let sc = strategy.new_tree(&mut runner).expect("a scenario").current();
        let trace = simulate(&sc);
        for (a, d) in accepted(&trace) {
            edges.insert((trace.kind, a.before.facts.state, a.action, d.to));
            frozen_release |= d.effects.contains(&Effect::EmergencyOverride);
        }
        for m in &trace.settled {
            if m.facts.state == S::Failed && m.facts.failed_from == Some(S::Releasing) {
                failed_release_in_freeze |= frozen_at(&trace.freeze, m.now);
                failed_release_behind_production |= m.production >= m.facts.snapshot_seq;
            }
        }
    }
    for kind in [TicketKind::Release, TicketKind::Rollback] {
        for &(from, action, to) in allowed_edges(kind) {
            assert!(
                edges.contains(&(kind, from, action, to)),
                "never reached {kind:?} {from:?} -{action:?}-> {to:?}"
            );
        }
    }
    assert!(frozen_release, "no emergency override in a freeze");
    assert!(failed_release_in_freeze, "no failed release sitting in a freeze");
    assert!(
        failed_release_behind_production,
        "no failed release overtaken by production"
    );
}

// ---------------------------------------------------------------------------
// Plain tests: edge cases the random runs reach rarely, and the bugs found.
// ---------------------------------------------------------------------------

fn person(id: i64, roles: &[Role], is_admin: bool) -> Actor {
    Actor::User(UserActor {
        id,
        is_admin,
        roles: roles.iter().copied().collect(),
    })
}

/// One ticket on a desk, driven step by step through `decide`.
struct Desk {
    model: Model,
    policy: ApprovalPolicy,
    freeze: FreezeCalendar,
}

impl Desk {
    /// Files a release ticket as `submitter` on Monday 2026-01-05 10:00 UTC.
    fn file(submitter: &Actor, policy: ApprovalPolicy, freeze: FreezeCalendar) -> Self {
        let created = decide_create(TicketKind::Release, submitter).expect("may file");
        let submitter_id = submitter.user_id().expect("a person");
        Desk {
            model: Model {
                facts: TicketFacts {
                    kind: TicketKind::Release,
                    state: created.to,
                    submitter_id,
                    tested_by: None,
                    generation: 0,
                    snapshot_seq: None,
                    approvals: Vec::new(),
                    failed_from: None,
                    has_outside_paths: false,
                    outside_paths_confirmed: false,
                },
                production: None,
                next_seq: 1,
                other_seqs: Vec::new(),
                now: base() + Duration::hours(10),
                events: Vec::new(),
            },
            policy,
            freeze,
        }
    }

    fn act_with(
        &mut self,
        action: Action,
        actor: &Actor,
        note: Option<&str>,
        emergency_override: bool,
    ) -> Result<Decision, Refusal> {
        let rules = ProjectRules {
            policy: &self.policy,
            freeze: &self.freeze,
            production_snapshot_seq: self.model.production,
        };
        let request = Request {
            action,
            actor,
            note,
            emergency_override,
            confirm_outside_paths: false,
            now: self.model.now,
        };
        let decision = decide(&self.model.facts, rules, request)?;
        self.model.apply(action, actor, &decision);
        Ok(decision)
    }

    fn act(&mut self, action: Action, actor: &Actor) -> Result<Decision, Refusal> {
        self.act_with(action, actor, Some(NOTE), false)
    }

    fn state(&self) -> TicketState {
        self.model.facts.state
    }

    fn wait(&mut self, minutes: i64) {
        self.model.now += Duration::minutes(minutes);
    }

    /// Takes a freshly filed ticket to `approved` (one approval by `lead`).
    fn advance_to_approved(&mut self, tester: &Actor, lead: &Actor) {
        self.act(A::StageSucceeded, &Actor::System).expect("staged");
        self.act(A::MarkTested, tester).expect("tested");
        self.act(A::Approve, lead).expect("approved");
        assert_eq!(self.state(), S::Approved);
    }
}

#[test]
fn two_of_three_needs_two_distinct_leads() {
    let policy = ApprovalPolicy {
        required: 2,
        ..ApprovalPolicy::default()
    };
    let (dev_lead, lead_a, lead_b) = (
        person(1, &[Role::Developer, Role::Lead], false),
        person(2, &[Role::Lead], false),
        person(3, &[Role::Lead], false),
    );
    let tester = person(4, &[Role::Tester], true);
    let mut desk = Desk::file(&dev_lead, policy, FreezeCalendar::default());
    desk.act(A::StageSucceeded, &Actor::System).expect("staged");
    desk.act(A::MarkTested, &tester).expect("tested");

    let first = desk.act(A::Approve, &lead_a).expect("first approval");
    assert_eq!((first.from, first.to), (S::Tested, S::Tested));
    assert_eq!(first.effects, vec![Effect::RecordApproval]);
    assert_eq!(desk.act(A::Approve, &lead_a), Err(Refusal::AlreadyApproved));
    assert_eq!(desk.act(A::Approve, &dev_lead), Err(Refusal::SelfApproval));
    assert!(matches!(
        desk.act(A::Approve, &tester),
        Err(Refusal::NotPermitted { .. })
    ));
    assert!(matches!(
        desk.act(A::Release, &dev_lead),
        Err(Refusal::WrongState { .. })
    ));
    assert_eq!(desk.state(), S::Tested);

    let second = desk.act(A::Approve, &lead_b).expect("second approval");
    assert_eq!((second.from, second.to), (S::Tested, S::Approved));
    assert!(matches!(desk.act(A::Approve, &lead_a), Err(Refusal::WrongState { .. })));
    assert_eq!(desk.act(A::Release, &dev_lead).map(|d| d.to), Ok(S::Releasing));
    // Filing, stage, tested, two approvals, release: one event each.
    assert_eq!(desk.model.events.len(), 5);
}

#[test]
fn resubmit_and_restage_void_earlier_approvals() {
    let policy = ApprovalPolicy {
        required: 2,
        ..ApprovalPolicy::default()
    };
    let dev = person(1, &[Role::Developer], false);
    let (lead_a, lead_b) = (person(2, &[Role::Lead], false), person(3, &[Role::Lead], false));
    let tester = person(4, &[Role::Tester], false);
    let mut desk = Desk::file(&dev, policy, FreezeCalendar::default());
    desk.act(A::StageSucceeded, &Actor::System).expect("staged");
    desk.act(A::MarkTested, &tester).expect("tested");
    desk.act(A::Approve, &lead_a).expect("approval for generation 1");
    assert_eq!(
        desk.act_with(A::Return, &tester, None, false),
        Err(Refusal::NoteRequired { action: A::Return })
    );
    desk.act(A::Return, &tester).expect("returned");
    let resubmitted = desk.act(A::Resubmit, &dev).expect("resubmitted");
    assert_eq!(resubmitted.enqueue, Some(JobKind::Stage));
    assert_eq!(desk.model.facts.tested_by, None);
    desk.act(A::StageSucceeded, &Actor::System).expect("restaged");
    assert_eq!(desk.model.facts.generation, 2);
    desk.act(A::MarkTested, &tester).expect("tested again");

    // Lead A's approval was for the old snapshot: lead B alone is one of two.
    assert_eq!(desk.act(A::Approve, &lead_b).map(|d| d.to), Ok(S::Tested));
    assert_eq!(desk.act(A::Approve, &lead_a).map(|d| d.to), Ok(S::Approved));
    assert_eq!(desk.act(A::Release, &dev).map(|d| d.to), Ok(S::Releasing));
}

#[test]
fn approval_expiry_blocks_release_and_allows_reapproval() {
    let policy = ApprovalPolicy {
        expiry: Some(Duration::minutes(60)),
        ..ApprovalPolicy::default()
    };
    let dev = person(1, &[Role::Developer], false);
    let lead = person(2, &[Role::Lead], false);
    let mut desk = Desk::file(&dev, policy, FreezeCalendar::default());
    desk.advance_to_approved(&dev, &lead);
    desk.wait(59);
    // Still valid: nothing to renew.
    assert!(matches!(desk.act(A::Approve, &lead), Err(Refusal::WrongState { .. })));
    desk.wait(1);
    // Exactly 60 minutes on, the approval has expired.
    assert_eq!(
        desk.act(A::Release, &dev),
        Err(Refusal::ApprovalsExpired { valid: 0, required: 1 })
    );
    assert!(matches!(desk.act(A::Execute, &dev), Err(Refusal::WrongState { .. })));
    let renewed = desk.act(A::Approve, &lead).expect("re-approval");
    assert_eq!((renewed.from, renewed.to), (S::Approved, S::Approved));
    assert_eq!(renewed.effects, vec![Effect::RecordApproval]);
    assert_eq!(desk.act(A::Release, &dev).map(|d| d.to), Ok(S::Releasing));
}

/// Bug found by `p5`: a failed release was retried straight into
/// `releasing` inside a freeze window, with no override.
#[test]
fn retry_of_a_failed_release_respects_freeze_windows() {
    // Every week from Monday 12:00 to 18:00 UTC.
    let freeze = FreezeCalendar {
        windows: vec![FreezeWindow::Weekly {
            from: week_time(12 * 60),
            to: week_time(18 * 60),
        }],
        zone: chrono_tz::Tz::UTC,
    };
    let dev = person(1, &[Role::Developer], false);
    let lead = person(2, &[Role::Lead], false);
    let admin = person(3, &[], true);
    let mut desk = Desk::file(&dev, ApprovalPolicy::default(), freeze);
    desk.advance_to_approved(&dev, &lead);
    desk.act(A::Release, &dev)
        .expect("released at 10:00, before the freeze");
    desk.act(A::JobFailed, &Actor::System).expect("the release job failed");
    desk.wait(3 * 60); // 13:00: frozen

    assert!(matches!(desk.act(A::Retry, &dev), Err(Refusal::Frozen { .. })));
    assert!(matches!(desk.act(A::Retry, &lead), Err(Refusal::Frozen { .. })));
    assert!(matches!(
        desk.act_with(A::Retry, &admin, None, false),
        Err(Refusal::Frozen { .. })
    ));
    assert_eq!(desk.state(), S::Failed);
    let rules = ProjectRules {
        policy: &desk.policy,
        freeze: &desk.freeze,
        production_snapshot_seq: None,
    };
    assert_eq!(
        available_actions(&desk.model.facts, rules, &dev, desk.model.now),
        vec![A::Cancel]
    );

    let overridden = desk
        .act_with(A::Retry, &admin, Some(NOTE), true)
        .expect("admin override");
    assert_eq!(overridden.to, S::Releasing);
    assert!(overridden.effects.contains(&Effect::EmergencyOverride));
    assert_eq!(overridden.enqueue, Some(JobKind::Release));

    // A stage retry is not a release: the freeze does not hold it.
    let mut desk = Desk::file(&dev, ApprovalPolicy::default(), desk.freeze.clone());
    desk.wait(3 * 60);
    desk.act(A::JobFailed, &Actor::System).expect("the stage job failed");
    assert_eq!(desk.act(A::Retry, &dev).map(|d| d.to), Ok(S::Submitted));
}

/// Bug found by `p7`: after a failed release, another ticket shipped a newer
/// snapshot; retrying the failed one shipped the older snapshot over it
/// (DESIGN.md invariant 3: only a rollback ships an older version).
#[test]
fn retry_of_a_failed_release_never_ships_older_than_production() {
    let dev = person(1, &[Role::Developer], false);
    let lead = person(2, &[Role::Lead], false);
    let mut desk = Desk::file(&dev, ApprovalPolicy::default(), FreezeCalendar::default());
    desk.advance_to_approved(&dev, &lead);
    let ours = desk.model.facts.snapshot_seq.expect("staged");
    desk.act(A::Release, &dev).expect("release");
    desk.act(A::JobFailed, &Actor::System).expect("the release job failed");
    // Meanwhile a ticket staged after ours ships.
    desk.model.production = Some(ours + 1);

    assert_eq!(desk.act(A::Retry, &dev), Err(Refusal::OlderThanProduction));
    assert_eq!(desk.act(A::Retry, &lead), Err(Refusal::OlderThanProduction));
    assert_eq!(desk.act(A::Cancel, &dev).map(|d| d.to), Ok(S::Cancelled));

    // With production behind it, the retry goes ahead.
    let mut desk = Desk::file(&dev, ApprovalPolicy::default(), FreezeCalendar::default());
    desk.model.next_seq = 5;
    desk.advance_to_approved(&dev, &lead);
    desk.act(A::Release, &dev).expect("release");
    desk.act(A::JobFailed, &Actor::System).expect("the release job failed");
    desk.model.production = Some(4);
    assert_eq!(desk.act(A::Retry, &dev).map(|d| d.to), Ok(S::Releasing));
}

/// Bug found by `p5`: an admin who is neither the submitter nor a lead could
/// release any approved ticket at any time by ticking "emergency override",
/// and with no freeze in force the event did not even record an override.
#[test]
fn an_admin_override_only_lifts_a_freeze() {
    let dev = person(1, &[Role::Developer], false);
    let lead = person(2, &[Role::Lead], false);
    let admin = person(3, &[Role::Tester], true);
    let freeze = FreezeCalendar {
        windows: vec![FreezeWindow::Range {
            from: base() + Duration::hours(12),
            to: base() + Duration::hours(14),
        }],
        zone: chrono_tz::Tz::UTC,
    };
    let mut desk = Desk::file(&dev, ApprovalPolicy::default(), freeze);
    desk.advance_to_approved(&dev, &lead);

    // 10:00, no freeze.
    assert!(matches!(
        desk.act_with(A::Release, &admin, Some(NOTE), true),
        Err(Refusal::NotPermitted { .. })
    ));
    assert!(matches!(
        desk.act(A::Release, &admin),
        Err(Refusal::NotPermitted { .. })
    ));
    desk.wait(150); // 12:30, frozen
    assert!(matches!(desk.act(A::Release, &dev), Err(Refusal::Frozen { .. })));
    assert!(matches!(
        desk.act_with(A::Release, &dev, Some(NOTE), true),
        Err(Refusal::NotPermitted { .. })
    ));
    assert_eq!(
        desk.act_with(A::Release, &admin, None, true),
        Err(Refusal::NoteRequired { action: A::Release })
    );
    let overridden = desk.act_with(A::Release, &admin, Some(NOTE), true).expect("override");
    assert_eq!(overridden.to, S::Releasing);
    assert!(overridden.effects.contains(&Effect::EmergencyOverride));
    assert!(desk.model.events.last().is_some_and(|e| e.emergency_override));
}
