//! Dead credentials take their keys with them: an expired token's and a timed-out
//! session's rows are deleted by the sweeper, and their bytes survive in none of the
//! database's files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Auth, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row as _;

/// Whether `needle` occurs anywhere in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_and_sessions_are_swept_with_their_bytes() {
    let s = TestServer::start_with(|c| {
        c.core.session_absolute_secs = 2;
        c.core.sweep_interval_secs = 1;
    })
    .await;
    let a = s.signup("sweep").await;
    let session = s.session("sweep", PASSWORD).await;
    let minted = s
        .post(
            "/v1/tokens",
            &session,
            json!({"name": "short", "vaults": [a.vault], "permissions": ["read"],
                   "expires_in_seconds": 1, "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(minted.status, StatusCode::CREATED, "{:?}", minted.body);
    let token = Auth::Token(minted.str("token"));

    // What an attacker holding the secrets would look for: the rows' key material.
    let db = s.db().await;
    let mut secrets: Vec<Vec<u8>> = Vec::new();
    for row in sqlx::query(
        "SELECT verifier, wrapped_vault_key FROM tokens JOIN token_vault_slots ON token_id = id",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    {
        secrets.push(row.get("verifier"));
        secrets.push(row.get("wrapped_vault_key"));
    }
    for row in sqlx::query("SELECT verifier, wrapped_user_key FROM sessions")
        .fetch_all(&db)
        .await
        .unwrap()
    {
        secrets.push(row.get("verifier"));
        secrets.push(row.get("wrapped_user_key"));
    }
    db.close().await;
    assert_eq!(secrets.len(), 4, "one token with one slot, one session");

    // Past their end: both are refused at once, and the sweeper deletes their rows.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let path = format!("/v1/vaults/{}/items", a.vault);
    assert_eq!(s.get(&path, &token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.get(&path, &session).await.status,
        StatusCode::UNAUTHORIZED
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let db = s.db().await;
        let left: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM tokens) + (SELECT COUNT(*) FROM token_vault_slots) + (SELECT COUNT(*) FROM sessions)",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        db.close().await;
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} rows of ended credentials left"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The sweep's checkpoint runs right after its delete; give it a moment, then look at
    // every file of the database for the deleted bytes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for file in ["keyslot.db", "keyslot.db-wal", "keyslot.db-shm"] {
        let Ok(bytes) = std::fs::read(s.data_dir.join(file)) else {
            continue;
        };
        for secret in &secrets {
            assert!(
                !contains(&bytes, secret),
                "{file} still holds {} bytes of an ended credential",
                secret.len()
            );
        }
    }
}
