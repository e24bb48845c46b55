//! The audit trail is complete, never silently dropped, and shipped (issue 14): every
//! request that touches data leaves an event naming its credential and the address it
//! came from; a read that cannot be recorded is not served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{Auth, PASSWORD, Session, TestServer, http};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A client whose connections leave from `ip` (any 127.x.y.z is loopback on Linux).
fn client_from(ip: &str) -> reqwest::Client {
    http()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// Log in through `client`, so the login itself comes from its address.
async fn login_from(s: &TestServer, client: &reqwest::Client, username: &str) -> Auth {
    let r = s
        .call_with(
            client,
            Method::POST,
            "/v1/login",
            &Auth::None,
            Some(json!({"username": username, "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let set_cookie = r.headers["set-cookie"].to_str().unwrap().to_owned();
    let cookie = set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-keyslot=")
        .to_owned();
    Auth::Session(Session {
        cookie,
        csrf: r.str("csrf_token"),
        set_cookie,
    })
}

/// The account's events, newest first (the read path's are flushed within a second).
async fn events(s: &TestServer, session: &Auth) -> Vec<Value> {
    let r = s.get("/v1/audit?limit=1000", session).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["events"].as_array().unwrap().clone()
}

/// Poll the audit log until `done` holds for it (read events are buffered); panics with
/// the log after 10 s.
async fn events_until(
    s: &TestServer,
    session: &Auth,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..100 {
        let log = events(s, session).await;
        if done(&log) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("audit log never complete: {:#?}", events(s, session).await);
}

fn count(log: &[Value], action: &str, actor: &str, detail: &str) -> usize {
    log.iter()
        .filter(|e| e["action"] == action && e["actor"] == actor && e["detail"] == detail)
        .count()
}

/// One request of each kind that touches data, with a token and with a session, each
/// from its own loopback address: each leaves exactly one event naming the credential,
/// the ids it touched (never a name or value) and the address it came from, in
/// `/v1/audit` and as one line in the `--audit-log` file.
#[tokio::test]
async fn every_data_request_leaves_one_event_with_its_credential_and_address() {
    let s =
        TestServer::start_with(|c| c.audit_log = Some(c.data_dir.with_file_name("audit.jsonl")))
            .await;
    let file = s.data_dir.with_file_name("audit.jsonl");
    let a = s.signup("alice").await;
    let (session_ip, token_ip) = ("127.1.0.1", "127.1.0.2");
    let (by_session, by_token) = (client_from(session_ip), client_from(token_ip));
    let session = login_from(&s, &by_session, "alice").await;
    let (token_id, token) = s
        .mint(&session, json!([a.vault]), json!(["read", "write"]))
        .await;
    let token = Auth::Token(token);
    let log = events(&s, &session).await;
    let login = log.iter().find(|e| e["action"] == "login").unwrap();
    assert_eq!(login["ip"], session_ip, "{login}");
    let session_id = login["detail"]
        .as_str()
        .unwrap()
        .trim_start_matches("session=");
    let actors = [
        (
            format!("session:{session_id}"),
            &session,
            &by_session,
            session_ip,
        ),
        (format!("token:{token_id}"), &token, &by_token, token_ip),
    ];

    let vault = &a.vault;
    let mut expected = Vec::new();
    for (actor, auth, client, ip) in &actors {
        let list = s
            .call_with(
                client,
                Method::GET,
                &format!("/v1/vaults/{vault}/items"),
                auth,
                None,
            )
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        let made = s
            .call_with(
                client,
                Method::POST,
                &format!("/v1/vaults/{vault}/items"),
                auth,
                Some(json!({"name": "stripe-live", "value": "sk_live_audited"})),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        let item = made.str("id");
        let path = format!("/v1/vaults/{vault}/items/{item}");
        let read = s.call_with(client, Method::GET, &path, auth, None).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        let written = s
            .call_with(
                client,
                Method::PUT,
                &path,
                auth,
                Some(json!({"name": "stripe-live", "value": "sk_live_rotated"})),
            )
            .await;
        assert_eq!(written.status, StatusCode::OK, "{}", written.text);
        let deleted = s.call_with(client, Method::DELETE, &path, auth, None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
        let vaults = s
            .call_with(client, Method::GET, "/v1/vaults", auth, None)
            .await;
        assert_eq!(vaults.status, StatusCode::OK, "{}", vaults.text);
        for (action, detail) in [
            ("item.list", format!("vault={vault} count=0")),
            ("item.create", format!("vault={vault} item={item}")),
            ("item.read", format!("vault={vault} item={item}")),
            (
                "item.update",
                format!("vault={vault} item={item} version=2"),
            ),
            ("item.delete", format!("vault={vault} item={item}")),
            ("vault.list", "count=1".to_owned()),
        ] {
            expected.push((action, actor.clone(), detail, *ip));
        }
    }

    let log = events_until(&s, &session, |log| {
        expected
            .iter()
            .all(|(action, actor, detail, _)| count(log, action, actor, detail) > 0)
    })
    .await;
    for (action, actor, detail, ip) in &expected {
        let found: Vec<_> = log
            .iter()
            .filter(|e| e["action"] == *action && e["actor"] == *actor && e["detail"] == *detail)
            .collect();
        assert_eq!(found.len(), 1, "{action} by {actor}: {found:#?}");
        assert_eq!(found[0]["ip"], *ip, "{action} by {actor}: {:#?}", found[0]);
        assert_eq!(found[0]["outcome"], "ok");
    }
    let text = serde_json::to_string(&log).unwrap();
    for secret in ["stripe-live", "sk_live_audited", "sk_live_rotated"] {
        assert!(!text.contains(secret), "{secret} in the audit log");
    }
    // Every event of the session and the token carries an address; none is null.
    for e in &log {
        assert!(e["ip"].is_string(), "event without an address: {e}");
    }

    // The file: one line per event (reads once flushed, so already there: the API showed
    // them), each of schema version 1 with the address, and nothing secret.
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (action, actor, detail, ip) in &expected {
        let found: Vec<_> = lines
            .iter()
            .filter(|e| e["action"] == *action && e["actor"] == *actor && e["detail"] == *detail)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{action} by {actor} in the file: {found:#?}"
        );
        assert_eq!(found[0]["ip"], *ip, "{:#?}", found[0]);
        assert_eq!(found[0]["v"], 1);
        assert_eq!(found[0]["user"], a.user_id.as_str());
    }
    assert_eq!(lines.len(), log.len(), "the file and the database disagree");
    for secret in [
        "stripe-live",
        "sk_live_audited",
        "sk_live_rotated",
        PASSWORD,
    ] {
        assert!(!text.contains(secret), "{secret} in the audit log file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "audit log mode {mode:o}");
    }
}

/// With a buffer of two entries and the flusher stalled (as behind a stuck database), a
/// burst of token reads is either answered or refused with 503 + `Retry-After`, never
/// answered unrecorded: once the flusher resumes, every answered read has its event, one
/// each, and the refused ones have none.
#[tokio::test]
async fn a_read_that_cannot_be_recorded_is_refused_and_no_answered_read_is_lost() {
    let s = TestServer::start_with(|c| c.core.audit_buffer = 2).await;
    let a = s.signup("rita").await;
    let session = s.session("rita", PASSWORD).await;
    let item = s
        .create_item(&session, &a.vault, "db", json!("hunter2-value"))
        .await;
    let (token_id, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let token = Auth::Token(token);
    let path = format!("/v1/vaults/{}/items/{item}", a.vault);

    let hold = s.keyslot.hold_audit_flush().await;
    let mut answered = 0;
    let mut refused = 0;
    let burst: Vec<_> = (0..30).map(|_| s.get(&path, &token)).collect();
    for r in futures_join_all(burst).await {
        match r.status {
            StatusCode::OK => answered += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                r.problem(StatusCode::SERVICE_UNAVAILABLE);
                assert!(r.headers.contains_key("retry-after"), "{:?}", r.headers);
                assert!(!r.text.contains("hunter2"), "{}", r.text);
                refused += 1;
            }
            other => panic!("{other}: {}", r.text),
        }
    }
    // The stalled flusher holds at most one buffer's worth, the buffer another: the rest
    // of the burst cannot have been recorded, so it must not have been served.
    assert!(refused >= 30 - 4, "answered {answered}, refused {refused}");
    drop(hold);

    // Service resumes by itself once the flusher writes again (a client that honours
    // Retry-After may meet the tail of the backlog first).
    let mut resumed = 0;
    for _ in 0..100 {
        let r = s.get(&path, &token).await;
        match r.status {
            StatusCode::OK => resumed += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => panic!("{other}: {}", r.text),
        }
        if resumed == 5 {
            break;
        }
    }
    assert_eq!(resumed, 5, "reads did not resume after the flusher did");
    answered += resumed;
    let actor = format!("token:{token_id}");
    let detail = format!("vault={} item={item}", a.vault);
    let log = events_until(&s, &session, |log| {
        count(log, "item.read", &actor, &detail) >= answered
    })
    .await;
    assert_eq!(
        count(&log, "item.read", &actor, &detail),
        answered,
        "one event per answered read, none for a refused one"
    );
}

/// Run the futures concurrently on this task and collect their outputs in order.
async fn futures_join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter().map(Option::unwrap).collect()
}

/// The filters a user would reach for — by action, by credential, by time — and paging
/// through a long log with the cursor, which yields every event once.
#[tokio::test]
async fn the_audit_log_filters_by_action_actor_and_time_and_pages_with_a_cursor() {
    let s = TestServer::start().await;
    let a = s.signup("uma").await;
    let session = s.session("uma", PASSWORD).await;
    let item = s.create_item(&session, &a.vault, "k", json!(1)).await;
    let (token_id, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let path = format!("/v1/vaults/{}/items/{item}", a.vault);
    for _ in 0..7 {
        let r = s.get(&path, &Auth::Token(token.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let actor = format!("token:{token_id}");
    let reads = format!("/v1/audit?action=item.read&actor={actor}");
    events_until(&s, &session, |log| {
        log.iter().filter(|e| e["actor"] == actor).count() == 7
    })
    .await;

    let r = s.get(&reads, &session).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let events = r.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 7);
    assert!(
        events
            .iter()
            .all(|e| e["action"] == "item.read" && e["actor"] == actor)
    );
    assert!(r.body.get("next_cursor").is_none(), "{}", r.text);

    // Pages of 3: 3, 3, 1, each older than the last, no event twice.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..10 {
        let url = match &next {
            None => format!("{reads}&limit=3"),
            Some(c) => format!("{reads}&limit=3&cursor={c}"),
        };
        let r = s.get(&url, &session).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        seen.extend(r.body["events"].as_array().unwrap().iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "{seen:#?}");
    assert_eq!(seen, *events, "paging changed the events or their order");

    // Time: everything is before a minute from now, nothing after it.
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let later = later
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let since = s.get(&format!("{reads}&since={later}"), &session).await;
    assert_eq!(
        since.body["events"].as_array().unwrap().len(),
        0,
        "{}",
        since.text
    );
    let until = s.get(&format!("{reads}&until={later}"), &session).await;
    assert_eq!(
        until.body["events"].as_array().unwrap().len(),
        7,
        "{}",
        until.text
    );

    // Malformed filters are 400s naming the parameter.
    for (query, field) in [
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("cursor=42", "cursor"),
    ] {
        let r = s.get(&format!("/v1/audit?{query}"), &session).await;
        r.problem(StatusCode::BAD_REQUEST);
        assert_eq!(r.fields(), [field], "{}", r.text);
    }
    // A token reads data, not the account's history.
    let r = s.get("/v1/audit", &Auth::Token(token)).await;
    r.problem(StatusCode::FORBIDDEN);
}
