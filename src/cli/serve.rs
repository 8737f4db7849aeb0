//! `slipway serve` (web server + a worker + the cron schedule in one
//! process) and `slipway worker` (a worker only, for more machines).

use std::time::Duration;

use actix_web::{App, HttpServer};

use crate::config::Config;
use crate::jobs::cron::{self, CronOptions};
use crate::jobs::{Registry, Waker, Worker, WorkerOptions};
use crate::store::{DbLocation, Pool};

use super::{open_db, Failure};

/// The handlers this build runs.
pub fn registry(config: &Config) -> Registry {
    crate::jobs::pipeline::registry(config)
}

fn worker(config: &Config, pool: Pool, waker: Waker) -> Worker {
    let options = WorkerOptions {
        name: WorkerOptions::default_name(),
        concurrency: config.worker.concurrency,
        lease: Duration::from_secs(config.worker.lease_secs),
        poll_interval: Duration::from_secs(config.worker.poll_interval_secs),
        max_attempts: config.worker.max_attempts,
        retry_base: Duration::from_secs(config.worker.retry_base_secs),
        retry_cap: Duration::from_secs(config.worker.retry_cap_secs),
        data_dir: config.data_dir.clone(),
    };
    Worker::new(pool, registry(config), options, waker)
}

/// Sets up what child processes see (minimal environment, `worker.run_as`,
/// a 0700 data dir with `run_as`) and the secrets scrubbed from their output.
fn prepare_children(config: &Config, pool: &Pool) -> Result<(), Failure> {
    let run_as = Some(config.worker.run_as.as_str()).filter(|r| !r.trim().is_empty());
    crate::process::env::configure(&config.data_dir, Some(&config.worker.child_path), run_as).map_err(Failure::op)?;
    let key = crate::keys::signing_key(config).ok();
    crate::jobs::secrets::register_config(config, key.as_deref());
    crate::jobs::secrets::refresh(pool);
    if let Some(user) = &crate::process::env::current().run_as {
        tracing::info!(user = %user.name, uid = user.uid, "builds and local hooks run as another user");
    }
    Ok(())
}

/// Wakes on PostgreSQL notifications when the database is PostgreSQL.
fn listen(config: &Config, waker: &Waker) {
    let url = config.database.url.as_ref().map(|s| s.expose().to_owned());
    if let Ok(DbLocation::Postgres(url)) = DbLocation::parse(url.as_deref(), &config.data_dir) {
        waker.listen_postgres(url);
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::op)
}

/// Runs the web server, a worker and the cron schedule until Ctrl-C or
/// SIGTERM; running jobs reach the end of their step before exit.
pub fn serve(config: &Config) -> Result<(), Failure> {
    let pool = open_db(config)?;
    prepare_children(config, &pool)?;
    let waker = Waker::new();
    listen(config, &waker);
    let mut state = crate::web::AppState::from_config(pool.clone(), config).map_err(Failure::op)?;
    state.waker = waker.clone();
    let state = actix_web::web::Data::new(state);
    let bind = config.server.bind;
    let workers = config.server.http_workers;
    let cron_options = CronOptions {
        sweep: config.cron.sweep.clone(),
        svn_poll: config.cron.svn_poll.clone(),
        log_cleanup: config.cron.log_cleanup.clone(),
        notify_reminders: config.cron.notify_reminders.clone(),
        schedules: config.cron.schedules.clone(),
        service_status: config.cron.service_status.clone(),
        verify_cron: config.cron.verify_cron.clone(),
    };
    let job_worker = worker(config, pool.clone(), waker.clone());
    tracing::info!(%bind, url = %config.public_url(), "slipway serving");
    runtime()?.block_on(async move {
        let _schedule = cron::start(pool.clone(), waker.clone(), &cron_options)
            .await
            .map_err(|e| Failure::op(format!("cron: {e}")))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let jobs = tokio::spawn(job_worker.run(async {
            let _ = stopped.await;
        }));
        let server = HttpServer::new(move || App::new().configure(crate::web::configure(state.clone())))
            .workers(workers)
            .bind(bind)
            .map_err(|e| Failure::op(format!("cannot listen on {bind}: {e}")))?;
        let served = server.run().await.map_err(Failure::op);
        let _ = stop.send(());
        let _ = jobs.await;
        served
    })
}

/// Runs a job worker until Ctrl-C or SIGTERM.
pub fn worker_only(config: &Config) -> Result<(), Failure> {
    let pool = open_db(config)?;
    prepare_children(config, &pool)?;
    let waker = Waker::new();
    listen(config, &waker);
    let job_worker = worker(config, pool, waker);
    runtime()?.block_on(job_worker.run(shutdown_signal()));
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
