//! A public key copied into another holder's row is refused before anything is sealed to
//! it (issue 15): whoever can write one row must not redirect the next rotation's grant
//! to a key they hold. On SQLite and on PostgreSQL (when `KEYSLOT_TEST_DATABASE_URL` is
//! set; always in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

/// Run one statement with two id arguments against the server's database.
async fn tamper(s: &TestServer, url: Option<&str>, sql: &str, a: &[u8], b: &[u8]) {
    match url {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(a)
                .bind(b)
                .execute(&pool)
                .await
                .unwrap();
            assert_eq!(done.rows_affected(), 1);
        }
        None => {
            let pool = s.db().await;
            let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(a)
                .bind(b)
                .execute(&pool)
                .await
                .unwrap();
            assert_eq!(done.rows_affected(), 1);
        }
    }
}

fn id_bytes(text: &str) -> Vec<u8> {
    text.parse::<keyslot_crypto::Id>()
        .unwrap()
        .as_bytes()
        .to_vec()
}

async fn a_public_key_copied_into_another_row_is_refused(postgres: bool) {
    let url = if postgres {
        let Some(url) = keyslot_store_tests::postgres::fresh_database_url("public key mac").await
        else {
            return;
        };
        Some(url)
    } else {
        None
    };
    let s = TestServer::start_with(|c| c.database_url = url.clone()).await;
    let a = s.signup("xena").await;
    let session = s.session("xena", PASSWORD).await;
    let (attacker, _) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (victim, victim_secret) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    // The attacker's token's public key, copied into the victim's row.
    tamper(
        &s,
        url.as_deref(),
        "UPDATE tokens SET x25519_public = (SELECT x25519_public FROM tokens WHERE id = $1) WHERE id = $2",
        &id_bytes(&attacker),
        &id_bytes(&victim),
    )
    .await;
    let rotate = format!("/v1/vaults/{}/rotate", a.vault);
    let r = s.post(&rotate, &session, json!({})).await;
    r.problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        !r.text.contains("x25519") && !r.text.contains(&victim),
        "no internals in the answer: {}",
        r.text
    );
    // Nothing was sealed and nothing moved: still version 1, and the victim still reads.
    let state = s.get(&format!("/v1/vaults/{}", a.vault), &session).await;
    assert_eq!(state.body["key_version"], 1, "{}", state.text);
    let item = s.create_item(&session, &a.vault, "x", json!(1)).await;
    let r = s
        .get(
            &format!("/v1/vaults/{}/items/{item}", a.vault),
            &Auth::Token(victim_secret.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The refusal is in the owner's audit log.
    let audit = s.get("/v1/audit?action=key.public_key_mac", &session).await;
    let events = audit.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", audit.text);
    assert_eq!(events[0]["outcome"], "failed");

    // With the row put back, the rotation runs and the victim reads through its grant.
    tamper(
        &s,
        url.as_deref(),
        "UPDATE tokens SET x25519_public = $1 WHERE id = $2",
        &victim_public_key(&victim_secret),
        &id_bytes(&victim),
    )
    .await;
    let r = s.post(&rotate, &session, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let after = s.create_item(&session, &a.vault, "y", json!(2)).await;
    let r = s
        .get(
            &format!("/v1/vaults/{}/items/{after}", a.vault),
            &Auth::Token(victim_secret),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

fn victim_public_key(secret: &str) -> Vec<u8> {
    let token = keyslot_crypto::TokenCredential::parse(secret).unwrap();
    keyslot_crypto::TokenKeyPair::derive(&token)
        .public_key()
        .as_bytes()
        .to_vec()
}

#[tokio::test]
async fn a_public_key_copied_into_another_row_is_refused_sqlite() {
    a_public_key_copied_into_another_row_is_refused(false).await;
}

#[tokio::test]
async fn a_public_key_copied_into_another_row_is_refused_postgres() {
    a_public_key_copied_into_another_row_is_refused(true).await;
}
