//! User-key rotation, `POST /v1/keys/rotate` (issue 15, DESIGN §3.1), on SQLite and on
//! PostgreSQL (when `KEYSLOT_TEST_DATABASE_URL` is set; always in CI).
//!
//! What a user would notice: after a rotation everything still opens — with the password,
//! the recovery code they already hold, their tokens, their own and shared vaults — every
//! other session is signed out and the calling one keeps working; a wrong password changes
//! nothing. What an attacker would try is in
//! `keyslot-cli/tests/user_key_rotation_attacker.rs`; the rotation at login and the
//! recovery slot from before public keys in `user_key_rotation_due.rs`; the web forms here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "user_keys_support/mod.rs"]
mod user_keys_support;

use common::{Auth, NEW_PASSWORD, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use user_keys_support::{key_version, read, rotate, server, share};

async fn everything_still_opens_after_a_rotation(postgres: bool) {
    let Some((s, store)) = server(postgres, "ukr_opens").await else {
        return;
    };
    let alice = s.signup("alice").await;
    let bob = s.signup("bob").await;
    let caller = s.session("alice", PASSWORD).await;
    let other = s.session("alice", PASSWORD).await;
    let bob_session = s.session("bob", PASSWORD).await;
    let mine = s
        .create_item(&caller, &alice.vault, "mine", json!("m1"))
        .await;
    // Bob shares a vault; alice has not used it yet, so its grant is still pending to
    // her old public key when she rotates.
    let shared_item = s
        .create_item(&bob_session, &bob.vault, "shared", json!("s1"))
        .await;
    share(&s, &bob_session, &bob.vault, "alice", "read").await;
    let (_, scoped) = s
        .mint(&caller, json!([alice.vault]), json!(["read", "write"]))
        .await;
    let scoped = Auth::Token(scoped);
    let (_, all) = s.mint(&caller, json!("*"), json!(["read", "write"])).await;
    let all = Auth::Token(all);
    let (own_before, shared_before) = (
        key_version(&s, &caller, &alice.vault).await,
        key_version(&s, &bob_session, &bob.vault).await,
    );
    let user = alice.user_id.parse().unwrap();
    let public_before = store.user(&user).await.unwrap().unwrap().x25519_public;

    let r = rotate(&s, &caller, json!({"current_password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["vaults_rotated"], 2, "her vault and the shared one");
    assert_eq!(r.body["vaults_due"], 0);
    assert_eq!(r.body["sessions_ended"], 1);
    assert_eq!(r.body["tokens_revoked"], 0);
    assert!(
        r.body.get("recovery_code").is_none(),
        "the code from sign-up has a public key: it keeps working ({})",
        r.text
    );

    // A new key pair, and every vault's key moved on, the shared one included.
    let public_after = store.user(&user).await.unwrap().unwrap().x25519_public;
    assert_ne!(public_before, public_after);
    assert_eq!(key_version(&s, &caller, &alice.vault).await, own_before + 1);
    assert_eq!(
        key_version(&s, &bob_session, &bob.vault).await,
        shared_before + 1
    );
    // The calling session works; the other one is signed out.
    assert_eq!(read(&s, &caller, &alice.vault, &mine).await, json!("m1"));
    assert_eq!(
        read(&s, &caller, &bob.vault, &shared_item).await,
        json!("s1")
    );
    s.get("/v1/me", &other)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // The token reads old items and writes new ones, which the session reads.
    assert_eq!(read(&s, &scoped, &alice.vault, &mine).await, json!("m1"));
    let later = s
        .create_item(&scoped, &alice.vault, "later", json!("l1"))
        .await;
    assert_eq!(read(&s, &caller, &alice.vault, &later).await, json!("l1"));
    // The "*" token reaches both vaults, old items and new.
    assert_eq!(read(&s, &all, &alice.vault, &later).await, json!("l1"));
    assert_eq!(read(&s, &all, &bob.vault, &shared_item).await, json!("s1"));
    let by_all = s
        .create_item(&all, &alice.vault, "by all", json!("a1"))
        .await;
    assert_eq!(read(&s, &caller, &alice.vault, &by_all).await, json!("a1"));
    // Token names were under the old user key: still listed.
    let tokens = s.get("/v1/tokens", &caller).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.body["tokens"][0]["name"], "test token");
    assert_eq!(tokens.body["tokens"][1]["name"], "test token");
    // The password opens the new key.
    let fresh = s.session("alice", PASSWORD).await;
    assert_eq!(read(&s, &fresh, &alice.vault, &later).await, json!("l1"));
    assert_eq!(
        read(&s, &fresh, &bob.vault, &shared_item).await,
        json!("s1")
    );
    // Bob is not affected.
    assert_eq!(
        read(&s, &bob_session, &bob.vault, &shared_item).await,
        json!("s1")
    );

    // The recovery code alice already holds opens the new key (through its grant).
    let r = s
        .post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "alice", "recovery_code": alice.recovery_code, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let recovered = s.session("alice", NEW_PASSWORD).await;
    assert_eq!(read(&s, &recovered, &alice.vault, &mine).await, json!("m1"));
    assert_eq!(
        read(&s, &recovered, &alice.vault, &later).await,
        json!("l1")
    );

    // The audit log says what happened.
    let events = s.get("/v1/audit", &recovered).await;
    let actions: Vec<&str> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"user.keys.rotate"), "{actions:?}");
}

#[tokio::test]
async fn everything_still_opens_after_a_rotation_sqlite() {
    everything_still_opens_after_a_rotation(false).await;
}

#[tokio::test]
async fn everything_still_opens_after_a_rotation_postgres() {
    everything_still_opens_after_a_rotation(true).await;
}

async fn a_refused_rotation_changes_nothing(postgres: bool) {
    let Some((s, store)) = server(postgres, "ukr_refused").await else {
        return;
    };
    let alice = s.signup("carol").await;
    let caller = s.session("carol", PASSWORD).await;
    let other = s.session("carol", PASSWORD).await;
    let (_, token) = s.mint(&caller, json!([alice.vault]), json!(["read"])).await;
    let user = alice.user_id.parse().unwrap();
    let public_before = store.user(&user).await.unwrap().unwrap().x25519_public;

    let r = rotate(&s, &caller, json!({})).await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["current_password"]);
    rotate(
        &s,
        &caller,
        json!({"current_password": "not the password at all"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    // A token may not rotate its user's key, even with the password.
    rotate(
        &s,
        &Auth::Token(token),
        json!({"current_password": PASSWORD}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    // Without the CSRF token, a cookie alone does nothing.
    rotate(
        &s,
        &Auth::SessionNoCsrf(caller.session()),
        json!({"current_password": PASSWORD}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);

    assert_eq!(
        store.user(&user).await.unwrap().unwrap().x25519_public,
        public_before
    );
    assert_eq!(key_version(&s, &other, &alice.vault).await, 1);
    // The wrong password was recorded as a failed rotation.
    let events = s.get("/v1/audit", &caller).await;
    let failed = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "user.keys.rotate" && e["outcome"] == "failed");
    assert!(failed, "{}", events.text);
}

#[tokio::test]
async fn a_refused_rotation_changes_nothing_sqlite() {
    a_refused_rotation_changes_nothing(false).await;
}

#[tokio::test]
async fn a_refused_rotation_changes_nothing_postgres() {
    a_refused_rotation_changes_nothing(true).await;
}

async fn revoke_tokens_ends_every_token(postgres: bool) {
    let Some((s, _store)) = server(postgres, "ukr_revoke").await else {
        return;
    };
    let a = s.signup("dora").await;
    let caller = s.session("dora", PASSWORD).await;
    let (_, token) = s.mint(&caller, json!([a.vault]), json!(["read"])).await;
    let token = Auth::Token(token);
    let item = s.create_item(&caller, &a.vault, "x", json!(1)).await;
    assert_eq!(read(&s, &token, &a.vault, &item).await, json!(1));

    let r = rotate(
        &s,
        &caller,
        json!({"current_password": PASSWORD, "revoke_tokens": true}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["tokens_revoked"], 1);
    s.get(&format!("/v1/vaults/{}/items/{item}", a.vault), &token)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(read(&s, &caller, &a.vault, &item).await, json!(1));
}

#[tokio::test]
async fn revoke_tokens_ends_every_token_sqlite() {
    revoke_tokens_ends_every_token(false).await;
}

#[tokio::test]
async fn revoke_tokens_ends_every_token_postgres() {
    revoke_tokens_ends_every_token(true).await;
}

/// The web pages offer it: the password-change form's and the recovery form's "rotate my
/// keys" box.
async fn the_web_forms_offer_a_rotation(postgres: bool) {
    let Some((s, store)) = server(postgres, "ukr_web").await else {
        return;
    };
    let a = s.signup("fay").await;
    let caller = s.session("fay", PASSWORD).await;
    let item = s.create_item(&caller, &a.vault, "kept", json!("k")).await;
    let user: keyslot_crypto::Id = a.user_id.parse().unwrap();
    let public_key = || async { store.user(&user).await.unwrap().unwrap().x25519_public };
    let first = public_key().await;
    let session = caller.session();
    let page = s
        .http
        .post(s.url("/password"))
        .header("cookie", format!("__Host-keyslot={}", session.cookie))
        .form(&[
            ("csrf", session.csrf.as_str()),
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("end_other_sessions", "on"),
            ("rotate_keys", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.unwrap();
    assert!(text.contains("Your keys are rotated"), "{text}");
    let second = public_key().await;
    assert_ne!(first, second);
    assert_eq!(key_version(&s, &caller, &a.vault).await, 2);
    assert_eq!(read(&s, &caller, &a.vault, &item).await, json!("k"));

    let page = s
        .http
        .post(s.url("/recover"))
        .form(&[
            ("username", "fay"),
            ("recovery_code", a.recovery_code.as_str()),
            ("new_password", PASSWORD),
            ("rotate_keys", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.unwrap();
    assert!(text.contains("your keys are rotated"), "{text}");
    assert_ne!(public_key().await, second);
    let back = s.session("fay", PASSWORD).await;
    assert_eq!(read(&s, &back, &a.vault, &item).await, json!("k"));
}

#[tokio::test]
async fn the_web_forms_offer_a_rotation_sqlite() {
    the_web_forms_offer_a_rotation(false).await;
}

#[tokio::test]
async fn the_web_forms_offer_a_rotation_postgres() {
    the_web_forms_offer_a_rotation(true).await;
}

/// The JSON routes offer it too: `rotate_keys` on a password change (200 with what the
/// rotation did, instead of 204) and on a recovery (`keys` beside the new code).
async fn password_change_and_recovery_take_rotate_keys(postgres: bool) {
    let Some((s, _store)) = server(postgres, "ukr_json").await else {
        return;
    };
    let a = s.signup("hal").await;
    let caller = s.session("hal", PASSWORD).await;
    let other = s.session("hal", PASSWORD).await;
    let item = s.create_item(&caller, &a.vault, "kept", json!("k")).await;
    let r = s
        .post(
            "/v1/password",
            &caller,
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "rotate_keys": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["vaults_rotated"], 1, "{}", r.text);
    s.get("/v1/me", &other)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(key_version(&s, &caller, &a.vault).await, 2);
    assert_eq!(read(&s, &caller, &a.vault, &item).await, json!("k"));
    // Without it, a password change still answers 204 and rotates nothing.
    let r = s
        .post(
            "/v1/password",
            &caller,
            json!({"current_password": NEW_PASSWORD, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(key_version(&s, &caller, &a.vault).await, 2);

    let r = s
        .post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "hal", "recovery_code": a.recovery_code, "new_password": NEW_PASSWORD, "rotate_keys": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["keys"]["vaults_due"], 1, "{}", r.text);
    assert!(r.body["keys"].get("recovery_code").is_none(), "{}", r.text);
    let code = r.str("recovery_code");
    let back = s.session("hal", NEW_PASSWORD).await;
    assert_eq!(read(&s, &back, &a.vault, &item).await, json!("k"));
    // The code the recovery just gave keeps working after the rotation that followed it.
    let r = s
        .post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "hal", "recovery_code": code, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let again = s.session("hal", PASSWORD).await;
    assert_eq!(read(&s, &again, &a.vault, &item).await, json!("k"));
}

#[tokio::test]
async fn password_change_and_recovery_take_rotate_keys_sqlite() {
    password_change_and_recovery_take_rotate_keys(false).await;
}

#[tokio::test]
async fn password_change_and_recovery_take_rotate_keys_postgres() {
    password_change_and_recovery_take_rotate_keys(true).await;
}
