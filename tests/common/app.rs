//! `TestApp`: the real app factory over a fresh database, built in one line
//! (as crates.io's test harness does):
//!
//! ```ignore
//! let app = TestApp::new(backend).with_users(&["dev", "lead1"]).with_admins(&["admin"])
//!     .with_project(TOML).start();
//! let reply = app.api("dev").get("/api/v1/tickets");      // Bearer token
//! let page = app.browser("admin").post_form("/admin/import", &[("toml", "…")]); // cookie + CSRF
//! ```
//!
//! Requests go to the service in process (no port, no server thread), one
//! at a time on the app's own actix system; every call is synchronous. The
//! database is the test's own ([`TestDb`]: a SQLite file or a PostgreSQL
//! schema), dropped with the app; or the test's, with [`TestApp::on`]. [`TestApp::worker`] runs queued jobs.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::cookie::Cookie;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, Method, StatusCode};
use actix_web::{test, web, App};
use serde_json::Value;
use slipway::jobs::worker::JobOutcome;
use slipway::jobs::{Registry, Waker, Worker, WorkerOptions};
use slipway::service::Visibility;
use slipway::store::Backend;
use slipway::web::{configure, session, AppState};

use super::TestDb;

/// The key sessions and approval links are signed with in tests.
pub const SIGNING_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
/// The CSRF token browser clients carry (cookie and form field).
pub const CSRF: &str = "0123456789abcdef0123456789abcdef";

type Call = Box<dyn Fn(test::TestRequest) -> Pin<Box<dyn Future<Output = ServiceResponse<BoxBody>>>>>;

/// The app's database: its own, or the test's (`backend_tests!` cases).
enum Db<'a> {
    Owned(TestDb),
    Borrowed(&'a TestDb),
}

impl std::ops::Deref for Db<'_> {
    type Target = TestDb;

    fn deref(&self) -> &TestDb {
        match self {
            Db::Owned(db) => db,
            Db::Borrowed(db) => db,
        }
    }
}

/// What [`TestApp::new`] returns: users, projects and settings to set up.
pub struct TestAppBuilder<'a> {
    db: Db<'a>,
    users: Vec<(String, bool)>,
    projects: Vec<String>,
    visibility: Visibility,
    data_dir: Option<std::path::PathBuf>,
}

impl<'a> TestAppBuilder<'a> {
    /// Adds users (password `password-1234`), not admins.
    pub fn with_users(mut self, names: &[&str]) -> Self {
        self.users.extend(names.iter().map(|n| ((*n).to_owned(), false)));
        self
    }

    /// Adds admins (password `password-1234`).
    pub fn with_admins(mut self, names: &[&str]) -> Self {
        self.users.extend(names.iter().map(|n| ((*n).to_owned(), true)));
        self
    }

    /// Imports `toml` (hosts, groups, projects) after the users exist.
    pub fn with_project(mut self, toml: &str) -> Self {
        self.projects.push(toml.to_owned());
        self
    }

    /// Who reads a project (`auth.visibility`); members only by default.
    pub fn with_visibility(mut self, visibility: Visibility) -> Self {
        self.visibility = visibility;
        self
    }

    /// Creates the users, imports the projects and starts the app.
    /// Gives the app a data directory (snapshot repositories: production diffs).
    pub fn with_data_dir(mut self, dir: &std::path::Path) -> Self {
        self.data_dir = Some(dir.to_owned());
        self
    }

    pub fn start(self) -> TestApp<'a> {
        for (name, admin) in &self.users {
            self.db.user(name, *admin);
        }
        for toml in &self.projects {
            self.db.import(toml);
        }
        let mut state = AppState::new(self.db.pool.clone(), SIGNING_KEY, 12, false).expect("app state");
        state.visibility = self.visibility;
        state.data_dir.clone_from(&self.data_dir);
        let state = web::Data::new(state);
        let runner = actix_web::rt::System::new();
        let service = Rc::new(runner.block_on(test::init_service(App::new().configure(configure(state.clone())))));
        let call: Call = Box::new(move |req| {
            let service = Rc::clone(&service);
            Box::pin(async move {
                test::call_service(&*service, req.to_request())
                    .await
                    .map_into_boxed_body()
            })
        });
        TestApp {
            call,
            state,
            db: self.db,
            runner,
        }
    }
}

/// A started app over its own database. Fields drop in order: the service
/// before the actix system it lives on.
pub struct TestApp<'a> {
    call: Call,
    state: web::Data<AppState>,
    db: Db<'a>,
    runner: actix_web::rt::SystemRunner,
}

impl<'a> TestApp<'a> {
    /// An app on a fresh `backend` database; add users and projects, then
    /// [`TestAppBuilder::start`].
    #[allow(clippy::new_ret_no_self)]
    pub fn new(backend: Backend) -> TestAppBuilder<'static> {
        let db = match backend {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres(),
        };
        TestApp::builder(Db::Owned(db))
    }

    /// An app on the test's database `db` (a `backend_tests!` case).
    pub fn on(db: &'a TestDb) -> TestAppBuilder<'a> {
        TestApp::builder(Db::Borrowed(db))
    }

    fn builder(db: Db<'a>) -> TestAppBuilder<'a> {
        TestAppBuilder {
            db,
            users: Vec::new(),
            projects: Vec::new(),
            visibility: Visibility::Members,
            data_dir: None,
        }
    }

    /// The database (for fixtures made through the service layer).
    pub fn db(&self) -> &TestDb {
        &self.db
    }

    /// The app state (signing tokens, settings).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The id of user `name`.
    pub fn uid(&self, name: &str) -> i64 {
        slipway::store::listing::user_id(&mut self.db.conn(), name)
            .expect("query")
            .expect("user")
    }

    /// A client calling the API as `name` (`Authorization: Bearer …`).
    pub fn api(&self, name: &str) -> Client<'_, 'a> {
        let token = session::issue(&self.state, self.uid(name), "api").expect("api token").0;
        Client {
            app: self,
            auth: Auth::Bearer(format!("Bearer {token}")),
        }
    }

    /// A client calling pages as `name` signed in (session and CSRF
    /// cookies; forms get the CSRF field).
    pub fn browser(&self, name: &str) -> Client<'_, 'a> {
        let session = session::issue(&self.state, self.uid(name), "session")
            .expect("session")
            .0;
        Client {
            app: self,
            auth: Auth::Session(session),
        }
    }

    /// A client that is not signed in.
    pub fn anonymous(&self) -> Client<'_, 'a> {
        Client {
            app: self,
            auth: Auth::None,
        }
    }

    /// Sends `req` as it is.
    pub fn call(&self, req: test::TestRequest) -> Reply {
        let res = self.runner.block_on((self.call)(req));
        let status = res.status();
        let headers = res.headers().clone();
        let body = self.runner.block_on(test::read_body(res)).to_vec();
        Reply { status, headers, body }
    }

    /// A worker over the app's database running `registry`'s handlers, one
    /// job at a time, retrying after a second.
    pub fn worker(&self, registry: Registry, data_dir: &std::path::Path) -> Worker {
        let options = WorkerOptions {
            name: "test-worker".into(),
            concurrency: 1,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            max_attempts: 5,
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(1),
            data_dir: data_dir.to_owned(),
        };
        Worker::new(self.db.pool.clone(), registry, options, Waker::new())
    }

    /// Runs every job that is due on `worker`; their ids and outcomes.
    pub fn run_jobs(&self, worker: &Worker) -> Vec<(i64, JobOutcome)> {
        std::iter::from_fn(|| worker.run_one().expect("claim a job"))
            .take(500)
            .collect()
    }
}

enum Auth {
    None,
    Bearer(String),
    Session(String),
}

/// Requests as one user (see [`TestApp::api`], [`TestApp::browser`]).
pub struct Client<'c, 'a> {
    app: &'c TestApp<'a>,
    auth: Auth,
}

impl Client<'_, '_> {
    /// `req` with this client's credentials.
    pub fn sign(&self, req: test::TestRequest) -> test::TestRequest {
        match &self.auth {
            Auth::None => req,
            Auth::Bearer(token) => req.insert_header((header::AUTHORIZATION, token.clone())),
            Auth::Session(session) => req
                .cookie(Cookie::new(session::SESSION_COOKIE, session.clone()))
                .cookie(Cookie::new(session::CSRF_COOKIE, CSRF)),
        }
    }

    /// Sends `req` with this client's credentials.
    pub fn send(&self, req: test::TestRequest) -> Reply {
        self.app.call(self.sign(req))
    }

    /// `GET uri`.
    pub fn get(&self, uri: &str) -> Reply {
        self.send(test::TestRequest::get().uri(uri))
    }

    /// `method uri` with a JSON body.
    pub fn json(&self, method: Method, uri: &str, body: &Value) -> Reply {
        self.send(test::TestRequest::default().method(method).uri(uri).set_json(body))
    }

    /// `POST uri` with a JSON body.
    pub fn post_json(&self, uri: &str, body: &Value) -> Reply {
        self.json(Method::POST, uri, body)
    }

    /// `POST uri` with a form; a browser client adds its CSRF field.
    pub fn post_form(&self, uri: &str, fields: &[(&str, &str)]) -> Reply {
        let mut fields = fields.to_vec();
        if matches!(self.auth, Auth::Session(_)) && !fields.iter().any(|(k, _)| *k == "csrf") {
            fields.push(("csrf", CSRF));
        }
        self.send(test::TestRequest::post().uri(uri).set_form(fields))
    }
}

/// An answer: status, headers and body.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: header::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics, naming the body, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }
}

/// Generates one `#[test]` per backend for each named `fn(Backend)` (tests
/// that start a [`TestApp`]).
#[macro_export]
macro_rules! app_tests {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $case() { super::$case(slipway::store::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $case() { super::$case(slipway::store::Backend::Postgres) } )*
        }
    };
}
