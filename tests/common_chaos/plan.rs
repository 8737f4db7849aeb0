//! One round's plan in the fault suite, drawn from the seeded generator
//! before anything runs (so a seed replays the same actions, faults and
//! kill delays): which action, which fault, when to kill, which process.

use super::Rng;

/// The hooks of the chaos project, each of which can be made to fail.
pub const HOOKS: [&str; 3] = ["before_switch", "after_switch", "after_release"];

/// One round's plan, drawn from the seeded generator before anything runs.
pub struct Plan {
    pub action: &'static str,
    pub fault: Fault,
    pub delay: f64,
    pub victim: usize,
}

#[derive(Clone, Copy)]
pub enum Fault {
    None,
    Hook(&'static str, bool),
    Refuse,
}

impl Fault {
    pub fn describe(self) -> String {
        match self {
            Fault::None => "none".into(),
            Fault::Hook(hook, true) => format!("{hook} hook fails (ansi)"),
            Fault::Hook(hook, false) => format!("{hook} hook fails"),
            Fault::Refuse => "web2 refuses ssh".into(),
        }
    }
}

pub fn plan(rng: &mut Rng) -> Plan {
    let roll = rng.unit();
    let action = if roll < 0.25 {
        "stage"
    } else if roll < 0.65 {
        "release"
    } else if roll < 0.75 {
        "older"
    } else {
        "rollback"
    };
    let f = rng.unit();
    let fault = if action == "stage" || action == "older" {
        Fault::None
    } else if f < 0.25 {
        Fault::Hook(HOOKS[rng.below(HOOKS.len())], rng.chance(0.5))
    } else if f < 0.4 {
        Fault::Refuse
    } else {
        Fault::None
    };
    // Most kills land while the job runs (its usual length here: stage
    // ~1.5 s, rollback ~2.5 s, release ~4 s); one in ten comes later.
    let window = match action {
        "stage" => 1.5,
        "rollback" => 2.5,
        _ => 4.0,
    };
    let delay = if rng.chance(0.1) {
        window + rng.unit() * 2.0
    } else {
        rng.unit() * window
    };
    Plan {
        action,
        fault,
        delay,
        victim: rng.below(2),
    }
}
