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
/// the ids it touched (never a name or value) and the address it came from.
#[tokio::test]
async fn every_data_request_leaves_one_event_with_its_credential_and_address() {
    let s = TestServer::start().await;
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
}
