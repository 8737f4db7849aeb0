//! The deploy layer against real programs: `sshd` on 127.0.0.1 (two targets
//! as separate directories behind it), an rsync daemon, a local directory.

mod common;
mod common_deploy;
mod common_ssh;

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use common_deploy::*;
use common_ssh::write;
use slipway::deploy::{self, Context, DeployHost, DeployMode, HostEvent, HostState, Strategy};

#[test]
fn atomic_release_to_every_kind_of_target_keeps_host_only_files_and_sends_only_changes() {
    let fx = Fixture::new();
    let hosts = vec![
        fx.ssh_host("web1"),
        fx.ssh_host("web2"),
        fx.daemon_host("web3"),
        fx.local_host("web4"),
    ];
    let settings = fx.settings();
    let excludes = ["conf/jdbc.properties", "*.log"];
    let big = big();
    let v1 = fx.tree(
        "v1",
        &[("index.html", "one"), ("lib/big.bin", &big), ("conf/app.conf", "a=1")],
    );
    let report = fx.ship(&settings, &excludes, "v1", &v1, &hosts);
    assert_all_switched(&report);
    for h in &hosts {
        let dir = fx.path_of(h);
        assert_eq!(live(&dir).as_deref(), Some("releases/v1"), "{}", h.name);
        assert_eq!(read(&dir.join("current/index.html")), "one");
        assert_eq!(read(&dir.join("current/lib/big.bin")), big);
        // Ops put host-only files into the live release.
        write(&dir.join("current/conf/jdbc.properties"), &format!("url={}", h.name));
        write(&dir.join("current/app.log"), "log line");
    }
    let first: Vec<u64> = report.hosts.iter().map(|h| h.bytes_sent).collect();
    assert!(first.iter().all(|b| *b > 1_000_000), "{first:?}");

    let v2 = fx.tree(
        "v2",
        &[("index.html", "two"), ("lib/big.bin", &big), ("conf/app.conf", "a=1")],
    );
    let report = fx.ship(&settings, &excludes, "v2", &v2, &hosts);
    assert_all_switched(&report);
    for (h, r) in hosts.iter().zip(&report.hosts) {
        let dir = fx.path_of(h);
        assert_eq!(live(&dir).as_deref(), Some("releases/v2"), "{}", h.name);
        assert_eq!(read(&dir.join("current/index.html")), "two");
        assert_eq!(read(&dir.join("current/lib/big.bin")), big);
        // The host-only files came along, untouched.
        assert_eq!(
            read(&dir.join("current/conf/jdbc.properties")),
            format!("url={}", h.name)
        );
        assert_eq!(read(&dir.join("current/app.log")), "log line");
        // The old release is still there, unchanged.
        assert_eq!(read(&dir.join("releases/v1/index.html")), "one");
        // Only the changed file went over the wire; the two host-only files
        // are copied on the host itself, except on an rsync daemon (no
        // command channel), where they travel through Slipway.
        let expected = if matches!(h.target, slipway::deploy::Target::Daemon { .. }) {
            3
        } else {
            1
        };
        assert_eq!(r.files_transferred, expected, "{}: {r:?}", h.name);
        assert!(r.bytes_sent < 100_000, "{}: {r:?}", h.name);
    }
}

#[test]
fn inplace_release_deletes_stale_files_but_keeps_host_only_ones() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.daemon_host("web2"), fx.local_host("web3")];
    let mut settings = fx.settings();
    settings.mode = DeployMode::Inplace;
    let excludes = ["conf/jdbc.properties", "logs/"];
    for h in &hosts {
        let dir = fx.path_of(h);
        write(&dir.join("conf/jdbc.properties"), "host secret");
        write(&dir.join("logs/app.log"), "log");
        write(&dir.join("stale.html"), "old page");
    }
    let big = big();
    let v1 = fx.tree(
        "v1",
        &[("index.html", "one"), ("big.bin", &big), ("conf/app.conf", "x")],
    );
    assert_all_switched(&fx.ship(&settings, &excludes, "v1", &v1, &hosts));
    let v2 = fx.tree(
        "v2",
        &[("index.html", "two"), ("big.bin", &big), ("conf/app.conf", "x")],
    );
    let report = fx.ship(&settings, &excludes, "v2", &v2, &hosts);
    assert_all_switched(&report);
    for (h, r) in hosts.iter().zip(&report.hosts) {
        let dir = fx.path_of(h);
        assert_eq!(read(&dir.join("index.html")), "two");
        assert_eq!(read(&dir.join("big.bin")), big);
        assert_eq!(read(&dir.join("conf/jdbc.properties")), "host secret");
        assert_eq!(read(&dir.join("logs/app.log")), "log");
        assert!(!dir.join("stale.html").exists(), "{}", h.name);
        assert!(!dir.join("current").exists());
        assert_eq!(r.files_transferred, 1, "{}: {r:?}", h.name);
        assert!(r.bytes_sent < 100_000, "{}: {r:?}", h.name);
    }
    // Inplace mode keeps no releases: a rollback must ship.
    let report = fx.switch_to(&settings, "v1", &hosts);
    assert!(report.hosts.iter().all(|h| h.state == HostState::Failed
        && h.not_kept
        && h.error.as_deref().unwrap_or("").contains("no longer kept")));
}

#[test]
fn a_refused_connection_fails_its_batch_stops_the_rest_and_a_retry_finishes() {
    let fx = Fixture::new();
    let mut settings = fx.settings();
    settings.strategy = Strategy::Serial;
    settings.ssh.connect_timeout_secs = 5;
    // Nothing listens on 127.0.0.2: the connection is refused.
    let down = host("web2", &format!("root@127.0.0.2:{}", fx.dir("web2").display()));
    let hosts = vec![fx.ssh_host("web1"), down, fx.ssh_host("web3"), fx.local_host("web4")];
    let v1 = fx.tree("v1", &[("index.html", "one")]);
    let report = fx.ship(&settings, &[], "v1", &v1, &hosts);
    assert_eq!(
        states(&report),
        vec![
            ("web1", HostState::Switched),
            ("web2", HostState::Failed),
            ("web3", HostState::Skipped),
            ("web4", HostState::Skipped),
        ]
    );
    let error = report.hosts[1].error.clone().unwrap_or_default();
    assert!(error.contains("web2"), "{error}");
    assert!(
        !fx.dir("web3").exists() && !fx.dir("web4").exists(),
        "skipped hosts untouched"
    );

    // The host is back; retry only the unfinished ones.
    let retry: Vec<DeployHost> = report
        .unfinished()
        .iter()
        .map(|name| match name.as_str() {
            "web4" => fx.local_host(name),
            _ => fx.ssh_host(name),
        })
        .collect();
    assert_eq!(retry.len(), 3);
    let web1_before = fs::symlink_metadata(fx.dir("web1").join("current"))
        .unwrap()
        .modified()
        .unwrap();
    let report = fx.ship(&settings, &[], "v1", &v1, &retry);
    assert_all_switched(&report);
    for name in ["web1", "web2", "web3", "web4"] {
        assert_eq!(live(&fx.dir(name)).as_deref(), Some("releases/v1"), "{name}");
    }
    let web1_after = fs::symlink_metadata(fx.dir("web1").join("current"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(web1_before, web1_after, "web1 was not part of the retry");
}

#[test]
fn ssh_control_sockets_live_under_the_data_dir() {
    let data = data_dir();
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1")];
    let mut settings = fx.settings();
    // The host is this machine: the hook sees the master's socket.
    settings.hooks.before_switch = vec![vec![
        "sh".into(),
        "-c".into(),
        format!("ls -d {}/run/m*/s > sockets", data.display()),
    ]];
    let v1 = fx.tree("v1", &[("index.html", "one")]);
    assert_all_switched(&fx.ship(&settings, &[], "v1", &v1, &hosts));
    let sockets = read(&fx.dir("web1").join("sockets"));
    assert!(sockets.starts_with(&format!("{}/run/m", data.display())), "{sockets}");
}

#[test]
fn hooks_run_with_the_environment_and_a_failing_after_switch_hook_fails_its_host() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.ssh_host("web2"), fx.local_host("web3")];
    let mut settings = fx.settings();
    settings.hooks.before_switch = vec![vec![
        "sh".into(),
        "-c".into(),
        "echo \"$SLIPWAY_PROJECT $SLIPWAY_TICKET\" > before-ran".into(),
    ]];
    // Fails only where the marker file exists (the hooks run in the target directory).
    settings.hooks.after_switch = vec![vec!["test".into(), "!".into(), "-e".into(), "fail-here".into()]];
    write(&fx.dir("web2").join("fail-here"), "");
    let v1 = fx.tree("v1", &[("index.html", "one")]);
    let report = fx.ship(&settings, &[], "v1", &v1, &hosts);
    assert_eq!(
        states(&report),
        vec![
            ("web1", HostState::Switched),
            ("web2", HostState::Failed),
            ("web3", HostState::Switched),
        ]
    );
    let error = report.hosts[1].error.clone().unwrap_or_default();
    assert!(error.contains("hook") && error.contains("switched, then"), "{error}");
    for name in ["web1", "web2", "web3"] {
        assert_eq!(read(&fx.dir(name).join("before-ran")), "shop 7\n");
    }
    // A re-run of the failed host (fixed) only repeats its after-switch work.
    fs::remove_file(fx.dir("web2").join("fail-here")).unwrap();
    let report = fx.ship(&settings, &[], "v1", &v1, &hosts[1..2]);
    assert_all_switched(&report);
    assert_eq!(report.hosts[0].bytes_sent, 0);
}

#[test]
fn hostile_values_arrive_literally_over_ssh() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.local_host("web2")];
    let hostile = [
        "'; touch pwned1 #",
        "$(touch pwned2)",
        "`touch pwned3`",
        "a\"b\\c",
        "x && touch pwned4",
        "*",
    ];
    let mut settings = fx.settings();
    let mut hook = vec!["printf".to_owned(), "[%s]\\n".to_owned()];
    hook.extend(hostile.iter().map(|s| s.to_string()));
    settings.hooks.after_switch = vec![hook, vec!["env".into()]];
    let v1 = fx.tree("v1", &[("index.html", "one")]);
    let seen = Seen::default();
    let env = [(
        "SLIPWAY_TICKET".to_owned(),
        "'; touch pwned5 #$(touch pwned6)".to_owned(),
    )];
    let report = fx.run(&settings, &[], &|| false, &seen, |ctx| {
        let ctx = Context { env: &env, ..*ctx };
        deploy::ship(&ctx, "v1", &v1, None, &hosts)
    });
    assert_all_switched(&report);
    for h in &hosts {
        let lines = seen.lines_of(&h.name);
        for word in hostile {
            assert!(
                lines.contains(&format!("[{word}]")),
                "{}: {word:?} not literal in {lines:?}",
                h.name
            );
        }
        assert!(lines.contains(&format!("SLIPWAY_TICKET={}", env[0].1)), "{lines:?}");
        for n in 1..=6 {
            assert!(!fx.dir(&h.name).join(format!("pwned{n}")).exists());
            assert!(!Path::new(&format!("/root/pwned{n}")).exists());
        }
    }
}

#[test]
fn rollback_switches_to_a_kept_release_and_reports_a_pruned_one() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.daemon_host("web2"), fx.local_host("web3")];
    let mut settings = fx.settings();
    settings.keep_releases = 2;
    for n in 1..=4 {
        let src = fx.tree(&format!("v{n}"), &[("index.html", &format!("release {n}"))]);
        assert_all_switched(&fx.ship(&settings, &[], &format!("v{n}"), &src, &hosts));
    }
    for h in &hosts {
        assert_eq!(releases(&fx.path_of(h)), ["v3", "v4"], "{}", h.name);
    }
    let report = fx.switch_to(&settings, "v3", &hosts);
    assert_all_switched(&report);
    for (h, r) in hosts.iter().zip(&report.hosts) {
        let dir = fx.path_of(h);
        assert_eq!(live(&dir).as_deref(), Some("releases/v3"));
        assert_eq!(read(&dir.join("current/index.html")), "release 3");
        assert_eq!(r.bytes_sent, 0, "no copy");
    }
    let seen = Seen::default();
    let lives = fx.run(&settings, &[], &|| false, &seen, |ctx| {
        deploy::live_versions(ctx, &hosts)
    });
    assert!(lives.iter().all(|(_, v)| v.as_deref() == Some("v3")), "{lives:?}");
    let report = fx.switch_to(&settings, "v1", &hosts);
    for r in &report.hosts {
        assert_eq!(r.state, HostState::Failed);
        let expected = deploy::DeployError::NotKept {
            host: r.host.clone(),
            version: "v1".into(),
        }
        .to_string();
        assert_eq!(r.error.as_deref(), Some(expected.as_str()));
        assert!(r.not_kept, "the caller is told to re-export and ship");
    }
    for h in &hosts {
        assert_eq!(live(&fx.path_of(h)).as_deref(), Some("releases/v3"), "untouched");
    }
}

#[test]
fn pruning_never_removes_the_live_or_the_previous_release() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.daemon_host("web2"), fx.local_host("web3")];
    let mut settings = fx.settings();
    settings.keep_releases = 1;
    for n in 1..=2 {
        let src = fx.tree(&format!("v{n}"), &[("index.html", &format!("release {n}"))]);
        assert_all_switched(&fx.ship(&settings, &[], &format!("v{n}"), &src, &hosts));
    }
    for h in &hosts {
        assert_eq!(releases(&fx.path_of(h)), ["v1", "v2"], "previous kept: {}", h.name);
    }
    // Roll back to v1, then release v3: v1 is the previous release now, v2 neither.
    assert_all_switched(&fx.switch_to(&settings, "v1", &hosts));
    let src = fx.tree("v3", &[("index.html", "release 3")]);
    assert_all_switched(&fx.ship(&settings, &[], "v3", &src, &hosts));
    for h in &hosts {
        assert_eq!(releases(&fx.path_of(h)), ["v1", "v3"], "{}", h.name);
        assert_eq!(live(&fx.path_of(h)).as_deref(), Some("releases/v3"));
    }
}

#[test]
fn an_abort_leaves_the_hosts_not_started_untouched() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1"), fx.ssh_host("web2"), fx.local_host("web3")];
    let mut settings = fx.settings();
    settings.strategy = Strategy::Serial;
    let v1 = fx.tree("v1", &[("index.html", "one")]);
    let abort = AtomicBool::new(false);
    let seen = Seen::default();
    let report = fx.run(&settings, &[], &|| abort.load(Ordering::SeqCst), &seen, |ctx| {
        let on_event = |e: HostEvent| {
            if e.state == HostState::Switched {
                abort.store(true, Ordering::SeqCst);
            }
            (ctx.on_event)(e)
        };
        let ctx = Context {
            on_event: &on_event,
            ..*ctx
        };
        let report = deploy::ship(&ctx, "v1", &v1, None, &hosts);
        let lives = deploy::live_versions(&ctx, &hosts);
        (report, lives)
    });
    let (report, lives) = report;
    assert!(report.aborted);
    assert_eq!(
        states(&report),
        vec![
            ("web1", HostState::Switched),
            ("web2", HostState::Skipped),
            ("web3", HostState::Skipped),
        ]
    );
    assert!(!fx.dir("web2").exists() && !fx.dir("web3").exists());
    assert_eq!(
        lives,
        vec![
            ("web1".to_owned(), Some("v1".to_owned())),
            ("web2".to_owned(), None),
            ("web3".to_owned(), None),
        ]
    );
    let events = seen.events.lock().unwrap();
    assert!(events.iter().any(|e| e.host == "web2" && e.state == HostState::Skipped));
}

#[test]
fn a_failing_canary_health_check_stops_the_rollout_and_reverts_the_canary() {
    let fx = Fixture::new();
    let hosts = vec![
        fx.ssh_host("web1"),
        fx.ssh_host("web2"),
        fx.local_host("web3"),
        fx.daemon_host("web4"),
    ];
    let mut settings = fx.settings();
    settings.strategy = Strategy::Batches;
    settings.canary = 1;
    settings.batch_size = 2;
    let v1 = fx.tree("v1", &[("index.html", "one")]);
    assert_all_switched(&fx.ship(&settings, &[], "v1", &v1, &hosts));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    settings.health = Some(deploy::HealthCheck {
        url: format!("http://127.0.0.1:{closed}/health?host={{host}}"),
        timeout_secs: 1,
        revert_canary: true,
    });
    let v2 = fx.tree("v2", &[("index.html", "two")]);
    let report = fx.ship(&settings, &[], "v2", &v2, &hosts);
    assert_eq!(
        states(&report),
        vec![
            ("web1", HostState::Reverted),
            ("web2", HostState::Skipped),
            ("web3", HostState::Skipped),
            ("web4", HostState::Skipped),
        ]
    );
    let error = report.hosts[0].error.clone().unwrap_or_default();
    assert!(
        error.contains("health check") && error.contains("switched back to v1"),
        "{error}"
    );
    for h in &hosts {
        assert_eq!(live(&fx.path_of(h)).as_deref(), Some("releases/v1"), "{}", h.name);
    }
}

#[test]
fn a_killed_upload_never_goes_live_and_a_rerun_completes_it() {
    let fx = Fixture::new();
    let hosts = vec![fx.ssh_host("web1")];
    let settings = fx.settings();
    let v1 = fx.tree("v1", &[("index.html", "one")]);
    assert_all_switched(&fx.ship(&settings, &[], "v1", &v1, &hosts));
    let v2 = fx.tree("v2", &[("index.html", "two")]);
    // 512 MB of zeros: long enough over ssh to be killed mid-transfer.
    let f = fs::File::create(v2.join("huge.bin")).unwrap();
    f.set_len(512 * 1024 * 1024).unwrap();
    drop(f);
    let needle = v2.display().to_string();
    let releases = fx.dir("web1").join("releases");
    let killed = AtomicBool::new(false);
    let report = std::thread::scope(|scope| {
        scope.spawn(|| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while std::time::Instant::now() < deadline {
                // Kill once some bytes of the new release reached the host.
                let started = upload_dirs(&releases, "v2")
                    .iter()
                    .any(|d| fs::read_dir(d).map(|d| d.count() > 0).unwrap_or(false));
                if started {
                    if let Some(pid) = rsync_pid(&needle) {
                        let _ = std::process::Command::new("kill")
                            .args(["-9", &pid.to_string()])
                            .status();
                        killed.store(true, Ordering::SeqCst);
                        return;
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        fx.ship(&settings, &[], "v2", &v2, &hosts)
    });
    assert!(
        killed.load(Ordering::SeqCst),
        "the upload was not caught mid-transfer: {report:?}"
    );
    assert_eq!(report.hosts[0].state, HostState::Failed, "{report:?}");
    assert_eq!(
        live(&fx.dir("web1")).as_deref(),
        Some("releases/v1"),
        "still on the old release"
    );
    assert_eq!(read(&fx.dir("web1").join("current/index.html")), "one");
    // The partial upload is not a release: nothing (a rollback's switch, a
    // re-run's "already there") can take it for one.
    assert!(
        !releases.join("v2").exists(),
        "a partial upload sits where a release would"
    );
    assert_eq!(
        upload_dirs(&releases, "v2").len(),
        1,
        "the killed attempt's own directory"
    );
    // The re-run uploads into a fresh directory of its own, then switches.
    let report = fx.ship(&settings, &[], "v2", &v2, &hosts);
    assert_all_switched(&report);
    assert_eq!(live(&fx.dir("web1")).as_deref(), Some("releases/v2"));
    assert!(upload_dirs(&releases, "v2").is_empty(), "the leftover was removed");
    assert_eq!(
        fs::metadata(fx.dir("web1").join("current/huge.bin")).unwrap().len(),
        512 * 1024 * 1024
    );
    assert_eq!(read(&fx.dir("web1").join("current/index.html")), "two");
}

#[test]
fn local_after_release_hooks_run_in_order_with_the_environment_and_stop_at_a_failure() {
    let fx = Fixture::new();
    let settings = fx.settings();
    let out = fx.dir("after-release.txt");
    let ok = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        format!("echo \"$SLIPWAY_PROJECT $SLIPWAY_TICKET\" >> {}", out.display()),
    ];
    let fail = vec!["false".to_owned()];
    let seen = Seen::default();
    fx.run(&settings, &[], &|| false, &seen, |ctx| {
        deploy::run_local_hooks(ctx, &[ok.clone(), ok.clone()]).expect("hooks pass");
        let err = deploy::run_local_hooks(ctx, &[fail.clone(), ok.clone()]).unwrap_err();
        assert!(err.to_string().contains("false"), "{err}");
    });
    assert_eq!(read(&out), "shop 7\nshop 7\n", "the hook after the failure did not run");
}
