//! `/metrics` in the Prometheus text format: request counts by route template and status,
//! Argon2 admission, dropped audit events. No per-user labels, no secrets: routes are
//! templates (`/v1/vaults/{vault}/items`), never concrete ids.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Request counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
}

impl Metrics {
    fn record(&self, route: String, status: u16) {
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((route, status)).or_default() += 1;
        }
    }
}

/// Middleware counting every request by matched route and status.
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.record(route, response.status().as_u16());
    response
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    out.push_str(
        "# HELP keyslot_http_requests_total HTTP requests by route template and status.\n",
    );
    out.push_str("# TYPE keyslot_http_requests_total counter\n");
    if let Ok(map) = state.metrics.requests.lock() {
        for ((route, status), n) in map.iter() {
            let _ = writeln!(
                out,
                "keyslot_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
    }
    out.push_str("# HELP keyslot_argon2_in_flight Argon2 hashes running or queued.\n# TYPE keyslot_argon2_in_flight gauge\n");
    let _ = writeln!(
        out,
        "keyslot_argon2_in_flight {}",
        state.keyslot.argon2_in_flight()
    );
    out.push_str("# HELP keyslot_argon2_runs_total Argon2 hashes run: every evaluated password guess is one.\n# TYPE keyslot_argon2_runs_total counter\n");
    let _ = writeln!(
        out,
        "keyslot_argon2_runs_total {}",
        state.keyslot.argon2_runs()
    );
    let refused = state.keyslot.audit_refused();
    out.push_str("# HELP keyslot_audit_refused_reads_total Reads answered 503 because the audit buffer stayed full (the read was not served, so no event is missing).\n# TYPE keyslot_audit_refused_reads_total counter\n");
    let _ = writeln!(out, "keyslot_audit_refused_reads_total {}", refused.reads);
    out.push_str("# HELP keyslot_token_uses_skipped_total Token last-use marks not queued because the audit buffer was full.\n# TYPE keyslot_token_uses_skipped_total counter\n");
    let _ = writeln!(
        out,
        "keyslot_token_uses_skipped_total {}",
        refused.token_uses
    );
    if let Some(log) = &state.audit_log {
        out.push_str("# HELP keyslot_audit_log_failed_total Audit events not written to the --audit-log file (still in the database).\n# TYPE keyslot_audit_log_failed_total counter\n");
        let _ = writeln!(out, "keyslot_audit_log_failed_total {}", log.failed());
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
