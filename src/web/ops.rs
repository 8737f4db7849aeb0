//! Operability: the per-request middleware (request id, tracing span,
//! timing, security headers), `GET /readyz` and `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{get, web, HttpResponse};
use tracing::Instrument;

use crate::service::probes;
use crate::service::rows::DurationHistogram;

use super::AppState;

/// The Content-Security-Policy of every answer: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";

const BUCKETS: [f64; 11] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// HTTP figures since start.
#[derive(Default)]
pub struct Metrics {
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    statuses: Mutex<BTreeMap<u16, u64>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut map = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        // Routes are patterns (bounded); anything unmatched shares one series.
        let h = map.entry((method.to_owned(), route.to_owned())).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
        drop(map);
        *self
            .statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(status)
            .or_default() += 1;
    }
}

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

/// Buckets of the job duration histogram (seconds).
const JOB_BUCKETS: [f64; 10] = [0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// `slipway_job_duration_seconds`: enqueue to finish of the jobs that
/// finished in the last 24 hours, by kind. The database aggregates them
/// (one row per kind, see `service::probes::figures`), so a scrape costs the same
/// with ten jobs or a million, and every instance reports the same figures.
fn job_durations(out: &mut String, rows: &[DurationHistogram]) {
    out.push_str(
        "# HELP slipway_job_duration_seconds Enqueue to finish of jobs finished in the last 24 hours, by kind.\n\
         # TYPE slipway_job_duration_seconds histogram\n",
    );
    for h in rows {
        let kind = h.kind.replace(['"', '\\', '\n'], "_");
        for (i, b) in JOB_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "slipway_job_duration_seconds_bucket{{kind=\"{kind}\",le=\"{b}\"}} {}",
                h.le.get(i).copied().unwrap_or(0)
            );
        }
        let _ = writeln!(
            out,
            "slipway_job_duration_seconds_bucket{{kind=\"{kind}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(out, "slipway_job_duration_seconds_sum{{kind=\"{kind}\"}} {}", h.sum);
        let _ = writeln!(out, "slipway_job_duration_seconds_count{{kind=\"{kind}\"}} {}", h.count);
    }
}

/// `GET /metrics`: Prometheus text format.
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let figures = state.db(|conn| Ok(probes::figures(conn, &JOB_BUCKETS)?)).await;
    let mut out = String::new();
    match figures {
        Ok(probes::Figures {
            tickets,
            jobs,
            oldest_queued_seconds: oldest,
            job_durations: finished,
        }) => {
            out.push_str("# HELP slipway_up Whether the database answered.\n# TYPE slipway_up gauge\nslipway_up 1\n");
            out.push_str("# HELP slipway_tickets Tickets by state.\n# TYPE slipway_tickets gauge\n");
            for s in crate::domain::TicketState::ALL {
                let n = tickets.iter().find(|(st, _)| st == s.as_str()).map_or(0, |t| t.1);
                let _ = writeln!(out, "slipway_tickets{{state=\"{}\"}} {n}", s.as_str());
            }
            out.push_str("# HELP slipway_jobs Jobs by state.\n# TYPE slipway_jobs gauge\n");
            for s in ["queued", "running", "done", "failed", "cancelled"] {
                let n = jobs.iter().find(|(st, _, _)| st == s).map_or(0, |j| j.1);
                let _ = writeln!(out, "slipway_jobs{{state=\"{s}\"}} {n}");
            }
            out.push_str(
                "# HELP slipway_job_queue_oldest_seconds Age of the oldest queued job.\n\
                 # TYPE slipway_job_queue_oldest_seconds gauge\n",
            );
            let _ = writeln!(out, "slipway_job_queue_oldest_seconds {oldest}");
            job_durations(&mut out, &finished);
        }
        Err(e) => {
            tracing::warn!(error = %e.public_message(), "metrics: database unavailable");
            out.push_str("# TYPE slipway_up gauge\nslipway_up 0\n");
        }
    }
    out.push_str(
        "# HELP slipway_http_request_duration_seconds HTTP latency by route.\n\
         # TYPE slipway_http_request_duration_seconds histogram\n",
    );
    let latency = state.metrics.latency.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for ((method, route), h) in &latency {
        let labels = format!(
            "method=\"{method}\",route=\"{}\"",
            route.replace(['"', '\\', '\n'], "_")
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "slipway_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "slipway_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(out, "slipway_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
        let _ = writeln!(
            out,
            "slipway_http_request_duration_seconds_count{{{labels}}} {}",
            h.count
        );
    }
    out.push_str(
        "# HELP slipway_http_responses_total Responses by status.\n# TYPE slipway_http_responses_total counter\n",
    );
    for (status, n) in state.metrics.statuses.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "slipway_http_responses_total{{status=\"{status}\"}} {n}");
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}
