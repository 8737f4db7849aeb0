//! Services on hosts with the real programs: a `supervisord` under the
//! test's own config (tests/common_supervisor) managed locally and through
//! the loopback sshd (tests/common_ssh): status, start, stop, restart and
//! the log tail; a custom manager given as argument vectors; hostile words
//! staying literal; a release restarting its services after the switch and
//! waiting for RUNNING, and a service that goes FATAL failing its host.
//! The page, API, jobs and the permission setting: tests/services_http.rs.

mod common;
mod common_deploy;
mod common_ssh;
mod common_supervisor;

use std::collections::BTreeMap;
use std::time::Duration;

use slipway::deploy::service_spec::CustomCommands;
use slipway::deploy::{services, DeployHost, HostState, Manager, ServiceAction, ServiceSpec};

use common_deploy::{assert_all_switched, live, Fixture, Seen};
use common_supervisor::Supervisor;

fn supervised(sup: &Supervisor, name: &str, restart_after_release: bool) -> ServiceSpec {
    ServiceSpec {
        name: name.into(),
        group: "web".into(),
        manager: Manager::Supervisor,
        supervisorctl: sup.ctl(),
        commands: CustomCommands::default(),
        restart_after_release,
        wait_secs: 15,
    }
}

fn status(fx: &Fixture, host: &DeployHost, spec: &ServiceSpec) -> slipway::deploy::ServiceState {
    let seen = Seen::default();
    let settings = fx.settings();
    fx.run(&settings, &[], &|| false, &seen, |ctx| {
        services::status(ctx, host, &[spec]).remove(0)
    })
}

fn act(fx: &Fixture, host: &DeployHost, spec: &ServiceSpec, action: ServiceAction) -> slipway::deploy::ServiceState {
    let seen = Seen::default();
    let settings = fx.settings();
    fx.run(&settings, &[], &|| false, &seen, |ctx| {
        services::act(ctx, host, spec, action)
    })
    .unwrap_or_else(|e| panic!("{action:?} on {}: {e}", host.name))
}

fn tail(fx: &Fixture, host: &DeployHost, spec: &ServiceSpec, lines: usize) -> Vec<String> {
    let seen = Seen::default();
    let settings = fx.settings();
    fx.run(&settings, &[], &|| false, &seen, |ctx| {
        services::tail(ctx, host, spec, lines)
    })
    .unwrap_or_else(|e| panic!("tail on {}: {e}", host.name))
}

#[test]
fn supervisor_status_start_stop_restart_and_tail_locally_and_over_ssh() {
    let fx = Fixture::new();
    let sup = Supervisor::start();
    let app = supervised(&sup, "app", false);
    for host in [fx.local_host("local"), fx.ssh_host("ssh")] {
        let s = status(&fx, &host, &app);
        assert_eq!(s.state, "RUNNING", "{host:?}: {s:?}");
        assert_eq!(s.pid, sup.pid("app"), "{s:?}");
        assert!(s.uptime.as_deref().is_some_and(|u| u.contains(':')), "{s:?}");

        let s = act(&fx, &host, &app, ServiceAction::Stop);
        assert_eq!((s.state.as_str(), s.pid), ("STOPPED", None), "{s:?}");
        assert_eq!(sup.state("app"), "STOPPED");

        let s = act(&fx, &host, &app, ServiceAction::Start);
        assert_eq!(s.state, "RUNNING", "{s:?}");
        let before = sup.pid("app").expect("running");

        let s = act(&fx, &host, &app, ServiceAction::Restart);
        assert_eq!(s.state, "RUNNING", "{s:?}");
        let after = sup.pid("app").expect("running again");
        assert_ne!(before, after, "a restart starts a new process");
        assert_eq!(s.pid, Some(after));

        std::thread::sleep(Duration::from_millis(500));
        let lines = tail(&fx, &host, &app, 3);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines.iter().all(|l| l.starts_with("tick ")), "{lines:?}");
    }
}

#[test]
fn a_custom_manager_runs_its_argument_vectors_and_hostile_words_stay_literal() {
    let fx = Fixture::new();
    let sup = Supervisor::start();
    let pwned = sup.path().join("pwned");
    let ctl = |verb: &str| [sup.ctl(), vec![verb.to_owned(), "{name}".to_owned()]].concat();
    let hostile = [
        format!("$(touch {})", pwned.display()),
        format!("`touch {}`", pwned.display()),
        format!("'; touch {} #", pwned.display()),
        "a\"b $HOME".to_owned(),
    ];
    let mut log = vec!["printf".to_owned(), "%s\\n".to_owned()];
    log.extend(hostile.iter().cloned());
    log.push("{name} {lines}".to_owned());
    let custom = ServiceSpec {
        manager: Manager::Custom,
        supervisorctl: Vec::new(),
        commands: CustomCommands {
            status: ctl("status"),
            start: ctl("start"),
            stop: ctl("stop"),
            restart: ctl("restart"),
            log,
        },
        ..supervised(&sup, "app", false)
    };
    custom.validate().expect("a valid custom service");
    // Only a flag file says whether this one runs: exit status gives the state.
    let flag = sup.path().join("flag");
    let by_exit = ServiceSpec {
        name: "flagged".into(),
        commands: CustomCommands {
            status: vec!["test".into(), "-e".into(), flag.display().to_string()],
            start: vec!["touch".into(), flag.display().to_string()],
            stop: vec!["rm".into(), "-f".into(), flag.display().to_string()],
            restart: vec!["touch".into(), flag.display().to_string()],
            log: Vec::new(),
        },
        ..custom.clone()
    };
    for host in [fx.local_host("local"), fx.ssh_host("ssh")] {
        let s = status(&fx, &host, &custom);
        assert_eq!((s.state.as_str(), s.pid), ("RUNNING", sup.pid("app")), "{s:?}");
        let s = act(&fx, &host, &custom, ServiceAction::Restart);
        assert_eq!(s.state, "RUNNING", "{s:?}");

        let lines = tail(&fx, &host, &custom, 10);
        let mut expected: Vec<String> = hostile.to_vec();
        expected.push("app 10".into());
        assert_eq!(lines, expected, "every word arrives as one literal argument");
        assert!(!pwned.exists(), "no word reached a shell");

        assert_eq!(status(&fx, &host, &by_exit).state, "STOPPED");
        assert_eq!(act(&fx, &host, &by_exit, ServiceAction::Start).state, "RUNNING");
        assert_eq!(act(&fx, &host, &by_exit, ServiceAction::Stop).state, "STOPPED");
    }
    // Names are checked before anything runs: a hostile one is refused.
    for name in ["app; touch /tmp/x", "$(id)", "-c", "a b", "app'"] {
        let s = ServiceSpec {
            name: name.into(),
            ..custom.clone()
        };
        assert!(s.validate().is_err(), "{name:?} accepted");
    }
}

#[test]
fn a_release_restarts_its_services_and_waits_for_running_and_fatal_fails_the_host() {
    let fx = Fixture::new();
    let sup = Supervisor::start();
    let host = fx.ssh_host("web1");
    let src = fx.tree("v1", &[("index.html", "v1\n")]);

    let mut settings = fx.settings();
    settings.restarts = BTreeMap::from([("web1".to_owned(), vec![supervised(&sup, "app", true)])]);
    let before = sup.pid("app").expect("app runs");
    let (report, seen) = fx.ship_with(&settings, &[], "v1", &src, None, std::slice::from_ref(&host));
    assert_all_switched(&report);
    let after = sup.pid("app").expect("app runs after the release");
    assert_ne!(before, after, "the release restarted app");
    assert_eq!(sup.state("app"), "RUNNING");
    assert!(
        seen.lines_of("web1").iter().any(|l| l.contains("service app RUNNING")),
        "{:?}",
        seen.lines_of("web1")
    );
    assert!(
        report.hosts[0].steps.iter().any(|s| s.step == "restart services"),
        "{:?}",
        report.hosts[0].steps
    );

    // A service that cannot start: the host fails (after its switch).
    settings.restarts = BTreeMap::from([("web1".to_owned(), vec![supervised(&sup, "broken", true)])]);
    let src2 = fx.tree("v2", &[("index.html", "v2\n")]);
    let (report, _) = fx.ship_with(&settings, &[], "v2", &src2, None, std::slice::from_ref(&host));
    let result = &report.hosts[0];
    assert_eq!(result.state, HostState::Failed, "{result:?}");
    let error = result.error.clone().unwrap_or_default();
    assert!(error.contains("broken") && error.contains("FATAL"), "{error}");
    assert_eq!(sup.state("broken"), "FATAL");
    assert_eq!(live(&fx.path_of(&host)).as_deref(), Some("releases/v2"));
}
