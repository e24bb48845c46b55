//! User-key rotation that runs without `POST /v1/keys/rotate` (issue 15, DESIGN §3.1): due
//! at login (a token that held the user key ended), and a recovery slot from before
//! recovery codes had a public key, which gets a new code; a `"*"` token of the first
//! schema not yet converted when the key rotates. On SQLite and on PostgreSQL
//! (when `KEYSLOT_TEST_DATABASE_URL` is set; always in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "user_keys_support/mod.rs"]
mod user_keys_support;

use common::{Auth, NEW_PASSWORD, PASSWORD};
use keyslot_crypto::{Envelope, Id, SessionCredential, TokenCredential};
use reqwest::StatusCode;
use serde_json::json;
use user_keys_support::{exec, exec_for_user, key_version, read, rotate, server_with_url};

async fn a_due_rotation_runs_at_login(postgres: bool) {
    let Some((s, store, url)) = server_with_url(postgres, "ukr_login").await else {
        return;
    };
    let a = s.signup("erin").await;
    let before = s.session("erin", PASSWORD).await;
    let item = s.create_item(&before, &a.vault, "kept", json!("k")).await;
    let user: Id = a.user_id.parse().unwrap();
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

/// A `"*"` token of the first schema (it wraps the user key, holds no slot) that was not
/// converted before the rotation: the old user key it wraps opens nothing afterwards, so
/// the swap gives it empty slots and the rotations seal it the new keys. It keeps working,
/// wraps no user key any more, and its end no longer makes a user-key rotation due.
async fn a_legacy_star_token_keeps_working_after_a_rotation(postgres: bool) {
    let Some((s, store, url)) = server_with_url(postgres, "ukr_legacy").await else {
        return;
    };
    let a = s.signup("ida").await;
    let caller = s.session("ida", PASSWORD).await;
    let second = s.create_vault(&caller, "second").await;
    let first = s.create_item(&caller, &a.vault, "one", json!(1)).await;
    let other = s.create_item(&caller, &second, "two", json!(2)).await;
    let (token_id, token) = s.mint(&caller, json!("*"), json!(["read"])).await;
    let user: Id = a.user_id.parse().unwrap();
    // Make it a token of the first schema: the user key (opened from the session's own
    // slot) wrapped under the token, and no slot or grant.
    let cookie = SessionCredential::parse(&caller.session().cookie).unwrap();
    let slot = store.session(cookie.id()).await.unwrap().unwrap();
    let user_key = cookie
        .unlock()
        .open_user_key(
            &user,
            &Envelope::from_bytes(&slot.wrapped_user_key).unwrap(),
        )
        .unwrap();
    let wrapped = TokenCredential::parse(&token)
        .unwrap()
        .unlock()
        .wrap_user_key(&user, &user_key)
        .unwrap()
        .to_bytes();
    let tid: Id = token_id.parse().unwrap();
    let url = url.as_deref();
    let sql = "UPDATE tokens SET wrapped_user_key = $1, held_user_key = TRUE WHERE id = $2";
    assert_eq!(exec(&s, url, sql, &[&wrapped, tid.as_bytes()]).await, 1);
    for sql in [
        "DELETE FROM token_vault_slots WHERE token_id = $1",
        "DELETE FROM token_grants WHERE token_id = $1",
    ] {
        exec(&s, url, sql, &[tid.as_bytes()]).await;
    }
    let far = i64::MAX / 2;
    assert!(
        store.user_key_rotation_due(&user, far).await.unwrap(),
        "the harness made a token that held the user key"
    );

    let r = rotate(&s, &caller, json!({"current_password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["vaults_rotated"], 2, "{}", r.text);
    let row = store.token(&tid).await.unwrap().unwrap();
    assert!(row.wrapped_user_key.is_none(), "no token wraps a user key");
    assert!(!store.user_key_rotation_due(&user, far).await.unwrap());
    let legacy = Auth::Token(token);
    assert_eq!(read(&s, &legacy, &a.vault, &first).await, json!(1));
    assert_eq!(read(&s, &legacy, &second, &other).await, json!(2));
    assert_eq!(key_version(&s, &caller, &second).await, 2);
}

#[tokio::test]
async fn a_legacy_star_token_keeps_working_after_a_rotation_sqlite() {
    a_legacy_star_token_keeps_working_after_a_rotation(false).await;
}

#[tokio::test]
async fn a_legacy_star_token_keeps_working_after_a_rotation_postgres() {
    a_legacy_star_token_keeps_working_after_a_rotation(true).await;
}

/// A due rotation at login for an account whose recovery slot has no public key (every
/// account from before recovery codes had one): the rotation cannot seal the new key to
/// the old code, so it replaces the code, and the login answer must show the new one,
/// since the old one stops working. A wrong password first changes nothing.
async fn a_login_that_replaces_the_recovery_code_shows_the_new_one(postgres: bool) {
    let Some((s, store, url)) = server_with_url(postgres, "ukr_login_code").await else {
        return;
    };
    let a = s.signup("hal").await;
    let caller = s.session("hal", PASSWORD).await;
    let item = s.create_item(&caller, &a.vault, "kept", json!("k")).await;
    let user: Id = a.user_id.parse().unwrap();
    for sql in [
        "UPDATE recovery_slots SET x25519_public = NULL, x25519_public_mac = NULL WHERE user_id = $1",
        "UPDATE users SET user_key_rotation_due_at = 1 WHERE id = $1",
    ] {
        assert_eq!(exec_for_user(&s, url.as_deref(), sql, &a.user_id).await, 1);
    }
    let far = i64::MAX / 2;

    let wrong = s.login("hal", "not the password at all").await;
    wrong.problem(StatusCode::UNAUTHORIZED);
    assert!(wrong.body.get("recovery_code").is_none());
    assert!(store.user_key_rotation_due(&user, far).await.unwrap());

    let r = s.login("hal", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!store.user_key_rotation_due(&user, far).await.unwrap());
    let code = r.str("recovery_code");
    assert_ne!(code, a.recovery_code);
    let recover = |code: String| {
        s.post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "hal", "recovery_code": code, "new_password": NEW_PASSWORD}),
        )
    };
    recover(a.recovery_code.clone())
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let back = recover(code).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    let session = s.session("hal", NEW_PASSWORD).await;
    assert_eq!(read(&s, &session, &a.vault, &item).await, json!("k"));

    // A login with nothing due answers no code.
    let plain = s.login("hal", NEW_PASSWORD).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text);
    assert!(plain.body.get("recovery_code").is_none(), "{}", plain.text);
}

#[tokio::test]
async fn a_login_that_replaces_the_recovery_code_shows_the_new_one_sqlite() {
    a_login_that_replaces_the_recovery_code_shows_the_new_one(false).await;
}

#[tokio::test]
async fn a_login_that_replaces_the_recovery_code_shows_the_new_one_postgres() {
    a_login_that_replaces_the_recovery_code_shows_the_new_one(true).await;
}

/// A wrong password at a login with a user-key rotation due costs one Argon2 run and is
/// answered exactly as at a login with nothing due (no second run to time, nothing else
/// to tell them apart); the right one still rotates.
async fn a_wrong_password_costs_the_same_whether_a_rotation_is_due(postgres: bool) {
    let Some((s, store, url)) = server_with_url(postgres, "ukr_wrong_cost").await else {
        return;
    };
    let due = s.signup("wade").await;
    s.signup("walt").await;
    let user: Id = due.user_id.parse().unwrap();
    let sql = "UPDATE users SET user_key_rotation_due_at = 1 WHERE id = $1";
    assert_eq!(
        exec_for_user(&s, url.as_deref(), sql, &due.user_id).await,
        1
    );
    let far = i64::MAX / 2;
    let s = &s;
    let wrong = |name: &'static str| async move {
        let before = s.keyslot.argon2_runs();
        let r = s.login(name, "not the password at all").await;
        r.problem(StatusCode::UNAUTHORIZED);
        (s.keyslot.argon2_runs() - before, r.body)
    };
    let (due_runs, due_body) = wrong("wade").await;
    let (plain_runs, plain_body) = wrong("walt").await;
    assert_eq!(
        due_runs, 1,
        "one Argon2 run for a wrong password with a rotation due"
    );
    assert_eq!(plain_runs, 1);
    assert_eq!(due_body, plain_body);
    assert!(store.user_key_rotation_due(&user, far).await.unwrap());
    let r = s.login("wade", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!store.user_key_rotation_due(&user, far).await.unwrap());
}

#[tokio::test]
async fn a_wrong_password_costs_the_same_whether_a_rotation_is_due_sqlite() {
    a_wrong_password_costs_the_same_whether_a_rotation_is_due(false).await;
}

#[tokio::test]
async fn a_wrong_password_costs_the_same_whether_a_rotation_is_due_postgres() {
    a_wrong_password_costs_the_same_whether_a_rotation_is_due(true).await;
}

/// The web login, when the due rotation had to replace the recovery code: the page shows
/// the new code (once, before the vaults) and signs the browser in; the code recovers.
async fn the_web_login_shows_a_replaced_recovery_code(postgres: bool) {
    let Some((s, _store, url)) = server_with_url(postgres, "ukr_web_code").await else {
        return;
    };
    let a = s.signup("vic").await;
    for sql in [
        "UPDATE recovery_slots SET x25519_public = NULL, x25519_public_mac = NULL WHERE user_id = $1",
        "UPDATE users SET user_key_rotation_due_at = 1 WHERE id = $1",
    ] {
        assert_eq!(exec_for_user(&s, url.as_deref(), sql, &a.user_id).await, 1);
    }
    let http = common::http()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .post(s.url("/login"))
        .form(&[("username", "vic"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the code page, not a redirect"
    );
    assert!(page.headers().get("set-cookie").is_some(), "signed in");
    let html = page.text().await.unwrap();
    let code = html
        .split("class=\"recovery\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no recovery code on the page: {html}"))
        .to_owned();
    assert_ne!(code, a.recovery_code);
    assert!(html.contains("action=\"/vaults\""), "{html}");
    let r = s
        .post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "vic", "recovery_code": code, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn the_web_login_shows_a_replaced_recovery_code_sqlite() {
    the_web_login_shows_a_replaced_recovery_code(false).await;
}

#[tokio::test]
async fn the_web_login_shows_a_replaced_recovery_code_postgres() {
    the_web_login_shows_a_replaced_recovery_code(true).await;
}
