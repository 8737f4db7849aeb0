//! Running an operation over the hosts in batches with bounded parallelism
//! (what happens on one host: `super::pipeline`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::pipeline::{run_host, Op};
use super::relay_stage::relay_stages;
use super::remote::{valid_release_name, Host};
use super::rsync::Stats;
use super::settings::Strategy;
use super::shared_mux::MuxPool;
use super::{Context, DeployError, DeployHost, HostEvent, HostResult, HostState, ShipReport};

/// The batches (index ranges into the host list) of the project's strategy.
pub(crate) fn batches(strategy: Strategy, canary: usize, batch_size: usize, n: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    match strategy {
        Strategy::Parallel => {
            if n > 0 {
                out.push(0..n);
            }
        }
        Strategy::Serial => out.extend((0..n).map(|i| i..i + 1)),
        Strategy::Batches => {
            let first = canary.max(1).min(n);
            if first > 0 {
                out.push(0..first);
            }
            let mut i = first;
            while i < n {
                let end = (i + batch_size.max(1)).min(n);
                out.push(i..end);
                i = end;
            }
        }
    }
    out
}

fn result(host: &str, state: HostState, error: Option<String>, stats: Stats) -> HostResult {
    HostResult {
        host: host.to_owned(),
        state,
        error,
        bytes_sent: stats.bytes_sent,
        files_transferred: stats.files_transferred,
        not_kept: false,
        steps: Vec::new(),
    }
}

/// Runs `op` over `hosts`.
pub(crate) fn run(ctx: &Context, hosts: &[DeployHost], version: &str, op: Op<'_>) -> ShipReport {
    let event = |host: &str, state: HostState, error: Option<String>| {
        (ctx.on_event)(HostEvent {
            host: host.to_owned(),
            state,
            error,
        })
    };
    let slots: Vec<Mutex<Option<HostResult>>> = hosts.iter().map(|_| Mutex::new(None)).collect();
    let settle = |i: usize, r: HostResult| {
        event(&r.host, r.state, r.error.clone());
        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
    };
    let refuse = |message: String| {
        for (i, h) in hosts.iter().enumerate() {
            settle(
                i,
                result(&h.name, HostState::Failed, Some(message.clone()), Stats::default()),
            );
        }
    };
    if !valid_release_name(version) {
        refuse(DeployError::BadVersion(version.to_owned()).to_string());
        return collect(slots, false, Vec::new());
    }
    if let Err(e) = ctx.settings.validate() {
        refuse(e.to_string());
        return collect(slots, false, Vec::new());
    }
    for h in hosts {
        event(&h.name, HostState::Pending, None);
    }
    let (relays, relay_failed) = relay_stages(ctx, hosts, version, op);
    let s = ctx.settings;
    // Closed (dropped) when the operation ends, after every batch.
    let pool = MuxPool::new(hosts);
    let aborted = AtomicBool::new(false);
    let mut stop = false;
    for (index, batch) in batches(s.strategy, s.canary, s.batch_size, hosts.len())
        .into_iter()
        .enumerate()
    {
        if !stop && !aborted.load(Ordering::SeqCst) && (ctx.should_abort)() {
            aborted.store(true, Ordering::SeqCst);
        }
        if stop || aborted.load(Ordering::SeqCst) {
            for i in batch {
                settle(i, result(&hosts[i].name, HostState::Skipped, None, Stats::default()));
            }
            continue;
        }
        let canary = s.strategy == Strategy::Batches && index == 0;
        let next = AtomicUsize::new(batch.start);
        let workers = s.parallelism.clamp(1, batch.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= batch.end {
                        break;
                    }
                    let host = &hosts[i];
                    if let Some(why) = relay_failed.get(&i) {
                        settle(
                            i,
                            result(&host.name, HostState::Failed, Some(why.clone()), Stats::default()),
                        );
                        continue;
                    }
                    if aborted.load(Ordering::SeqCst) || (ctx.should_abort)() {
                        aborted.store(true, Ordering::SeqCst);
                        settle(i, result(&host.name, HostState::Skipped, None, Stats::default()));
                        continue;
                    }
                    event(&host.name, HostState::Uploading, None);
                    let h = match op {
                        Op::Switch { .. } => Host::open_for_one(ctx, host),
                        Op::Ship { .. } => Host::open(ctx, host),
                    }
                    .sharing(pool.of(i));
                    let r = run_host(&h, version, op, canary);
                    settle(i, r);
                });
            }
        });
        stop = batch.clone().any(|i| {
            slots[i]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_some_and(|r| r.state != HostState::Switched)
        });
    }
    collect(slots, aborted.load(Ordering::SeqCst), relays)
}

fn collect(slots: Vec<Mutex<Option<HostResult>>>, aborted: bool, relays: Vec<HostResult>) -> ShipReport {
    ShipReport {
        relays,
        hosts: slots
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .expect("every host settled")
            })
            .collect(),
        aborted,
    }
}

/// See [`super::live_versions`].
pub(crate) fn live_versions(ctx: &Context, hosts: &[DeployHost]) -> Vec<(String, Option<String>)> {
    let slots: Vec<Mutex<Option<String>>> = hosts.iter().map(|_| Mutex::new(None)).collect();
    let pool = MuxPool::new(hosts);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..ctx.settings.parallelism.clamp(1, hosts.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= hosts.len() {
                    break;
                }
                let live = Host::open_for_one(ctx, &hosts[i])
                    .sharing(pool.of(i))
                    .live()
                    .ok()
                    .flatten();
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = live;
            });
        }
    });
    hosts
        .iter()
        .zip(slots)
        .map(|(h, m)| (h.name.clone(), m.into_inner().unwrap_or_else(|e| e.into_inner())))
        .collect()
}

#[allow(clippy::single_range_in_vec_init)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_follow_the_strategy() {
        assert_eq!(batches(Strategy::Parallel, 1, 4, 5), vec![0..5]);
        assert_eq!(batches(Strategy::Serial, 1, 4, 3), vec![0..1, 1..2, 2..3]);
        assert_eq!(batches(Strategy::Batches, 1, 2, 6), vec![0..1, 1..3, 3..5, 5..6]);
        assert_eq!(batches(Strategy::Batches, 3, 4, 2), vec![0..2]);
        assert!(batches(Strategy::Parallel, 1, 4, 0).is_empty());
    }
}
