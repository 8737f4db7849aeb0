//! Processes of the fault suite: the real `slipway serve` and `slipway
//! worker` binaries (each in its own process group, killed with SIGKILL like
//! a crash and started again), and the descendant tree of a process read
//! from `/proc`, so that after a kill we can tell which of its children
//! outlived it and what it was doing when it died.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One process as seen in `/proc`: the start time tells a process from a
/// later one that reused its pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub start: u64,
    pub state: char,
    pub cmdline: String,
}

fn read_proc(pid: u32) -> Option<Proc> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ppid = fields.get(1)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?; // field 22 of stat
    let cmdline = fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some(Proc {
        pid,
        ppid,
        start,
        state,
        cmdline,
    })
}

fn all_procs() -> Vec<Proc> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(read_proc)
        .collect()
}

/// Every live descendant of `root` (not `root` itself).
pub fn descendants(root: u32) -> Vec<Proc> {
    let procs = all_procs();
    let mut children: BTreeMap<u32, Vec<&Proc>> = BTreeMap::new();
    for p in &procs {
        children.entry(p.ppid).or_default().push(p);
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        for child in children.get(&pid).map(Vec::as_slice).unwrap_or_default() {
            if child.state != 'Z' {
                out.push((*child).clone());
            }
            todo.push(child.pid);
        }
    }
    out
}

/// Whether `p` (same pid and start time) is still running (zombies count as gone).
pub fn alive(p: &Proc) -> bool {
    read_proc(p.pid).is_some_and(|now| now.start == p.start && now.state != 'Z')
}

/// Waits up to `grace` for the recorded processes to exit; returns those
/// still running.
pub fn survivors(recorded: &[Proc], grace: Duration) -> Vec<Proc> {
    let deadline = Instant::now() + grace;
    loop {
        let left: Vec<Proc> = recorded.iter().filter(|p| alive(p)).cloned().collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGKILLs the given leftovers (each checked by pid and start time first),
/// so one round's orphans do not disturb the next.
pub fn kill_leftovers(left: &[Proc]) {
    for p in left.iter().filter(|p| alive(p)) {
        let _ = Command::new("kill")
            .args(["-KILL", &p.pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

/// Which `slipway` command a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Serve,
    Worker,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Serve => "serve",
            Role::Worker => "worker",
        }
    }
}

/// A `slipway serve` or `slipway worker` process, restartable, with its
/// stderr appended to a log file; SIGKILLed on drop.
pub struct Slipway {
    pub role: Role,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Slipway {
    pub fn new(role: Role, env: Vec<(String, String)>, log: &Path) -> Self {
        Self {
            role,
            env,
            log: log.to_owned(),
            child: None,
        }
    }

    /// Starts the process (in its own process group).
    pub fn start(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("slipway log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
        for (key, _) in std::env::vars() {
            if key.starts_with("SLIPWAY_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg(self.role.as_str())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0);
        self.child = Some(cmd.spawn().expect("spawn slipway"));
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether it exited by itself.
    pub fn exited(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    /// SIGKILL, like a crash; returns its descendants as they were just before.
    pub fn kill_hard(&mut self) -> Vec<Proc> {
        let Some(mut child) = self.child.take() else {
            return Vec::new();
        };
        let before = descendants(child.id());
        let _ = child.kill();
        let _ = child.wait();
        before
    }
}

impl Drop for Slipway {
    fn drop(&mut self) {
        let left = self.kill_hard();
        kill_leftovers(&left);
    }
}

/// Runs a `slipway` CLI command to completion with `env`, `stdin` on its
/// standard input; panics with its output when it fails.
pub fn cli(env: &[(String, String)], args: &[&str], stdin: &str) {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slipway"));
    for (key, _) in std::env::vars() {
        if key.starts_with("SLIPWAY_") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn slipway");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "slipway {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
