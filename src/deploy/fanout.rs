//! Running an operation over the hosts in batches with bounded parallelism,
//! and what happens on one host.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::remote::{valid_release_name, Host};
use super::rsync::Stats;
use super::settings::{DeployMode, Strategy};
use super::{health, Context, DeployError, DeployHost, HostEvent, HostResult, HostState, ShipReport};
use crate::process::{OutputLine, Stream};

/// What to do on each host.
#[derive(Clone, Copy)]
pub(crate) enum Op<'p> {
    /// Upload and switch.
    Ship { source: &'p Path },
    /// Switch to a kept release; where it is not kept, upload `fallback`
    /// (the exported release) and switch, if given.
    Switch { fallback: Option<&'p Path> },
}

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
        return collect(slots, false);
    }
    if let Err(e) = ctx.settings.validate() {
        refuse(e.to_string());
        return collect(slots, false);
    }
    for h in hosts {
        event(&h.name, HostState::Pending, None);
    }
    let s = ctx.settings;
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
                    if aborted.load(Ordering::SeqCst) || (ctx.should_abort)() {
                        aborted.store(true, Ordering::SeqCst);
                        settle(i, result(&host.name, HostState::Skipped, None, Stats::default()));
                        continue;
                    }
                    event(&host.name, HostState::Uploading, None);
                    let r = one_host(&Host::open(ctx, host), version, op, canary);
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
    collect(slots, aborted.load(Ordering::SeqCst))
}

fn collect(slots: Vec<Mutex<Option<HostResult>>>, aborted: bool) -> ShipReport {
    ShipReport {
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

/// Ships to (or switches) one host; never panics on the host's failures.
fn one_host(h: &Host<'_, '_>, version: &str, op: Op<'_>, canary: bool) -> HostResult {
    let mut stats = Stats::default();
    let mut previous = None;
    let outcome = match (h.ctx.settings.mode, op) {
        (DeployMode::Atomic, Op::Ship { source }) => ship_atomic(h, version, source, &mut stats, &mut previous),
        (DeployMode::Atomic, Op::Switch { fallback }) => switch_atomic(h, version, fallback, &mut stats, &mut previous),
        (DeployMode::Inplace, Op::Ship { source } | Op::Switch { fallback: Some(source) }) => {
            ship_inplace(h, source, &mut stats)
        }
        (DeployMode::Inplace, Op::Switch { fallback: None }) => Err(Step::Before(DeployError::NotKept {
            host: h.host.name.clone(),
            version: version.to_owned(),
        })),
    };
    let name = &h.host.name;
    match outcome {
        Ok(()) => result(name, HostState::Switched, None, stats),
        Err(Step::Before(e)) => HostResult {
            not_kept: matches!(e, DeployError::NotKept { .. }),
            ..result(name, HostState::Failed, Some(e.to_string()), stats)
        },
        Err(Step::After(e)) => result(name, HostState::Failed, Some(format!("switched, then: {e}")), stats),
        Err(Step::Health(e)) => {
            let revert = canary && h.ctx.settings.health.as_ref().is_some_and(|c| c.revert_canary);
            match (revert, previous) {
                (true, Some(prev)) if h.ctx.settings.mode == DeployMode::Atomic => match h.switch(&prev) {
                    Ok(()) => result(
                        name,
                        HostState::Reverted,
                        Some(format!("{e}; switched back to {prev}")),
                        stats,
                    ),
                    Err(e2) => result(
                        name,
                        HostState::Failed,
                        Some(format!("{e}; switching back to {prev} failed: {e2}")),
                        stats,
                    ),
                },
                _ => result(name, HostState::Failed, Some(format!("switched, then: {e}")), stats),
            }
        }
    }
}

/// Where a host's run stopped: before the switch (the host still runs its
/// old release), after it, or at the health check.
enum Step {
    Before(DeployError),
    After(DeployError),
    Health(DeployError),
}

/// Tells the caller that `current` on this host points at the new release.
fn went_live(h: &Host<'_, '_>) {
    (h.ctx.on_event)(HostEvent {
        host: h.host.name.clone(),
        state: HostState::Live,
        error: None,
    });
}

fn after_switch(h: &Host<'_, '_>, release_dir: &str) -> Result<(), Step> {
    let s = h.ctx.settings;
    h.hooks(&s.hooks.after_switch, release_dir).map_err(Step::After)?;
    if let Some(check) = &s.health {
        health::check(
            &check.url,
            h.host.target.host_name(),
            Duration::from_secs(u64::from(check.timeout_secs)),
        )
        .map_err(Step::Health)?;
    }
    Ok(())
}

fn ship_atomic(
    h: &Host<'_, '_>,
    version: &str,
    source: &Path,
    stats: &mut Stats,
    previous: &mut Option<String>,
) -> Result<(), Step> {
    let live = h.live().map_err(Step::Before)?;
    let release_dir = format!("{}/releases/{version}", h.host.target.dir());
    if live.as_deref() == Some(version) {
        // A re-run: this host switched already; finish its after-switch work.
        went_live(h);
        return after_switch(h, &release_dir);
    }
    *previous = live.clone();
    // A fresh directory per attempt, renamed into place once complete: a
    // writer left over from an attempt that died never shares it, and a
    // partial upload is never a release that `current` could point at.
    if let Err(e) = h.clear_partial_uploads() {
        report(h, format!("could not remove partial uploads: {e}"));
    }
    let upload = h.upload_name(version);
    if let Some(live) = &live {
        stats.add(h.carry_excluded(live, &upload).map_err(Step::Before)?);
    }
    let link_dest = live.as_ref().map(|l| format!("../{l}"));
    stats.add(
        h.upload(source, &format!("releases/{upload}"), link_dest.as_deref(), false)
            .map_err(Step::Before)?,
    );
    h.finish_upload(&upload, version).map_err(Step::Before)?;
    h.hooks(&h.ctx.settings.hooks.before_switch, &release_dir)
        .map_err(Step::Before)?;
    h.switch(version).map_err(Step::Before)?;
    went_live(h);
    after_switch(h, &release_dir)?;
    prune(h, version, live.as_deref());
    Ok(())
}

fn switch_atomic(
    h: &Host<'_, '_>,
    version: &str,
    fallback: Option<&Path>,
    stats: &mut Stats,
    previous: &mut Option<String>,
) -> Result<(), Step> {
    let (live, kept) = h.state().map_err(Step::Before)?;
    let release_dir = format!("{}/releases/{version}", h.host.target.dir());
    if live.as_deref() == Some(version) {
        went_live(h);
        return after_switch(h, &release_dir);
    }
    if !kept.iter().any(|r| r == version) {
        if let Some(source) = fallback {
            // Pruned here: ship the exported release like a release does.
            (h.ctx.on_line)(
                &h.host.name,
                OutputLine {
                    stream: Stream::Stdout,
                    text: format!("{version} is not kept on this host; uploading it"),
                },
            );
            return ship_atomic(h, version, source, stats, previous);
        }
        return Err(Step::Before(DeployError::NotKept {
            host: h.host.name.clone(),
            version: version.to_owned(),
        }));
    }
    *previous = live;
    h.hooks(&h.ctx.settings.hooks.before_switch, &release_dir)
        .map_err(Step::Before)?;
    h.switch(version).map_err(Step::Before)?;
    went_live(h);
    after_switch(h, &release_dir)
}

fn ship_inplace(h: &Host<'_, '_>, source: &Path, stats: &mut Stats) -> Result<(), Step> {
    let dir = h.host.target.dir().to_owned();
    h.hooks(&h.ctx.settings.hooks.before_switch, &dir)
        .map_err(Step::Before)?;
    stats.add(h.upload(source, "", None, true).map_err(Step::Before)?);
    went_live(h);
    after_switch(h, &dir)
}

/// Reports `text` as a stderr line of the host.
fn report(h: &Host<'_, '_>, text: String) {
    (h.ctx.on_line)(
        &h.host.name,
        OutputLine {
            stream: Stream::Stderr,
            text,
        },
    )
}

/// Keeps the newest `keep_releases` releases plus the live and the previous
/// one; removes the rest. A failure is reported as an output line, never
/// fails the host (it runs the new release already).
fn prune(h: &Host<'_, '_>, live: &str, previous: Option<&str>) {
    let report = |text: String| report(h, text);
    let releases = match h.releases() {
        Ok(r) => r,
        Err(e) => return report(format!("prune: cannot list releases: {e}")),
    };
    let keep = h.ctx.settings.keep_releases;
    let cut = releases.len().saturating_sub(keep);
    for name in &releases[..cut] {
        if name == live || Some(name.as_str()) == previous {
            continue;
        }
        if let Err(e) = h.remove_release(name) {
            report(format!("prune: {e}"));
        }
    }
}

/// See [`super::live_versions`].
pub(crate) fn live_versions(ctx: &Context, hosts: &[DeployHost]) -> Vec<(String, Option<String>)> {
    let slots: Vec<Mutex<Option<String>>> = hosts.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..ctx.settings.parallelism.clamp(1, hosts.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= hosts.len() {
                    break;
                }
                let live = Host::open(ctx, &hosts[i]).live().ok().flatten();
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
