//! What the fault suite checks after each round, read from the database
//! and from the hosts' directories (the ssh hosts are this machine):
//! tickets left in a job-owned state, `current` pointing at a tree that is
//! not its tag's, what Slipway records per host against what the host runs,
//! and production going back without a rollback.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use slipway::store::models::{JobRow, ProjectRow, TicketRow};
use slipway::store::schema::{jobs, tickets};
use slipway::store::{projects, Pool};
use slipway::vcs::SnapshotRepo;

use super::cluster::PROJECT;

/// States only a job moves a ticket out of.
pub const JOB_OWNED: [&str; 3] = ["submitted", "releasing", "rolling_back"];
/// Job kinds that work on the project's tickets.
const PIPELINE: [&str; 3] = ["stage", "release", "rollback"];

pub fn project(pool: &Pool) -> ProjectRow {
    projects::by_name(&mut pool.get().expect("conn"), PROJECT)
        .expect("query")
        .expect("project")
}

pub fn all_tickets(pool: &Pool) -> Vec<TicketRow> {
    let pid = project(pool).id;
    tickets::table
        .filter(tickets::project_id.eq(pid))
        .order(tickets::id.asc())
        .select(TicketRow::as_select())
        .load(&mut pool.get().expect("conn"))
        .expect("tickets")
}

pub fn ticket(pool: &Pool, id: i64) -> TicketRow {
    slipway::store::tickets::by_id(&mut pool.get().expect("conn"), id)
        .expect("query")
        .expect("ticket")
}

/// The project's stage, release and rollback jobs.
pub fn pipeline_jobs(pool: &Pool) -> Vec<JobRow> {
    let pid = project(pool).id;
    jobs::table
        .filter(jobs::project_id.eq(pid))
        .filter(jobs::kind.eq_any(PIPELINE))
        .order(jobs::id.asc())
        .select(JobRow::as_select())
        .load(&mut pool.get().expect("conn"))
        .expect("jobs")
}

/// The pid of the worker holding a running pipeline job (worker names end in `-<pid>`).
pub fn running_job(pool: &Pool) -> Option<(JobRow, Option<u32>)> {
    pipeline_jobs(pool).into_iter().find(|j| j.state == "running").map(|j| {
        let pid = j
            .locked_by
            .as_deref()
            .and_then(|w| w.rsplit('-').next())
            .and_then(|p| p.parse().ok());
        (j, pid)
    })
}

/// Check 2: waits (up to `limit`) until no pipeline job is queued or
/// running; returns the tickets then still in a job-owned state, each
/// described with its jobs. A ticket counts as stuck only when it stays so
/// over two looks a second apart with no job left to move it.
/// Tickets in `known` (already reported stuck) are not waited for again.
pub fn settle(pool: &Pool, limit: Duration, known: &BTreeSet<i64>) -> Result<(), Vec<(i64, String)>> {
    let deadline = Instant::now() + limit;
    let mut quiet_since: Option<Instant> = None;
    loop {
        let jobs = pipeline_jobs(pool);
        let pending = jobs.iter().any(|j| j.state == "queued" || j.state == "running");
        let owned: Vec<TicketRow> = all_tickets(pool)
            .into_iter()
            .filter(|t| JOB_OWNED.contains(&t.state.as_str()) && !known.contains(&t.id))
            .collect();
        if !pending && owned.is_empty() {
            return Ok(());
        }
        let quiet = !pending;
        quiet_since = if quiet {
            quiet_since.or(Some(Instant::now()))
        } else {
            None
        };
        let stuck_for = quiet_since.map(|s| s.elapsed()).unwrap_or_default();
        if stuck_for >= Duration::from_secs(1) || Instant::now() >= deadline {
            return Err(owned
                .iter()
                .map(|t| {
                    let js: Vec<String> = jobs
                        .iter()
                        .filter(|j| j.ticket_id == Some(t.id))
                        .map(|j| {
                            format!(
                                "job #{} {} {} attempts {} error {:?}",
                                j.id,
                                j.kind,
                                j.state,
                                j.attempts,
                                j.last_error.as_deref().map(short)
                            )
                        })
                        .collect();
                    let text = format!(
                        "ticket #{} ({}) is {} {}; jobs: [{}]",
                        t.id,
                        t.kind,
                        t.state,
                        if quiet {
                            "with no job left to move it"
                        } else {
                            "after the deadline"
                        },
                        js.join("; ")
                    );
                    (t.id, text)
                })
                .collect());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The first 300 characters, control characters shown escaped.
pub fn short(s: &str) -> String {
    s.escape_debug().to_string().chars().take(300).collect()
}

/// A host's `current`: the release it names and the version number in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    pub release: String,
    pub number: Option<i64>,
}

pub fn live(host_dir: &Path) -> Option<Live> {
    let link = fs::read_link(host_dir.join("current")).ok()?;
    let release = link
        .to_string_lossy()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let number = release.strip_prefix('v').and_then(|n| n.parse().ok());
    Some(Live { release, number })
}

/// Files of a tree (path → content or `-> link target`), without `*.log` (the excludes).
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            let rel = path.strip_prefix(root).unwrap_or(&path).display().to_string();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                todo.push(path);
            } else if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap_or_default();
                out.insert(rel, format!("-> {}", target.display()).into_bytes());
            } else if !rel.ends_with(".log") {
                out.insert(rel, fs::read(&path).unwrap_or_default());
            }
        }
    }
    out
}

/// Tags exported once per run, to compare host trees with.
pub struct Tags {
    repo: PathBuf,
    dir: tempfile::TempDir,
}

impl Tags {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            repo: data_dir.join("git").join(format!("{PROJECT}.git")),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn open(&self) -> Option<SnapshotRepo> {
        self.repo
            .exists()
            .then(|| SnapshotRepo::open_or_init(&self.repo).ok())
            .flatten()
    }

    /// The commit a tag names.
    pub fn commit(&self, tag: &str) -> Option<String> {
        self.open()?.tag_target(tag).ok().flatten().map(|o| o.to_string())
    }

    /// Whether `older` is a strict ancestor of `newer`.
    pub fn strictly_older(&self, older: &str, newer: &str) -> bool {
        older != newer
            && self
                .open()
                .is_some_and(|r| r.is_ancestor(older, newer).unwrap_or(false))
    }

    /// Check 3: the tree `current` resolves to on `host_dir` equals its tag.
    pub fn check_current(&self, host: &str, host_dir: &Path) -> Result<(), String> {
        let Some(live) = live(host_dir) else { return Ok(()) };
        let Some(commit) = self.commit(&live.release) else {
            return Err(format!(
                "{host}: current -> releases/{} but there is no such tag",
                live.release
            ));
        };
        let export = self.dir.path().join(&commit);
        if !export.exists() {
            let repo = self.open().ok_or("snapshot repository gone")?;
            repo.export(&commit, &export)
                .map_err(|e| format!("export {commit}: {e}"))?;
        }
        let shipped = host_dir.join("releases").join(&live.release);
        if !shipped.is_dir() {
            return Err(format!(
                "{host}: current -> releases/{} which does not exist",
                live.release
            ));
        }
        let (want, have) = (tree(&export), tree(&shipped));
        if want == have {
            return Ok(());
        }
        let keys: BTreeSet<&String> = want.keys().chain(have.keys()).collect();
        let diff: Vec<String> = keys
            .into_iter()
            .filter(|k| want.get(*k) != have.get(*k))
            .take(5)
            .map(|k| match (want.contains_key(k), have.contains_key(k)) {
                (true, false) => format!("{k} missing"),
                (false, true) => format!("{k} extra"),
                _ => format!("{k} differs"),
            })
            .collect();
        Err(format!(
            "{host}: current -> releases/{} is not tag {} ({commit}): {}",
            live.release,
            live.release,
            diff.join(", ")
        ))
    }
}

/// Check 4: `hosts.running_version` of each host equals its `current`.
pub fn check_recorded(pool: &Pool, hosts: &[(String, PathBuf)]) -> Vec<String> {
    let pid = project(pool).id;
    let rows = projects::hosts_of(&mut pool.get().expect("conn"), pid).expect("hosts");
    let mut out = Vec::new();
    for (name, dir) in hosts {
        let recorded = rows
            .iter()
            .find(|(_, h)| &h.name == name)
            .and_then(|(_, h)| h.running_version);
        let actual = live(dir).and_then(|l| l.number);
        if recorded != actual {
            out.push(format!(
                "{name}: Slipway records {} but current -> {}",
                recorded.map_or("nothing".into(), |v| format!("v{v}")),
                actual.map_or("nothing".into(), |v| format!("v{v}"))
            ));
        }
    }
    out
}

/// The last `n` lines of a ticket's job output (for violation reports).
pub fn log_tail(pool: &Pool, ticket_id: i64, n: usize) -> String {
    let lines = match slipway::store::jobs::logs_for_ticket(&mut pool.get().expect("conn"), ticket_id, 0, 100_000) {
        Ok(lines) => lines,
        Err(e) => return format!("    | (cannot read the job output: {e})"),
    };
    let start = lines.len().saturating_sub(n);
    lines[start..]
        .iter()
        .map(|l| format!("    | {}", short(&l.line)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line on where the hosts stand: `web1 v3 (recorded v3), web2 …`.
pub fn hosts_line(pool: &Pool, hosts: &[(String, PathBuf)]) -> String {
    let pid = project(pool).id;
    let rows = projects::hosts_of(&mut pool.get().expect("conn"), pid).expect("hosts");
    hosts
        .iter()
        .map(|(name, dir)| {
            let recorded = rows
                .iter()
                .find(|(_, h)| &h.name == name)
                .and_then(|(_, h)| h.running_version);
            let current = live(dir).map_or("-".to_owned(), |l| l.release);
            format!(
                "{name} {current} (recorded {})",
                recorded.map_or("-".into(), |v| format!("v{v}"))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
