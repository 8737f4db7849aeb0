//! Release benchmark (prints figures beside their bare counterparts; not a test).
//!
//! A 10,000-file, ~100 MB tree, ssh targets as directories behind sshd on
//! loopback, everything at parallelism 4 (the default), in one run. Figures
//! 1–3 put the 8 targets on one sshd, as the issue measured them: Slipway
//! gives targets on one machine one shared connection (figure 4 has them on
//! 8 machines too):
//! 1. full first release to 8 targets: Slipway's `deploy::ship` against a
//!    bare `rsync -a` fan-out, twice in turns (bare first, then Slipway
//!    first), each with the machine's CPU time and stalls (and a serial
//!    shell loop like the seed scripts');
//! 2. a one-file change to 8 targets: Slipway's delta release against a bare
//!    parallel `rsync -a` of the same change, with bytes sent per host;
//! 3. rollback by switch on 8 targets against bare parallel
//!    `ssh host 'ln -sfn … && mv -T …'`;
//! 4. the one-file change and then the rollback by switch at 8 targets on 8
//!    machines (one sshd each on 127.0.0.1…8: no two targets share a
//!    connection), 8 targets on one machine (they share one, as targets on
//!    one machine do: `deploy/shared_mux.rs`), and 32 and 128 targets on 4
//!    (the targets' starting trees are hard-link copies, made untimed, with
//!    the spare clone a release by Slipway leaves, `deploy/spare.rs`);
//! 6. relay release (issue 14): the full first release and the one-file
//!    change to 8 hosts behind a relay (a second sshd only the relay can
//!    reach), with the bytes leaving Slipway against those of one direct host.
//!
//! Run: `cargo bench --bench release` (`SLIPWAY_BENCH=relay` runs only the
//! relay figures, `SLIPWAY_BENCH=first` only figures 1–3). The trees go in
//! the system's temporary directory, or under `SLIPWAY_BENCH_DIR`
//! (`scripts/bench-release.sh --journaled-fs` makes that a fresh ext4 with
//! a journal); the first line says which filesystem it is.

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

use slipway::deploy::{
    self, ChangeSet, Context, Delta, DeployHost, DeploySettings, HostEvent, OutputLine, Relay, ShipReport, Target,
};
use slipway::vcs::{Signature, SnapshotRepo};

const FILES: usize = 10_000;
const FILE_BYTES: usize = 10 * 1024;
const TARGETS: usize = 8;
const PARALLELISM: usize = 4;
/// sshd on 127.0.0.1…8: eight machines, for the figures by machine.
const MACHINES: usize = 8;

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
    parallel(dirs.len(), parallelism, |i| {
        run_ok(
            Command::new("rsync")
                .args(["-a", "-e", &e])
                .arg(format!("{}/", src.display()))
                .arg(format!("root@127.0.0.1:{}/", dirs[i].display())),
        )
    })
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

/// Writes back what earlier figures left dirty (untimed), so neither side
/// of the next figure pays for the other's writes.
fn settle() {
    run_ok(&mut Command::new("sync"));
}

/// Stall totals from `/proc/pressure` in µs (CPU "some", I/O "some", I/O
/// "full"), then the machine's busy and stolen CPU time from `/proc/stat`
/// in clock ticks (zeros where the kernel has neither).
fn pressure() -> [u64; 5] {
    let total = |file: &str, kind: &str| -> u64 {
        let text = fs::read_to_string(format!("/proc/pressure/{file}")).unwrap_or_default();
        text.lines()
            .find(|l| l.starts_with(kind))
            .and_then(|l| l.rsplit("total=").next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| cpu.get(i).copied().unwrap_or(0);
    // user, nice, system, irq, softirq; steal.
    let busy = at(0) + at(1) + at(2) + at(5) + at(6);
    [
        total("cpu", "some"),
        total("io", "some"),
        total("io", "full"),
        busy,
        at(7),
    ]
}

/// What the machine did and stalled on while `f` ran, as a short text.
fn stalls<R>(f: impl FnOnce() -> R) -> (R, String) {
    let before = pressure();
    let r = f();
    let after = pressure();
    let d = |i: usize| after[i].saturating_sub(before[i]);
    (
        r,
        format!(
            "CPU used {:.1} s, stolen {:.1} s; stalled: cpu {} ms, io some {} ms, io full {} ms",
            d(3) as f64 / 100.0,
            d(4) as f64 / 100.0,
            d(0) / 1000,
            d(1) / 1000,
            d(2) / 1000
        ),
    )
}

fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let started = Instant::now();
    let r = f();
    (r, started.elapsed())
}

/// Runs `job(i)` for `0..n`, `parallelism` at a time.
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

fn run_ok(command: &mut Command) {
    let status = command.stdout(Stdio::null()).status().expect("runs");
    assert!(status.success(), "{command:?}");
}

/// More sshd on 127.0.0.2… at the same port with the same keys, so
/// targets can be spread over several daemons with one ssh setting.
struct MoreSshd(Vec<std::process::Child>);

impl MoreSshd {
    fn start(sshd: &common_ssh::Sshd, extra: usize) -> Self {
        let d = sshd.dir.path();
        let host_pub = fs::read_to_string(d.join("host_key.pub")).expect("host key");
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        let mut children = Vec::new();
        for n in 2..2 + extra {
            let config = d.join(format!("sshd_config.{n}"));
            let base = fs::read_to_string(d.join("sshd_config")).expect("config");
            let own = base
                .replace("ListenAddress 127.0.0.1", &format!("ListenAddress 127.0.0.{n}"))
                .replace("sshd.pid", &format!("sshd.{n}.pid"));
            fs::write(&config, own).expect("config");
            children.push(
                Command::new("/usr/sbin/sshd")
                    .args(["-D", "-e", "-f"])
                    .arg(&config)
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("sshd"),
            );
            let mut kh = fs::OpenOptions::new()
                .append(true)
                .open(&sshd.known_hosts)
                .expect("known_hosts");
            use std::io::Write;
            writeln!(kh, "[127.0.0.{n}]:{} {} {}", sshd.port, host_pub[0], host_pub[1]).expect("known_hosts");
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect((format!("127.0.0.{n}").as_str(), sshd.port)).is_err() {
                assert!(Instant::now() < deadline, "sshd on 127.0.0.{n} did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Self(children)
    }
}

impl Drop for MoreSshd {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `n` Slipway hosts under `root`, spread over `daemons` loopback addresses.
fn hosts_in(root: &Path, n: usize, daemons: usize) -> Vec<DeployHost> {
    (0..n)
        .map(|i| DeployHost {
            name: format!("web{i}"),
            target: Target::parse(&format!("root@127.0.0.{}:{}/web{i}", 1 + i % daemons, root.display()))
                .expect("target"),
            via: None,
        })
        .collect()
}

/// The delta plan for hosts that run `live`, whose tree is `old`, to `new`.
fn delta_for(hosts: &[DeployHost], live: &str, changed: &[&str]) -> Delta {
    let mut delta = Delta::default();
    for h in hosts {
        delta.recorded.insert(h.name.clone(), live.to_owned());
    }
    let changes = ChangeSet {
        present: changed.iter().map(|s| s.to_string()).collect(),
        deleted: Vec::new(),
    };
    delta.changes.insert(live.to_owned(), Ok(changes));
    delta
}

/// The first host's step timings in `r`.
fn steps(r: &ShipReport) -> String {
    r.hosts[0]
        .steps
        .iter()
        .map(|s| format!("{} {} ms", s.step, s.millis))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn ratio(ours: Duration, bare: Duration) -> f64 {
    ours.as_secs_f64() / bare.as_secs_f64()
}

const CHANGED: &str = "d042/f00042.dat";

/// Bytes leaving Slipway in a report: the relay stages' plus the hosts'.
fn slipway_bytes(r: &ShipReport) -> u64 {
    r.relays.iter().map(|h| h.bytes_sent).sum::<u64>() + r.hosts.iter().map(|h| h.bytes_sent).sum::<u64>()
}

/// Figure 6: the full release and the one-file change to TARGETS hosts
/// behind one relay, against one direct host: bytes leaving Slipway and time.
fn relay_figures(ctx: &Context, sshd: &common_ssh::Sshd, tmp: &Path, src: &Path, v2: &Path) {
    let hosts_sshd = common_ssh::Sshd::start();
    let pinned = fs::read_to_string(&hosts_sshd.known_hosts)
        .expect("known_hosts")
        .replace("[127.0.0.1]", "[localhost]");
    let relay_kh = tmp.join("relay_known_hosts");
    fs::write(&relay_kh, pinned).expect("relay known_hosts");
    let relay = Relay::parse(
        &format!("root@127.0.0.1:{}/relay", tmp.display()),
        Some(hosts_sshd.port),
        Some(&hosts_sshd.identity.display().to_string()),
        Some(&relay_kh.display().to_string()),
    )
    .expect("relay");
    let behind: Vec<DeployHost> = (0..TARGETS)
        .map(|i| DeployHost {
            name: format!("far{i}"),
            target: Target::parse(&format!("root@localhost:{}/relayed/far{i}", tmp.display())).expect("target"),
            via: Some(relay.clone()),
        })
        .collect();
    let direct = hosts_in(&tmp.join("direct"), 1, 1);
    let _ = sshd;
    let check = |r: &ShipReport| assert!(r.all_switched(), "{r:#?}");
    println!();
    println!("| relay release | bytes leaving Slipway | time | one direct host: bytes | time |");
    println!("|---|---|---|---|---|");
    let (one_full, one_full_t) = timed(|| deploy::ship(ctx, "v1", src, None, &direct));
    check(&one_full);
    let (far_full, far_full_t) = timed(|| deploy::ship(ctx, "v1", src, None, &behind));
    check(&far_full);
    println!(
        "| full first release, {TARGETS} hosts behind a relay | {} B | {:.2} s | {} B | {:.2} s |",
        slipway_bytes(&far_full),
        far_full_t.as_secs_f64(),
        slipway_bytes(&one_full),
        one_full_t.as_secs_f64()
    );
    let mut delta = delta_for(&behind, "v1", &[CHANGED]);
    delta.recorded.insert(direct[0].name.clone(), "v1".into());
    let (one_change, one_change_t) = timed(|| deploy::ship(ctx, "v2", v2, Some(&delta), &direct));
    check(&one_change);
    let (far_change, far_change_t) = timed(|| deploy::ship(ctx, "v2", v2, Some(&delta), &behind));
    check(&far_change);
    println!(
        "| one-file change, {TARGETS} hosts behind a relay | {} B | {:.2} s | {} B | {:.2} s |",
        slipway_bytes(&far_change),
        far_change_t.as_secs_f64(),
        slipway_bytes(&one_change),
        one_change_t.as_secs_f64()
    );
    let steps = |r: &deploy::HostResult| -> String {
        r.steps
            .iter()
            .map(|s| format!("{} {} ms", s.step, s.millis))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    for r in far_change.relays.iter().chain(far_change.hosts.first()) {
        println!("steps of {}, one-file change: {}", r.host, steps(r));
    }
    println!(
        "(direct to {TARGETS} hosts the full release would send {TARGETS} x {} B; behind the relay Slipway sends it once)",
        slipway_bytes(&one_full)
    );
}

/// Figure 4's timings at one size.
struct AtScale {
    change: Duration,
    bare_change: Duration,
    switch: Duration,
    bare_switch: Duration,
}

/// The one-file change (v1 to v2) and then the rollback by switch (to v1)
/// at `n` targets spread over `machines` sshd, Slipway against bare. The
/// targets start as hard-link copies of v1, made untimed, with the spare
/// clone a release by Slipway leaves (`deploy/spare.rs`).
fn at_scale(ctx: &Context, e: &str, tmp: &Path, src: &Path, v2: &Path, n: usize, machines: usize) -> AtScale {
    let root = tmp.join(format!("scale{n}x{machines}"));
    let hosts = hosts_in(&root.join("slipway"), n, machines);
    let bare: Vec<(String, PathBuf)> = (0..n)
        .map(|i| {
            (
                format!("127.0.0.{}", 1 + i % machines),
                root.join(format!("bare/web{i}")),
            )
        })
        .collect();
    for (i, (_, dir)) in bare.iter().enumerate() {
        fs::create_dir_all(dir.parent().expect("parent")).expect("mkdir");
        run_ok(Command::new("cp").arg("-al").arg(src).arg(dir));
        let host = root.join(format!("slipway/web{i}"));
        fs::create_dir_all(host.join("releases")).expect("mkdir");
        run_ok(Command::new("cp").arg("-al").arg(src).arg(host.join("releases/v1")));
        std::os::unix::fs::symlink("releases/v1", host.join("current")).expect("symlink");
        run_ok(
            Command::new("cp")
                .arg("-al")
                .arg(host.join("releases/v1"))
                .arg(host.join("releases/.spare.v1")),
        );
        // The bare rollback's second release directory.
        fs::create_dir_all(dir.join("releases/v1")).expect("mkdir");
    }
    settle();
    let bare_change = parallel(n, PARALLELISM, |i| {
        let (addr, dir) = &bare[i];
        run_ok(
            Command::new("rsync")
                .args(["-a", "-e", e])
                .arg(format!("{}/", v2.display()))
                .arg(format!("root@{addr}:{}/", dir.display())),
        );
    });
    let delta = delta_for(&hosts, "v1", &[CHANGED]);
    settle();
    let (report, change) = timed(|| deploy::ship(ctx, "v2", v2, Some(&delta), &hosts));
    assert!(report.all_switched(), "{report:#?}");
    settle();
    let bare_switch = parallel(n, PARALLELISM, |i| {
        let (addr, dir) = &bare[i];
        let d = dir.display();
        let mut words: Vec<&str> = e.split(' ').collect();
        let program = words.remove(0);
        let line = format!("ln -sfn releases/v1 {d}/.next && mv -T {d}/.next {d}/current");
        run_ok(Command::new(program).args(&words).arg(format!("root@{addr}")).arg(line));
    });
    settle();
    let (report, switch) = timed(|| deploy::switch_to(ctx, "v1", &hosts));
    assert!(report.all_switched(), "{report:#?}");
    AtScale {
        change,
        bare_change,
        switch,
        bare_switch,
    }
}

/// The filesystem holding `dir`: its type and, for ext4, whether it has a
/// journal (without one, ext4 avoids recently freed inodes by a scan that
/// makes new files slow for minutes after a mass deletion; see the README).
fn filesystem_of(dir: &Path) -> String {
    let out = Command::new("findmnt")
        .args(["-n", "-o", "SOURCE,FSTYPE", "-T"])
        .arg(dir)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let mut words = out.split_whitespace();
    let (Some(source), Some(fstype)) = (words.next(), words.next()) else {
        return "unknown".into();
    };
    if fstype != "ext4" {
        return format!("{fstype} on {source}");
    }
    let device = source.rsplit('/').next().unwrap_or(source);
    let options = fs::read_to_string(format!("/proc/fs/ext4/{device}/options")).unwrap_or_default();
    let journal = if options.lines().any(|l| l.starts_with("data=")) {
        "with a journal"
    } else {
        "without a journal"
    };
    format!("ext4 on {source}, {journal}")
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let sshd = common_ssh::Sshd::start();
    let _more = MoreSshd::start(&sshd, MACHINES - 1);
    let tmp = match std::env::var_os("SLIPWAY_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("tmp");
    println!("trees under {}: {}", tmp.path().display(), filesystem_of(tmp.path()));
    let src = tmp.path().join("v1");
    let (_, made) = timed(|| make_tree(&src));
    println!(
        "tree: {FILES} files, {} MB, written in {:.1} s; parallelism {PARALLELISM} everywhere",
        FILES * FILE_BYTES / 1_000_000,
        made.as_secs_f64()
    );
    // v2: the same tree (times kept) with one file changed.
    let v2 = tmp.path().join("v2");
    run_ok(Command::new("cp").arg("-a").arg(&src).arg(&v2));
    fs::write(v2.join(CHANGED), b"changed").expect("write");
    let change_bytes = 7u64;

    let mut settings = DeploySettings {
        parallelism: PARALLELISM,
        ..DeploySettings::default()
    };
    settings.ssh.port = Some(sshd.port);
    settings.ssh.identity_file = Some(sshd.identity.clone());
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
    if std::env::var("SLIPWAY_BENCH").as_deref() == Ok("relay") {
        relay_figures(&ctx, &sshd, tmp.path(), &src, &v2);
        return;
    }
    println!("| figure | slipway | bare | ratio | target |");
    println!("|---|---|---|---|---|");

    // 1. Full first release, 8 targets: twice, in turns (bare first, then
    //    Slipway first), into fresh directories each time. The kernel's
    //    inode allocator makes new files slow for minutes after many were
    //    deleted (the previous run's temporary trees), and it can hit
    //    either side: the CPU and stall figures are printed with each round.
    let mut full_steps = Vec::new();
    let mut hosts = Vec::new();
    let mut bare_dirs = Vec::new();
    for round in 0..2 {
        let dirs: Vec<PathBuf> = (0..TARGETS)
            .map(|i| tmp.path().join(format!("bare{round}/web{i}")))
            .collect();
        for d in &dirs {
            fs::create_dir_all(d).expect("mkdir");
        }
        let ours = hosts_in(&tmp.path().join(format!("slipway{round}")), TARGETS, 1);
        let bare_side = || {
            settle();
            stalls(|| bare_fanout(&sshd, &src, &dirs, PARALLELISM))
        };
        let our_side = || {
            settle();
            stalls(|| timed(|| deploy::ship(&ctx, "v1", &src, None, &ours)))
        };
        let ((bare_full, bare_stalls), ((report, full), full_stalls)) = if round == 0 {
            let b = bare_side();
            (b, our_side())
        } else {
            let o = our_side();
            (bare_side(), o)
        };
        check(&report);
        full_steps.push(format!(
            "round {}: {}; upload per host {}; {full_stalls} (bare {bare_stalls})",
            round + 1,
            steps(&report),
            report
                .hosts
                .iter()
                .filter_map(|h| h
                    .steps
                    .iter()
                    .find(|s| s.step.contains("upload"))
                    .map(|s| format!("{} ms", s.millis)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        println!(
            "| full first release, {TARGETS} targets ({} first) | {:.2} s | {:.2} s | {:.2}x | <= 1.2x |",
            if round == 0 { "bare" } else { "slipway" },
            full.as_secs_f64(),
            bare_full.as_secs_f64(),
            ratio(full, bare_full)
        );
        if round == 0 {
            hosts = ours;
            bare_dirs = dirs;
        }
    }

    // 2. One-file change, 8 targets.
    settle();
    let bare_change = bare_fanout(&sshd, &v2, &bare_dirs, PARALLELISM);
    // The hosts make their spare clones in the background after the switch
    // (`deploy/spare.rs`); releases are minutes apart, so they are ready.
    let (_, waited) = timed(|| {
        let root = tmp.path().join("slipway0");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(0..TARGETS).all(|i| root.join(format!("web{i}/releases/.spare.v1")).is_dir()) {
            assert!(Instant::now() < deadline, "no spare clones after 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let delta = delta_for(&hosts, "v1", &[CHANGED]);
    settle();
    let (report, change) = timed(|| deploy::ship(&ctx, "v2", &v2, Some(&delta), &hosts));
    check(&report);
    let most = report.hosts.iter().map(|h| h.bytes_sent).max().unwrap_or(0);
    let change_steps = steps(&report);
    println!(
        "| one-file change, {TARGETS} targets | {:.2} s | {:.2} s | {:.2}x | <= 1.0x |",
        change.as_secs_f64(),
        bare_change.as_secs_f64(),
        ratio(change, bare_change)
    );
    println!(
        "| bytes sent per host, one-file change | {most} B (max) | change {change_bytes} B + 20 KB = {} B | | <= change + 20 KB |",
        change_bytes + 20_000
    );

    // 3. Rollback by switch, 8 targets.
    let switch_dirs: Vec<PathBuf> = (0..TARGETS)
        .map(|i| tmp.path().join(format!("switch/web{i}")))
        .collect();
    for d in &switch_dirs {
        fs::create_dir_all(d.join("releases/v1")).expect("mkdir");
        std::os::unix::fs::symlink("releases/v2", d.join("current")).expect("symlink");
    }
    let e = ssh_e(&sshd);
    settle();
    let bare_switch = parallel(TARGETS, PARALLELISM, |i| {
        let d = switch_dirs[i].display();
        let mut words: Vec<&str> = e.split(' ').collect();
        let program = words.remove(0);
        let line = format!("ln -sfn releases/v1 {d}/.next && mv -T {d}/.next {d}/current");
        run_ok(Command::new(program).args(&words).arg("root@127.0.0.1").arg(line));
    });
    settle();
    let (report, switch) = timed(|| deploy::switch_to(&ctx, "v1", &hosts));
    check(&report);
    println!(
        "| rollback by switch, {TARGETS} targets | {:.2} s | {:.2} s | {:.2}x | <= 1.0x |",
        switch.as_secs_f64(),
        bare_switch.as_secs_f64(),
        ratio(switch, bare_switch)
    );
    println!(
        "steps of web0, one-file change: {change_steps} (spare clones were ready {:.2} s after the bare run)",
        waited.as_secs_f64()
    );
    println!("steps of web0, rollback by switch: {}", steps(&report));
    for line in &full_steps {
        println!("steps of web0, full first release, {line}");
    }
    if std::env::var("SLIPWAY_BENCH").as_deref() == Ok("first") {
        return;
    }
    let loop_dirs: Vec<PathBuf> = (0..TARGETS).map(|i| tmp.path().join(format!("loop/web{i}"))).collect();
    for d in &loop_dirs {
        fs::create_dir_all(d).expect("mkdir");
    }
    let serial = serial_loop(&sshd, &src, &loop_dirs);
    println!(
        "(serial shell loop of a full rsync -a, {TARGETS} targets: {:.2} s)",
        serial.as_secs_f64()
    );

    // 4. One-file change and rollback by switch by targets and machines.
    println!();
    println!("| targets | machines (sshd) | one-file change: slipway | bare parallel rsync -a | ratio | rollback by switch: slipway | bare parallel ssh ln+mv | ratio |");
    println!("|---|---|---|---|---|---|---|---|");
    for (n, machines) in [(8usize, MACHINES), (8, 1), (32, 4), (128, 4)] {
        let f = at_scale(&ctx, &e, tmp.path(), &src, &v2, n, machines);
        println!(
            "| {n} | {machines} | {:.2} s | {:.2} s | {:.2}x | {:.2} s | {:.2} s | {:.2}x |",
            f.change.as_secs_f64(),
            f.bare_change.as_secs_f64(),
            ratio(f.change, f.bare_change),
            f.switch.as_secs_f64(),
            f.bare_switch.as_secs_f64(),
            ratio(f.switch, f.bare_switch)
        );
    }

    // 6. Relay release (printed after the export figures below).
    let relay_dir = tmp.path().join("relay-bench");
    fs::create_dir_all(&relay_dir).expect("mkdir");

    // 5. The release tree the job ships from: exported whole from git, or
    //    from the previous export plus the one changed file.
    println!();
    let repo = SnapshotRepo::open_or_init(&tmp.path().join("bench.git")).expect("repo");
    let who = Signature {
        name: "bench".into(),
        email: "bench@localhost".into(),
    };
    for (tree, tag) in [(&src, "v1"), (&v2, "v2")] {
        let snap = repo.snapshot(tree, &[], tag, &who).expect("snapshot");
        repo.tag(&snap.commit, tag, tag, &who).expect("tag");
    }
    let exports = tmp.path().join("exports");
    repo.export("v1", &exports.join("v1")).expect("export v1");
    let (_, whole) = timed(|| repo.export("v2", &exports.join("v2-whole")).expect("export v2"));
    let (_, incremental) = timed(|| {
        run_ok(
            Command::new("cp")
                .arg("-al")
                .arg(exports.join("v1"))
                .arg(exports.join("v2")),
        );
        repo.export_changes("v1", "v2", &exports.join("v2"))
            .expect("export changes")
    });
    println!(
        "export of the release tree, one-file change: {:.2} s from the previous export (whole: {:.2} s)",
        incremental.as_secs_f64(),
        whole.as_secs_f64()
    );
    relay_figures(&ctx, &sshd, &relay_dir, &src, &v2);
}
