//! `slipway serve` (web server) and `slipway worker`.

use actix_web::{App, HttpServer};

use crate::config::Config;

use super::{open_db, Failure};

/// Runs the web server until Ctrl-C or SIGTERM.
pub fn serve(config: &Config) -> Result<(), Failure> {
    let pool = open_db(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::op)?;
    let state = actix_web::web::Data::new(crate::web::AppState::from_config(pool, config).map_err(Failure::op)?);
    let bind = config.server.bind;
    let workers = config.server.http_workers;
    tracing::info!(%bind, url = %config.public_url(), "slipway serving");
    runtime.block_on(async move {
        let server = HttpServer::new(move || App::new().configure(crate::web::configure(state.clone())))
            .workers(workers)
            .bind(bind)
            .map_err(|e| Failure::op(format!("cannot listen on {bind}: {e}")))?;
        server.run().await.map_err(Failure::op)
    })
}

/// Runs a job worker. The job handlers (stage, release, rollback) are not
/// part of this build yet, so the worker says so and exits non-zero instead
/// of pretending to work.
pub fn worker(config: &Config) -> Result<(), Failure> {
    let _pool = open_db(config)?;
    Err(Failure::op(
        "this build has no job handlers yet (staging and release pipelines are not implemented); \
         jobs stay queued in the database",
    ))
}
