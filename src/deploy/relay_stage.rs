//! The relay stage of a fan-out (`super::fanout`): each distinct relay of
//! the hosts gets the release once, as a host of its own, before the hosts
//! behind it run their pipelines through it (`super::relay`).

use std::collections::HashMap;

use super::pipeline::{run_host, Op};
use super::relay::Relay;
use super::remote::Host;
use super::settings::DeployMode;
use super::{Context, DeployHost, HostEvent, HostResult, HostState, Target};

/// The distinct relays of `hosts`, each with the indexes of its hosts.
pub(super) fn relays_of(hosts: &[DeployHost]) -> Vec<(&Relay, Vec<usize>)> {
    let mut out: Vec<(&Relay, Vec<usize>)> = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        if let Some(relay) = &h.via {
            match out.iter_mut().find(|(r, _)| *r == relay) {
                Some((_, list)) => list.push(i),
                None => out.push((relay, vec![i])),
            }
        }
    }
    out
}

/// What the relay stage knows for a delta to the relay: the release most
/// of its hosts were recorded at is taken as the relay's record (the relay
/// received it for them); the relay's `current` is checked against it
/// before any change is sent, and a mismatch means a full upload (with
/// `--link-dest` to the relay's live release).
pub(super) fn relay_delta(delta: &super::Delta, relay: &DeployHost, hosts: &[&DeployHost]) -> super::Delta {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for h in hosts {
        if let Some(v) = delta.recorded.get(&h.name) {
            *counts.entry(v.as_str()).or_default() += 1;
        }
    }
    let mut out = super::Delta {
        recorded: HashMap::new(),
        changes: delta.changes.clone(),
    };
    if let Some((v, _)) = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0))) {
        out.recorded.insert(relay.name.clone(), v.to_owned());
    }
    out
}

/// The settings of the relay stage: the project's, without hooks, health
/// check or service restarts (the relay serves nothing), always atomic.
pub(super) fn relay_settings(s: &super::DeploySettings) -> super::DeploySettings {
    let mut out = s.clone();
    out.mode = DeployMode::Atomic;
    out.hooks = Default::default();
    out.health = None;
    out.restarts = Default::default();
    out
}

/// Brings the release to each relay of `hosts` once (a ship, or for a
/// rollback with a fallback release a switch that uploads it where the
/// relay no longer keeps it; nothing for a plain switch), as a host of its
/// own without hooks, health check or events. Returns the relay stages and,
/// for each host behind a relay that failed (or that is not an ssh
/// target), why it fails.
pub(super) fn relay_stages(
    ctx: &Context,
    hosts: &[DeployHost],
    version: &str,
    op: Op<'_>,
) -> (Vec<HostResult>, HashMap<usize, String>) {
    let mut stages = Vec::new();
    let mut failed = HashMap::new();
    let relays = relays_of(hosts);
    if relays.is_empty() || (ctx.should_abort)() {
        return (stages, failed);
    }
    let settings = relay_settings(ctx.settings);
    let quiet = |_: HostEvent| {};
    let rctx = Context {
        settings: &settings,
        excludes: ctx.excludes,
        env: ctx.env,
        known_hosts: ctx.known_hosts,
        on_event: &quiet,
        on_line: ctx.on_line,
        should_abort: ctx.should_abort,
        cancel: ctx.cancel,
    };
    for (relay, behind) in relays {
        for &i in &behind {
            if !matches!(hosts[i].target, Target::Ssh { .. }) {
                failed.insert(
                    i,
                    format!(
                        "{}: a host behind a relay must be an ssh target (user@host:/path)",
                        hosts[i].name
                    ),
                );
            }
        }
        let rhost = relay.as_host();
        let members: Vec<&DeployHost> = behind.iter().map(|&i| &hosts[i]).collect();
        let delta = match op {
            Op::Ship { delta: Some(d), .. } => Some(relay_delta(d, &rhost, &members)),
            _ => None,
        };
        let rop = match op {
            Op::Ship { source, .. } => Op::Ship {
                source,
                delta: delta.as_ref(),
            },
            Op::Switch { fallback: Some(source) } => Op::Switch { fallback: Some(source) },
            Op::Switch { fallback: None } => continue,
        };
        let h = Host::open(&rctx, &rhost);
        let r = run_host(&h, version, rop, false);
        if r.state != HostState::Switched {
            let why = format!(
                "relay {} failed, so this host was not touched: {}",
                relay.name(),
                r.error.as_deref().unwrap_or("unknown error")
            );
            for &i in &behind {
                failed.entry(i).or_insert_with(|| why.clone());
            }
        }
        stages.push(r);
    }
    (stages, failed)
}
