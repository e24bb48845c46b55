//! User-key rotation, `POST /v1/keys/rotate` (issue 15, DESIGN §3.1), on SQLite and on
//! PostgreSQL (when `KEYSLOT_TEST_DATABASE_URL` is set; always in CI).
//!
//! What a user would notice: after a rotation everything still opens — with the password,
//! the recovery code they already hold, their tokens, their own and shared vaults — every
//! other session is signed out and the calling one keeps working; a wrong password changes
//! nothing. What an attacker would try is in `user_key_rotation_attacker.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{Auth, NEW_PASSWORD, PASSWORD, TestServer};
use keyslot_core::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn server(postgres: bool, name: &str) -> Option<(TestServer, Arc<dyn Store>)> {
    common::with_store(postgres, name, |_| {}).await
}

/// Mark `user`'s key as due to rotate, as the sweeper or a revoked legacy `"*"` token
/// would, with plain SQL on the server's database.
async fn mark_user_key_due(s: &TestServer, postgres: Option<&str>, user: &str) {
    let id: keyslot_crypto::Id = user.parse().unwrap();
    let sql = "UPDATE users SET user_key_rotation_due_at = 1 WHERE id = $1";
    let touched = match postgres {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let done = sqlx::query(sql)
                .bind(id.as_bytes().as_slice())
                .execute(&pool)
                .await;
            done.unwrap().rows_affected()
        }
        None => {
            let pool = s.db().await;
            let done = sqlx::query(sql)
                .bind(id.as_bytes().as_slice())
                .execute(&pool)
                .await;
            done.unwrap().rows_affected()
        }
    };
    assert_eq!(touched, 1);
}

async fn key_version(s: &TestServer, auth: &Auth, vault: &str) -> u64 {
    let r = s.get(&format!("/v1/vaults/{vault}"), auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["key_version"].as_u64().unwrap()
}

async fn read(s: &TestServer, auth: &Auth, vault: &str, item: &str) -> Value {
    let r = s
        .get(&format!("/v1/vaults/{vault}/items/{item}"), auth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["value"].clone()
}

async fn share(s: &TestServer, owner: &Auth, vault: &str, username: &str, role: &str) {
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/members"),
            owner,
            json!({"username": username, "role": role}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

async fn rotate(s: &TestServer, auth: &Auth, body: Value) -> common::Reply {
    s.post("/v1/keys/rotate", auth, body).await
}

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

async fn a_due_rotation_runs_at_login(postgres: bool) {
    let url = if postgres {
        let Some(url) = keyslot_store_tests::postgres::fresh_database_url("ukr_login").await else {
            return;
        };
        Some(url)
    } else {
        None
    };
    let s = TestServer::start_with(|c| c.database_url = url.clone()).await;
    let store: Arc<dyn Store> = Arc::new(
        keyslot_store::open(
            url.as_deref()
                .unwrap_or(&s.data_dir.join("keyslot.db").display().to_string()),
            keyslot_store::Schema::Existing,
        )
        .await
        .unwrap(),
    );
    let a = s.signup("erin").await;
    let before = s.session("erin", PASSWORD).await;
    let item = s.create_item(&before, &a.vault, "kept", json!("k")).await;
    let user: keyslot_crypto::Id = a.user_id.parse().unwrap();
    let public_before = store.user(&user).await.unwrap().unwrap().x25519_public;
    let now = i64::MAX / 2;
    assert!(!store.user_key_rotation_due(&user, now).await.unwrap());
    mark_user_key_due(&s, url.as_deref(), &a.user_id).await;
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
