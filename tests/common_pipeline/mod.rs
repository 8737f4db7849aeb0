//! A project wired to a real SVN repository and a worker running the real
//! stage, release and rollback handlers: the fixture of the pipeline tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use slipway::jobs::release::{Release, Rollback};
use slipway::jobs::stage::Stage;
use slipway::jobs::svn_poll::SvnPoll;
use slipway::jobs::worker::JobOutcome;
use slipway::jobs::{Registry, Waker, Worker, WorkerOptions};
use slipway::service::tickets::{self, ActorRef, NewRelease};
use slipway::store::models::TicketRow;
use slipway::store::{jobs as queue, tickets as ticket_rows};
use slipway::vcs::svn_access::SvnAccess;
use slipway::vcs::SvnCredentials;

use crate::common::TestDb;
use crate::common_svn::SvnRepo;

pub const FILES: &[(&str, &str)] = &[
    ("index.html", "<h1>shop v1</h1>\n"),
    ("css/site.css", "body { color: black }\n"),
    ("WEB-INF/jdbc.properties", "url=jdbc:mysql://db/shop\n"),
    ("lib/app.js", "console.log('v1');\n"),
];

/// A project wired to a real SVN repository, with its own data directory.
pub struct Pipeline<'a> {
    pub db: &'a TestDb,
    pub svn: SvnRepo,
    pub data: tempfile::TempDir,
    pub dev: i64,
    pub tester: i64,
}

impl<'a> Pipeline<'a> {
    pub fn new(db: &'a TestDb, name: &str, svn_url: Option<&str>, extra: &str) -> Self {
        let svn = SvnRepo::create(FILES);
        let data = tempfile::tempdir().expect("temp dir");
        let dev = db.user(&format!("{name}-dev"), false);
        let tester = db.user(&format!("{name}-tester"), false);
        let lead = format!("{name}-lead");
        db.user(&lead, false);
        db.import(&format!(
            "[[project]]\nname = \"{name}\"\nsvn_url = \"{}\"\nstaging_dir = \"{}\"\n\
             excludes = [\"*.log\"]\nleads = [\"{lead}\"]\ndevelopers = [\"{name}-dev\"]\ntesters = [\"{name}-tester\"]\n{extra}\n",
            svn_url.unwrap_or(&svn.url),
            data.path().join("staging").display(),
        ));
        Self {
            db,
            svn,
            data,
            dev,
            tester,
        }
    }

    pub fn staging(&self) -> PathBuf {
        self.data.path().join("staging")
    }

    pub fn worker(&self, credentials: BTreeMap<String, SvnCredentials>) -> Worker {
        let access = SvnAccess::new(
            self.data.path().join("svn-config"),
            credentials,
            Duration::from_secs(60),
        );
        let registry = Registry::new()
            .with(Stage {
                svn: access.clone(),
                build_timeout: Duration::from_secs(60),
            })
            .with(SvnPoll { svn: access })
            .with(Release)
            .with(Rollback)
            .with(slipway::jobs::scheduled::Scheduled);
        let options = WorkerOptions {
            name: "test-worker".into(),
            concurrency: 2,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(100),
            max_attempts: 2,
            retry_base: Duration::ZERO,
            retry_cap: Duration::ZERO,
            data_dir: self.data.path().to_owned(),
        };
        Worker::new(self.db.pool.clone(), registry, options, Waker::new())
    }

    pub fn submit(&self, project: &str, paths: &[&str], revision: Option<i64>) -> i64 {
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        let input = NewRelease {
            project,
            reason: "ship it",
            svn_paths: &paths,
            svn_revision: revision,
        };
        tickets::submit(&mut self.db.conn(), ActorRef::User(self.dev), &input, Utc::now())
            .expect("submit")
            .ticket
            .id
    }

    pub fn ticket(&self, id: i64) -> TicketRow {
        ticket_rows::by_id(&mut self.db.conn(), id)
            .expect("query")
            .expect("ticket")
    }

    pub fn log_text(&self, id: i64) -> String {
        queue::logs_for_ticket(&mut self.db.conn(), id, 0, 100_000)
            .expect("logs")
            .into_iter()
            .map(|l| l.line)
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn staged_file(&self, path: &str) -> String {
        std::fs::read_to_string(self.staging().join(path)).expect("staged file")
    }

    pub fn stage_events(&self, id: i64) -> usize {
        ticket_rows::events(&mut self.db.conn(), id)
            .expect("events")
            .iter()
            .filter(|e| e.action == "stage-succeeded")
            .count()
    }
}

/// Runs queued jobs until none is runnable; returns the outcomes.
pub fn drain(worker: &Worker) -> Vec<JobOutcome> {
    let mut outcomes = Vec::new();
    while let Some((_, outcome)) = worker.run_one().expect("claim") {
        outcomes.push(outcome);
    }
    outcomes
}
