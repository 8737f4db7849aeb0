//! Delta releases against real programs (sshd on 127.0.0.1, an rsync
//! daemon, local directories): only the changed files travel, into a
//! hard-link clone of the live release that never touches the live
//! release's files; anything unexpected falls back to the full upload.

mod common;
mod common_deploy;
mod common_ssh;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common_deploy::*;
use common_ssh::write;
use slipway::deploy::{ChangeSet, Delta, DeployHost};

/// The changes between two trees, as the release job gets them from git.
fn changes(old: &Path, new: &Path) -> ChangeSet {
    let files =
        |l: Listing| -> BTreeMap<String, (char, Vec<u8>, u32)> { l.into_iter().filter(|(_, v)| v.0 != 'd').collect() };
    let (a, b) = (files(listing(old, &|_| false)), files(listing(new, &|_| false)));
    let mut set = ChangeSet::default();
    for (path, entry) in &b {
        if a.get(path) != Some(entry) {
            set.present.push(path.clone());
        }
    }
    set.deleted = a.keys().filter(|p| !b.contains_key(*p)).cloned().collect();
    set
}

fn delta_for(hosts: &[DeployHost], live: &str, set: ChangeSet) -> Delta {
    let mut delta = Delta::default();
    for h in hosts {
        delta.recorded.insert(h.name.clone(), live.to_owned());
    }
    delta.changes.insert(live.to_owned(), Ok(set));
    delta
}

fn inodes(root: &Path) -> BTreeMap<String, (u64, u32, u64)> {
    listing(root, &|_| false)
        .into_iter()
        .filter(|(_, v)| v.0 == 'f')
        .map(|(path, _)| {
            let meta = fs::symlink_metadata(root.join(&path)).expect("stat");
            (path, (meta.ino(), meta.mode(), meta.size()))
        })
        .collect()
}

fn tree_v1(fx: &Fixture) -> PathBuf {
    let v1 = fx.tree(
        "v1",
        &[
            ("index.html", "one"),
            ("lib/big.bin", &big()),
            ("lib/keep.js", "keep"),
            ("old/name.txt", "renamed later"),
            ("gone/deep/file.txt", "deleted later"),
            ("run.sh", "#!/bin/sh\necho run\n"),
            ("conf/app.conf", "a=1"),
        ],
    );
    std::os::unix::fs::symlink("index.html", v1.join("link.html")).expect("symlink");
    v1
}

fn tree_v2(fx: &Fixture) -> PathBuf {
    let v2 = fx.tree(
        "v2",
        &[
            ("index.html", "two"),
            ("lib/big.bin", &big()),
            ("lib/keep.js", "keep"),
            ("new/name.txt", "renamed later"),
            ("added/file.txt", "new"),
            ("run.sh", "#!/bin/sh\necho run\n"),
            ("conf/app.conf", "a=1"),
        ],
    );
    fs::set_permissions(v2.join("run.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
    std::os::unix::fs::symlink("lib/keep.js", v2.join("link.html")).expect("symlink");
    v2
}

const EXCLUDES: [&str; 2] = ["conf/jdbc.properties", "*.log"];

fn excluded(rel: &str) -> bool {
    rel == "conf/jdbc.properties" || rel.ends_with(".log")
}

#[test]
fn a_delta_release_sends_only_the_changes_and_leaves_each_host_identical_to_the_release() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.ssh_host("web2"), fx.local_host("web3")];
    let settings = fx.settings();
    let (v1, v2) = (tree_v1(&fx), tree_v2(&fx));
    assert_all_switched(&fx.ship(&settings, &EXCLUDES, "v1", &v1, &hosts));
    for h in &hosts {
        let dir = fx.path_of(h);
        write(&dir.join("current/conf/jdbc.properties"), &format!("url={}", h.name));
        write(&dir.join("current/app.log"), "log line");
    }
    let before: Vec<_> = hosts
        .iter()
        .map(|h| inodes(&fx.path_of(h).join("releases/v1")))
        .collect();

    let set = changes(&v1, &v2);
    let delta = delta_for(&hosts, "v1", set.clone());
    let (report, seen) = fx.ship_with(&settings, &EXCLUDES, "v2", &v2, Some(&delta), &hosts);
    assert_all_switched(&report);
    for ((h, r), old) in hosts.iter().zip(&report.hosts).zip(&before) {
        let dir = fx.path_of(h);
        assert_eq!(live(&dir).as_deref(), Some("releases/v2"), "{}", h.name);
        let log = seen.lines_of(&h.name).join("\n");
        assert!(log.contains("delta from v1"), "{}: {log}", h.name);
        // Byte-identical to the release (minus the host-only files)…
        assert_eq!(
            listing(&dir.join("releases/v2"), &excluded),
            listing(&v2, &|_| false),
            "{}",
            h.name
        );
        // …whose host-only files came along, as copies of their own.
        assert_eq!(
            read(&dir.join("current/conf/jdbc.properties")),
            format!("url={}", h.name)
        );
        assert_eq!(read(&dir.join("current/app.log")), "log line");
        let ino = |p: &str| fs::metadata(dir.join(p)).expect("stat").ino();
        assert_ne!(ino("releases/v1/app.log"), ino("releases/v2/app.log"));
        // Unchanged files are shared with the live release, not sent.
        assert_eq!(ino("releases/v1/lib/big.bin"), ino("releases/v2/lib/big.bin"));
        // The previous release is exactly as it was: same inodes, modes, sizes.
        assert_eq!(&inodes(&dir.join("releases/v1")), old, "{}", h.name);
        assert_eq!(read(&dir.join("releases/v1/index.html")), "one");
        // Only the changes went over the wire.
        let change_bytes: u64 = set
            .present
            .iter()
            .map(|p| fs::symlink_metadata(v2.join(p)).map(|m| m.len()).unwrap_or(0))
            .sum();
        assert!(
            r.bytes_sent <= change_bytes + 20_000,
            "{}: sent {} for {change_bytes} bytes of changes",
            h.name,
            r.bytes_sent
        );
        // Over ssh the whole release is one session (one step); locally, steps.
        let steps: Vec<&str> = r.steps.iter().map(|s| s.step.as_ref()).collect();
        if h.name == "web3" {
            assert!(steps.contains(&"upload"), "{}: {steps:?}", h.name);
        } else {
            assert_eq!(steps, ["upload + switch"], "{}", h.name);
        }
    }
}

#[test]
fn a_host_changed_by_hand_or_without_a_record_gets_the_full_upload_and_says_why() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.ssh_host("web2"), fx.daemon_host("web3")];
    let settings = fx.settings();
    let (v1, v2) = (tree_v1(&fx), tree_v2(&fx));
    assert_all_switched(&fx.ship(&settings, &EXCLUDES, "v1", &v1, &hosts));
    // Someone pointed web1's `current` at a copy by hand.
    let web1 = fx.path_of(&hosts[0]);
    let copied = fs::read_dir(web1.join("releases/v1")).expect("v1").count();
    assert!(copied > 0);
    std::process::Command::new("cp")
        .args(["-a", "--"])
        .arg(web1.join("releases/v1"))
        .arg(web1.join("releases/hotfix"))
        .status()
        .expect("cp");
    std::os::unix::fs::symlink("releases/hotfix", web1.join("current.tmp")).expect("symlink");
    fs::rename(web1.join("current.tmp"), web1.join("current")).expect("rename");

    let mut delta = delta_for(&hosts, "v1", changes(&v1, &v2));
    delta.recorded.remove("web2");
    let (report, seen) = fx.ship_with(&settings, &EXCLUDES, "v2", &v2, Some(&delta), &hosts);
    assert_all_switched(&report);
    let log = |h: &str| seen.lines_of(h).join("\n");
    assert!(
        log("web1").contains("full upload: web1 runs hotfix but Slipway recorded v1"),
        "{}",
        log("web1")
    );
    assert!(
        log("web2").contains("full upload: Slipway has no record of what web2 runs"),
        "{}",
        log("web2")
    );
    assert!(
        log("web3").contains("full upload: an rsync daemon target"),
        "{}",
        log("web3")
    );
    for h in &hosts {
        let dir = fx.path_of(h);
        assert_eq!(
            listing(&dir.join("releases/v2"), &excluded),
            listing(&v2, &|_| false),
            "{}",
            h.name
        );
        // The clone made ahead for the recorded release is gone.
        assert!(upload_dirs(&dir.join("releases"), "v2").is_empty(), "{}", h.name);
    }
}

#[test]
fn verify_catches_a_live_release_changed_by_hand_that_a_delta_would_carry_over() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1")];
    let mut settings = fx.settings();
    let (v1, v2) = (tree_v1(&fx), tree_v2(&fx));
    assert_all_switched(&fx.ship(&settings, &EXCLUDES, "v1", &v1, &hosts));
    let dir = fx.path_of(&hosts[0]);
    // A hand edit inside the live release, in a file the change does not
    // touch, in place: the clone (a spare made before the edit or not)
    // shares the edited inode.
    write(&dir.join("current/lib/keep.js"), "edited on the host");
    settings.verify = true;
    let delta = delta_for(&hosts, "v1", changes(&v1, &v2));
    let (report, _) = fx.ship_with(&settings, &EXCLUDES, "v2", &v2, Some(&delta), &hosts);
    let error = report.hosts[0].error.clone().unwrap_or_default();
    assert!(!report.all_switched() && error.contains("verify on web1"), "{report:?}");
    assert!(error.contains("lib/keep.js"), "{error}");
    assert_eq!(
        live(&dir).as_deref(),
        Some("releases/v1"),
        "a failed verify never switches"
    );
}

#[test]
fn a_killed_delta_upload_never_goes_live_and_a_rerun_completes_it() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1")];
    let settings = fx.settings();
    let v1 = fx.tree("v1", &[("index.html", "one")]);
    assert_all_switched(&fx.ship(&settings, &[], "v1", &v1, &hosts));
    // A large new file, so the delta upload takes long enough to be killed.
    let v2 = fx.tree("v2", &[("index.html", "two")]);
    let mut state: u64 = 7;
    let noise: Vec<u8> = (0..64 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    fs::write(v2.join("huge.bin"), &noise).expect("write");
    let delta = delta_for(&hosts, "v1", changes(&v1, &v2));
    let needle = v2.display().to_string();
    let killer = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Some(pid) = rsync_pid(&needle) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        false
    });
    let (report, _) = fx.ship_with(&settings, &[], "v2", &v2, Some(&delta), &hosts);
    assert!(
        killer.join().expect("killer"),
        "the delta upload was never seen running"
    );
    let dir = fx.path_of(&hosts[0]);
    if !report.all_switched() {
        assert_eq!(
            live(&dir).as_deref(),
            Some("releases/v1"),
            "a killed upload never goes live"
        );
        assert!(!dir.join("releases/v2").exists());
        let (report, _) = fx.ship_with(&settings, &[], "v2", &v2, Some(&delta), &hosts);
        assert_all_switched(&report);
    }
    assert_eq!(live(&dir).as_deref(), Some("releases/v2"));
    assert_eq!(listing(&dir.join("releases/v2"), &|_| false), listing(&v2, &|_| false));
    assert!(upload_dirs(&dir.join("releases"), "v2").is_empty());
}

#[test]
fn the_shared_ssh_connection_is_gone_after_the_operation() {
    let data = data_dir();
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.ssh_host("web2")];
    let settings = fx.settings();
    let v1 = fx.tree("v1", &[("index.html", "one")]);
    let v2 = fx.tree("v2", &[("index.html", "two")]);
    assert_all_switched(&fx.ship(&settings, &[], "v1", &v1, &hosts));
    let delta = delta_for(&hosts, "v1", changes(&v1, &v2));
    assert_all_switched(&fx.ship_with(&settings, &[], "v2", &v2, Some(&delta), &hosts).0);
    assert_all_switched(&fx.switch_to(&settings, "v1", &hosts));
    // Every ssh of this test names this test's sshd port; none may be left.
    let port = format!("-p {}", fx.sshd.port);
    let mut left = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").filter_map(Result::ok) {
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        // A master gone to the background renames itself `ssh: <socket> [mux]`.
        let daemon = text.contains("[mux]");
        if text.starts_with("ssh") && (text.contains(&port) || daemon) && text.contains(&data.display().to_string()) {
            left.push(text);
        }
    }
    assert!(left.is_empty(), "ssh still running: {left:?}");
}

#[test]
fn inplace_mode_sends_only_the_changes_when_the_directory_holds_the_recorded_release() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.local_host("web2")];
    let mut settings = fx.settings();
    settings.mode = slipway::deploy::DeployMode::Inplace;
    let (v1, v2) = (tree_v1(&fx), tree_v2(&fx));
    let delta0 = delta_for(&hosts, "v0", ChangeSet::default());
    let (report, seen) = fx.ship_with(&settings, &EXCLUDES, "v1", &v1, Some(&delta0), &hosts);
    assert_all_switched(&report);
    assert!(seen
        .lines_of("web1")
        .join("\n")
        .contains("full upload: no release is known"));
    for h in &hosts {
        write(&fx.path_of(h).join("conf/jdbc.properties"), "host only");
    }
    let skip = |rel: &str| excluded(rel) || rel == ".slipway-release";
    let delta = delta_for(&hosts, "v1", changes(&v1, &v2));
    let (report, seen) = fx.ship_with(&settings, &EXCLUDES, "v2", &v2, Some(&delta), &hosts);
    assert_all_switched(&report);
    for (h, r) in hosts.iter().zip(&report.hosts) {
        let dir = fx.path_of(h);
        let log = seen.lines_of(&h.name).join("\n");
        assert!(log.contains("delta from v1"), "{}: {log}", h.name);
        assert_eq!(listing(&dir, &skip), listing(&v2, &|_| false), "{}", h.name);
        assert_eq!(read(&dir.join("conf/jdbc.properties")), "host only");
        assert!(r.bytes_sent < 50_000, "{}: {r:?}", h.name);
        assert_eq!(
            fs::read_link(dir.join(".slipway-release")).expect("marker"),
            Path::new("v2")
        );
    }
    // Recorded v1, but the directory says v2 now: everything is sent again.
    let (report, seen) = fx.ship_with(&settings, &EXCLUDES, "v3", &v1, Some(&delta), &hosts);
    assert_all_switched(&report);
    assert!(seen
        .lines_of("web1")
        .join("\n")
        .contains("full upload: web1 runs v2 but Slipway recorded v1"));
    assert_eq!(listing(&fx.path_of(&hosts[0]), &skip), listing(&v1, &|_| false));
}

#[test]
fn a_one_session_delta_release_prunes_old_releases_and_keeps_the_previous_one() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1")];
    let mut settings = fx.settings();
    settings.keep_releases = 2;
    let trees: Vec<PathBuf> = (1..=4)
        .map(|n| {
            fx.tree(
                &format!("v{n}"),
                &[("index.html", &format!("release {n}")), ("same.txt", "same")],
            )
        })
        .collect();
    assert_all_switched(&fx.ship(&settings, &[], "v1", &trees[0], &hosts));
    for n in 1..4 {
        let (old, new) = (&trees[n - 1], &trees[n]);
        let delta = delta_for(&hosts, &format!("v{n}"), changes(old, new));
        let (report, _) = fx.ship_with(&settings, &[], &format!("v{}", n + 1), new, Some(&delta), &hosts);
        assert_all_switched(&report);
        let steps: Vec<&str> = report.hosts[0].steps.iter().map(|s| s.step.as_ref()).collect();
        assert_eq!(steps, ["upload + switch"]);
    }
    let dir = fx.path_of(&hosts[0]);
    assert_eq!(live(&dir).as_deref(), Some("releases/v4"));
    assert_eq!(releases(&dir), ["v3", "v4"]);
    assert_eq!(read(&dir.join("current/index.html")), "release 4");
}

/// Waits (up to 30 s) until `ready` holds: for what a host does in the background.
fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "waited in vain for {what}");
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// After a switch the host makes a spare clone of the new release in the
/// background; the next delta release renames it into place (the release
/// directory is the spare's inode) instead of copying the tree, and still
/// ends as the release exactly, with fresh copies of the live release's
/// host-only files (even ones written after the spare was made), the
/// previous release untouched.
#[test]
fn the_next_delta_release_starts_from_the_spare_clone() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.local_host("web2")];
    let settings = fx.settings();
    let (v1, v2) = (tree_v1(&fx), tree_v2(&fx));
    assert_all_switched(&fx.ship(&settings, &EXCLUDES, "v1", &v1, &hosts));
    let mut spares = Vec::new();
    for h in &hosts {
        let dir = fx.path_of(h);
        let spare = dir.join("releases/.spare.v1");
        wait_until("the spare of v1", || spare.is_dir());
        write(&dir.join("current/conf/jdbc.properties"), &format!("url={}", h.name));
        spares.push((
            fs::metadata(&spare).expect("spare").ino(),
            inodes(&dir.join("releases/v1")),
        ));
    }
    let delta = delta_for(&hosts, "v1", changes(&v1, &v2));
    let (report, _) = fx.ship_with(&settings, &EXCLUDES, "v2", &v2, Some(&delta), &hosts);
    assert_all_switched(&report);
    for (h, (spare_ino, v1_inodes)) in hosts.iter().zip(&spares) {
        let dir = fx.path_of(h);
        assert_eq!(
            fs::metadata(dir.join("releases/v2")).expect("v2").ino(),
            *spare_ino,
            "{}",
            h.name
        );
        assert_eq!(
            listing(&dir.join("releases/v2"), &excluded),
            listing(&v2, &|_| false),
            "{}",
            h.name
        );
        let conf = |v: &str| dir.join(format!("releases/{v}/conf/jdbc.properties"));
        assert_eq!(read(&conf("v2")), format!("url={}", h.name));
        let ino = |p: PathBuf| fs::metadata(p).expect("stat").ino();
        assert_ne!(ino(conf("v1")), ino(conf("v2")), "{}", h.name);
        assert_eq!(&inodes(&dir.join("releases/v1")), v1_inodes, "{}", h.name);
        assert_eq!(read(&dir.join("releases/v1/index.html")), "one");
        // The next spare follows; the used one is gone.
        wait_until("the spare of v2", || dir.join("releases/.spare.v2").is_dir());
        assert!(!dir.join("releases/.spare.v1").exists(), "{}", h.name);
    }
}
