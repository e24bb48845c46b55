//! End-to-end flows over a real socket: sessions, items, tokens, password change,
//! recovery, logout, expiry and revocation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Auth, NEW_PASSWORD, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn items_round_trip_with_versions_and_if_match() {
    let s = TestServer::start().await;
    let alice = s.signup("alice").await;
    let session = s.session("alice", PASSWORD).await;
    let path = format!("/v1/vaults/{}/items", alice.vault);
    let id = s
        .create_item(
            &session,
            &alice.vault,
            "stripe",
            json!({"key": "sk_live_1", "n": [1, 2]}),
        )
        .await;

    let got = s.get(&format!("{path}/{id}"), &session).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["value"], json!({"key": "sk_live_1", "n": [1, 2]}));
    assert_eq!(
        (got.body["name"].as_str(), got.body["version"].as_u64()),
        (Some("stripe"), Some(1))
    );
    assert_eq!(got.headers.get("etag").unwrap(), "\"1\"");
    assert_eq!(got.headers.get("cache-control").unwrap(), "no-store");

    let list = s.get(&path, &session).await;
    assert_eq!(list.body["items"][0]["name"], "stripe");
    assert_eq!(list.body["items"][0]["id"], id.as_str());

    // If-Match with the current ETag succeeds; a stale one gets 412 and changes nothing.
    let put = s
        .http
        .put(s.url(&format!("{path}/{id}")))
        .header(
            "cookie",
            format!("__Host-keyslot={}", session.session().cookie),
        )
        .header("x-csrf-token", session.session().csrf)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "stripe", "value": "v2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let stale = s
        .http
        .put(s.url(&format!("{path}/{id}")))
        .header(
            "cookie",
            format!("__Host-keyslot={}", session.session().cookie),
        )
        .header("x-csrf-token", session.session().csrf)
        .header("if-match", "1")
        .json(&json!({"name": "stripe", "value": "v3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let now = s.get(&format!("{path}/{id}"), &session).await;
    assert_eq!(
        (now.body["value"].as_str(), now.body["version"].as_u64()),
        (Some("v2"), Some(2))
    );

    // Without If-Match the last writer wins.
    let r = s
        .put(
            &format!("{path}/{id}"),
            &session,
            json!({"name": "renamed", "value": null}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["version"].as_u64()),
        (StatusCode::OK, Some(3))
    );

    assert_eq!(
        s.delete(&format!("{path}/{id}"), &session).await.status,
        StatusCode::NO_CONTENT
    );
    s.get(&format!("{path}/{id}"), &session)
        .await
        .problem(StatusCode::NOT_FOUND);
    s.delete(&format!("{path}/{id}"), &session)
        .await
        .problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn password_change_keeps_tokens_kills_old_password_and_other_sessions() {
    let s = TestServer::start().await;
    let a = s.signup("bob").await;
    let session = s.session("bob", PASSWORD).await;
    let other = s.session("bob", PASSWORD).await;
    let item = s
        .create_item(&session, &a.vault, "db", json!("hunter2 hunter2"))
        .await;
    let (_, scoped) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (_, all) = s.mint(&session, json!("*"), json!(["read", "write"])).await;

    // A wrong current password is 403 and changes nothing.
    s.post(
        "/v1/password",
        &session,
        json!({"current_password": "not my password at all", "new_password": NEW_PASSWORD}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    // A weak new password is 422 naming the field.
    let weak = s
        .post(
            "/v1/password",
            &session,
            json!({"current_password": PASSWORD, "new_password": "password1234"}),
        )
        .await;
    assert_eq!(
        weak.problem(StatusCode::UNPROCESSABLE_ENTITY).fields(),
        ["new_password"]
    );

    let r = s
        .post(
            "/v1/password",
            &session,
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    s.login("bob", PASSWORD)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    s.session("bob", NEW_PASSWORD).await;
    s.get("/v1/me", &other)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.get("/v1/me", &session).await.status,
        StatusCode::OK,
        "the session that changed it stays"
    );
    for token in [scoped, all] {
        let r = s
            .get(
                &format!("/v1/vaults/{}/items/{item}", a.vault),
                &Auth::Token(token),
            )
            .await;
        assert_eq!(r.body["value"], "hunter2 hunter2", "{}", r.text);
    }
}

#[tokio::test]
async fn recovery_sets_a_new_password_and_code_and_ends_sessions() {
    let s = TestServer::start().await;
    let a = s.signup("carol").await;
    let session = s.session("carol", PASSWORD).await;
    let item = s
        .create_item(&session, &a.vault, "note", json!({"text": "remember"}))
        .await;
    let (_, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;

    // Case, spaces and hyphens do not matter.
    let typed = a.recovery_code.to_lowercase().replace('-', " ");
    let r = s
        .post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "carol", "recovery_code": typed, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new_code = r.str("recovery_code");
    assert_ne!(new_code, a.recovery_code);

    s.get("/v1/me", &session)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    s.login("carol", PASSWORD)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let fresh = s.session("carol", NEW_PASSWORD).await;
    let got = s
        .get(&format!("/v1/vaults/{}/items/{item}", a.vault), &fresh)
        .await;
    assert_eq!(got.body["value"]["text"], "remember");
    let got = s
        .get(
            &format!("/v1/vaults/{}/items/{item}", a.vault),
            &Auth::Token(token),
        )
        .await;
    assert_eq!(got.body["value"]["text"], "remember");

    // The old code is dead; the new one works.
    let again = json!({"username": "carol", "recovery_code": a.recovery_code, "new_password": "yet another passphrase 99"});
    s.post("/v1/recover", &Auth::None, again)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let r = s.post("/v1/recover", &Auth::None, json!({"username": "carol", "recovery_code": new_code, "new_password": "yet another passphrase 99"})).await;
    assert_eq!(r.status, StatusCode::OK);
    // A malformed code is an input error naming the field.
    let bad = s.post("/v1/recover", &Auth::None, json!({"username": "carol", "recovery_code": "not a code", "new_password": NEW_PASSWORD})).await;
    assert_eq!(
        bad.problem(StatusCode::UNPROCESSABLE_ENTITY).fields(),
        ["recovery_code"]
    );
}

#[tokio::test]
async fn logout_kills_the_cookie() {
    let s = TestServer::start().await;
    s.signup("dave").await;
    let session = s.session("dave", PASSWORD).await;
    let set_cookie = session.session().set_cookie;
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    assert!(set_cookie.starts_with("__Host-keyslot=kss_"));
    let r = s.post("/v1/logout", &session, json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(
        r.headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    s.get("/v1/me", &session)
        .await
        .problem(StatusCode::UNAUTHORIZED);
}

/// A login made with a session cookie ends that session: the browser holds one session,
/// the new one (ASVS 7.2.4). Sessions elsewhere are untouched.
#[tokio::test]
async fn a_login_replaces_the_session_it_was_made_from() {
    let s = TestServer::start().await;
    s.signup("fay").await;
    s.signup("gus").await;
    let elsewhere = s.session("fay", PASSWORD).await;
    let before = s.session("fay", PASSWORD).await;
    let r = s
        .post(
            "/v1/login",
            &before,
            json!({"username": "gus", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    s.get("/v1/me", &before)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/v1/me", &elsewhere).await.status, StatusCode::OK);
    // The password is checked exactly as typed: no trimming, no case folding (ASVS 6.2.8).
    for near in [
        format!("{PASSWORD} "),
        format!(" {PASSWORD}"),
        PASSWORD.to_uppercase(),
    ] {
        s.login("fay", &near)
            .await
            .problem(StatusCode::UNAUTHORIZED);
    }
    // A failed login ends nothing.
    let r = s
        .post(
            "/v1/login",
            &elsewhere,
            json!({"username": "fay", "password": "wrong password, quite long"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/v1/me", &elsewhere).await.status, StatusCode::OK);
}

#[tokio::test]
async fn tokens_expire_are_revoked_and_record_last_use() {
    let s = TestServer::start().await;
    let a = s.signup("erin").await;
    let session = s.session("erin", PASSWORD).await;
    let item = s.create_item(&session, &a.vault, "k", json!(1)).await;
    let path = format!("/v1/vaults/{}/items/{item}", a.vault);

    let r = s.post("/v1/tokens", &session, json!({"name": "short", "vaults": [a.vault], "permissions": ["read"], "expires_in_seconds": 2, "current_password": PASSWORD})).await;
    let short = r.str("token");
    assert_eq!(
        s.get(&path, &Auth::Token(short.clone())).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    s.get(&path, &Auth::Token(short))
        .await
        .problem(StatusCode::UNAUTHORIZED);

    let (id, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let listed = s.get("/v1/tokens", &session).await;
    let entry = listed.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["last_used_at"], serde_json::Value::Null);
    assert_eq!(entry["permissions"], json!(["read"]));
    assert_eq!(entry["vaults"], json!([a.vault]));
    assert!(
        !listed.text.contains(&token[4..20]),
        "the token is never listed"
    );
    assert_eq!(
        s.get(&path, &Auth::Token(token.clone())).await.status,
        StatusCode::OK
    );
    // last_used_at goes through the read buffer, flushed within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let listed = s.get("/v1/tokens", &session).await;
    let entry = listed.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap()
        .clone();
    assert!(entry["last_used_at"].is_string(), "{entry}");

    assert_eq!(
        s.delete(&format!("/v1/tokens/{id}"), &session).await.status,
        StatusCode::NO_CONTENT
    );
    s.get(&path, &Auth::Token(token))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    s.delete(&format!("/v1/tokens/{id}"), &session)
        .await
        .problem(StatusCode::NOT_FOUND);

    let over = s.post("/v1/tokens", &session, json!({"name": "long", "vaults": "*", "permissions": ["read"], "expires_in_seconds": 400 * 86400, "current_password": PASSWORD})).await;
    assert_eq!(
        over.problem(StatusCode::UNPROCESSABLE_ENTITY).fields(),
        ["expires_in_seconds"]
    );
    let unknown = s.post("/v1/tokens", &session, json!({"name": "x", "vaults": ["00000000000000000000000000000000"], "permissions": ["read"], "current_password": PASSWORD})).await;
    assert_eq!(
        unknown.problem(StatusCode::UNPROCESSABLE_ENTITY).fields(),
        ["vaults"]
    );
    let perms = s
        .post(
            "/v1/tokens",
            &session,
            json!({"name": "x", "vaults": "*", "permissions": ["admin"], "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(
        perms.problem(StatusCode::UNPROCESSABLE_ENTITY).fields(),
        ["permissions"]
    );
}

/// A stolen session cookie alone cannot mint a year-long token: minting needs the
/// password, and guessing it there is throttled and audited like guessing at login.
#[tokio::test]
async fn minting_a_token_needs_the_current_password() {
    let s = TestServer::start().await;
    let a = s.signup("gwen").await;
    let session = s.session("gwen", PASSWORD).await;
    let body = |password: Option<&str>| {
        let mut b = json!({"name": "stolen", "vaults": [a.vault], "permissions": ["read"], "expires_in_seconds": 366 * 86400});
        if let Some(p) = password {
            b["current_password"] = json!(p);
        }
        b
    };
    let missing = s.post("/v1/tokens", &session, body(None)).await;
    assert_eq!(
        missing.problem(StatusCode::UNPROCESSABLE_ENTITY).fields(),
        ["current_password"]
    );
    let empty = s.post("/v1/tokens", &session, body(Some(""))).await;
    assert_eq!(
        empty.problem(StatusCode::UNPROCESSABLE_ENTITY).fields(),
        ["current_password"]
    );
    let wrong = s
        .post(
            "/v1/tokens",
            &session,
            body(Some("a guess at the password")),
        )
        .await;
    wrong.problem(StatusCode::FORBIDDEN);
    assert!(!wrong.text.contains("a guess"), "{}", wrong.text);
    assert_eq!(
        s.get("/v1/tokens", &session).await.body["tokens"],
        json!([]),
        "nothing was minted"
    );
    // Each wrong password counts toward the account's back-off, as at login: the fifth
    // failure locks the account, and then even the right password waits.
    for _ in 0..4 {
        s.post("/v1/tokens", &session, body(Some("another guess here")))
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    s.post("/v1/tokens", &session, body(Some(PASSWORD)))
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        s.login("gwen", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // And each is in the account's audit log as a failed mint, the refused one too.
    let log = s.get("/v1/audit?limit=50", &session).await;
    let failed = log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "token.mint" && e["outcome"] == "failed")
        .count();
    assert_eq!(failed, 6, "{}", log.text);
    // Once the back-off has passed, the right password mints.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = s.post("/v1/tokens", &session, body(Some(PASSWORD))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn tokens_are_confined_to_their_scope_and_permissions() {
    let s = TestServer::start().await;
    let a = s.signup("frank").await;
    let session = s.session("frank", PASSWORD).await;
    let other_vault = s.create_vault(&session, "work").await;
    let (_, reader) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (_, writer) = s
        .mint(&session, json!([a.vault]), json!(["read", "write"]))
        .await;
    let (_, everything) = s.mint(&session, json!("*"), json!(["read", "write"])).await;
    let (reader, writer, everything) = (
        Auth::Token(reader),
        Auth::Token(writer),
        Auth::Token(everything),
    );

    // Read-only in scope: writing is 403. Outside scope: 404 before any permission question.
    s.post(
        &format!("/v1/vaults/{}/items", a.vault),
        &reader,
        json!({"name": "x", "value": 1}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    s.post(
        &format!("/v1/vaults/{other_vault}/items"),
        &reader,
        json!({"name": "x", "value": 1}),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    s.get(&format!("/v1/vaults/{other_vault}/items"), &writer)
        .await
        .problem(StatusCode::NOT_FOUND);
    let id = s
        .create_item(&writer, &a.vault, "from a script", json!({"ok": true}))
        .await;
    assert_eq!(
        s.get(&format!("/v1/vaults/{}/items/{id}", a.vault), &reader)
            .await
            .body["value"]["ok"],
        true
    );

    // Tokens list only their vaults; the "*" token reaches a vault created after it.
    let listed = s.get("/v1/vaults", &reader).await;
    assert_eq!(listed.body["vaults"].as_array().unwrap().len(), 1);
    let later = s.create_vault(&session, "later").await;
    s.create_item(&everything, &later, "new", json!(2)).await;
    assert_eq!(
        s.get("/v1/vaults", &everything).await.body["vaults"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Session-only routes refuse every token; a token never mints a token.
    for token in [&reader, &writer, &everything] {
        s.post(
            "/v1/tokens",
            token,
            json!({"name": "t", "vaults": "*", "permissions": ["read"]}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
        s.get("/v1/tokens", token)
            .await
            .problem(StatusCode::FORBIDDEN);
        s.post("/v1/vaults", token, json!({"name": "v"}))
            .await
            .problem(StatusCode::FORBIDDEN);
        s.get("/v1/audit", token)
            .await
            .problem(StatusCode::FORBIDDEN);
        s.post(
            "/v1/password",
            token,
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn credentials_fail_with_one_indistinguishable_401() {
    let s = TestServer::start().await;
    let a = s.signup("grace").await;
    let session = s.session("grace", PASSWORD).await;
    let (_, token) = s.mint(&session, json!("*"), json!(["read"])).await;
    let path = format!("/v1/vaults/{}/items", a.vault);
    let mut texts = Vec::new();
    let mut typo = token.clone();
    typo.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
    for auth in [
        Auth::None,
        Auth::Token("kst_nonsense".into()),
        Auth::Token(typo),
        Auth::Token(common_token_with_wrong_secret(&token)),
    ] {
        let r = s.get(&path, &auth).await;
        r.problem(StatusCode::UNAUTHORIZED);
        texts.push(r.text);
    }
    let unknown_user = s.login("nobody-here", PASSWORD).await;
    let wrong_password = s.login("grace", "wrong password but long").await;
    unknown_user.problem(StatusCode::UNAUTHORIZED);
    wrong_password.problem(StatusCode::UNAUTHORIZED);
    texts.push(unknown_user.text);
    texts.push(wrong_password.text);
    assert!(texts.windows(2).all(|w| w[0] == w[1]), "{texts:#?}");
}

/// A syntactically valid token with the right id and the wrong secret.
fn common_token_with_wrong_secret(token: &str) -> String {
    let parsed = keyslot_crypto::TokenCredential::parse(token).unwrap();
    keyslot_crypto::TokenCredential::from_parts(*parsed.id(), [0x5a; 32])
        .expose_text()
        .to_string()
}

#[tokio::test]
async fn sessions_end_after_idle_time_and_at_their_absolute_expiry() {
    let idle = TestServer::start_with(|c| c.core.session_idle_secs = 2).await;
    idle.signup("hank").await;
    let session = idle.session("hank", PASSWORD).await;
    assert_eq!(idle.get("/v1/me", &session).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    idle.get("/v1/me", &session)
        .await
        .problem(StatusCode::UNAUTHORIZED);

    let absolute = TestServer::start_with(|c| c.core.session_absolute_secs = 3).await;
    absolute.signup("iris").await;
    let session = absolute.session("iris", PASSWORD).await;
    assert!(session.session().set_cookie.contains("Max-Age=3"));
    for _ in 0..3 {
        // Activity does not extend the absolute expiry.
        assert_eq!(
            absolute.get("/v1/me", &session).await.status,
            StatusCode::OK
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_millis(2300)).await;
    absolute
        .get("/v1/me", &session)
        .await
        .problem(StatusCode::UNAUTHORIZED);
}
