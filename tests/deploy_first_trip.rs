//! A host's first release over ssh goes in one session (the whole tree
//! with the switch, `deploy/one_trip.rs`), against a real sshd: the host
//! ends byte-identical to the tree with `current` switched; a host that
//! already has a `current` Slipway did not record is read first and gets
//! the ordinary full upload, untouched until then.

mod common;
mod common_deploy;
mod common_ssh;

use std::fs;

use common_deploy::*;
use slipway::deploy::{DeployHost, ShipReport};

fn steps(report: &ShipReport, host: &str) -> Vec<String> {
    report
        .hosts
        .iter()
        .find(|h| h.host == host)
        .map(|h| h.steps.iter().map(|s| s.step.to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn a_first_release_goes_in_one_session_and_a_host_with_an_unknown_current_is_read_first() {
    let fx = Fixture::new();
    let hosts: Vec<DeployHost> = vec![fx.ssh_host("fresh"), fx.ssh_host("used")];
    let settings = fx.settings();
    let v1 = fx.tree(
        "v1",
        &[("index.html", "one"), ("lib/a.js", "a"), ("deep/er/b.txt", "b")],
    );
    // `used` runs something Slipway never shipped.
    let used = fx.path_of(&hosts[1]);
    fs::create_dir_all(used.join("releases/handmade")).expect("mkdir");
    fs::write(used.join("releases/handmade/index.html"), "by hand").expect("write");
    std::os::unix::fs::symlink("releases/handmade", used.join("current")).expect("symlink");

    let (report, seen) = fx.ship_with(&settings, &[], "v1", &v1, None, &hosts);
    assert_all_switched(&report);
    assert_eq!(steps(&report, "fresh"), ["upload + switch"], "{report:#?}");
    let fresh_log = seen.lines_of("fresh").join("\n");
    assert!(
        fresh_log.contains("full upload: the first release to this host"),
        "{fresh_log}"
    );
    let used_log = seen.lines_of("used").join("\n");
    assert!(
        used_log.contains("current exists, but Slipway recorded no release here: reading the host first"),
        "{used_log}"
    );
    assert!(steps(&report, "used").len() > 1, "{report:#?}");
    for h in &hosts {
        let dir = fx.path_of(h);
        assert_eq!(live(&dir).as_deref(), Some("releases/v1"), "{}", h.name);
        assert_eq!(
            listing(&dir.join("releases/v1"), &|_| false),
            listing(&v1, &|_| false),
            "{}",
            h.name
        );
        assert!(upload_dirs(&dir.join("releases"), "v1").is_empty(), "{}", h.name);
    }
    assert_eq!(read(&used.join("releases/handmade/index.html")), "by hand");
}

/// Every file and directory of `tree`, relative, with its modification time
/// in seconds.
fn mtimes(tree: &std::path::Path) -> Vec<(String, i64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut todo = vec![tree.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                todo.push(path.clone());
            }
            let rel = path.strip_prefix(tree).expect("below").display().to_string();
            out.push((rel, meta.mtime()));
        }
    }
    out.sort();
    out
}

/// A fresh host's whole-tree upload keeps the tree's modification times,
/// as `rsync -a` does, on the one-session path and on the ordinary one
/// (`verify` turns the one-session path off): every host of a release has
/// the same times. Without `-t` each host had its upload's own times.
#[test]
fn a_first_release_keeps_the_trees_modification_times() {
    let fx = Fixture::new();
    let v1 = fx.tree(
        "v1",
        &[("index.html", "one"), ("lib/a.js", "a"), ("deep/er/b.txt", "b")],
    );
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    for (path, _) in mtimes(&v1) {
        fs::File::open(v1.join(path))
            .and_then(|f| f.set_modified(old))
            .expect("set mtime");
    }
    let trip = [fx.ssh_host("trip")];
    let (report, _) = fx.ship_with(&fx.settings(), &[], "v1", &v1, None, &trip);
    assert_all_switched(&report);
    assert_eq!(steps(&report, "trip"), ["upload + switch"], "{report:#?}");
    let mut verified = fx.settings();
    verified.verify = true;
    let ordinary = [fx.ssh_host("ordinary")];
    let (report, _) = fx.ship_with(&verified, &[], "v1", &v1, None, &ordinary);
    assert_all_switched(&report);
    assert!(steps(&report, "ordinary").len() > 1, "{report:#?}");
    let want = mtimes(&v1);
    assert!(want.iter().all(|(_, t)| *t == 1_600_000_000), "{want:?}");
    for h in trip.iter().chain(&ordinary) {
        assert_eq!(mtimes(&fx.path_of(h).join("releases/v1")), want, "{}", h.name);
    }
}
