//! The fault suite's harness (issue 9, "A fault suite of its own"): a
//! seeded random number generator, what a kill interrupted (from the
//! killed process's children), and the tally of rounds, kills, outcomes and
//! violations that `tests/chaos.rs` prints.
#![allow(dead_code)]

pub mod checks;
pub mod cluster;
pub mod http;
pub mod plan;
pub mod procs;
pub mod scenario;

use std::collections::BTreeMap;

use slipway::store::models::JobRow;

use procs::Proc;

/// splitmix64: small, seedable, good enough to pick actions and delays.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// What the killed process was doing, from the job it held and the
/// children it had: `release/upload`, `stage/build`, `rollback/switch`,
/// `release/hook:after_switch`, `idle`…
pub fn phase(job: Option<&JobRow>, children: &[Proc]) -> String {
    let Some(job) = job else {
        return "idle (no pipeline job)".into();
    };
    // Commands sent over ssh are shell-quoted words: match without the quotes.
    let words: Vec<String> = children.iter().map(|p| p.cmdline.replace('\'', "")).collect();
    let has = |needle: &str| words.iter().any(|w| w.contains(needle));
    let step = if let Some(hook) = ["before_switch", "after_switch", "after_release"]
        .into_iter()
        .find(|h| has(&format!("hook.sh {h}")))
    {
        format!("hook:{hook}")
    } else if words.iter().any(|w| w.starts_with("rsync")) {
        "upload".into()
    } else if has("mv -T") || has("ln -sfn") {
        "switch".into()
    } else if has("rm -rf") {
        "prune".into()
    } else if has("readlink") || has("ls -1") {
        "read-live".into()
    } else if words.iter().any(|w| w.starts_with("svn")) {
        "svn".into()
    } else if has("sleep 0.5") {
        "build".into()
    } else if has("ssh") {
        "ssh master only (connect, or between steps)".into()
    } else {
        "in-process (db/git/export)".into()
    };
    format!("{}/{step}", job.kind)
}

/// The five checks of issue 9.
pub const CHECKS: [&str; 5] = [
    "1 a child outlived the killed process",
    "2 a ticket stayed in a job-owned state",
    "3 current is not its tag's tree",
    "4 recorded version != host's current",
    "5 production went back without a rollback",
];

/// One broken promise.
#[derive(Debug, Clone)]
pub struct Violation {
    pub check: usize,
    pub round: usize,
    pub detail: String,
}

/// Counts of one run.
#[derive(Debug, Default)]
pub struct Report {
    pub backend: String,
    pub seed: u64,
    pub rounds: usize,
    pub actions: BTreeMap<String, u32>,
    pub faults: BTreeMap<String, u32>,
    pub kills: BTreeMap<String, u32>,
    pub victims: BTreeMap<String, u32>,
    pub outcomes: BTreeMap<String, u32>,
    pub violations: Vec<Violation>,
}

impl Report {
    pub fn new(backend: &str, seed: u64) -> Self {
        Self {
            backend: backend.to_owned(),
            seed,
            ..Self::default()
        }
    }

    pub fn count(map: &mut BTreeMap<String, u32>, key: impl Into<String>) {
        *map.entry(key.into()).or_default() += 1;
    }

    /// Records (and prints at once) a violation of check `check` (1–5).
    pub fn violation(&mut self, check: usize, round: usize, detail: impl Into<String>) {
        let detail = detail.into();
        eprintln!(
            "chaos[{}] VIOLATION check {} ({}) in round {round} (seed {}): {detail}",
            self.backend,
            check,
            CHECKS[check - 1],
            self.seed
        );
        self.violations.push(Violation { check, round, detail });
    }

    /// The summary printed at the end of a run.
    pub fn summary(&self, elapsed: std::time::Duration) -> String {
        let line = |name: &str, map: &BTreeMap<String, u32>| {
            let items: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("  {name}: {}\n", items.join(", "))
        };
        let mut out = format!(
            "chaos[{}] seed {} (replay: SLIPWAY_CHAOS_SEED={}): {} rounds in {:.0} s\n",
            self.backend,
            self.seed,
            self.seed,
            self.rounds,
            elapsed.as_secs_f64()
        );
        out.push_str(&line("actions", &self.actions));
        out.push_str(&line("faults", &self.faults));
        out.push_str(&line("kills by victim", &self.victims));
        out.push_str(&line("kills by phase", &self.kills));
        out.push_str(&line("outcomes (ticket state after the round)", &self.outcomes));
        out.push_str("  violations per check:\n");
        for (i, name) in CHECKS.iter().enumerate() {
            let n = self.violations.iter().filter(|v| v.check == i + 1).count();
            out.push_str(&format!("    {name}: {n}\n"));
        }
        out
    }
}
