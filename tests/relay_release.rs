//! Relay release through the release job (issue 14), on SQLite and
//! PostgreSQL: a project whose host group names a relay (imported like any
//! group) is released from a ticket; the hosts sit on a second sshd that
//! only the relay can reach (see tests/relay.rs), the job log shows the
//! release leaving Slipway once, to the relay, and each host's row and
//! recorded version are kept as for direct hosts.

mod common;
mod common_pipeline;
mod common_ssh;
mod common_svn;

use std::collections::BTreeMap;

use chrono::Utc;
use slipway::domain::Action;
use slipway::jobs::worker::JobOutcome;
use slipway::service::tickets::{self, ActionInput, ActorRef};
use slipway::store::{projects, releases, users};

use common::TestDb;
use common_pipeline::{drain, Pipeline};
use common_ssh::Sshd;

fn released_through_the_relay(db: &TestDb) {
    let (relay_sshd, hosts_sshd) = (Sshd::start(), Sshd::start());
    let root = tempfile::tempdir().expect("temp dir");
    let relay_kh = root.path().join("relay_known_hosts");
    let pinned = std::fs::read_to_string(&hosts_sshd.known_hosts)
        .expect("known_hosts")
        .replace("[127.0.0.1]", "[localhost]");
    std::fs::write(&relay_kh, pinned).expect("relay known_hosts");
    let hosts: Vec<String> = (1..=3)
        .map(|n| {
            format!(
                "{{ name = \"web{n}\", target = \"root@localhost:{}\" }}",
                root.path().join(format!("web{n}")).display()
            )
        })
        .collect();
    let extra = format!(
        "host_groups = [\"far\"]\n\n[project.deploy]\nssh = {{ port = {port}, identity_file = \"{id}\" }}\n\n\
         [[host_group]]\nname = \"far\"\nrelay = \"root@127.0.0.1:{relay}\"\nrelay_port = {hport}\n\
         relay_identity = \"{hid}\"\nrelay_known_hosts = \"{hkh}\"\nhosts = [{list}]\n",
        port = relay_sshd.port,
        id = relay_sshd.identity.display(),
        relay = root.path().join("relay").display(),
        hport = hosts_sshd.port,
        hid = hosts_sshd.identity.display(),
        hkh = relay_kh.display(),
        list = hosts.join(", "),
    );
    let p = Pipeline::new(db, "shop", None, &extra);
    // Slipway trusts the relay's host key only.
    let kh = slipway::deploy::reach::known_hosts_file(p.data.path());
    std::fs::create_dir_all(kh.parent().expect("dir")).expect("ssh dir");
    std::fs::copy(&relay_sshd.known_hosts, &kh).expect("known_hosts");

    let id = p.submit("shop", &[], None);
    assert_eq!(drain(&p.worker(BTreeMap::new())), [JobOutcome::Done]);
    let act = |action: Action, who: i64| {
        tickets::apply(
            &mut p.db.conn(),
            id,
            &ActionInput::new(action, ActorRef::User(who)),
            Utc::now(),
        )
        .unwrap_or_else(|e| panic!("{action}: {e}"))
    };
    let lead = users::by_username(&mut p.db.conn(), "shop-lead")
        .expect("query")
        .expect("lead")
        .id;
    act(Action::MarkTested, p.tester);
    act(Action::Approve, lead);
    act(Action::Release, p.dev);
    let outcomes = drain(&p.worker(BTreeMap::new()));
    assert_eq!(outcomes, [JobOutcome::Done], "{}", p.log_text(id));
    assert_eq!(p.ticket(id).state, "released");
    for n in 1..=3 {
        let dir = root.path().join(format!("web{n}"));
        assert_eq!(
            std::fs::read_link(dir.join("current"))
                .expect("current")
                .display()
                .to_string(),
            "releases/v1"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("current/index.html")).expect("shipped"),
            "<h1>shop v1</h1>\n"
        );
    }
    let rows = releases::for_ticket(&mut db.conn(), id).expect("hosts");
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|h| h.state == "switched" && h.version == Some(1)),
        "{rows:?}"
    );
    let project = projects::by_name(&mut db.conn(), "shop")
        .expect("query")
        .expect("project");
    let recorded = projects::hosts_of(&mut db.conn(), project.id).expect("hosts");
    assert!(
        recorded.iter().all(|(_, h)| h.running_version == Some(1)),
        "{recorded:?}"
    );
    let log = p.log_text(id);
    let relay = format!("[relay root@127.0.0.1:{}]", root.path().join("relay").display());
    let leaving: Vec<&str> = log.lines().filter(|l| l.contains("] Total bytes sent:")).collect();
    for line in log
        .lines()
        .filter(|l| l.contains("Total bytes sent:") || l.contains("the relay sent"))
    {
        eprintln!("{line}");
    }
    assert_eq!(leaving.len(), 1, "bytes leave Slipway once, to the relay: {leaving:?}");
    assert!(leaving[0].starts_with(&relay), "{leaving:?}");
    for n in 1..=3 {
        assert!(log.contains(&format!("[web{n}] via relay root@127.0.0.1:")), "{log}");
        assert!(log.contains("Slipway sent none"), "{log}");
    }
}

backend_tests!(released_through_the_relay);
