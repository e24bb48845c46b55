//! User-key rotation that runs without `POST /v1/keys/rotate` (issue 15, DESIGN §3.1): due
//! at login (a token that held the user key ended), and a recovery slot from before
//! recovery codes had a public key, which gets a new code. On SQLite and on PostgreSQL
//! (when `KEYSLOT_TEST_DATABASE_URL` is set; always in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "user_keys_support/mod.rs"]
mod user_keys_support;

use common::{Auth, NEW_PASSWORD, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use user_keys_support::{exec_for_user, key_version, read, rotate, server_with_url};

async fn a_due_rotation_runs_at_login(postgres: bool) {
    let Some((s, store, url)) = server_with_url(postgres, "ukr_login").await else {
        return;
    };
    let a = s.signup("erin").await;
    let before = s.session("erin", PASSWORD).await;
    let item = s.create_item(&before, &a.vault, "kept", json!("k")).await;
    let user: keyslot_crypto::Id = a.user_id.parse().unwrap();
    let public_before = store.user(&user).await.unwrap().unwrap().x25519_public;
    let now = i64::MAX / 2;
    assert!(!store.user_key_rotation_due(&user, now).await.unwrap());
    let marked = exec_for_user(
        &s,
        url.as_deref(),
        "UPDATE users SET user_key_rotation_due_at = 1 WHERE id = $1",
        &a.user_id,
    )
    .await;
    assert_eq!(marked, 1);
    assert!(store.user_key_rotation_due(&user, now).await.unwrap());

    // A wrong password at a login changes nothing: still due.
    s.login("erin", "not the password at all")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert!(store.user_key_rotation_due(&user, now).await.unwrap());
    assert_eq!(
        store.user(&user).await.unwrap().unwrap().x25519_public,
        public_before
    );

    let after = s.session("erin", PASSWORD).await;
    assert!(!store.user_key_rotation_due(&user, now).await.unwrap());
    assert_ne!(
        store.user(&user).await.unwrap().unwrap().x25519_public,
        public_before,
        "the login rotated the user key first"
    );
    // Every session from before signed out; the new one opens everything.
    s.get("/v1/me", &before)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(read(&s, &after, &a.vault, &item).await, json!("k"));
    // The vault rotates at its next write, under the new user key.
    let written = s.create_item(&after, &a.vault, "new", json!("n")).await;
    assert_eq!(key_version(&s, &after, &a.vault).await, 2);
    assert_eq!(read(&s, &after, &a.vault, &written).await, json!("n"));
    // The recovery code still opens the new key.
    let r = s
        .post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "erin", "recovery_code": a.recovery_code, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let recovered = s.session("erin", NEW_PASSWORD).await;
    assert_eq!(read(&s, &recovered, &a.vault, &written).await, json!("n"));
    let events = s.get("/v1/audit", &recovered).await;
    let rotated = events.body["events"].as_array().unwrap().iter().any(|e| {
        e["action"] == "user.keys.rotate"
            && e["actor"] == "password"
            && e["detail"].as_str().unwrap().contains("trigger=due")
    });
    assert!(rotated, "{}", events.text);
}

#[tokio::test]
async fn a_due_rotation_runs_at_login_sqlite() {
    a_due_rotation_runs_at_login(false).await;
}

#[tokio::test]
async fn a_due_rotation_runs_at_login_postgres() {
    a_due_rotation_runs_at_login(true).await;
}

/// A recovery slot from before recovery codes had a public key: the rotation cannot seal
/// the new key to the code, so it issues a new code, once; the old one stops working.
async fn an_old_recovery_slot_gets_a_new_code(postgres: bool) {
    let Some((s, _store, url)) = server_with_url(postgres, "ukr_old_code").await else {
        return;
    };
    let a = s.signup("gus").await;
    let caller = s.session("gus", PASSWORD).await;
    let item = s.create_item(&caller, &a.vault, "kept", json!("k")).await;
    let cleared = exec_for_user(
        &s,
        url.as_deref(),
        "UPDATE recovery_slots SET x25519_public = NULL, x25519_public_mac = NULL WHERE user_id = $1",
        &a.user_id,
    )
    .await;
    assert_eq!(cleared, 1);

    let r = rotate(&s, &caller, json!({"current_password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let code = r.str("recovery_code");
    assert_ne!(code, a.recovery_code);
    let recover = |code: String| {
        s.post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "gus", "recovery_code": code, "new_password": NEW_PASSWORD}),
        )
    };
    recover(a.recovery_code.clone())
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let r = recover(code).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let back = s.session("gus", NEW_PASSWORD).await;
    assert_eq!(read(&s, &back, &a.vault, &item).await, json!("k"));
}

#[tokio::test]
async fn an_old_recovery_slot_gets_a_new_code_sqlite() {
    an_old_recovery_slot_gets_a_new_code(false).await;
}

#[tokio::test]
async fn an_old_recovery_slot_gets_a_new_code_postgres() {
    an_old_recovery_slot_gets_a_new_code(true).await;
}
