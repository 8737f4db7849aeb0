//! Drift detection at the deploy layer against real hosts (local directory
//! and the loopback sshd): a clean host, then a hand edit, a deleted file
//! and an added file found by content checksums (excluded files ignored),
//! and the next release leaving the host clean again.

mod common;
mod common_deploy;
mod common_ssh;

use std::fs;

use slipway::deploy::drift::{drift, Drift};
use slipway::deploy::DeployHost;

use common_deploy::{assert_all_switched, Fixture, Seen};

fn check(fx: &Fixture, host: &DeployHost, release: &std::path::Path) -> Drift {
    let seen = Seen::default();
    let settings = fx.settings();
    fx.run(&settings, &["*.log"], &|| false, &seen, |ctx| drift(ctx, host, release))
        .unwrap_or_else(|e| panic!("drift on {}: {e}", host.name))
}

#[test]
fn drift_finds_changed_missing_and_added_files_until_the_next_release() {
    let fx = Fixture::new();
    let hosts = [fx.local_host("local"), fx.ssh_host("ssh")];
    let v1 = fx.tree("v1", &[("index.html", "v1\n"), ("lib/a.js", "a\n"), ("lib/b.js", "b\n")]);
    let settings = fx.settings();
    assert_all_switched(&fx.ship(&settings, &["*.log"], "v1", &v1, &hosts));
    for host in &hosts {
        assert!(check(&fx, host, &v1).is_clean(), "{}", host.name);
    }

    // By hand on the ssh host: same size, other content; a deleted and an added file; a log.
    let live = fx.path_of(&hosts[1]).join("current");
    fs::write(live.join("lib/a.js"), "A\n").expect("edit");
    fs::remove_file(live.join("lib/b.js")).expect("delete");
    fs::write(live.join("lib/extra.js"), "x\n").expect("add");
    fs::write(live.join("app.log"), "excluded\n").expect("log");
    assert!(check(&fx, &hosts[0], &v1).is_clean());
    let d = check(&fx, &hosts[1], &v1);
    assert_eq!(
        d,
        Drift {
            changed: vec!["lib/a.js".into()],
            missing: vec!["lib/b.js".into()],
            added: vec!["lib/extra.js".into()],
        }
    );

    // The next release replaces the tree: clean again.
    let v2 = fx.tree("v2", &[("index.html", "v2\n"), ("lib/a.js", "a\n"), ("lib/b.js", "b\n")]);
    assert_all_switched(&fx.ship(&settings, &["*.log"], "v2", &v2, &hosts));
    for host in &hosts {
        assert!(check(&fx, host, &v2).is_clean(), "{}: {:?}", host.name, check(&fx, host, &v2));
    }
}
