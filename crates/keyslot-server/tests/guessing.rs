//! Guessing passwords online, as an attacker would try it: many guesses at once, names
//! that are not accounts, many addresses against one account, the current-password check
//! inside a session, and addresses made up in forwarding headers. Every attempt is counted
//! when it is admitted, before Argon2; the Argon2 runs are counted by the server
//! (`Keyslot::argon2_runs`, `/metrics`), so "evaluated" means a hash ran.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::IpAddr;
use std::sync::Arc;

use common::{Auth, PASSWORD, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

const WRONG: &str = "wrong password, quite long";

/// Whole seconds now: admissions are frozen at it, so waits are exact.
fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A client whose connections come from `ip` (any of 127.0.0.0/8 reaches the server).
fn client_from(ip: &str) -> reqwest::Client {
    common::http()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

fn retry_after(r: &common::Reply) -> String {
    r.headers
        .get("retry-after")
        .expect("429 carries Retry-After")
        .to_str()
        .unwrap()
        .to_owned()
}

async fn login_from(s: &TestServer, http: &reqwest::Client, name: &str, pw: &str) -> common::Reply {
    s.call_with(
        http,
        Method::POST,
        "/v1/login",
        &Auth::None,
        Some(json!({"username": name, "password": pw})),
    )
    .await
}

/// 20 guesses at once from one address with a budget of 4: four are evaluated, sixteen
/// refused before Argon2. Were the budget checked before the guesses and counted after
/// their failure, all twenty would pass the check together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_past_the_budget_are_refused_before_argon2() {
    let s = TestServer::start_with(|c| {
        c.core.ip_failures_per_minute = 4;
        c.core.argon2_queue = 32;
    })
    .await;
    s.signup("vera").await;
    s.keyslot.freeze_attempt_clock(Some(unix_now()));
    let before = s.keyslot.argon2_runs();
    let s = Arc::new(s);
    let guesses: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.login("vera", WRONG).await })
        })
        .collect();
    let (mut evaluated, mut refused) = (0, 0);
    for g in guesses {
        let r = g.await.unwrap();
        match r.status {
            StatusCode::UNAUTHORIZED => evaluated += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                r.problem(StatusCode::TOO_MANY_REQUESTS);
                retry_after(&r);
                refused += 1;
            }
            other => panic!("{other}: {}", r.text),
        }
    }
    assert_eq!((evaluated, refused), (4, 16));
    assert_eq!(
        s.keyslot.argon2_runs() - before,
        4,
        "Argon2 ran for 4 guesses only"
    );
    let metrics = s.get("/metrics", &Auth::None).await.text;
    assert!(metrics.contains("keyslot_argon2_runs_total "), "{metrics}");
}

/// Six wrong logins from one source, for an account and for a name that is none: the
/// sixth answers are the same 429, body and Retry-After, and both names cost the same
/// Argon2 runs, so neither the answer nor the work tells which name is an account.
#[tokio::test]
async fn an_account_and_a_name_that_is_none_are_refused_alike() {
    let s = TestServer::start().await;
    s.signup("olga").await;
    s.keyslot.freeze_attempt_clock(Some(unix_now()));
    let mut sixth = Vec::new();
    let mut runs = Vec::new();
    for name in ["olga", "nobody-7f3a9c"] {
        let before = s.keyslot.argon2_runs();
        for n in 1..=5 {
            let r = s.login(name, WRONG).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name} {n}: {}", r.text);
        }
        let r = s.login(name, WRONG).await;
        r.problem(StatusCode::TOO_MANY_REQUESTS);
        runs.push(s.keyslot.argon2_runs() - before);
        sixth.push((r.text.clone(), retry_after(&r)));
    }
    assert_eq!(
        sixth[0], sixth[1],
        "the same answer for an account and a non-account"
    );
    assert_eq!(runs, [5, 5], "the same Argon2 work for both");
    // And the right password waits too: the back-off is the username's from this source.
    s.login("olga", PASSWORD)
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
}

/// The set-cookie header that carries the known-device cookie, as `name=value`.
fn device_cookie(r: &common::Reply) -> String {
    let set = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("__Host-keyslot-device="))
        .expect("a login sets the device cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().unwrap().to_owned()
}

/// An attacker spread over many addresses pushes the account past its per-username
/// ceiling: a client without the device cookie now waits, but the owner's browser, which
/// logged in before, still logs in, and the right recovery code still recovers.
#[tokio::test]
async fn an_attacker_past_the_username_ceiling_does_not_lock_the_owner_out() {
    let s = TestServer::start_with(|c| c.core.username_attempts_per_hour = 3).await;
    let a = s.signup("wendy").await;
    let r = s.login("wendy", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let owner_device = device_cookie(&r);

    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        let r = login_from(&s, &client_from(ip), "wendy", WRONG).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{ip}: {}", r.text);
    }
    // A new address, even with the right password: the ceiling holds.
    let fresh = client_from("127.0.0.5");
    login_from(&s, &fresh, "wendy", PASSWORD)
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
    // A forged or foreign device cookie is no device.
    let forged = s
        .http
        .post(s.url("/v1/login"))
        .header("cookie", "__Host-keyslot-device=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .json(&json!({"username": "wendy", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);

    // Nor is the attacker's own device cookie, from an account of their own.
    s.signup("mallory").await;
    let theirs = device_cookie(&s.login("mallory", PASSWORD).await);
    let r = s
        .http
        .post(s.url("/v1/login"))
        .header("cookie", theirs.as_str())
        .json(&json!({"username": "wendy", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    // The owner's browser.
    let owner = s
        .http
        .post(s.url("/v1/login"))
        .header("cookie", owner_device.as_str())
        .json(&json!({"username": "wendy", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(owner.status(), StatusCode::OK);

    // The recovery code, from yet another address.
    let r = s
        .call_with(
            &client_from("127.0.0.6"),
            Method::POST,
            "/v1/recover",
            &Auth::None,
            Some(json!({
                "username": "wendy",
                "recovery_code": a.recovery_code,
                "new_password": common::NEW_PASSWORD,
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// Inside a session, the current password is guessed like a login and counted like one:
/// five wrong ones get 403, the sixth 429 before any Argon2, and each is audited as a
/// failed password change.
#[tokio::test]
async fn wrong_current_passwords_back_off_and_are_audited() {
    let s = TestServer::start().await;
    let a = s.signup("xena").await;
    let session = s.session("xena", PASSWORD).await;
    s.keyslot.freeze_attempt_clock(Some(unix_now()));
    let change =
        |current: &str| json!({"current_password": current, "new_password": common::NEW_PASSWORD});
    let missing = s
        .post(
            "/v1/password",
            &session,
            json!({"new_password": common::NEW_PASSWORD}),
        )
        .await;
    assert_eq!(
        missing.problem(StatusCode::UNPROCESSABLE_ENTITY).fields(),
        ["current_password"]
    );
    for n in 1..=5 {
        let r = s.post("/v1/password", &session, change(WRONG)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{n}: {}", r.text);
    }
    let before = s.keyslot.argon2_runs();
    let r = s.post("/v1/password", &session, change(WRONG)).await;
    r.problem(StatusCode::TOO_MANY_REQUESTS);
    retry_after(&r);
    assert_eq!(s.keyslot.argon2_runs(), before, "refused before Argon2");
    assert_eq!(password_changes(&s, &a.username).await, ["failed"; 6]);
    // The right password waits as well, and changes nothing.
    s.post("/v1/password", &session, change(PASSWORD))
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(password_changes(&s, &a.username).await, ["failed"; 7]);
}

/// The outcomes of a user's `password.change` events, from the database itself.
async fn password_changes(s: &TestServer, username: &str) -> Vec<String> {
    let db = s.db().await;
    sqlx::query_scalar(
        "SELECT outcome FROM audit_events WHERE action = 'password.change' AND user_id = \
         (SELECT id FROM users WHERE username = ?) ORDER BY seq",
    )
    .bind(username)
    .fetch_all(&db)
    .await
    .unwrap()
}

/// Behind a listed proxy (127.0.0.2), each client is its forwarded address: failures from
/// one do not block another's login, and the audit names each. The same header from a
/// peer that is not a listed proxy changes nothing.
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_its_own_source() {
    let s = TestServer::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.2/32".parse().unwrap()];
        c.core.ip_failures_per_minute = 3;
    })
    .await;
    let a = s.signup("yuri").await;
    let proxy = client_from("127.0.0.2");
    let via = |header: &'static str, client: &'static str, password: &'static str| {
        proxy
            .post(s.url("/v1/login"))
            .header(header, client)
            .json(&json!({"username": "yuri", "password": password}))
            .send()
    };
    for _ in 0..3 {
        let r = via("x-forwarded-for", "1.1.1.1, 198.51.100.7", WRONG)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = via("x-forwarded-for", "198.51.100.7", PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "that client's budget is spent"
    );
    let r = via("x-forwarded-for", "203.0.113.8", PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "another client behind the same proxy"
    );
    // A Forwarded header is not read even from the proxy (common proxies pass a client's
    // own through unchanged): this login is the proxy's, 127.0.0.2.
    let r = via("forwarded", "for=\"[2001:db8::44]:4711\"", PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Not a listed proxy: its header is the client's own invention.
    let r = client_from("127.0.0.3")
        .post(s.url("/v1/login"))
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({"username": "yuri", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "judged by its own address, 127.0.0.3"
    );

    let db = s.db().await;
    let events: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT action, outcome, ip FROM audit_events WHERE action = 'login' AND user_id = \
         (SELECT id FROM users WHERE username = ?) ORDER BY seq",
    )
    .bind(&a.username)
    .fetch_all(&db)
    .await
    .unwrap();
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|(_, outcome, ip)| (outcome.as_str(), ip.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        seen,
        [
            ("failed", "198.51.100.7"),
            ("failed", "198.51.100.7"),
            ("failed", "198.51.100.7"),
            ("ok", "203.0.113.8"),
            ("ok", "127.0.0.2"),
            ("ok", "127.0.0.3"),
        ]
    );
}

/// Sign-ups are budgeted per source network: past it, 429 before any work, while another
/// source still signs up.
#[tokio::test]
async fn signups_past_the_budget_per_source_are_refused() {
    let s = TestServer::start_with(|c| c.core.signups_per_hour = 3).await;
    s.keyslot.freeze_attempt_clock(Some(unix_now()));
    for name in ["zoe1", "zoe2", "zoe3"] {
        s.signup(name).await;
    }
    let body = json!({"username": "zoe4", "password": PASSWORD});
    let before = s.keyslot.argon2_runs();
    let r = s.post("/v1/signup", &Auth::None, body.clone()).await;
    r.problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), "3600");
    assert_eq!(s.keyslot.argon2_runs(), before);
    let r = s
        .call_with(
            &client_from("127.0.0.9"),
            Method::POST,
            "/v1/signup",
            &Auth::None,
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}
