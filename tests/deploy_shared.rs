//! Targets on one machine share one ssh connection per operation (a real
//! sshd on 127.0.0.1): the hooks of every target see the same client end
//! of the connection (`$SSH_CONNECTION`) in a full release, a delta release
//! in one session per host and a rollback by switch, and no ssh is left
//! once the operation ends.

mod common;
mod common_deploy;
mod common_ssh;

use std::fs;

use common_deploy::*;
use slipway::deploy::{ChangeSet, Delta, DeployHost, DeploySettings};

/// Settings whose after-switch hook records the connection the host was reached by.
fn recording_settings(fx: &Fixture) -> DeploySettings {
    let mut settings = fx.settings();
    settings.hooks.after_switch = vec![vec![
        "sh".into(),
        "-c".into(),
        "echo \"$SSH_CONNECTION\" > connection".into(),
    ]];
    settings
}

/// The connections the hosts' hooks saw, one per host.
fn connections(fx: &Fixture, hosts: &[DeployHost]) -> Vec<String> {
    hosts
        .iter()
        .map(|h| {
            let path = fx.path_of(h).join("connection");
            let seen = read(&path);
            fs::remove_file(&path).expect("remove the record");
            seen.trim().to_owned()
        })
        .collect()
}

fn assert_one_connection(seen: &[String], what: &str) {
    assert!(!seen[0].is_empty(), "{what}: no SSH_CONNECTION seen");
    assert!(seen.iter().all(|c| c == &seen[0]), "{what}: {seen:?}");
}

#[test]
fn targets_on_one_machine_share_one_connection_per_operation() {
    let data = data_dir();
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("zone1"), fx.ssh_host("zone2"), fx.ssh_host("zone3")];
    let settings = recording_settings(&fx);
    let v1 = fx.tree("v1", &[("index.html", "one"), ("lib/a.js", "a")]);
    let v2 = fx.tree("v2", &[("index.html", "two"), ("lib/a.js", "a")]);

    assert_all_switched(&fx.ship(&settings, &[], "v1", &v1, &hosts));
    let full = connections(&fx, &hosts);
    assert_one_connection(&full, "full release");

    let mut delta = Delta::default();
    for h in &hosts {
        delta.recorded.insert(h.name.clone(), "v1".to_owned());
    }
    let changes = ChangeSet {
        present: vec!["index.html".to_owned()],
        deleted: Vec::new(),
    };
    delta.changes.insert("v1".to_owned(), Ok(changes));
    let (report, seen) = fx.ship_with(&settings, &[], "v2", &v2, Some(&delta), &hosts);
    assert_all_switched(&report);
    for h in &hosts {
        let log = seen.lines_of(&h.name).join("\n");
        assert!(log.contains("delta from v1"), "{}: {log}", h.name);
        assert_eq!(read(&fx.path_of(h).join("current/index.html")), "two");
    }
    let delta_seen = connections(&fx, &hosts);
    assert_one_connection(&delta_seen, "delta release");
    assert_ne!(delta_seen[0], full[0], "each operation has a connection of its own");

    assert_all_switched(&fx.switch_to(&settings, "v1", &hosts));
    assert_one_connection(&connections(&fx, &hosts), "rollback by switch");
    for h in &hosts {
        assert_eq!(live(&fx.path_of(h)).as_deref(), Some("releases/v1"));
    }

    // The shared masters end with the operation.
    let port = format!("-p {}", fx.sshd.port);
    let left: Vec<String> = fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .map(|entry| {
            String::from_utf8_lossy(&fs::read(entry.path().join("cmdline")).unwrap_or_default()).replace('\0', " ")
        })
        .filter(|text| {
            text.starts_with("ssh")
                && (text.contains(&port) || text.contains("[mux]"))
                && text.contains(&data.display().to_string())
        })
        .collect();
    assert!(left.is_empty(), "ssh still running: {left:?}");
}

/// A machine whose sshd allows one session per connection (`MaxSessions 1`,
/// as some hardening guides set) refuses the sharers' second session: ssh
/// then connects on its own for it, and every host ships.
#[test]
fn a_machine_that_refuses_more_sessions_still_gets_every_release() {
    let fx = Fixture::with_sshd(common_ssh::Sshd::start_with_max_sessions(1));
    let hosts = vec![fx.ssh_host("zone1"), fx.ssh_host("zone2"), fx.ssh_host("zone3")];
    let mut settings = recording_settings(&fx);
    // Long enough that the hosts' sessions overlap on the shared connection.
    settings.hooks.before_switch = vec![vec!["sleep".into(), "1".into()]];
    let v1 = fx.tree("v1", &[("index.html", "one")]);
    let (report, seen) = fx.ship_with(&settings, &[], "v1", &v1, None, &hosts);
    assert_all_switched(&report);
    let refused = hosts.iter().any(|h| {
        seen.lines_of(&h.name)
            .iter()
            .any(|l| l.contains("session request failed"))
    });
    assert!(refused, "no session was refused: MaxSessions 1 is not in force");
    for h in &hosts {
        assert_eq!(read(&fx.path_of(h).join("current/index.html")), "one");
    }
    connections(&fx, &hosts);
    let v2 = fx.tree("v2", &[("index.html", "two")]);
    assert_all_switched(&fx.ship_with(&settings, &[], "v2", &v2, None, &hosts).0);
    assert_all_switched(&fx.switch_to(&settings, "v1", &hosts));
}
