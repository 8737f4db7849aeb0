//! The deploy-layer fixture shared by the `tests/deploy*.rs` and
//! `tests/relay.rs`: a real sshd, an rsync daemon and a scratch
//! directory, with helpers to build trees, run operations and read hosts.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::common_ssh::{write, RsyncDaemon, Sshd};
use slipway::deploy::{
    self, Context, Delta, DeployHost, DeploySettings, HostEvent, HostState, OutputLine, ShipReport, Target,
};

/// One sshd, one rsync daemon, a scratch dir; hosts are named by the tests.
pub struct Fixture {
    pub sshd: Sshd,
    pub daemon: RsyncDaemon,
    pub tmp: tempfile::TempDir,
}

/// What a run reported.
#[derive(Default)]
pub struct Seen {
    pub events: Mutex<Vec<HostEvent>>,
    pub lines: Mutex<Vec<(String, String)>>,
}

impl Seen {
    pub fn lines_of(&self, host: &str) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(h, _)| h == host)
            .map(|(_, l)| l.clone())
            .collect()
    }
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_sshd(Sshd::start())
    }

    /// A fixture around `sshd`.
    pub fn with_sshd(sshd: Sshd) -> Self {
        Self {
            sshd,
            daemon: RsyncDaemon::start(),
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn settings(&self) -> DeploySettings {
        let mut s = DeploySettings::default();
        s.ssh.port = Some(self.sshd.port);
        s.ssh.identity_file = Some(self.sshd.identity.clone());
        s.rsync_password_file = Some(self.daemon.password_file.clone());
        s
    }

    /// A host over ssh whose directory is `<tmp>/<name>`.
    pub fn ssh_host(&self, name: &str) -> DeployHost {
        host(name, &format!("root@127.0.0.1:{}", self.dir(name).display()))
    }

    /// A host on the rsync daemon, module subdirectory `<name>`.
    pub fn daemon_host(&self, name: &str) -> DeployHost {
        host(name, &self.daemon.target(name))
    }

    /// A local host: `<tmp>/<name>`.
    pub fn local_host(&self, name: &str) -> DeployHost {
        host(name, &self.dir(name).display().to_string())
    }

    /// Where host `h` keeps its files (all of them live on this machine).
    pub fn path_of(&self, h: &DeployHost) -> PathBuf {
        match &h.target {
            Target::Daemon { path, .. } => self.daemon.path(path),
            Target::Ssh { path, .. } => PathBuf::from(path),
            Target::Local { path } => path.clone(),
        }
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// A source tree `<tmp>/src-<label>` with `files`.
    pub fn tree(&self, label: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.tmp.path().join(format!("src-{label}"));
        for (path, content) in files {
            write(&dir.join(path), content);
        }
        dir
    }

    pub fn run<R>(
        &self,
        settings: &DeploySettings,
        excludes: &[&str],
        should_abort: &(dyn Fn() -> bool + Sync),
        seen: &Seen,
        f: impl FnOnce(&Context) -> R,
    ) -> R {
        let excludes: Vec<String> = excludes.iter().map(|s| s.to_string()).collect();
        let env = vec![
            ("SLIPWAY_PROJECT".to_owned(), "shop".to_owned()),
            ("SLIPWAY_VERSION".to_owned(), "v?".to_owned()),
            ("SLIPWAY_TICKET".to_owned(), "7".to_owned()),
        ];
        let on_event = |e: HostEvent| seen.events.lock().unwrap().push(e);
        let on_line = |h: &str, l: OutputLine| seen.lines.lock().unwrap().push((h.to_owned(), l.text));
        let ctx = Context {
            settings,
            excludes: &excludes,
            env: &env,
            known_hosts: &self.sshd.known_hosts,
            on_event: &on_event,
            on_line: &on_line,
            should_abort,
            cancel: None,
        };
        f(&ctx)
    }

    pub fn ship(
        &self,
        settings: &DeploySettings,
        excludes: &[&str],
        version: &str,
        src: &Path,
        hosts: &[DeployHost],
    ) -> ShipReport {
        self.ship_with(settings, excludes, version, src, None, hosts).0
    }

    /// [`Self::ship`] with a delta plan; also returns what was reported.
    pub fn ship_with(
        &self,
        settings: &DeploySettings,
        excludes: &[&str],
        version: &str,
        src: &Path,
        delta: Option<&Delta>,
        hosts: &[DeployHost],
    ) -> (ShipReport, Seen) {
        let seen = Seen::default();
        let report = self.run(settings, excludes, &|| false, &seen, |ctx| {
            deploy::ship(ctx, version, src, delta, hosts)
        });
        if !report.all_switched() {
            for (h, l) in seen.lines.lock().unwrap().iter() {
                eprintln!("[{h}] {l}");
            }
        }
        (report, seen)
    }

    pub fn switch_to(&self, settings: &DeploySettings, version: &str, hosts: &[DeployHost]) -> ShipReport {
        let seen = Seen::default();
        self.run(settings, &[], &|| false, &seen, |ctx| {
            deploy::switch_to(ctx, version, hosts)
        })
    }
}

pub fn host(name: &str, target: &str) -> DeployHost {
    DeployHost {
        name: name.to_owned(),
        target: Target::parse(target).unwrap_or_else(|e| panic!("{target}: {e}")),
        via: None,
    }
}

pub fn live(dir: &Path) -> Option<String> {
    fs::read_link(dir.join("current"))
        .ok()
        .map(|t| t.to_string_lossy().into_owned())
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The entries under `releases/` but spare clones (`.spare.*`, made in the
/// background after a switch: whether one exists yet is a matter of timing).
pub fn releases(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("releases"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| !name.starts_with(".spare."))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn states(report: &ShipReport) -> Vec<(&str, HostState)> {
    report.hosts.iter().map(|h| (h.host.as_str(), h.state)).collect()
}

pub fn assert_all_switched(report: &ShipReport) {
    assert!(report.all_switched(), "{report:#?}");
}

/// 1 MB that never changes, so the first release sends much more than the second.
pub fn big() -> String {
    "0123456789abcdef".repeat(65536)
}

/// The data dir `slipway serve` would configure for this test binary (one
/// per process: the child set-up is process-wide).
pub fn data_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        slipway::process::env::configure(&dir, None, None).expect("child set-up");
        dir
    })
}

/// Finds the rsync process whose command line mentions `needle` (ours), by pid.
/// The upload directories of `version` under `releases` (`.v2.upload-*`).
pub fn upload_dirs(releases: &Path, version: &str) -> Vec<PathBuf> {
    let prefix = format!(".{version}.upload-");
    fs::read_dir(releases)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

pub fn rsync_pid(needle: &str) -> Option<u32> {
    for entry in fs::read_dir("/proc").ok()? {
        let entry = entry.ok()?;
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.first().is_some_and(|a| a == "rsync") && args.iter().any(|a| a.contains(needle)) {
            return Some(pid);
        }
    }
    None
}

/// What a tree holds: relative path → (kind, content or link target, mode;
/// 0 for a link), but for the paths `skip` says.
pub type Listing = BTreeMap<String, (char, Vec<u8>, u32)>;

pub fn listing(root: &Path, skip: &dyn Fn(&str) -> bool) -> Listing {
    fn walk(root: &Path, dir: &Path, out: &mut Listing, skip: &dyn Fn(&str) -> bool) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            let rel = path.strip_prefix(root).expect("inside").to_string_lossy().into_owned();
            if skip(&rel) {
                continue;
            }
            let meta = fs::symlink_metadata(&path).expect("stat");
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).expect("readlink");
                out.insert(rel, ('l', target.to_string_lossy().as_bytes().to_vec(), 0));
            } else if meta.is_dir() {
                out.insert(rel, ('d', Vec::new(), mode));
                walk(root, &path, out, skip);
            } else {
                out.insert(rel, ('f', fs::read(&path).expect("read"), mode));
            }
        }
    }
    let mut out = Listing::new();
    walk(root, root, &mut out, skip);
    out
}
