//! `/metrics` in the Prometheus text format (0.0.4), kept by `prometheus-client`: request
//! counts and latency by route template, Argon2 admission, the audit buffer, tokens about
//! to expire. docs/RELIABILITY.md lists every metric and its labels.
//!
//! **No per-user labels, no ids.** A route is the template axum matched
//! (`/v1/vaults/{vault}/items/{item}`), never the path asked for; a path no route matched
//! is `unmatched`; a method outside the standard few is `OTHER`. So the number of series
//! is bounded by the code, not by what clients send.
//!
//! **The hot path stays cheap.** The middleware runs on every request, the benchmarked
//! token read included. Its label sets hold the matched template as axum's own
//! [`MatchedPath`] (an `Arc<str>` the router keeps: a clone is a reference count, not a
//! copy) and the method as a `&'static str`, so recording a request allocates nothing once
//! its series exist: two hash lookups under read locks, an atomic add and a histogram
//! observation. `benches/metrics_cost.rs` counts the allocations of whole requests.
//!
//! **Scrapes never touch the database.** `/metrics` is unauthenticated; a scrape reads
//! atomics only. The one value that needs a query (tokens expiring within 7 days) is
//! refreshed by a background task every [`crate::ServerConfig::metrics_refresh`] (60 s by
//! default), whatever the scrape rate.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keyslot_core::Keyslot;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
    prometheus_text,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::audit_log::AuditLog;
use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds: a token read takes well under a
/// millisecond, a login's Argon2 hash a few hundred.
const LATENCY_BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How far ahead `keyslot_tokens_expiring_7d` looks.
const EXPIRING_WINDOW_SECS: i64 = 7 * 86_400;

/// The route label: the template axum matched, or `unmatched`. Compared and hashed by its
/// text; holds the router's shared string, so a per-request clone allocates nothing.
#[derive(Clone, Debug)]
struct Route(Option<MatchedPath>);

impl Route {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// `keyslot_http_requests_total`'s labels (in this order, as before the switch to
/// `prometheus-client`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Route,
    status: u16,
}

/// `keyslot_http_request_duration_seconds`'s labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    route: Route,
    method: &'static str,
}

/// The method label: one of a fixed few, so a client inventing methods adds no series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The registry and the metrics the server updates itself.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    tokens_expiring: Gauge,
    keyslot: Keyslot,
}

impl Metrics {
    /// The registry over `keyslot` (whose counters and gauges are read at each scrape) and
    /// the `--audit-log` file, if any.
    pub fn new(keyslot: Keyslot, audit_log: Option<Arc<AuditLog>>) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "keyslot_http_requests",
            "HTTP requests by route template and status",
            requests.clone(),
        );
        let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "keyslot_http_request_duration_seconds",
            "Time from a request's arrival until its response is ready to send, by route \
             template and method",
            latency.clone(),
        );
        let tokens_expiring = Gauge::default();
        registry.register(
            "keyslot_tokens_expiring_7d",
            "API tokens that still work (not revoked, not expired, their user not disabled) \
             and expire within the next 7 days; counted in the database by a background task \
             every 60 s by default, never per scrape, so it may be that old",
            tokens_expiring.clone(),
        );
        registry.register_collector(Box::new(Live {
            keyslot: keyslot.clone(),
            audit_log,
        }));
        Self {
            registry,
            requests,
            latency,
            tokens_expiring,
            keyslot,
        }
    }

    /// Count one answered request and how long it took.
    fn record(&self, route: Route, method: &'static str, status: u16, elapsed: Duration) {
        self.latency
            .get_or_create(&LatencyLabels {
                route: route.clone(),
                method,
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
    }

    /// Keep `keyslot_tokens_expiring_7d` current: count now, then every `every`, on a
    /// task that ends once these metrics are dropped. A failed count keeps the last value
    /// and logs a warning.
    pub fn spawn_refresh(self: &Arc<Self>, every: Duration) {
        let metrics: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(metrics) = metrics.upgrade() else {
                    return;
                };
                match metrics
                    .keyslot
                    .tokens_expiring_within(EXPIRING_WINDOW_SECS)
                    .await
                {
                    Ok(n) => {
                        metrics
                            .tokens_expiring
                            .set(i64::try_from(n).unwrap_or(i64::MAX));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "counting tokens about to expire failed");
                    }
                }
            }
        });
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8 * 1024);
        prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// What core keeps itself (Argon2 admission, the audit buffer) and the audit-log file's
/// failures: read at each scrape, from atomics.
#[derive(Debug)]
struct Live {
    keyslot: Keyslot,
    audit_log: Option<Arc<AuditLog>>,
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let k = &self.keyslot;
        let (buffered, capacity) = k.audit_buffer_fill();
        let refused = k.audit_refused();
        gauge(
            &mut encoder,
            "keyslot_argon2_in_flight",
            "Argon2 hashes running or queued.",
            k.argon2_in_flight(),
        )?;
        gauge(
            &mut encoder,
            "keyslot_argon2_queue_depth",
            "Argon2 hashes admitted and waiting for a worker (not yet running).",
            k.argon2_queued(),
        )?;
        counter(
            &mut encoder,
            "keyslot_argon2_runs",
            "Argon2 hashes run: every evaluated password guess is one.",
            k.argon2_runs(),
        )?;
        gauge(
            &mut encoder,
            "keyslot_audit_buffer_events",
            "Read events and token last-use marks queued in the audit buffer, not yet taken \
             by the flusher; near keyslot_audit_buffer_capacity, reads are about to be refused.",
            buffered,
        )?;
        gauge(
            &mut encoder,
            "keyslot_audit_buffer_capacity",
            "Entries the audit buffer holds at most.",
            capacity,
        )?;
        counter(
            &mut encoder,
            "keyslot_audit_refused_reads",
            "Reads answered 503 because the audit buffer stayed full (the read was not \
             served, so no event is missing).",
            refused.reads,
        )?;
        counter(
            &mut encoder,
            "keyslot_token_uses_skipped",
            "Token last-use marks not queued because the audit buffer was full.",
            refused.token_uses,
        )?;
        if let Some(log) = &self.audit_log {
            counter(
                &mut encoder,
                "keyslot_audit_log_failed",
                "Audit events not written to the --audit-log file (still in the database).",
                log.failed(),
            )?;
        }
        Ok(())
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: usize,
) -> std::fmt::Result {
    let metric = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// `name` without `_total`: the encoder appends it to counters.
fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: u64,
) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// Middleware counting every request by route template and status, and timing it by
/// route template and method. The time is until the response is ready to send (a streamed
/// body's transfer is not in it).
pub async fn count(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = Route(request.extensions().get::<MatchedPath>().cloned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    metrics.record(route, method, response.status().as_u16(), started.elapsed());
    response
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(body) => (
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(_) => crate::error::ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the metrics could not be encoded",
        )
        .into_response(),
    }
}
