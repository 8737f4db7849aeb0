//! Shipping a release to the production hosts: rsync fan-out over ssh, to
//! rsync daemons or to local directories, atomic switch of a `current`
//! symlink, rollback by switch, hooks, health checks and pruning
//! (DESIGN.md "Deploy").
//!
//! Everything here is blocking and talks to no database: the release and
//! rollback jobs (`src/jobs/`) call [`ship`], [`switch_to`] and
//! [`live_versions`] and record what they report.
//!
//! Invariant 6: `rsync` and `ssh` run from argument vectors ([`crate::process`]).
//! The remote login shell does run the command words sent over ssh, so those
//! are only fixed words plus values quoted by [`quote::shell_quote`].
//!
//! Layout of a host in atomic mode (`<path>` is the target's directory):
//! ```text
//! <path>/releases/<version>/…   one directory per release
//! <path>/current -> releases/<version>   switched by rename(2) of a new symlink
//! ```

use std::path::Path;

pub use crate::process::OutputLine;

mod current;
pub mod delta;
pub mod drift;
mod fanout;
pub mod health;
mod mux;
mod one_trip;
mod pipeline;
mod prepare;
pub mod quote;
pub mod reach;
pub mod relay;
mod relay_stage;
mod relay_transport;
mod releases;
pub mod remote;
pub mod rsync;
pub mod service_spec;
pub mod services;
pub mod settings;
mod shared_mux;
mod spare;
pub mod step;
pub mod target;
mod upload;

pub use delta::{ChangeSet, Delta};
pub use relay::Relay;
pub use service_spec::{Manager, ServiceAccess, ServiceAction, ServiceSpec};
pub use services::ServiceState;
pub use settings::{DeployMode, DeploySettings, HealthCheck, Hooks, SshSettings, Strategy};
pub use step::Step;
pub use target::Target;

/// One production host of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployHost {
    /// The host's name (`hosts.name`), used in events and reports.
    pub name: String,
    /// Where its release goes.
    pub target: Target,
    /// The relay its group ships through (`None`: Slipway reaches it directly).
    pub via: Option<Relay>,
}

/// Where a host stands in a release; [`HostState::as_str`] gives the
/// `release_hosts.state` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostState {
    /// Not started yet.
    Pending,
    /// Upload (or switch) in progress.
    Uploading,
    /// `current` points at the release now; the after-switch hooks and the
    /// health check have not passed yet (sent as an event the moment the
    /// host switches, so what runs where is recorded at once: invariant 10).
    Live,
    /// `current` points at the new release (inplace: the upload completed) and
    /// the after-switch hooks and the health check passed.
    Switched,
    /// Something failed; see the error.
    Failed,
    /// Not attempted: an earlier batch failed or the release was aborted.
    Skipped,
    /// Switched, then switched back (a failed canary, or an abort with revert).
    Reverted,
}

impl HostState {
    /// `pending`, `uploading`, `live`, `switched`, `failed`, `skipped` or `reverted`.
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Pending => "pending",
            HostState::Uploading => "uploading",
            HostState::Live => "live",
            HostState::Switched => "switched",
            HostState::Failed => "failed",
            HostState::Skipped => "skipped",
            HostState::Reverted => "reverted",
        }
    }
}

/// A host changed state (sent while a release runs, for live status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEvent {
    /// The host's name.
    pub host: String,
    /// Its new state.
    pub state: HostState,
    /// The error, for `Failed`.
    pub error: Option<String>,
}

/// How one host ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostResult {
    /// The host's name.
    pub host: String,
    /// Its final state.
    pub state: HostState,
    /// The error, for `Failed` (and the reason for `Reverted`).
    pub error: Option<String>,
    /// Bytes sent by rsync to this host (from `--stats`).
    pub bytes_sent: u64,
    /// Regular files rsync transferred to this host (from `--stats`).
    pub files_transferred: u64,
    /// The switch failed because the release is not kept on the host
    /// ([`DeployError::NotKept`]): the caller exports the tag and ships it.
    pub not_kept: bool,
    /// The steps the host went through, in order, with their durations.
    pub steps: Vec<StepTime>,
}

/// How long one named step of a host's pipeline took (a [`Step`]'s name:
/// `read live`, `prepare dir`, `upload`, `switch`…).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepTime {
    /// The step's name.
    pub step: std::borrow::Cow<'static, str>,
    /// Its duration in milliseconds.
    pub millis: u64,
}

/// The result of [`ship`] or [`switch_to`]: one entry per host, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipReport {
    /// Per-host results.
    pub hosts: Vec<HostResult>,
    /// Whether `should_abort` stopped the run.
    pub aborted: bool,
    /// The relay stages (one per distinct relay of the hosts, named
    /// `relay <target>`): what bringing the release to each relay did and
    /// sent. Their bytes are the only bytes Slipway sends for the hosts
    /// behind them.
    pub relays: Vec<HostResult>,
}

impl ShipReport {
    /// Whether every host ended `Switched`.
    pub fn all_switched(&self) -> bool {
        self.hosts.iter().all(|h| h.state == HostState::Switched)
    }

    /// The names of the hosts that did not end `Switched` (for "retry failed hosts").
    pub fn unfinished(&self) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|h| h.state != HostState::Switched)
            .map(|h| h.host.clone())
            .collect()
    }
}

/// What every deploy operation needs.
pub struct Context<'a> {
    /// The project's deploy settings.
    pub settings: &'a DeploySettings,
    /// The project's exclude list (gitignore-like, as for snapshots): never
    /// overwritten or deleted on the hosts.
    pub excludes: &'a [String],
    /// Environment for hooks: `SLIPWAY_PROJECT`, `SLIPWAY_VERSION`, `SLIPWAY_TICKET`.
    pub env: &'a [(String, String)],
    /// The pinned `known_hosts` file managed by Slipway.
    pub known_hosts: &'a Path,
    /// Called on every host state change.
    pub on_event: &'a (dyn Fn(HostEvent) + Sync),
    /// Called with every output line of rsync, ssh and hooks, with the host's name.
    pub on_line: &'a (dyn Fn(&str, OutputLine) + Sync),
    /// Checked before each host and each batch starts; `true` stops the run
    /// (hosts not started: `Skipped`).
    pub should_abort: &'a (dyn Fn() -> bool + Sync),
    /// Set when the job must stop at once (its worker could not renew the
    /// lease, invariant 11): running rsync, ssh and hook processes are killed.
    pub cancel: Option<&'a crate::process::CancelFlag>,
}

/// Why a deploy operation failed (messages meant for the ticket page).
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The deploy settings are invalid.
    #[error("{0}")]
    Settings(String),
    /// A host target could not be parsed or is unsafe.
    #[error("host target `{target}`: {problem}")]
    BadTarget {
        /// The target as written.
        target: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A version name that is not a safe directory name.
    #[error("version `{0}` is not a valid release name (letters, digits, `._-`, not starting with `.` or `-`)")]
    BadVersion(String),
    /// The release to switch to is no longer on the host.
    #[error("release {version} is no longer kept on {host}; re-export it from its tag and ship it")]
    NotKept {
        /// The host.
        host: String,
        /// The version.
        version: String,
    },
    /// rsync failed.
    #[error("rsync to {host} failed (exit {code}): {message}")]
    Rsync {
        /// The host.
        host: String,
        /// rsync's exit code (-1: killed).
        code: i32,
        /// Its last error lines.
        message: String,
    },
    /// A command on the host (over ssh or locally) failed.
    #[error("`{command}` on {host} failed: {message}")]
    Remote {
        /// The host.
        host: String,
        /// What was run (display form).
        command: String,
        /// Exit code and last error lines.
        message: String,
    },
    /// A hook failed.
    #[error("hook `{command}` on {host} failed: {message}")]
    Hook {
        /// The host (`local` for after-release hooks).
        host: String,
        /// The hook's argument vector (display form).
        command: String,
        /// Exit code and last error lines.
        message: String,
    },
    /// The health check did not answer 2xx in time.
    #[error("health check {url} failed: {message}")]
    Health {
        /// The URL checked.
        url: String,
        /// What happened.
        message: String,
    },
    /// The operation does not apply to this kind of target.
    #[error("{0}")]
    Unsupported(String),
    /// The checksum verification after an upload found differences.
    #[error("verify on {host}: {count} file(s) differ from the release, e.g. {first}")]
    Verify {
        /// The host.
        host: String,
        /// How many itemized differences rsync reported.
        count: usize,
        /// The first few of them.
        first: String,
    },
    /// A program could not be run.
    #[error(transparent)]
    Process(#[from] crate::process::ProcessError),
    /// A local file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// Ship `source_dir` (an exported tree) as release `version` (a validated tag
/// name like `v7`) to `hosts` with the project's strategy.
///
/// Atomic mode (the steps: `pipeline`): when `delta` knows the changes
/// since the host's live release, make the new release directory a
/// hard-link clone of the live one on the host and send only the changed
/// files; otherwise (saying why in the host's log) rsync the whole tree
/// with `--link-dest` to the live release and carry the excluded host-only
/// files over. Then the optional checksum verification, the before-switch hooks, switch `<path>/current` by atomic
/// rename of a symlink, run the after-switch hooks, health check, prune.
/// A host already running `version` (a re-run) only gets the after-switch
/// hooks and the health check again.
/// Inplace mode: `rsync --delete` straight into `<path>` with the excludes,
/// between the before- and after-switch hooks.
/// Stops at the first failed batch (later hosts: `Skipped`). In `batches` a
/// failing canary health check stops the rollout and, with
/// `health.revert_canary`, switches the canary back (`Reverted`).
pub fn ship(
    ctx: &Context,
    version: &str,
    source_dir: &Path,
    delta: Option<&Delta>,
    hosts: &[DeployHost],
) -> ShipReport {
    fanout::run(
        ctx,
        hosts,
        version,
        pipeline::Op::Ship {
            source: source_dir,
            delta,
        },
    )
}

/// Rollback by switch: point `current` back at `releases/<version>` on each
/// host where it is still kept (no copy), with the before/after-switch hooks
/// and the health check, in the project's strategy. A host where it was
/// pruned (and every host in inplace mode) ends `Failed` with the
/// [`DeployError::NotKept`] text, so the caller re-exports the tag and ships it.
pub fn switch_to(ctx: &Context, version: &str, hosts: &[DeployHost]) -> ShipReport {
    fanout::run(ctx, hosts, version, pipeline::Op::Switch { fallback: None })
}

/// Rollback: like [`switch_to`], but a host where `version` is not kept
/// (and, in inplace mode, every host) gets `release_dir` (the exported
/// release) uploaded and switched to, within the same run of the project's
/// strategy, so a pruned release neither fails that host nor stops the
/// hosts after it. Without `release_dir` this is [`switch_to`].
pub fn restore(ctx: &Context, version: &str, release_dir: Option<&Path>, hosts: &[DeployHost]) -> ShipReport {
    fanout::run(ctx, hosts, version, pipeline::Op::Switch { fallback: release_dir })
}

/// Which release `current` points at on each host (`None`: none, or the host
/// could not be asked), to record what runs where after an abort. Hosts are
/// asked `parallelism` at a time.
pub fn live_versions(ctx: &Context, hosts: &[DeployHost]) -> Vec<(String, Option<String>)> {
    fanout::live_versions(ctx, hosts)
}

/// Runs `hooks` (argument vectors) locally, in order, with the context's
/// environment (output lines reported for host `local`); the first failure
/// stops and is returned.
pub fn run_local_hooks(ctx: &Context, hooks: &[Vec<String>]) -> Result<(), DeployError> {
    for hook in hooks {
        let Some(program) = hook.first() else {
            continue;
        };
        let mut spec = crate::process::ProcessSpec::new(program)
            .args(&hook[1..])
            .timeout(std::time::Duration::from_secs(600))
            .as_build_user()
            .cancel_on(ctx.cancel.cloned());
        for (k, v) in ctx.env {
            spec = spec.env(k, v);
        }
        let failed = |message: String| DeployError::Hook {
            host: "local".into(),
            command: hook.join(" "),
            message,
        };
        let outcome =
            crate::process::run(&spec, &mut |line| (ctx.on_line)("local", line)).map_err(|e| failed(e.to_string()))?;
        if !outcome.success() {
            return Err(failed(remote::describe(outcome.status.code(), &outcome.stderr_tail)));
        }
    }
    Ok(())
}
