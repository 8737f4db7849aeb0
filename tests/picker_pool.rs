//! No pooled database connection is held while `svn list` runs (the SVN
//! path picker): with a pool of 2 connections, 8 slow `svn list` calls in
//! parallel (svn over an `svn+ssh` tunnel that sleeps before it starts
//! `svnserve -t`) must not make the other pages answer 500, on SQLite and
//! PostgreSQL.

mod common;
mod common_svn;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{test, web, App};
use slipway::store::{self, Backend, DbLocation, PoolOptions};
use slipway::vcs::SvnAccess;
use slipway::web::{configure, session, AppState};

use common::TestDb;
use common_svn::SvnRepo;

/// How long the tunnel waits before it serves the repository.
const SLOW: Duration = Duration::from_millis(1500);

/// An svn config dir whose `ssh` tunnel sleeps, then serves `root`.
fn slow_tunnel(dir: &Path, root: &Path) {
    let script = dir.join("slow-tunnel.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nsleep {}\nexec svnserve -t -r '{}'\n",
            SLOW.as_secs_f64(),
            root.display()
        ),
    )
    .expect("tunnel script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let config = dir.join("svn-config");
    std::fs::create_dir_all(&config).expect("config dir");
    std::fs::write(
        config.join("config"),
        format!("[tunnels]\nssh = {}\n", script.display()),
    )
    .expect("svn config");
}

fn slow_svn_list_does_not_starve_the_pool(db: &TestDb) {
    let repo = SvnRepo::create(&[("index.html", "hi"), ("js/app.js", "x")]);
    let work = tempfile::tempdir().expect("temp dir");
    slow_tunnel(work.path(), repo.dir.path());
    db.user("dev", false);
    db.import(
        r#"
[[project]]
name = "shop"
svn_url = "svn+ssh://slowhost/repo/trunk"
staging_dir = "/tmp/staging/shop"
developers = ["dev"]
"#,
    );
    // A small pool of its own on the same database, quick to give up.
    let location = match db.backend {
        Backend::Sqlite => DbLocation::SqliteFile(db.url.clone().into()),
        Backend::Postgres => DbLocation::Postgres(db.url.clone()),
    };
    let options = PoolOptions {
        max_size: 2,
        connect_timeout: Duration::from_millis(700),
        busy_timeout: Duration::from_secs(5),
    };
    let pool = store::connect(&location, &options).expect("small pool");
    let mut state = AppState::new(pool, b"0123456789abcdef0123456789abcdef", 12, false).expect("state");
    state.svn = Some(SvnAccess::new(
        work.path().join("svn-config"),
        BTreeMap::new(),
        Duration::from_secs(30),
    ));
    let state = web::Data::new(state);
    let dev = slipway::store::listing::user_id(&mut db.conn(), "dev")
        .expect("query")
        .expect("dev");
    let session = session::issue(&state, dev, "session").expect("session").0;
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(App::new().configure(configure(state.clone()))).await;
        let get = |uri: &str| {
            test::TestRequest::get()
                .uri(uri)
                .cookie(actix_web::cookie::Cookie::new(session::SESSION_COOKIE, session.clone()))
                .to_request()
        };
        let started = Instant::now();
        let lists = (0..8).map(|_| test::call_service(&app, get("/svn/list?project=shop&path=")));
        let pages = async {
            // While the eight listings wait on svn, the site keeps answering.
            actix_web::rt::time::sleep(SLOW / 3).await;
            let mut statuses = Vec::new();
            for _ in 0..6 {
                statuses.push(test::call_service(&app, get("/tickets")).await.status());
            }
            statuses
        };
        let (lists, pages) = futures_util::future::join(futures_util::future::join_all(lists), pages).await;
        let elapsed = started.elapsed();
        assert!(
            pages.iter().all(|s| *s == StatusCode::OK),
            "pages during slow svn: {pages:?}"
        );
        for res in lists {
            let status = res.status();
            let body = String::from_utf8_lossy(&test::read_body(res).await).into_owned();
            assert_eq!(status, StatusCode::OK, "svn list: {body}");
            assert!(body.contains("index.html") && body.contains("\"js\""), "{body}");
        }
        assert!(
            elapsed >= SLOW,
            "the tunnel was not slow ({elapsed:?}): the test proves nothing"
        );
    });
}

backend_tests!(slow_svn_list_does_not_starve_the_pool);
