//! One host's release as a plain sequence of named steps, each timed:
//!
//! ```text
//! ship:    read live → prepare dir → upload → [verify] → [before hooks] → switch
//!          → [after hooks] → [restart services] → [health] → prune
//! switch:  read live + switch → [after hooks] → [health]
//! inplace: [before hooks] → upload → [after hooks] → [health]
//! ```
//!
//! The fan-out (`super::fanout`) runs this for each host in the project's
//! strategy; the transport below it (`super::remote`, `current`, `upload`,
//! `releases`) carries out each step over the host's one ssh connection, or
//! locally, or through an rsync daemon. Where nothing has to happen in
//! between, neighbouring steps share one round trip (reading `current` with
//! removing dead uploads; moving the upload into place with the switch).

use std::path::Path;
use std::time::{Duration, Instant};

use super::current::Survey;
use super::delta::Delta;
use super::one_trip::{self, Trip, TripEnd};
use super::prepare::{choose, delta_line, prepare, say, EarlyClone, Upload};
use super::releases::prunable;
use super::remote::{valid_release_name, Host};
use super::rsync::Stats;
use super::settings::DeployMode;
use super::step::Step;
use super::{health, services, DeployError, HostEvent, HostResult, HostState, StepTime, Target};
use crate::process::{OutputLine, Stream};

/// What to do on each host.
#[derive(Clone, Copy)]
pub(crate) enum Op<'p> {
    /// Upload and switch; with `delta`, send only what changed where the
    /// host's live release allows it.
    Ship {
        /// The exported release.
        source: &'p Path,
        /// What the job knows about each host's live release.
        delta: Option<&'p Delta>,
    },
    /// Switch to a kept release; where it is not kept, upload `fallback`
    /// (the exported release) and switch, if given.
    Switch {
        /// The exported release, for hosts that pruned it.
        fallback: Option<&'p Path>,
    },
}

/// Where a host's run stopped: before the switch (the host still runs its
/// old release), after it, or at the health check.
enum Stop {
    Before(DeployError),
    After(DeployError),
    Health(DeployError),
}

/// One host's run: what it has done so far.
struct Pipeline<'h, 'c, 'a> {
    h: &'h Host<'c, 'a>,
    version: &'h str,
    stats: Stats,
    steps: Vec<StepTime>,
    /// The release live before this run (to switch back a failed canary).
    previous: Option<String>,
}

/// Ships to (or switches) one host; never panics on the host's failures.
pub(crate) fn run_host(h: &Host<'_, '_>, version: &str, op: Op<'_>, canary: bool) -> HostResult {
    let mut p = Pipeline {
        h,
        version,
        stats: Stats::default(),
        steps: Vec::new(),
        previous: None,
    };
    if let Some(relay) = &h.host.via {
        h.say(format!("via relay {}", relay.name()));
    }
    let outcome = match (h.ctx.settings.mode, op) {
        (DeployMode::Atomic, Op::Ship { source, delta }) => p.ship(source, delta, None),
        (DeployMode::Atomic, Op::Switch { fallback }) => p.switch(fallback),
        (DeployMode::Inplace, Op::Ship { source, delta }) => p.inplace(source, delta),
        (DeployMode::Inplace, Op::Switch { fallback: Some(source) }) => p.inplace(source, None),
        (DeployMode::Inplace, Op::Switch { fallback: None }) => Err(Stop::Before(DeployError::NotKept {
            host: h.host.name.clone(),
            version: version.to_owned(),
        })),
    };
    p.finish(outcome, canary)
}

impl Pipeline<'_, '_, '_> {
    /// Runs one named step, recording how long it took.
    fn step<T>(&mut self, name: Step, f: impl FnOnce(&Host) -> Result<T, DeployError>) -> Result<T, DeployError> {
        let started = Instant::now();
        let result = f(self.h);
        self.steps.push(StepTime {
            step: name.name().into(),
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        result
    }

    fn release_dir(&self) -> String {
        format!("{}/releases/{}", self.h.host.target.dir(), self.version)
    }

    /// Atomic release: `survey` is what the host has when a caller read it already.
    fn ship(&mut self, source: &Path, delta: Option<&Delta>, survey: Option<Survey>) -> Result<(), Stop> {
        // A fresh directory per attempt, renamed into place once complete: a
        // writer left over from an attempt that died never shares it, and a
        // partial upload is never a release that `current` could point at.
        let upload = self.h.upload_name(self.version);
        if survey.is_none() && self.one_trip(source, delta, &upload)? {
            return Ok(());
        }
        let (survey, clone) = match survey {
            Some(s) => (s, EarlyClone::default()),
            None => self.read_live(delta, &upload)?,
        };
        if survey.live.as_deref() == Some(self.version) {
            // A re-run: this host switched already; finish its after-switch work.
            self.went_live();
            return self.after_switch(&self.release_dir());
        }
        self.previous = survey.live.clone();
        let live = survey.live.as_deref();
        let (how, carried) = self
            .step(Step::PrepareDir, |h| prepare(h, live, delta, &upload, &clone))
            .map_err(Stop::Before)?;
        self.stats.add(carried);
        let sent = self
            .step(Step::Upload, |h| match how {
                Upload::Delta(changes) => h.send_changes(source, self.version, &format!("releases/{upload}"), changes),
                Upload::Full => {
                    let link_dest = live.map(|l| format!("../{l}"));
                    h.send(
                        source,
                        self.version,
                        &format!("releases/{upload}"),
                        link_dest.as_deref(),
                        false,
                    )
                }
            })
            .map_err(Stop::Before)?;
        self.stats.add(sent);
        if self.h.ctx.settings.verify {
            self.step(Step::Verify, |h| {
                h.check(source, self.version, &format!("releases/{upload}"))
            })
            .map_err(Stop::Before)?;
        }
        let s = self.h.ctx.settings;
        let prune = prunable(&survey.kept, self.version, live, s.keep_releases);
        // With nothing to run after the switch, pruning joins its round trip
        // (it never touches the live, the previous or the new release).
        let prune_now =
            s.hooks.after_switch.is_empty() && s.health.is_none() && !s.restarts.contains_key(&self.h.host.name);
        let pruned: &[String] = if prune_now { &prune } else { &[] };
        let release_dir = self.release_dir();
        if s.hooks.before_switch.is_empty() {
            self.step(Step::Switch, |h| h.finish_upload(&upload, self.version, true, pruned))
                .map_err(Stop::Before)?;
        } else {
            self.step(Step::MoveIntoPlace, |h| {
                h.finish_upload(&upload, self.version, false, pruned)
            })
            .map_err(Stop::Before)?;
            self.step(Step::BeforeHooks, |h| h.hooks(&s.hooks.before_switch, &release_dir))
                .map_err(Stop::Before)?;
            self.step(Step::Switch, |h| h.switch(self.version))
                .map_err(Stop::Before)?;
        }
        self.went_live();
        self.after_switch(&release_dir)?;
        if !prune_now && !prune.is_empty() {
            // A failure is only reported: the host runs the new release already.
            if let Err(e) = self.step(Step::Prune, |h| h.remove_releases(&prune)) {
                self.report(Stream::Stderr, format!("prune: {e}"));
            }
        }
        Ok(())
    }

    /// The whole release in one ssh session when [`one_trip::plan`] (a
    /// delta) or [`one_trip::first`] (a first release) allows it; `false`
    /// when neither does, or the host was not as the job expected (nothing
    /// changed there; the log says why).
    fn one_trip(&mut self, source: &Path, delta: Option<&Delta>, upload: &str) -> Result<bool, Stop> {
        let planned = one_trip::plan(self.h, self.version, source, delta);
        let (live, transfer) = match &planned {
            Some((live, changes, transfer)) => {
                say(self.h, delta_line(live, changes));
                (Some(*live), Some(transfer))
            }
            None if one_trip::first(self.h, delta) => {
                say(self.h, "full upload: the first release to this host".to_owned());
                (None, None)
            }
            None => return Ok(false),
        };
        let s = self.h.ctx.settings;
        let prune_now = s.hooks.after_switch.is_empty() && s.health.is_none();
        let trip = Trip {
            source,
            live,
            upload,
            version: self.version,
            transfer,
            prune_keep: prune_now.then_some(s.keep_releases),
        };
        let sent = match self
            .step(Step::UploadAndSwitch, |h| h.release_in_one_trip(&trip))
            .map_err(Stop::Before)?
        {
            TripEnd::Switched(sent) => sent,
            TripEnd::NotStarted(why) => {
                say(self.h, format!("{why}: reading the host first"));
                return Ok(false);
            }
        };
        self.stats.add(sent);
        self.previous = live.map(str::to_owned);
        self.went_live();
        self.after_switch(&self.release_dir())?;
        if !prune_now {
            let prune = self
                .h
                .prune_command(s.keep_releases, live.unwrap_or(self.version), self.version);
            if let Err(e) = self.step(Step::Prune, |h| h.run_checked(&prune, "prune old releases")) {
                self.report(Stream::Stderr, format!("prune: {e}"));
            }
        }
        Ok(true)
    }

    /// Reads what the host has, removing dead uploads; when the job knows
    /// which release the host should run, clones it into `upload` in the
    /// same round trip (checked against what `current` says afterwards).
    fn read_live(&mut self, delta: Option<&Delta>, upload: &str) -> Result<(Survey, EarlyClone), Stop> {
        let guess = delta
            .filter(|_| !matches!(self.h.host.target, Target::Daemon { .. }))
            .and_then(|d| d.recorded.get(&self.h.host.name))
            .filter(|r| r.as_str() != self.version && valid_release_name(r))
            .cloned();
        let then = match &guess {
            Some(from) => self.h.clone_commands(from, upload).map_err(Stop::Before)?,
            None => Vec::new(),
        };
        let (survey, ended) = self
            .step(Step::ReadLive, |h| h.survey(true, &then))
            .map_err(Stop::Before)?;
        let made = matches!(ended, Some((Some(0), _)));
        Ok((
            survey,
            EarlyClone {
                attempted: guess.is_some(),
                from: guess.filter(|_| made),
            },
        ))
    }

    /// Rollback by switch; a host that pruned the release gets `fallback`.
    fn switch(&mut self, fallback: Option<&Path>) -> Result<(), Stop> {
        let before = &self.h.ctx.settings.hooks.before_switch;
        let release_dir = self.release_dir();
        // Without before-switch hooks, reading `current` and switching it is one round trip.
        let (survey, switched) = if before.is_empty() {
            self.step(Step::ReadLiveAndSwitch, |h| h.survey_and_switch(self.version))
        } else {
            self.step(Step::ReadLive, |h| h.survey(false, &[]).map(|(s, _)| (s, false)))
        }
        .map_err(Stop::Before)?;
        if survey.live.as_deref() == Some(self.version) && before.is_empty() {
            self.went_live();
            return self.after_switch(&release_dir);
        }
        if !survey.kept.iter().any(|r| r == self.version) {
            if let Some(source) = fallback {
                // Pruned here: ship the exported release like a release does.
                self.report(
                    Stream::Stdout,
                    format!("{} is not kept on this host; uploading it", self.version),
                );
                return self.ship(source, None, Some(survey));
            }
            return Err(Stop::Before(DeployError::NotKept {
                host: self.h.host.name.clone(),
                version: self.version.to_owned(),
            }));
        }
        self.previous = survey.live.filter(|l| l != self.version);
        if !switched {
            self.step(Step::BeforeHooks, |h| h.hooks(before, &release_dir))
                .map_err(Stop::Before)?;
            self.step(Step::Switch, |h| h.switch(self.version))
                .map_err(Stop::Before)?;
        }
        self.went_live();
        self.after_switch(&release_dir)
    }

    /// Inplace release straight into the target's directory: only the
    /// changes when the directory's marker names the release the job knows
    /// the changes from, else `rsync --delete` of the whole tree.
    fn inplace(&mut self, source: &Path, delta: Option<&Delta>) -> Result<(), Stop> {
        let dir = self.h.dir();
        let marked = !matches!(self.h.host.target, Target::Daemon { .. });
        let live = if marked {
            self.step(Step::ReadLive, |h| h.take_inplace_marker())
                .map_err(Stop::Before)?
        } else {
            None
        };
        let changes = choose(self.h, live.as_deref(), delta);
        if let (Some(changes), Some(live)) = (changes, &live) {
            say(self.h, delta_line(live, changes));
        }
        let before = &self.h.ctx.settings.hooks.before_switch;
        if !before.is_empty() {
            self.step(Step::BeforeHooks, |h| h.hooks(before, &dir))
                .map_err(Stop::Before)?;
        }
        let sent = self
            .step(Step::Upload, |h| match changes {
                Some(changes) => h.send_changes(source, self.version, "", changes),
                None => h.send(source, self.version, "", None, true),
            })
            .map_err(Stop::Before)?;
        self.stats.add(sent);
        if self.h.ctx.settings.verify {
            self.step(Step::Verify, |h| h.check(source, self.version, ""))
                .map_err(Stop::Before)?;
        }
        if marked {
            self.step(Step::Mark, |h| h.write_inplace_marker(self.version))
                .map_err(Stop::Before)?;
        }
        self.went_live();
        self.after_switch(&dir)
    }

    /// Tells the caller that `current` on this host points at the new release.
    fn went_live(&self) {
        (self.h.ctx.on_event)(HostEvent {
            host: self.h.host.name.clone(),
            state: HostState::Live,
            error: None,
        });
    }

    fn after_switch(&mut self, release_dir: &str) -> Result<(), Stop> {
        let s = self.h.ctx.settings;
        if !s.hooks.after_switch.is_empty() {
            self.step(Step::AfterHooks, |h| h.hooks(&s.hooks.after_switch, release_dir))
                .map_err(Stop::After)?;
        }
        if let Some(restart) = s.restarts.get(&self.h.host.name).filter(|r| !r.is_empty()) {
            self.step(Step::RestartServices, |h| {
                restart.iter().try_for_each(|spec| services::restart_and_wait(h, spec))
            })
            .map_err(Stop::After)?;
        }
        if let Some(check) = &s.health {
            let timeout = Duration::from_secs(u64::from(check.timeout_secs));
            self.step(Step::Health, |h| match &h.host.via {
                Some(relay) => h.health_on_relay(relay, &check.url, check.timeout_secs),
                None => health::check(&check.url, h.host.target.host_name(), timeout),
            })
            .map_err(Stop::Health)?;
        }
        Ok(())
    }

    /// Reports `text` as an output line of the host on `stream`.
    fn report(&self, stream: Stream, text: String) {
        (self.h.ctx.on_line)(&self.h.host.name, OutputLine { stream, text })
    }

    /// Turns the run's outcome into the host's result (a failed canary
    /// health check with `revert_canary` switches back first) and logs the
    /// step timings.
    fn finish(self, outcome: Result<(), Stop>, canary: bool) -> HostResult {
        let name = self.h.host.name.clone();
        let (state, error, not_kept) = match outcome {
            Ok(()) => (HostState::Switched, None, false),
            Err(Stop::Before(e)) => (
                HostState::Failed,
                Some(e.to_string()),
                matches!(e, DeployError::NotKept { .. }),
            ),
            Err(Stop::After(e)) => (HostState::Failed, Some(format!("switched, then: {e}")), false),
            Err(Stop::Health(e)) => {
                let s = self.h.ctx.settings;
                let revert = canary && s.health.as_ref().is_some_and(|c| c.revert_canary);
                match (&self.previous, revert && s.mode == DeployMode::Atomic) {
                    (Some(prev), true) => match self.h.switch(prev) {
                        Ok(()) => (
                            HostState::Reverted,
                            Some(format!("{e}; switched back to {prev}")),
                            false,
                        ),
                        Err(e2) => (
                            HostState::Failed,
                            Some(format!("{e}; switching back to {prev} failed: {e2}")),
                            false,
                        ),
                    },
                    _ => (HostState::Failed, Some(format!("switched, then: {e}")), false),
                }
            }
        };
        if !self.steps.is_empty() {
            let timings: Vec<String> = self
                .steps
                .iter()
                .map(|s| format!("{} {} ms", s.step, s.millis))
                .collect();
            self.report(Stream::Stdout, format!("steps: {}", timings.join(" · ")));
        }
        HostResult {
            host: name,
            state,
            error,
            bytes_sent: self.stats.bytes_sent,
            files_transferred: self.stats.files_transferred,
            not_kept,
            steps: self.steps,
        }
    }
}
