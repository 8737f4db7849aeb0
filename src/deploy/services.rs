//! Services on hosts: read their state, start, stop or restart them, read
//! the end of their log, and (after a release's switch) restart them and
//! wait until they report RUNNING. Commands go over the host's transport
//! ([`super::remote::Host`]: ssh with every word quoted, or locally from
//! the argument vector); rsync daemon targets have no command channel.

use std::time::{Duration, Instant};

use super::remote::Host;
use super::service_spec::{ServiceAction, ServiceSpec, MAX_LOG_LINES};
use super::{Context, DeployError, DeployHost};

/// How often the wait for RUNNING asks again.
const POLL: Duration = Duration::from_millis(500);

/// A service's state on one host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceState {
    /// The host's name.
    pub host: String,
    /// The service's name.
    pub service: String,
    /// `RUNNING`, `STOPPED`, `STARTING`, `BACKOFF`, `FATAL`, `EXITED`, … or
    /// `UNKNOWN` when the host could not be asked.
    pub state: String,
    /// The process id, when running and known.
    pub pid: Option<u32>,
    /// How long it has run (`H:MM:SS` or `N days, H:MM:SS`), when known.
    pub uptime: Option<String>,
    /// The rest of the manager's line, or why the state is unknown.
    pub detail: String,
}

/// supervisorctl's process states (a word in this list, in a status line, is the state).
const STATES: &[&str] = &[
    "RUNNING", "STOPPED", "STARTING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN",
];

/// A parsed `supervisorctl status` line: name, state, pid, uptime and the rest.
pub type StatusLine = (String, String, Option<u32>, Option<String>, String);

/// Parses a `supervisorctl status` line: `NAME STATE pid N, uptime H:MM:SS`
/// or `NAME STATE detail`. `None` when the line is not of that shape.
pub fn parse_status_line(line: &str) -> Option<StatusLine> {
    let mut words = line.split_whitespace();
    let name = words.next()?.to_owned();
    let state = words.next()?;
    if !STATES.contains(&state) {
        return None;
    }
    let rest: Vec<&str> = words.collect();
    let rest = rest.join(" ");
    let mut pid = None;
    let mut uptime = None;
    if let Some(after) = rest.strip_prefix("pid ") {
        let (number, tail) = after.split_once(',').unwrap_or((after, ""));
        pid = number.trim().parse().ok();
        uptime = tail.trim().strip_prefix("uptime ").map(str::to_owned);
    }
    Some((name, state.to_owned(), pid, uptime, rest))
}

fn unknown(host: &DeployHost, spec: &ServiceSpec, detail: String) -> ServiceState {
    ServiceState {
        host: host.name.clone(),
        service: spec.name.clone(),
        state: "UNKNOWN".into(),
        pid: None,
        uptime: None,
        detail,
    }
}

/// Reads one service's state over an open host.
fn read_state(h: &Host, spec: &ServiceSpec) -> ServiceState {
    let argv = spec.status_argv();
    let (code, stdout, tail) = match h.commands(std::slice::from_ref(&argv), None, &[]) {
        Ok(ran) => ran,
        Err(e) => return unknown(h.host, spec, e.to_string()),
    };
    if h.ssh_failed(code) {
        return unknown(h.host, spec, super::remote::describe(code, &tail));
    }
    let parsed = stdout
        .iter()
        .filter_map(|l| parse_status_line(l))
        .find(|(name, ..)| *name == spec.name || spec.manager == super::service_spec::Manager::Custom);
    if let Some((_, state, pid, uptime, detail)) = parsed {
        return ServiceState {
            host: h.host.name.clone(),
            service: spec.name.clone(),
            state,
            pid,
            uptime,
            detail,
        };
    }
    let first = stdout.first().cloned().unwrap_or_default();
    match spec.manager {
        super::service_spec::Manager::Custom => ServiceState {
            host: h.host.name.clone(),
            service: spec.name.clone(),
            state: if code == Some(0) { "RUNNING" } else { "STOPPED" }.into(),
            pid: None,
            uptime: None,
            detail: first,
        },
        super::service_spec::Manager::Supervisor => {
            let said = if first.is_empty() { tail.join(" / ") } else { first };
            unknown(h.host, spec, said)
        }
    }
}

/// The state of each of `specs` on `host` (over one shared connection).
pub fn status(ctx: &Context, host: &DeployHost, specs: &[&ServiceSpec]) -> Vec<ServiceState> {
    let h = if specs.len() > 1 {
        Host::open(ctx, host)
    } else {
        Host::open_for_one(ctx, host)
    };
    specs.iter().map(|spec| read_state(&h, spec)).collect()
}

/// Runs `argv` on the host; a non-zero exit is a [`DeployError::Remote`].
fn run_checked(h: &Host, argv: Vec<String>) -> Result<Vec<String>, DeployError> {
    let (code, stdout, tail) = h.commands(std::slice::from_ref(&argv), None, &[])?;
    if code != Some(0) {
        let mut said = tail;
        if said.is_empty() {
            said = stdout.iter().rev().take(3).rev().cloned().collect();
        }
        return Err(h.remote_failed(argv.join(" "), code, &said));
    }
    Ok(stdout)
}

/// Starts, stops or restarts `spec` on `host`; then reads its state.
pub fn act(
    ctx: &Context,
    host: &DeployHost,
    spec: &ServiceSpec,
    action: ServiceAction,
) -> Result<ServiceState, DeployError> {
    let h = Host::open(ctx, host);
    run_checked(&h, spec.action_argv(action))?;
    Ok(read_state(&h, spec))
}

/// The last `lines` lines (at most [`MAX_LOG_LINES`]) of `spec`'s log on `host`.
pub fn tail(ctx: &Context, host: &DeployHost, spec: &ServiceSpec, lines: usize) -> Result<Vec<String>, DeployError> {
    let lines = lines.clamp(1, MAX_LOG_LINES);
    let Some(argv) = spec.log_argv(lines) else {
        return Err(DeployError::Unsupported(format!(
            "service `{}` has no log command",
            spec.name
        )));
    };
    let h = Host::open_for_one(ctx, host);
    let mut out = run_checked(&h, argv)?;
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    let skip = out.len().saturating_sub(lines);
    Ok(out.into_iter().skip(skip).collect())
}

/// Restarts `spec` over an open host and waits until it reports RUNNING:
/// FATAL (or EXITED, or a failed restart) fails at once, the timeout
/// (`spec.wait_secs`) fails too.
pub(super) fn restart_and_wait(h: &Host, spec: &ServiceSpec) -> Result<(), DeployError> {
    let failed = |message: String| DeployError::Remote {
        host: h.host.name.clone(),
        command: format!("restart {}", spec.name),
        message,
    };
    if let Err(e) = run_checked(h, spec.action_argv(ServiceAction::Restart)) {
        let now = read_state(h, spec);
        return Err(failed(format!("{e}; state {} {}", now.state, now.detail)));
    }
    let deadline = Instant::now() + Duration::from_secs(u64::from(spec.wait_secs));
    loop {
        let now = read_state(h, spec);
        match now.state.as_str() {
            "RUNNING" => {
                let pid = now.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                say(h, format!("service {} RUNNING{pid}", spec.name));
                return Ok(());
            }
            "FATAL" | "EXITED" => return Err(failed(format!("{} {}", now.state, now.detail))),
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(failed(format!(
                "not RUNNING after {} s (state {} {})",
                spec.wait_secs, now.state, now.detail
            )));
        }
        std::thread::sleep(POLL);
    }
}

fn say(h: &Host, text: String) {
    (h.ctx.on_line)(
        &h.host.name,
        crate::process::OutputLine {
            stream: crate::process::Stream::Stdout,
            text,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supervisorctl_lines() {
        let (name, state, pid, uptime, _) =
            parse_status_line("app                              RUNNING   pid 4242, uptime 1 day, 0:00:05").unwrap();
        assert_eq!(
            (name.as_str(), state.as_str(), pid, uptime.as_deref()),
            ("app", "RUNNING", Some(4242), Some("1 day, 0:00:05"))
        );
        let (_, state, pid, _, detail) =
            parse_status_line("app FATAL     Exited too quickly (process log may have details)").unwrap();
        assert_eq!((state.as_str(), pid), ("FATAL", None));
        assert!(detail.starts_with("Exited"));
        assert!(parse_status_line("app: ERROR (no such process)").is_none());
        assert!(parse_status_line("active").is_none());
    }
}
