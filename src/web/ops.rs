//! Operability: the per-request middleware (request id, tracing span,
//! timing, security headers) and `GET /readyz`; `GET /metrics` is in
//! [`super::metrics`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{get, web, HttpResponse};
use tracing::Instrument;

use crate::service::probes;

use super::AppState;

/// The Content-Security-Policy of every answer: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";

fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| crate::service::admin::random_hex(3));
    format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Wraps every request: an id (also sent back as `X-Request-Id`) in a tracing
/// span around the handler, a log line with status and duration, latency
/// metrics, and the security headers.
pub async fn around(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id();
    let method = req.method().to_string();
    // An emailed approval link's path is a credential: it is never logged.
    let path = if req.path().starts_with("/approve/") {
        "/approve/***"
    } else {
        req.path()
    };
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let start = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let elapsed = start.elapsed().as_secs_f64();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    if let Some(state) = state {
        state.metrics.observe(&method, &route, status, elapsed);
    }
    span.in_scope(|| tracing::info!(status, ms = (elapsed * 1000.0).round() as u64, "served"));
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}

/// Queued work waiting longer than this means no worker is taking jobs.
pub const STALLED_QUEUE_SECS: i64 = 300;

/// `GET /readyz`: 200 when the database answers, every migration is applied
/// and the workers are alive. "Workers alive" is judged from the queue, so
/// it holds for workers in any process: no due job has waited longer than
/// five minutes ([`STALLED_QUEUE_SECS`]) to be claimed. An empty queue is
/// ready (idle workers do no harm). Running jobs with an expired lease are
/// reported (`expired_leases`) but do not fail the check: the sweep re-queues them.
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let checked = state.db(|conn| Ok(probes::readiness(conn)?)).await;
    match checked {
        Ok(probes::Readiness {
            pending_migrations: pending,
            oldest_due_job_wait: oldest_wait,
            expired_leases: expired,
        }) => {
            let stalled = oldest_wait.is_some_and(|w| w > STALLED_QUEUE_SECS);
            let ready = pending == 0 && !stalled;
            let body = serde_json::json!({
                "status": if ready { "ready" } else { "not_ready" },
                "database": "ok",
                "pending_migrations": pending,
                "workers": if stalled { "stalled" } else { "ok" },
                "oldest_due_job_wait_seconds": oldest_wait.unwrap_or(0),
                "expired_leases": expired,
            });
            if ready {
                HttpResponse::Ok().json(body)
            } else {
                HttpResponse::ServiceUnavailable().json(body)
            }
        }
        Err(e) => {
            tracing::warn!(error = %e.public_message(), "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({"status": "not_ready", "database": "unreachable"}))
        }
    }
}
