//! `/metrics` as a Prometheus server and an operator see it (issue 14): latency histograms
//! by route template with no ids in them, the Argon2 queue, the audit buffer's fill, the
//! gauge of tokens about to expire, and a body that `promtool check metrics` accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::{Auth, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

const ITEM_ROUTE: &str = "/v1/vaults/{vault}/items/{item}";

async fn scrape(s: &TestServer) -> String {
    let r = s.get("/metrics", &Auth::None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    r.text
}

/// The value of the sample named exactly `series` (name and labels), if there is one.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().unwrap())
    })
}

/// Poll `/metrics` until `series` reads `want` (a background refresh or a held job may
/// take a moment); the last body if it never does.
async fn wait_for(s: &TestServer, series: &str, want: f64) -> Result<String, String> {
    let mut body = String::new();
    for _ in 0..200 {
        body = scrape(s).await;
        if sample(&body, series) == Some(want) {
            return Ok(body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(body)
}

/// `promtool check metrics` on `body`, which must pass. promtool comes from Debian's
/// `prometheus` package (`.ci/run` installs it): under CI its absence fails the test;
/// elsewhere it is skipped with a notice.
fn promtool_accepts(body: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is not installed (apt-get install prometheus): CI never skips this check"
            );
            eprintln!(
                "SKIPPED: promtool check metrics (promtool not installed; apt-get install prometheus)"
            );
            return;
        }
        Err(e) => panic!("running promtool: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed ({}):\n{}{}\n--- body ---\n{body}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_by_route_template_without_ids_and_expiring_tokens_and_promtool_passes() {
    let s = TestServer::start_with(|c| c.metrics_refresh = Duration::from_millis(100)).await;
    let a = s.signup("metrics-olive").await;
    let session = s.session("metrics-olive", PASSWORD).await;
    let item = s
        .create_item(&session, &a.vault, "db", json!("hunter2-value"))
        .await;
    // One token that ends within 7 days, one (the default 30 days) that does not.
    let soon = s
        .post(
            "/v1/tokens",
            &session,
            json!({"name": "soon", "vaults": [a.vault], "permissions": ["read"],
                   "expires_in_seconds": 3 * 86_400, "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(soon.status, StatusCode::CREATED, "{}", soon.text);
    let (later_id, later) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let path = format!("/v1/vaults/{}/items/{item}", a.vault);
    for _ in 0..3 {
        let r = s.get(&path, &Auth::Token(soon.str("token"))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let missing = format!("/v1/vaults/{}/items/{}", a.vault, a.user_id);
    assert_eq!(
        s.get(&missing, &Auth::Token(later.clone())).await.status,
        StatusCode::NOT_FOUND
    );
    let stray = format!("/nowhere/{}", a.vault);
    assert_eq!(
        s.get(&stray, &Auth::None).await.status,
        StatusCode::NOT_FOUND
    );

    let body = wait_for(&s, "keyslot_tokens_expiring_7d", 1.0)
        .await
        .unwrap_or_else(|body| panic!("the 3-day token is not counted:\n{body}"));

    // A histogram per route template and method, with every bucket; the three reads and
    // the miss are all under the template.
    let series = format!("route=\"{ITEM_ROUTE}\",method=\"GET\"");
    for le in ["0.0005", "0.01", "1", "10", "+Inf"] {
        let bucket =
            format!("keyslot_http_request_duration_seconds_bucket{{{series},le=\"{le}\"}}");
        assert!(sample(&body, &bucket).is_some(), "no {bucket} in:\n{body}");
    }
    assert_eq!(
        sample(
            &body,
            &format!("keyslot_http_request_duration_seconds_count{{{series}}}")
        ),
        Some(4.0),
        "{body}"
    );
    assert!(
        sample(
            &body,
            &format!("keyslot_http_request_duration_seconds_sum{{{series}}}")
        )
        .is_some_and(|secs| secs > 0.0),
        "{body}"
    );
    assert!(body.contains(
        "keyslot_http_request_duration_seconds_count{route=\"unmatched\",method=\"GET\"} 1\n"
    ));
    // The counters keep their names and labels.
    assert_eq!(
        sample(
            &body,
            &format!("keyslot_http_requests_total{{route=\"{ITEM_ROUTE}\",status=\"200\"}}")
        ),
        Some(3.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            &format!("keyslot_http_requests_total{{route=\"{ITEM_ROUTE}\",status=\"404\"}}")
        ),
        Some(1.0),
        "{body}"
    );
    for name in [
        "keyslot_argon2_in_flight",
        "keyslot_argon2_queue_depth",
        "keyslot_argon2_runs_total",
        "keyslot_audit_buffer_events",
        "keyslot_audit_buffer_capacity",
        "keyslot_audit_refused_reads_total",
        "keyslot_token_uses_skipped_total",
    ] {
        assert!(sample(&body, name).is_some(), "no {name} in:\n{body}");
    }
    assert_eq!(
        sample(&body, "keyslot_audit_buffer_capacity"),
        Some(16_384.0)
    );

    // Nothing that names a user, a vault, an item or a token.
    for secret in [
        a.vault.as_str(),
        a.user_id.as_str(),
        item.as_str(),
        later_id.as_str(),
        later.as_str(),
        &soon.str("id"),
        &soon.str("token"),
        "metrics-olive",
        "hunter2",
    ] {
        assert!(!body.contains(secret), "{secret} in /metrics:\n{body}");
    }

    promtool_accepts(&body);

    // Revoked, the token no longer counts once the gauge is refreshed.
    let r = s
        .delete(&format!("/v1/tokens/{}", soon.str("id")), &session)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    wait_for(&s, "keyslot_tokens_expiring_7d", 0.0)
        .await
        .unwrap_or_else(|body| panic!("a revoked token still counted:\n{body}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_buffer_fill_shows_a_stalled_flusher() {
    let s = TestServer::start_with(|c| c.core.audit_buffer = 2).await;
    let a = s.signup("metrics-rita").await;
    let session = s.session("metrics-rita", PASSWORD).await;
    let item = s.create_item(&session, &a.vault, "db", json!("v")).await;
    let (_, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let path = format!("/v1/vaults/{}/items/{item}", a.vault);
    let body = scrape(&s).await;
    assert_eq!(sample(&body, "keyslot_audit_buffer_capacity"), Some(2.0));

    // With the flusher held, reads fill the buffer until one is refused; then it is full,
    // and stays so while the flusher is held.
    let hold = s.keyslot.hold_audit_flush().await;
    let mut refused = false;
    for _ in 0..20 {
        if s.get(&path, &Auth::Token(token.clone())).await.status == StatusCode::SERVICE_UNAVAILABLE
        {
            refused = true;
            break;
        }
    }
    assert!(refused, "the held buffer never filled");
    let body = scrape(&s).await;
    assert_eq!(
        sample(&body, "keyslot_audit_buffer_events"),
        Some(2.0),
        "{body}"
    );
    assert!(
        sample(&body, "keyslot_audit_refused_reads_total").is_some_and(|n| n >= 1.0),
        "{body}"
    );
    promtool_accepts(&body);
    drop(hold);
    wait_for(&s, "keyslot_audit_buffer_events", 0.0)
        .await
        .unwrap_or_else(|body| panic!("the buffer did not drain:\n{body}"));
}

/// Holds password strength checks (each runs under the Argon2 admission) until released.
#[derive(Default)]
struct Hold {
    armed: AtomicBool,
    held: AtomicUsize,
    released: Mutex<bool>,
    wake: Condvar,
}

impl Hold {
    fn release(&self) {
        *self.released.lock().unwrap() = true;
        self.wake.notify_all();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_argon2_queue_depth_counts_waiters_not_workers() {
    let hold = Arc::new(Hold::default());
    let hook_hold = hold.clone();
    let s = TestServer::start_with(move |c| {
        c.core.argon2_workers = 1;
        c.core.argon2_queue = 2;
        c.core.strength_check_hook = Some(keyslot_core::StrengthCheckHook(Arc::new(move || {
            if !hook_hold.armed.load(Ordering::SeqCst) {
                return;
            }
            hook_hold.held.fetch_add(1, Ordering::SeqCst);
            let mut released = hook_hold.released.lock().unwrap();
            while !*released {
                released = hook_hold.wake.wait(released).unwrap();
            }
        })));
    })
    .await;
    hold.armed.store(true, Ordering::SeqCst);
    let s = Arc::new(s);
    let signups: Vec<_> = ["metrics-held1", "metrics-held2"]
        .into_iter()
        .map(|name| {
            let s = s.clone();
            tokio::spawn(async move {
                s.post(
                    "/v1/signup",
                    &Auth::None,
                    json!({"username": name, "password": PASSWORD}),
                )
                .await
                .status
            })
        })
        .collect();
    // One check runs (held), the other waits for the one worker.
    let result = wait_for(&s, "keyslot_argon2_queue_depth", 1.0).await;
    let held = hold.held.load(Ordering::SeqCst);
    hold.release();
    let body = result.unwrap_or_else(|body| panic!("no waiter counted:\n{body}"));
    assert_eq!(held, 1, "{body}");
    assert_eq!(
        sample(&body, "keyslot_argon2_in_flight"),
        Some(2.0),
        "{body}"
    );
    for signup in signups {
        assert_eq!(signup.await.unwrap(), StatusCode::CREATED);
    }
    let body = wait_for(&s, "keyslot_argon2_in_flight", 0.0)
        .await
        .unwrap_or_else(|body| panic!("hashes still counted:\n{body}"));
    assert_eq!(sample(&body, "keyslot_argon2_queue_depth"), Some(0.0));
}
