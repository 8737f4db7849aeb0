//! `GET /healthz`: the process is up, and whether the database answers.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;

use crate::service::{probes, Pool};

#[derive(Serialize)]
struct Health {
    status: &'static str,
    database: String,
    pending_migrations: Option<usize>,
}

/// Reports liveness and database reachability (503 when the database is down).
#[get("/healthz")]
pub async fn healthz(pool: web::Data<Pool>) -> HttpResponse {
    let pool = pool.get_ref().clone();
    let checked = web::block(move || -> Result<usize, String> {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        probes::pending_migrations(&mut conn).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    match checked {
        Ok(pending) => HttpResponse::Ok().json(Health {
            status: "ok",
            database: "ok".into(),
            pending_migrations: Some(pending),
        }),
        Err(error) => {
            tracing::warn!(%error, "health check: database unreachable");
            HttpResponse::ServiceUnavailable().json(Health {
                status: "unavailable",
                database: "unreachable".into(),
                pending_migrations: None,
            })
        }
    }
}
