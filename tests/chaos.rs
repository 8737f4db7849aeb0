//! The fault suite (issue 9, "A fault suite of its own"), on SQLite and on
//! PostgreSQL: rounds of a stage, release or rollback against a real SVN
//! repository and two real sshd hosts, driven over `/api/v1` like a user
//! would, with `slipway serve` or `slipway worker` (the real binary, lease
//! 5 s, sweep every second) SIGKILLed at a random moment, in some rounds a
//! hook failing or a host refusing connections, then started again. After
//! each round:
//!
//! 1. no child of the killed process still runs (its descendants are read
//!    from `/proc` just before the kill, by pid and start time);
//! 2. no ticket stays `submitted`, `releasing` or `rolling_back` once no job
//!    is left to move it (or after 60 s);
//! 3. no host's `current` resolves to a tree other than its tag's;
//! 4. `hosts.running_version` equals each host's `current`;
//! 5. no host's snapshot went back (git ancestry) without a rollback ticket,
//!    nor `production_version` down.
//!
//! It prints its counts (kills by phase, outcomes, violations per check)
//! and fails on any violation, naming check, round and seed.
//!
//! `SLIPWAY_CHAOS_ROUNDS` (rounds per backend, default [`DEFAULT_ROUNDS`]),
//! `SLIPWAY_CHAOS_SEED` (replay the actions and delays of a run),
//! `SLIPWAY_CHAOS_KEEP=1` (keep the data dir, hosts and slipway log).

mod common;
mod common_chaos;
mod common_svn;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::time::{Duration, Instant};

use common::TestDb;
use common_chaos::checks::{self, Tags};
use common_chaos::cluster::{Cluster, LEASE_SECS};
use common_chaos::plan::{plan, Fault, HOOKS};
use common_chaos::procs::{kill_leftovers, survivors};
use common_chaos::{phase, scenario, Report, Rng};

/// Rounds per backend unless `SLIPWAY_CHAOS_ROUNDS` says otherwise.
const DEFAULT_ROUNDS: usize = 50;

fn rounds() -> usize {
    std::env::var("SLIPWAY_CHAOS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS)
}

fn seed(backend: &str) -> u64 {
    if let Some(seed) = std::env::var("SLIPWAY_CHAOS_SEED").ok().and_then(|v| v.parse().ok()) {
        return seed;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ u64::from(std::process::id()) ^ (backend.len() as u64) << 48
}

/// The processes, hosts and database of a run.
struct World<'a> {
    c: Cluster,
    db: &'a TestDb,
    tags: Tags,
}

/// What carries over from one round to the next.
#[derive(Default)]
struct Memory {
    /// Per host: the release and commit `current` named after the last round.
    live: BTreeMap<String, (String, String)>,
    production: Option<i64>,
    /// Tickets already reported stuck in a job-owned state.
    stuck: BTreeSet<i64>,
    /// Violations already reported (a persisting state is reported once).
    seen: BTreeSet<(usize, String)>,
}

impl Memory {
    fn report(&mut self, report: &mut Report, check: usize, round: usize, key: String, detail: String) {
        if self.seen.insert((check, key)) {
            report.violation(check, round, detail);
        }
    }
}

/// Starts the round's action; returns what was started and its ticket.
fn start(c: &Cluster, db: &TestDb, rng: &mut Rng, round: usize, action: &str) -> Result<(String, i64), String> {
    if action == "rollback" {
        if let Some(id) = scenario::start_rollback(c, &db.pool, rng)? {
            return Ok(("rollback".into(), id));
        }
    }
    if action == "older" {
        let (id, started) = scenario::start_older_release(c, &db.pool, round)?;
        let what = if started {
            "older release"
        } else {
            "older release (refused)"
        };
        return Ok((what.into(), id));
    }
    if action == "stage" {
        scenario::commit_change(c, round);
        return Ok(("stage".into(), scenario::file_ticket(c, round)?));
    }
    let (id, how) = scenario::start_release(c, &db.pool, rng, round)?;
    Ok((how.to_owned(), id))
}

fn round(w: &mut World<'_>, rng: &mut Rng, report: &mut Report, memory: &mut Memory, n: usize) {
    let db = w.db;
    let plan = plan(rng);
    let fault = plan.fault.describe();
    match plan.fault {
        Fault::Hook(hook, ansi) => w.c.fail_hook(hook, ansi),
        Fault::Refuse => w.c.ssh[1].stop(),
        Fault::None => {}
    }
    let (what, id) = match start(&w.c, db, rng, n, plan.action) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "chaos[{}] round {n}: could not start {}: {e}",
                report.backend, plan.action
            );
            Report::count(&mut report.outcomes, format!("{}:not started", plan.action));
            clear_faults(&mut w.c);
            return;
        }
    };
    Report::count(&mut report.actions, what.clone());
    Report::count(&mut report.faults, fault.clone());
    no_step_back(
        w,
        report,
        memory,
        n,
        &format!("once {what} #{id} was started"),
        plan.action == "rollback",
    );

    wait_for_job(db, id);
    std::thread::sleep(Duration::from_secs_f64(plan.delay));
    let running = checks::running_job(&db.pool);
    let holder = running.as_ref().and_then(|(_, pid)| *pid);
    let index =
        w.c.procs
            .iter()
            .position(|p| p.pid().is_some() && p.pid() == holder)
            .unwrap_or(plan.victim);
    let role = w.c.procs[index].role;
    let children = w.c.procs[index].kill_hard();
    let killed_in = phase(running.as_ref().map(|(j, _)| j), &children);
    Report::count(&mut report.kills, killed_in.clone());
    Report::count(&mut report.victims, role.as_str());
    w.c.restart(role);
    let context = format!(
        "{what} #{id}, fault: {fault}, {} killed in {killed_in} {:.2} s after its job started",
        role.as_str(),
        plan.delay
    );
    let before = report.violations.len();

    // Check 1: children of the killed process.
    let left = survivors(&children, Duration::from_secs(2));
    if !left.is_empty() {
        let names: Vec<String> = left.iter().map(|p| format!("{} `{}`", p.pid, p.cmdline)).collect();
        let detail = format!(
            "{} of its {} children still run 2 s later: {} ({context})",
            left.len(),
            children.len(),
            names.join("; ")
        );
        report.violation(1, n, detail);
        kill_leftovers(&left);
    }

    // Check 2: job-owned states after lease expiry and sweep.
    if let Err(stuck) = checks::settle(&db.pool, Duration::from_secs(60 + LEASE_SECS), &memory.stuck) {
        for (ticket, text) in stuck {
            memory.stuck.insert(ticket);
            memory.report(report, 2, n, ticket.to_string(), format!("{text} ({context})"));
        }
    }
    clear_faults(&mut w.c);
    let row = checks::ticket(&db.pool, id);
    let state = match (row.state.as_str(), row.last_error.as_deref()) {
        ("failed", Some(e)) => format!("failed ({})", checks::short(e)),
        _ => row.state.clone(),
    };
    Report::count(&mut report.outcomes, format!("{what}:{}", row.state));
    after_round(w, report, memory, n, &context, what == "rollback");
    eprintln!(
        "chaos[{}] round {n}: {context}; ticket {state}; production {:?}; {}",
        report.backend,
        checks::project(&db.pool).production_version,
        checks::hosts_line(&db.pool, &w.c.hosts)
    );
    if report.violations[before..].iter().any(|v| v.check > 1) {
        eprintln!(
            "chaos[{}] round {n}: job output of #{id}, last lines:\n{}",
            report.backend,
            checks::log_tail(&db.pool, id, 25)
        );
    }
}

/// Waits (up to 10 s) until a worker runs ticket `id`'s job, or the
/// ticket left its job-owned state: kill delays count from the job's start.
fn wait_for_job(db: &TestDb, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let running = checks::running_job(&db.pool).is_some_and(|(j, _)| j.ticket_id == Some(id));
        let owned = checks::JOB_OWNED.contains(&checks::ticket(&db.pool, id).state.as_str());
        if running || !owned {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn clear_faults(c: &mut Cluster) {
    for hook in HOOKS {
        c.pass_hook(hook);
    }
    if !c.ssh[1].running() {
        c.ssh[1].start();
    }
}

/// Checks 3, 4 and 5 once the round settled.
fn after_round(w: &World<'_>, report: &mut Report, memory: &mut Memory, n: usize, context: &str, rollback: bool) {
    let World { c, db, tags } = w;
    for (name, dir) in &c.hosts {
        if let Err(e) = tags.check_current(name, dir) {
            memory.report(report, 3, n, e.clone(), format!("{e} (after {context})"));
        }
    }
    for e in checks::check_recorded(&db.pool, &c.hosts) {
        memory.report(report, 4, n, e.clone(), format!("{e} (after {context})"));
    }
    no_step_back(w, report, memory, n, &format!("after {context}"), rollback);
}

/// Check 5: no host's snapshot went back (git ancestry of the tags) and
/// `production_version` did not go down since the last look, unless a
/// rollback ran. Looked at after each round and once its action started
/// (a round may ship twice).
fn no_step_back(w: &World<'_>, report: &mut Report, memory: &mut Memory, n: usize, when: &str, rollback: bool) {
    let World { c, db, tags } = w;
    for (name, dir) in &c.hosts {
        let Some(live) = checks::live(dir) else { continue };
        let Some(commit) = tags.commit(&live.release) else {
            continue;
        };
        if let Some((before, before_commit)) = memory.live.get(name) {
            if !rollback && tags.strictly_older(&commit, before_commit) {
                let detail = format!(
                    "{name} went from {before} to {} (an older snapshot: {commit} is an ancestor of {before_commit}) with no rollback ticket ({when})",
                    live.release
                );
                memory.report(report, 5, n, detail.clone(), detail);
            }
        }
        memory.live.insert(name.clone(), (live.release, commit));
    }
    let production = checks::project(&db.pool).production_version;
    if !rollback && production < memory.production {
        let tag = |v: Option<i64>| v.and_then(|v| tags.commit(&format!("v{v}")));
        let content = match (tag(memory.production), tag(production)) {
            (Some(old), Some(new)) if tags.strictly_older(&new, &old) => "its snapshot is older too",
            (Some(old), Some(new)) if tags.strictly_older(&old, &new) => {
                "its snapshot is newer: the number went down, not the content"
            }
            _ => "snapshots not comparable",
        };
        let detail = format!(
            "production_version went from {:?} to {production:?} with no rollback ticket; {content} ({when})",
            memory.production
        );
        memory.report(report, 5, n, detail.clone(), detail);
    }
    memory.production = production;
}

fn run(db: TestDb, backend: &str) {
    let rounds = rounds();
    let seed = seed(backend);
    eprintln!("chaos[{backend}] seed {seed}, {rounds} rounds (replay: SLIPWAY_CHAOS_SEED={seed})");
    let started = Instant::now();
    let c = Cluster::start(&db);
    let tags = Tags::new(&c.data);
    let mut w = World { c, db: &db, tags };
    let mut rng = Rng::new(seed);
    let mut report = Report::new(backend, seed);
    let mut memory = Memory::default();
    for n in 1..=rounds {
        round(&mut w, &mut rng, &mut report, &mut memory, n);
        report.rounds = n;
    }
    for p in &mut w.c.procs {
        let left = p.kill_hard();
        kill_leftovers(&left);
    }
    if std::env::var_os("SLIPWAY_CHAOS_KEEP").is_some() {
        let dir = std::mem::replace(&mut w.c.dir, tempfile::tempdir().expect("temp dir"));
        eprintln!(
            "chaos[{backend}] kept the data dir, hosts and log in {}",
            dir.keep().display()
        );
    }
    let summary = report.summary(started.elapsed());
    // Straight to the process's stderr, past the test harness's capture: the
    // counts are printed in every run, passing or not.
    let _ = writeln!(std::io::stderr(), "{summary}");
    if !report.violations.is_empty() {
        let mut log = std::fs::read_to_string(w.c.log_path()).unwrap_or_default();
        if log.len() > 4000 {
            log = log[log.len() - 4000..].to_owned();
        }
        eprintln!("chaos[{backend}] slipway log tail:\n{log}");
    }
    let listed: Vec<String> = report
        .violations
        .iter()
        .map(|v| format!("round {} check {}: {}", v.round, v.check, v.detail))
        .collect();
    assert!(
        report.violations.is_empty(),
        "{} violation(s) on {backend} (seed {seed}):\n{}\n{summary}",
        listed.len(),
        listed.join("\n")
    );
}

#[test]
fn chaos_sqlite() {
    run(TestDb::sqlite(), "sqlite");
}

#[test]
fn chaos_postgres() {
    run(TestDb::postgres(), "postgres");
}
