//! `"*"` tokens hold a slot per vault, never the user key (issue 15, DESIGN §3.1), on
//! SQLite and on PostgreSQL (when `KEYSLOT_TEST_DATABASE_URL` is set; always in CI):
//! a `"*"` token reaches vaults created after it and vaults shared with its user later;
//! revoking it rotates every vault it held; no row of it wraps the user key; and a `"*"`
//! token of the first schema (which wrapped the user key) is converted to slots at its
//! first use, while its end makes the user key's rotation due.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{Auth, PASSWORD, TestServer};
use keyslot_core::Store;
use keyslot_crypto::{Envelope, Id, SessionCredential, TokenCredential};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Raw SQL on the server's database, as someone holding it (or an older version of
/// Keyslot) would write rows.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn execute(&self, sql: &'static str, binds: Vec<Vec<u8>>) {
        match self {
            Self::Sqlite(pool) => {
                let mut q = sqlx::query(sql);
                for b in binds {
                    q = q.bind(b);
                }
                q.execute(pool).await.unwrap();
            }
            Self::Postgres(pool) => {
                let mut q = sqlx::query(sql);
                for b in binds {
                    q = q.bind(b);
                }
                q.execute(pool).await.unwrap();
            }
        }
    }
}

/// A server on SQLite or a fresh PostgreSQL database, the store beside it, and a raw
/// connection to the same database.
async fn server(postgres: bool) -> Option<(TestServer, Arc<dyn Store>, Raw)> {
    let url = if postgres {
        Some(keyslot_store_tests::postgres::fresh_database_url("star_tokens").await?)
    } else {
        None
    };
    let s = TestServer::start_with(|c| c.database_url = url.clone()).await;
    let (store_url, raw) = match url {
        Some(url) => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            (url, Raw::Postgres(pool))
        }
        None => {
            let path = s.data_dir.join("keyslot.db").display().to_string();
            (path, Raw::Sqlite(s.db().await))
        }
    };
    let store = keyslot_store::open(&store_url, keyslot_store::Schema::Existing)
        .await
        .unwrap();
    Some((s, Arc::new(store), raw))
}

fn id(text: &str) -> Id {
    text.parse().unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

async fn key_version(s: &TestServer, auth: &Auth, vault: &str) -> u64 {
    let r = s.get(&format!("/v1/vaults/{vault}"), auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["key_version"].as_u64().unwrap()
}

async fn read(s: &TestServer, auth: &Auth, vault: &str, item: &str) -> (StatusCode, Value) {
    let r = s
        .get(&format!("/v1/vaults/{vault}/items/{item}"), auth)
        .await;
    (r.status, r.body["value"].clone())
}

async fn listed_vaults(s: &TestServer, auth: &Auth) -> Vec<String> {
    let r = s.get("/v1/vaults", auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut ids: Vec<String> = r.body["vaults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn later_vaults_and_shares_then_revocation(postgres: bool) {
    let Some((s, store, _raw)) = server(postgres).await else {
        return;
    };
    let a = s.signup("alice").await;
    let b = s.signup("bob").await;
    let alice = s.session("alice", PASSWORD).await;
    let bob = s.session("bob", PASSWORD).await;
    let first = s.create_item(&alice, &a.vault, "db", json!("first")).await;
    let (token_id, token) = s.mint(&alice, json!("*"), json!(["read", "write"])).await;
    let star = Auth::Token(token);
    let row = store.token(&id(&token_id)).await.unwrap().unwrap();
    assert!(row.all_vaults, "the row says \"*\"");
    assert!(
        row.wrapped_user_key.is_none(),
        "a \"*\" token is minted without the user key"
    );
    assert_eq!(
        read(&s, &star, &a.vault, &first).await,
        (StatusCode::OK, json!("first"))
    );

    // A vault created after the mint, and one bob shares with alice after it.
    let later = s.create_vault(&alice, "Later").await;
    let in_later = s.create_item(&alice, &later, "api", json!("later")).await;
    let shared_item = s.create_item(&bob, &b.vault, "ci", json!("bob's")).await;
    let r = s
        .post(
            &format!("/v1/vaults/{}/members", b.vault),
            &bob,
            json!({"username": "alice", "role": "read"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        read(&s, &star, &later, &in_later).await,
        (StatusCode::OK, json!("later"))
    );
    assert_eq!(
        read(&s, &star, &b.vault, &shared_item).await,
        (StatusCode::OK, json!("bob's"))
    );
    let mut expected = vec![a.vault.clone(), later.clone(), b.vault.clone()];
    expected.sort();
    assert_eq!(listed_vaults(&s, &star).await, expected);
    // Within alice's role: bob's vault is read-only for her, and so for her token.
    let r = s
        .post(
            &format!("/v1/vaults/{}/items", b.vault),
            &star,
            json!({"name": "x", "value": 1}),
        )
        .await;
    r.problem(StatusCode::FORBIDDEN);
    // Writes after the mint are read through the token's own slots, not the user key.
    let newer = s.create_item(&alice, &later, "newer", json!(2)).await;
    assert_eq!(
        read(&s, &star, &later, &newer).await,
        (StatusCode::OK, json!(2))
    );
    assert!(
        store
            .token(&id(&token_id))
            .await
            .unwrap()
            .unwrap()
            .wrapped_user_key
            .is_none()
    );

    // Revoking it (default: rotate) moves the key of every vault it held.
    let before = [
        key_version(&s, &alice, &a.vault).await,
        key_version(&s, &alice, &later).await,
        key_version(&s, &bob, &b.vault).await,
    ];
    let r = s.delete(&format!("/v1/tokens/{token_id}"), &alice).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let after = [
        key_version(&s, &alice, &a.vault).await,
        key_version(&s, &alice, &later).await,
        key_version(&s, &bob, &b.vault).await,
    ];
    for (i, (b, a)) in before.iter().zip(after.iter()).enumerate() {
        assert!(a > b, "vault {i}: key version {b} -> {a}");
    }
    assert_eq!(
        read(&s, &star, &later, &in_later).await.0,
        StatusCode::UNAUTHORIZED
    );
    // A new "*" token's user key is never due for this: none of its tokens held it.
    assert!(
        !store
            .user_key_rotation_due(&id(&a.user_id), now())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_star_token_reaches_later_vaults_and_shares_and_its_revocation_rotates_them_sqlite() {
    later_vaults_and_shares_then_revocation(false).await;
}

#[tokio::test]
async fn a_star_token_reaches_later_vaults_and_shares_and_its_revocation_rotates_them_postgres() {
    later_vaults_and_shares_then_revocation(true).await;
}

/// Turn a freshly minted `"*"` token into one of the first schema: its slots and grants
/// gone, the user key (opened from the session's own slot) wrapped under its key instead.
async fn make_legacy(
    store: &Arc<dyn Store>,
    raw: &Raw,
    session: &Auth,
    user: &Id,
    token_id: &str,
    token: &str,
) {
    let cookie = session.session().cookie;
    let credential = SessionCredential::parse(&cookie).unwrap();
    let slot = store
        .session(credential.id())
        .await
        .unwrap()
        .unwrap()
        .wrapped_user_key;
    let user_key = credential
        .unlock()
        .open_user_key(user, &Envelope::from_bytes(&slot).unwrap())
        .unwrap();
    let wrapped = TokenCredential::parse(token)
        .unwrap()
        .unlock()
        .wrap_user_key(user, &user_key)
        .unwrap()
        .to_bytes();
    let tid = id(token_id).as_bytes().to_vec();
    raw.execute(
        "UPDATE tokens SET wrapped_user_key = $1, held_user_key = TRUE WHERE id = $2",
        vec![wrapped, tid.clone()],
    )
    .await;
    raw.execute(
        "DELETE FROM token_vault_slots WHERE token_id = $1",
        vec![tid.clone()],
    )
    .await;
    raw.execute("DELETE FROM token_grants WHERE token_id = $1", vec![tid])
        .await;
}

async fn legacy_conversion_and_user_key_due(postgres: bool) {
    let Some((s, store, raw)) = server(postgres).await else {
        return;
    };
    let a = s.signup("carol").await;
    let user = id(&a.user_id);
    let carol = s.session("carol", PASSWORD).await;
    let first = s.create_item(&carol, &a.vault, "db", json!("one")).await;
    let second_vault = s.create_vault(&carol, "Second").await;
    let second = s
        .create_item(&carol, &second_vault, "api", json!("two"))
        .await;
    let (token_id, token) = s.mint(&carol, json!("*"), json!(["read"])).await;
    make_legacy(&store, &raw, &carol, &user, &token_id, &token).await;
    let row = store.token(&id(&token_id)).await.unwrap().unwrap();
    assert!(
        row.wrapped_user_key.is_some(),
        "the harness made a legacy row"
    );
    assert!(
        store
            .token_vault_slots(&id(&token_id))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!store.user_key_rotation_due(&user, now()).await.unwrap());

    // First use: converted to a slot per vault, at each vault's current version, and the
    // wrapped user key is gone from its row.
    let legacy = Auth::Token(token);
    assert_eq!(
        read(&s, &legacy, &a.vault, &first).await,
        (StatusCode::OK, json!("one"))
    );
    let row = store.token(&id(&token_id)).await.unwrap().unwrap();
    assert!(row.wrapped_user_key.is_none(), "converted: no user key");
    let mut slots: Vec<(Id, u32)> = store
        .token_vault_slots(&id(&token_id))
        .await
        .unwrap()
        .into_iter()
        .map(|slot| (slot.vault_id, slot.key_version))
        .collect();
    slots.sort_by_key(|(vault, _)| *vault.as_bytes());
    let mut expected = vec![(id(&a.vault), 1), (id(&second_vault), 1)];
    expected.sort_by_key(|(vault, _)| *vault.as_bytes());
    assert_eq!(slots, expected);
    assert_eq!(
        read(&s, &legacy, &second_vault, &second).await,
        (StatusCode::OK, json!("two"))
    );
    // Converted, it still reaches a vault created afterwards, like any "*" token.
    let third = s.create_vault(&carol, "Third").await;
    let in_third = s.create_item(&carol, &third, "x", json!(3)).await;
    assert_eq!(
        read(&s, &legacy, &third, &in_third).await,
        (StatusCode::OK, json!(3))
    );
    assert!(!store.user_key_rotation_due(&user, now()).await.unwrap());

    // Revoking it rotates its vaults and, since old copies of the database give its
    // secret the user key, makes the user key's rotation due.
    let before = key_version(&s, &carol, &a.vault).await;
    let r = s.delete(&format!("/v1/tokens/{token_id}"), &carol).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(key_version(&s, &carol, &a.vault).await > before);
    assert!(store.user_key_rotation_due(&user, now()).await.unwrap());

    // Another user's legacy token whose expiry passes, unswept: due as well.
    let d = s.signup("dave").await;
    let dave_id = id(&d.user_id);
    let dave = s.session("dave", PASSWORD).await;
    let (expiring_id, expiring) = s.mint(&dave, json!("*"), json!(["read"])).await;
    make_legacy(&store, &raw, &dave, &dave_id, &expiring_id, &expiring).await;
    assert!(!store.user_key_rotation_due(&dave_id, now()).await.unwrap());
    raw.execute(
        "UPDATE tokens SET expires_at = 1 WHERE id = $1",
        vec![id(&expiring_id).as_bytes().to_vec()],
    )
    .await;
    assert!(store.user_key_rotation_due(&dave_id, now()).await.unwrap());
    assert_eq!(
        s.get("/v1/vaults", &Auth::Token(expiring)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_legacy_star_token_is_converted_at_first_use_and_its_end_makes_the_user_key_due_sqlite() {
    legacy_conversion_and_user_key_due(false).await;
}

#[tokio::test]
async fn a_legacy_star_token_is_converted_at_first_use_and_its_end_makes_the_user_key_due_postgres()
{
    legacy_conversion_and_user_key_due(true).await;
}
