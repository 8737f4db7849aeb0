//! How the fault suite drives Slipway as its users do, over `/api/v1`:
//! commit to SVN and file a ticket, mark it tested and approve it, release
//! or retry it, request, approve and execute a rollback. Waiting is polling
//! the database with a deadline.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use slipway::store::Pool;

use super::checks::{self, ticket};
use super::cluster::{Cluster, PROJECT};
use super::Rng;

/// Polls until ticket `id`'s state satisfies `done`; returns the last state.
pub fn wait_state(pool: &Pool, id: i64, limit: Duration, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let state = ticket(pool, id).state;
        if done(&state) || Instant::now() >= deadline {
            return state;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Commits a change to SVN (a new line in index.html and a new file), so
/// every staged snapshot differs from the one before.
pub fn commit_change(c: &Cluster, round: usize) {
    static COMMITS: AtomicUsize = AtomicUsize::new(0);
    let k = COMMITS.fetch_add(1, Ordering::Relaxed);
    let index = format!("<h1>chaos round {round}, commit {k}</h1>\n");
    let extra = format!("data/commit-{k}.txt");
    let body = format!("round {round}\n");
    c.svn.commit(
        &[("index.html", Some(&index)), (&extra, Some(&body))],
        &format!("round {round}"),
    );
}

/// Files a release ticket as the developer; returns its id.
pub fn file_ticket(c: &Cluster, round: usize) -> Result<i64, String> {
    let body = json!({ "project": PROJECT, "reason": format!("chaos round {round}"), "svn_paths": [] });
    let r = c.dev.post("/api/v1/tickets", &body)?;
    r.body["id"]
        .as_i64()
        .filter(|_| r.status == 201)
        .ok_or_else(|| format!("file ticket: {} {:?}", r.status, r.body))
}

fn expect_ok(what: &str, r: Result<super::http::Response, String>) -> Result<(), String> {
    match r {
        Ok(r) if r.status == 200 || r.status == 201 => Ok(()),
        Ok(r) => Err(format!("{what}: {} {}", r.status, r.body)),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// Marks a staged ticket tested and approves it.
pub fn test_and_approve(c: &Cluster, id: i64) -> Result<(), String> {
    expect_ok("mark-tested", c.tester.act(id, "mark-tested"))?;
    expect_ok("approve", c.lead.act(id, "approve"))
}

/// An approved ticket: a staged one is tested and approved, else a new
/// one is filed, staged (no faults injected) and approved.
pub fn prepare_approved(c: &Cluster, pool: &Pool, round: usize) -> Result<i64, String> {
    let staged = checks::all_tickets(pool)
        .into_iter()
        .find(|t| t.kind == "release" && t.state == "staged");
    match staged {
        Some(t) => test_and_approve(c, t.id).map(|()| t.id),
        None => prepare_fresh(c, pool, round),
    }
}

/// A new ticket with the newest snapshot, staged and approved.
pub fn prepare_fresh(c: &Cluster, pool: &Pool, round: usize) -> Result<i64, String> {
    commit_change(c, round);
    let id = file_ticket(c, round)?;
    let state = wait_state(pool, id, Duration::from_secs(60), |s| s != "submitted");
    if state != "staged" {
        return Err(format!("preparing: ticket #{id} ended {state}, not staged"));
    }
    test_and_approve(c, id)?;
    Ok(id)
}

/// Defect 2's path to an older production: two approved tickets; the newer
/// one ships and its after-switch hook fails (every host switched); then the
/// older one is released. Returns the older ticket and whether its release
/// started (a correct gate refuses it: it is then cancelled).
pub fn start_older_release(c: &Cluster, pool: &Pool, round: usize) -> Result<(i64, bool), String> {
    let older = prepare_approved(c, pool, round)?;
    let newer = prepare_fresh(c, pool, round)?;
    c.fail_hook("after_switch", false);
    let shipped = expect_ok("release the newer ticket", c.dev.act(newer, "release"))
        .map(|()| wait_state(pool, newer, Duration::from_secs(60), |s| s != "releasing"));
    c.pass_hook("after_switch");
    let shipped = shipped?;
    eprintln!("chaos: round {round}: newer #{newer} (after_switch hook failing) ended {shipped}; now releasing older #{older}");
    match c.dev.act(older, "release") {
        Ok(r) if r.status == 200 => Ok((older, true)),
        Ok(r) if r.status == 409 => {
            let _ = c.dev.act(older, "cancel");
            Ok((older, false))
        }
        Ok(r) => Err(format!("release #{older}: {} {}", r.status, r.body)),
        Err(e) => Err(format!("release #{older}: {e}")),
    }
}

/// What a release round starts: `release` of an approved ticket or `retry`
/// of a failed release. Refused starts (an older snapshot than production)
/// are cancelled and another ticket is tried.
pub fn start_release(c: &Cluster, pool: &Pool, rng: &mut Rng, round: usize) -> Result<(i64, &'static str), String> {
    for attempt in 0..4 {
        let tickets = checks::all_tickets(pool);
        let mut candidates: Vec<(i64, &'static str)> = tickets
            .iter()
            .filter(|t| t.kind == "release")
            .filter_map(|t| match (t.state.as_str(), t.failed_from.as_deref()) {
                ("approved", _) => Some((t.id, "release")),
                ("failed", Some("releasing")) => Some((t.id, "retry")),
                _ => None,
            })
            .collect();
        let approved = candidates.iter().filter(|(_, a)| *a == "release").count();
        let fresh = attempt == 3; // the last try ships a new snapshot, which no gate refuses
        if fresh {
            candidates = vec![(prepare_fresh(c, pool, round)?, "release")];
        } else if candidates.is_empty() || (approved < 2 && rng.chance(0.6)) {
            candidates.push((prepare_approved(c, pool, round)?, "release"));
        }
        let (id, action) = candidates[rng.below(candidates.len())];
        match c.dev.act(id, action) {
            Ok(r) if r.status == 200 => return Ok((id, action)),
            Ok(r) if r.status == 409 || r.status == 400 => {
                // e.g. older than production: a correct refusal; clear it away.
                eprintln!(
                    "chaos: {action} #{id} refused ({}): {}; cancelling it",
                    r.status, r.body["error"]["message"]
                );
                let _ = c.dev.act(id, "cancel");
            }
            Ok(r) => return Err(format!("{action} #{id}: {} {}", r.status, r.body)),
            Err(e) => return Err(format!("{action} #{id}: {e}")),
        }
    }
    Err("no release could be started".into())
}

/// Requests, approves and executes a rollback to a released version older
/// than production; `None` when there is none to go back to.
pub fn start_rollback(c: &Cluster, pool: &Pool, rng: &mut Rng) -> Result<Option<i64>, String> {
    let Some(prod) = checks::project(pool).production_version else {
        return Ok(None);
    };
    let targets: Vec<i64> = checks::all_tickets(pool)
        .iter()
        .filter(|t| t.kind == "release" && t.state == "released")
        .filter_map(|t| t.version)
        .filter(|v| *v < prod)
        .collect();
    if targets.is_empty() {
        return Ok(None);
    }
    let version = targets[rng.below(targets.len())];
    let body = json!({ "version": version, "reason": "chaos: go back" });
    let r = c.dev.post(&format!("/api/v1/projects/{PROJECT}/rollbacks"), &body)?;
    let id = r.body["id"]
        .as_i64()
        .filter(|_| r.status == 201)
        .ok_or_else(|| format!("request rollback to v{version}: {} {}", r.status, r.body))?;
    expect_ok("approve rollback", c.lead.act(id, "approve"))?;
    expect_ok("execute rollback", c.dev.act(id, "execute"))?;
    Ok(Some(id))
}
