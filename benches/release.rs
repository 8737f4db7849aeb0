//! Release benchmark (prints figures; not a test).
//!
//! A 10,000-file, ~100 MB tree shipped to 8 ssh targets (directories behind
//! one sshd on 127.0.0.1):
//! 1. Slipway's `deploy::ship` (atomic mode, parallelism 4) against a bare
//!    `rsync -a` fan-out with the same parallelism, and against a serial
//!    shell loop of `rsync` like the seed scripts';
//! 2. a one-file change shipped again (bytes sent per host, time);
//! 3. a rollback by switch across the 8 targets.
//!
//! Run: `cargo bench --bench release`.

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

use slipway::deploy::{self, Context, DeployHost, DeploySettings, HostEvent, OutputLine, ShipReport, Target};

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

fn ssh_e(sshd: &common_ssh::Sshd) -> String {
    format!(
        "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={} -p {} -i {}",
        sshd.known_hosts.display(),
        sshd.port,
        sshd.identity.display()
    )
}

/// `rsync -a` of `src` into each dir, `parallelism` at a time.
fn bare_fanout(sshd: &common_ssh::Sshd, src: &Path, dirs: &[PathBuf], parallelism: usize) -> Duration {
    let e = ssh_e(sshd);
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..parallelism {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= dirs.len() {
                    break;
                }
                let status = Command::new("rsync")
                    .args(["-a", "-e", &e])
                    .arg(format!("{}/", src.display()))
                    .arg(format!("root@127.0.0.1:{}/", dirs[i].display()))
                    .stdout(Stdio::null())
                    .status()
                    .expect("rsync");
                assert!(status.success());
            });
        }
    });
    started.elapsed()
}

/// The seed scripts' loop: `for d in …; do rsync …; done`, one host after the other.
fn serial_loop(sshd: &common_ssh::Sshd, src: &Path, dirs: &[PathBuf]) -> Duration {
    // A fixed script with paths from this benchmark only.
    let mut script = String::new();
    for d in dirs {
        script.push_str(&format!(
            "rsync -a -e '{}' {}/ root@127.0.0.1:{}/ || exit 1\n",
            ssh_e(sshd),
            src.display(),
            d.display()
        ));
    }
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .stdout(Stdio::null())
        .status()
        .expect("sh");
    assert!(status.success());
    started.elapsed()
}

fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let started = Instant::now();
    let r = f();
    (r, started.elapsed())
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sshd = common_ssh::Sshd::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("v1");
    let (_, made) = timed(|| make_tree(&src));
    println!(
        "tree: {FILES} files, {} MB, written in {:.1} s",
        FILES * FILE_BYTES / 1_000_000,
        made.as_secs_f64()
    );

    let mut settings = DeploySettings {
        parallelism: PARALLELISM,
        ..DeploySettings::default()
    };
    settings.ssh.port = Some(sshd.port);
    settings.ssh.identity_file = Some(sshd.identity.clone());
    let hosts: Vec<DeployHost> = (0..TARGETS)
        .map(|i| DeployHost {
            name: format!("web{i}"),
            target: Target::parse(&format!("root@127.0.0.1:{}/slipway/web{i}", tmp.path().display())).expect("target"),
        })
        .collect();
    let env: Vec<(String, String)> = Vec::new();
    let on_event = |_: HostEvent| {};
    let on_line = |_: &str, _: OutputLine| {};
    let never = || false;
    let ctx = Context {
        settings: &settings,
        excludes: &[],
        env: &env,
        known_hosts: &sshd.known_hosts,
        on_event: &on_event,
        on_line: &on_line,
        should_abort: &never,
        cancel: None,
    };
    let check = |r: &ShipReport| assert!(r.all_switched(), "{r:#?}");

    let bare_dirs: Vec<PathBuf> = (0..TARGETS).map(|i| tmp.path().join(format!("bare/web{i}"))).collect();
    for d in &bare_dirs {
        fs::create_dir_all(d).expect("mkdir");
    }
    let bare = bare_fanout(&sshd, &src, &bare_dirs, PARALLELISM);
    println!(
        "bare rsync -a fan-out, {TARGETS} targets, {PARALLELISM} at a time: {:.2} s",
        bare.as_secs_f64()
    );
    let loop_dirs: Vec<PathBuf> = (0..TARGETS).map(|i| tmp.path().join(format!("loop/web{i}"))).collect();
    for d in &loop_dirs {
        fs::create_dir_all(d).expect("mkdir");
    }
    let serial = serial_loop(&sshd, &src, &loop_dirs);
    println!(
        "serial shell loop of rsync -a, {TARGETS} targets: {:.2} s",
        serial.as_secs_f64()
    );

    let (report, first) = timed(|| deploy::ship(&ctx, "v1", &src, &hosts));
    check(&report);
    let sent: u64 = report.hosts.iter().map(|h| h.bytes_sent).sum();
    println!(
        "slipway ship v1 (atomic, {TARGETS} targets, parallelism {PARALLELISM}): {:.2} s = {:.2}x bare fan-out, {:.2}x serial loop; {} MB sent",
        first.as_secs_f64(),
        first.as_secs_f64() / bare.as_secs_f64(),
        first.as_secs_f64() / serial.as_secs_f64(),
        sent / 1_000_000
    );

    // v2: the same tree with one file changed.
    let v2 = tmp.path().join("v2");
    let status = Command::new("cp").arg("-a").arg(&src).arg(&v2).status().expect("cp");
    assert!(status.success());
    fs::write(v2.join("d042/f00042.dat"), b"changed").expect("write");
    let (report, second) = timed(|| deploy::ship(&ctx, "v2", &v2, &hosts));
    check(&report);
    let per_host: Vec<u64> = report.hosts.iter().map(|h| h.bytes_sent).collect();
    let files: Vec<u64> = report.hosts.iter().map(|h| h.files_transferred).collect();
    println!(
        "slipway ship v2 (one file changed): {:.2} s; bytes sent per host {:?}; files transferred per host {:?}",
        second.as_secs_f64(),
        per_host,
        files
    );

    let (report, rollback) = timed(|| deploy::switch_to(&ctx, "v1", &hosts));
    check(&report);
    println!(
        "rollback by switch to v1 across {TARGETS} targets: {:.2} s (target <= 2 s)",
        rollback.as_secs_f64()
    );
}
