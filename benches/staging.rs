//! Staging benchmark (prints figures; not a test).
//!
//! 1. Submit → `staged` latency for a one-file change in a 5,000-file
//!    working copy, with a worker woken the way `serve` wakes it.
//! 2. 200 tickets across 20 projects with 4 workers: throughput and the p95
//!    queue wait (job created → job started).
//!
//! Run: `cargo bench --bench staging` (SQLite in a temp dir; set
//! `BENCH_DATABASE_URL=postgres://…` to use PostgreSQL — a fresh schema is made).

/// The shared port helper the test helpers use (as `crate::common::net`).
#[path = "../tests/common/net.rs"]
mod net;
mod common {
    pub(crate) use super::net;
}
#[path = "../tests/common_svn/mod.rs"]
mod common_svn;

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::RunQueryDsl;
use slipway::jobs::stage::Stage;
use slipway::jobs::{Registry, Waker, Worker, WorkerOptions};
use slipway::service::import;
use slipway::service::tickets::{self, ActorRef, NewRelease};
use slipway::service::users::{self, NewAccount};
use slipway::store::{self, jobs as queue, migrate, tickets as ticket_rows, DbLocation, Pool, PoolOptions};
use slipway::vcs::svn_access::SvnAccess;

use common_svn::SvnRepo;

fn pool(dir: &std::path::Path) -> Pool {
    let location = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => {
            let schema = format!("bench_{}", std::process::id());
            let mut admin = <diesel::PgConnection as diesel::Connection>::establish(&url).expect("PostgreSQL");
            diesel::sql_query(format!("CREATE SCHEMA {schema}"))
                .execute(&mut admin)
                .expect("schema");
            let sep = if url.contains('?') { '&' } else { '?' };
            DbLocation::Postgres(format!("{url}{sep}options=-csearch_path%3D{schema}"))
        }
        Err(_) => DbLocation::SqliteFile(dir.join("bench.db")),
    };
    let options = PoolOptions {
        max_size: 16,
        ..PoolOptions::default()
    };
    let pool = store::connect(&location, &options).expect("database");
    migrate::run_pending(&mut pool.get().expect("conn")).expect("migrate");
    pool
}

fn user(pool: &Pool, name: &str) -> i64 {
    let account = NewAccount {
        username: name,
        display_name: "",
        email: "",
        password: "bench-password",
        is_admin: false,
    };
    users::add(&mut pool.get().expect("conn"), &account).expect("user")
}

fn project(pool: &Pool, name: &str, svn_url: &str, staging: &std::path::Path, dev: &str) {
    let toml = format!(
        "[[project]]\nname = \"{name}\"\nsvn_url = \"{svn_url}\"\nstaging_dir = \"{}\"\ndevelopers = [\"{dev}\"]\n",
        staging.display()
    );
    import::import(&mut pool.get().expect("conn"), &toml).expect("import");
}

fn worker(pool: &Pool, data: &std::path::Path, concurrency: usize, waker: Waker) -> Worker {
    let access = SvnAccess::new(data.join("svn-config"), Default::default(), Duration::from_secs(600));
    let registry = Registry::new().with(Stage {
        svn: access,
        build_timeout: Duration::from_secs(600),
    });
    let options = WorkerOptions {
        name: "bench".into(),
        concurrency,
        lease: Duration::from_secs(60),
        poll_interval: Duration::from_secs(1),
        max_attempts: 3,
        retry_base: Duration::from_secs(1),
        retry_cap: Duration::from_secs(5),
        data_dir: data.to_owned(),
    };
    Worker::new(pool.clone(), registry, options, waker)
}

fn submit(pool: &Pool, dev: i64, project: &str, paths: &[String]) -> i64 {
    let input = NewRelease {
        project,
        reason: "bench",
        svn_paths: paths,
        svn_revision: None,
    };
    tickets::submit(&mut pool.get().expect("conn"), ActorRef::User(dev), &input, Utc::now())
        .expect("submit")
        .ticket
        .id
}

fn wait_staged(pool: &Pool, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let state = ticket_rows::by_id(&mut pool.get().expect("conn"), id)
            .expect("query")
            .expect("ticket")
            .state;
        match state.as_str() {
            "staged" => return,
            "failed" => panic!("ticket #{id} failed"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "ticket #{id} not staged");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn latency_bench(runtime: &tokio::runtime::Runtime) {
    let files: Vec<(String, String)> = (0..5000)
        .map(|i| {
            (
                format!("dir{:02}/file{i:04}.txt", i % 50),
                format!("content of file {i}\n"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let setup = Instant::now();
    let repo = SvnRepo::create(&refs);
    let data = tempfile::tempdir().expect("temp dir");
    let pool = pool(data.path());
    let dev = user(&pool, "dev");
    project(&pool, "big", &repo.url, &data.path().join("staging"), "dev");
    eprintln!("setup (5,000-file repository): {:.1} s", setup.elapsed().as_secs_f64());

    let waker = Waker::new();
    let worker = worker(&pool, data.path(), 2, waker.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = runtime.spawn(worker.run(async {
        let _ = stopped.await;
    }));
    let first = Instant::now();
    let id = submit(&pool, dev, "big", &[]);
    waker.wake();
    wait_staged(&pool, id);
    println!(
        "first stage (checkout + snapshot of 5,000 files): {:.2} s",
        first.elapsed().as_secs_f64()
    );

    let mut samples = Vec::new();
    for round in 0..15 {
        let path = format!("dir{:02}/file{:04}.txt", round % 50, round * 7);
        repo.commit(
            &[(path.as_str(), Some(&format!("changed in round {round}\n")))],
            "one-file change",
        );
        let start = Instant::now();
        let id = submit(&pool, dev, "big", std::slice::from_ref(&path));
        waker.wake();
        wait_staged(&pool, id);
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = stop.send(());
    let _ = runtime.block_on(running);
    samples.sort_by(f64::total_cmp);
    println!(
        "submit → staged, one-file change in a 5,000-file working copy ({} runs): median {:.0} ms, p95 {:.0} ms, max {:.0} ms (target: median ≤ 1000 ms)",
        samples.len(),
        percentile(&samples, 50.0),
        percentile(&samples, 95.0),
        samples[samples.len() - 1]
    );
}

fn throughput_bench(runtime: &tokio::runtime::Runtime) {
    let data = tempfile::tempdir().expect("temp dir");
    let pool = pool(data.path());
    let dev = user(&pool, "dev");
    let files: Vec<(String, String)> = (0..50).map(|i| (format!("src/f{i}.txt"), format!("{i}\n"))).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let repos: Vec<SvnRepo> = (0..20).map(|_| SvnRepo::create(&refs)).collect();
    for (n, repo) in repos.iter().enumerate() {
        project(
            &pool,
            &format!("p{n:02}"),
            &repo.url,
            &data.path().join(format!("staging/p{n:02}")),
            "dev",
        );
    }
    let waker = Waker::new();
    let workers: Vec<Worker> = (0..4).map(|_| worker(&pool, data.path(), 1, waker.clone())).collect();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handles: Vec<_> = workers
        .into_iter()
        .map(|w| {
            let mut stopped = stopped.clone();
            runtime.spawn(w.run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            }))
        })
        .collect();
    let start = Instant::now();
    let mut ids = Vec::new();
    for round in 0..10 {
        for n in 0..20 {
            ids.push(submit(&pool, dev, &format!("p{n:02}"), &[format!("src/f{round}.txt")]));
        }
        waker.wake();
    }
    for id in &ids {
        wait_staged(&pool, *id);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop.send(true);
    for handle in handles {
        let _ = runtime.block_on(handle);
    }
    let mut waits = Vec::new();
    let mut conn = pool.get().expect("conn");
    for id in &ids {
        let job = &queue::for_ticket(&mut conn, *id).expect("jobs")[0];
        let started = queue::logs_for_job(&mut conn, job.id)
            .expect("logs")
            .first()
            .map(|l| l.created_at);
        if let Some(started) = started {
            waits.push((started - job.created_at).num_milliseconds() as f64);
        }
    }
    waits.sort_by(f64::total_cmp);
    println!(
        "200 tickets across 20 projects, 4 workers: {elapsed:.1} s, {:.1} tickets/s; queue wait median {:.0} ms, p95 {:.0} ms",
        ids.len() as f64 / elapsed,
        percentile(&waits, 50.0),
        percentile(&waits, 95.0)
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("staging benchmark skipped (run it with `cargo bench --bench staging`)");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let backend = if std::env::var("BENCH_DATABASE_URL").is_ok() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "slipway staging benchmark ({backend}, {} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    latency_bench(&runtime);
    throughput_bench(&runtime);
}
