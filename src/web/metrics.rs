//! `GET /metrics` in the Prometheus text format, with the `prometheus`
//! crate. HTTP latency and response counts are process-local counters and
//! histograms that only go up (observing a request is a few atomic adds);
//! the ticket and job figures are read from the database at scrape time,
//! aggregated there (see `service::probes::figures`), so a scrape costs the
//! same with ten jobs or a million and every instance reports the same.

use actix_web::{get, web, HttpResponse};
use prometheus::proto::{Bucket, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

use crate::service::probes;
use crate::service::rows::DurationHistogram;

use super::AppState;

/// Buckets of the HTTP latency histogram (seconds).
const BUCKETS: [f64; 11] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Buckets of the job duration histogram (seconds).
const JOB_BUCKETS: [f64; 10] = [0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// Job states reported by `slipway_jobs`, each always present.
const JOB_STATES: [&str; 5] = ["queued", "running", "done", "failed", "cancelled"];

/// HTTP figures since start.
pub struct Metrics {
    registry: Registry,
    latency: HistogramVec,
    responses: IntCounterVec,
}

impl Metrics {
    /// Registers the HTTP latency histogram and the response counter.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let latency = HistogramVec::new(
            HistogramOpts::new("slipway_http_request_duration_seconds", "HTTP latency by route.")
                .buckets(BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let responses = IntCounterVec::new(
            Opts::new("slipway_http_responses_total", "Responses by status."),
            &["status"],
        )?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(responses.clone()))?;
        Ok(Self {
            registry,
            latency,
            responses,
        })
    }

    /// Records one answered request. `route` is the matched pattern
    /// (bounded); anything unmatched shares one series.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.latency.with_label_values(&[method, route]).observe(seconds);
        self.responses.with_label_values(&[status.to_string().as_str()]).inc();
    }
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut pair = LabelPair::default();
    pair.set_name(name.to_owned());
    pair.set_value(value.to_owned());
    pair
}

fn family(name: &str, help: &str, kind: MetricType, series: Vec<Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_owned());
    f.set_help(help.to_owned());
    f.set_field_type(kind);
    f.set_metric(series);
    f
}

fn gauge(labels: Vec<LabelPair>, value: f64) -> Metric {
    let mut g = Gauge::default();
    g.set_value(value);
    let mut m = Metric::from_gauge(g);
    m.set_label(labels);
    m
}

fn gauges(name: &str, help: &str, key: &str, values: impl IntoIterator<Item = (String, f64)>) -> MetricFamily {
    let series = values
        .into_iter()
        .map(|(v, n)| gauge(vec![label(key, &v)], n))
        .collect();
    family(name, help, MetricType::GAUGE, series)
}

/// `slipway_job_duration_seconds`: enqueue to finish of the jobs that
/// finished in the last 24 hours, by kind, as the database counted them.
fn job_durations(rows: &[DurationHistogram]) -> MetricFamily {
    let series = rows
        .iter()
        .map(|h| {
            let mut hist = Histogram::default();
            hist.set_sample_count(u64::try_from(h.count).unwrap_or(0));
            hist.set_sample_sum(h.sum);
            hist.set_bucket(
                JOB_BUCKETS
                    .iter()
                    .enumerate()
                    .map(|(i, bound)| {
                        let mut b = Bucket::default();
                        b.set_upper_bound(*bound);
                        b.set_cumulative_count(u64::try_from(h.le.get(i).copied().unwrap_or(0)).unwrap_or(0));
                        b
                    })
                    .collect(),
            );
            let mut m = Metric::from_label(vec![label("kind", &h.kind)]);
            m.set_histogram(hist);
            m
        })
        .collect();
    family(
        "slipway_job_duration_seconds",
        "Enqueue to finish of jobs finished in the last 24 hours, by kind.",
        MetricType::HISTOGRAM,
        series,
    )
}

/// The families read from the database figures (gauges, and the job
/// duration histogram the database aggregated).
fn database_families(figures: probes::Figures) -> Vec<MetricFamily> {
    let tickets = crate::domain::TicketState::ALL.iter().map(|s| {
        let n = figures
            .tickets
            .iter()
            .find(|(st, _)| st == s.as_str())
            .map_or(0, |t| t.1);
        (s.as_str().to_owned(), n as f64)
    });
    let jobs = JOB_STATES.iter().map(|s| {
        let n = figures.jobs.iter().find(|(st, _, _)| st == s).map_or(0, |j| j.1);
        ((*s).to_owned(), n as f64)
    });
    vec![
        family(
            "slipway_up",
            "Whether the database answered.",
            MetricType::GAUGE,
            vec![gauge(Vec::new(), 1.0)],
        ),
        gauges("slipway_tickets", "Tickets by state.", "state", tickets),
        gauges("slipway_jobs", "Jobs by state.", "state", jobs),
        family(
            "slipway_job_queue_oldest_seconds",
            "Age of the oldest queued job.",
            MetricType::GAUGE,
            vec![gauge(Vec::new(), figures.oldest_queued_seconds)],
        ),
        job_durations(&figures.job_durations),
    ]
}

/// `GET /metrics`: Prometheus text format.
#[get("/metrics")]
pub async fn scrape(state: web::Data<AppState>) -> HttpResponse {
    let figures = state.db(|conn| Ok(probes::figures(conn, &JOB_BUCKETS)?)).await;
    let mut families = match figures {
        Ok(figures) => database_families(figures),
        Err(e) => {
            tracing::warn!(error = %e.public_message(), "metrics: database unavailable");
            vec![family(
                "slipway_up",
                "Whether the database answered.",
                MetricType::GAUGE,
                vec![gauge(Vec::new(), 0.0)],
            )]
        }
    };
    families.extend(state.metrics.registry.gather());
    let encoder = TextEncoder::new();
    let mut out = Vec::new();
    if let Err(e) = encoder.encode(&families, &mut out) {
        tracing::error!(error = %e, "metrics: encoding failed");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok().content_type(encoder.format_type()).body(out)
}
