//! Drift benchmark (prints figures beside their bare counterpart; not a test).
//!
//! A 10,000-file, ~100 MB tree on 8 ssh targets (directories behind sshd on
//! loopback, each `current -> releases/v1` a hard-link copy, made untimed),
//! 4 hosts at a time: Slipway's `deploy::drift::drift` against a bare
//! parallel `rsync -rln --checksum --dry-run --delete -i` of the same tree.
//!
//! Run: `cargo bench --bench verify` (or the dev-profile binary: the time
//! is spent in rsync and ssh).

/// The shared port helper the test helpers use (as `crate::common::net`).
#[path = "../tests/common/net.rs"]
mod net;
mod common {
    pub(crate) use super::net;
}
#[path = "../tests/common_ssh/mod.rs"]
mod common_ssh;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use slipway::deploy::drift::drift;
use slipway::deploy::{Context, DeployHost, DeploySettings, HostEvent, OutputLine, Target};

const FILES: usize = 10_000;
const FILE_BYTES: usize = 10 * 1024;
const TARGETS: usize = 8;
const PARALLELISM: usize = 4;

/// Writes FILES files of FILE_BYTES pseudo-random bytes in 100 directories.
fn make_tree(root: &Path) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; FILE_BYTES];
    for i in 0..FILES {
        let dir = root.join(format!("d{:03}", i % 100));
        fs::create_dir_all(&dir).expect("mkdir");
        for chunk in buf.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        fs::write(dir.join(format!("f{i:05}.dat")), &buf).expect("write");
    }
}

/// Runs `job(i)` for i in 0..n, `parallelism` at a time; the wall time.
fn parallel(n: usize, parallelism: usize, job: impl Fn(usize) + Sync) -> Duration {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..parallelism {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                job(i);
            });
        }
    });
    started.elapsed()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sshd = common_ssh::Sshd::start();
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = tmp.path().join("src");
    make_tree(&src);
    let dirs: Vec<PathBuf> = (0..TARGETS).map(|i| tmp.path().join(format!("t{i}"))).collect();
    for dir in &dirs {
        fs::create_dir_all(dir.join("releases")).expect("mkdir");
        let status = Command::new("cp")
            .arg("-al")
            .arg(&src)
            .arg(dir.join("releases/v1"))
            .status()
            .expect("cp");
        assert!(status.success());
        std::os::unix::fs::symlink("releases/v1", dir.join("current")).expect("current");
    }
    let hosts: Vec<DeployHost> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| DeployHost {
            name: format!("t{i}"),
            target: Target::parse(&format!("root@127.0.0.1:{}", d.display())).expect("target"),
            via: None,
        })
        .collect();
    let mut settings = DeploySettings::default();
    settings.ssh.port = Some(sshd.port);
    settings.ssh.identity_file = Some(sshd.identity.clone());
    settings.parallelism = PARALLELISM;
    let (on_event, on_line, never) = (|_: HostEvent| {}, |_: &str, _: OutputLine| {}, || false);
    let ctx = Context {
        settings: &settings,
        excludes: &[],
        env: &[],
        known_hosts: &sshd.known_hosts,
        on_event: &on_event,
        on_line: &on_line,
        should_abort: &never,
        cancel: None,
    };
    let ours = parallel(TARGETS, PARALLELISM, |i| {
        let d = drift(&ctx, &hosts[i], &src).expect("drift");
        assert!(d.is_clean(), "{d:?}");
    });
    let e = format!(
        "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={} -p {} -i {}",
        sshd.known_hosts.display(),
        sshd.port,
        sshd.identity.display()
    );
    let bare = parallel(TARGETS, PARALLELISM, |i| {
        let status = Command::new("rsync")
            .args(["-rln", "--checksum", "--dry-run", "--delete", "-i", "-e", &e])
            .arg(format!("{}/", src.display()))
            .arg(format!("root@127.0.0.1:{}/current/", dirs[i].display()))
            .stdout(Stdio::null())
            .status()
            .expect("rsync");
        assert!(status.success());
    });
    println!(
        "verify {FILES} files on {TARGETS} ssh targets ({PARALLELISM} at a time): slipway {:.2} s, bare rsync --checksum --dry-run {:.2} s (x{:.2})",
        ours.as_secs_f64(),
        bare.as_secs_f64(),
        ours.as_secs_f64() / bare.as_secs_f64().max(1e-9)
    );
}
