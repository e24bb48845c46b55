//! Helpers of the user-key rotation tests (`user_key_rotation.rs`,
//! `user_key_rotation_due.rs`): a server with its store (and the PostgreSQL URL, for plain
//! SQL), reads, and the rotation request.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use keyslot_core::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, Auth, TestServer};

pub async fn server(postgres: bool, name: &str) -> Option<(TestServer, Arc<dyn Store>)> {
    common::with_store(postgres, name, |_| {}).await
}

/// A server and its store, and the PostgreSQL URL when on PostgreSQL (for plain SQL).
pub async fn server_with_url(
    postgres: bool,
    name: &str,
) -> Option<(TestServer, Arc<dyn Store>, Option<String>)> {
    let url = if postgres {
        Some(keyslot_store_tests::postgres::fresh_database_url(name).await?)
    } else {
        None
    };
    let s = TestServer::start_with(|c| c.database_url = url.clone()).await;
    let path = s.data_dir.join("keyslot.db").display().to_string();
    let store = keyslot_store::open(
        url.as_deref().unwrap_or(&path),
        keyslot_store::Schema::Existing,
    )
    .await
    .unwrap();
    Some((s, Arc::new(store), url))
}

/// Run `sql` (one `$1`: the user's id) on the server's database, as plain SQL: what the
/// sweeper would do, or a row from before a migration. Returns the rows it touched.
pub async fn exec_for_user(s: &TestServer, postgres: Option<&str>, sql: &str, user: &str) -> u64 {
    let id: keyslot_crypto::Id = user.parse().unwrap();
    match postgres {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .bind(id.as_bytes().as_slice())
                .execute(&pool)
                .await;
            done.unwrap().rows_affected()
        }
        None => {
            let pool = s.db().await;
            let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .bind(id.as_bytes().as_slice())
                .execute(&pool)
                .await;
            done.unwrap().rows_affected()
        }
    }
}

pub async fn key_version(s: &TestServer, auth: &Auth, vault: &str) -> u64 {
    let r = s.get(&format!("/v1/vaults/{vault}"), auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["key_version"].as_u64().unwrap()
}

pub async fn read(s: &TestServer, auth: &Auth, vault: &str, item: &str) -> Value {
    let r = s
        .get(&format!("/v1/vaults/{vault}/items/{item}"), auth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["value"].clone()
}

pub async fn share(s: &TestServer, owner: &Auth, vault: &str, username: &str, role: &str) {
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/members"),
            owner,
            json!({"username": username, "role": role}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

pub async fn rotate(s: &TestServer, auth: &Auth, body: Value) -> common::Reply {
    s.post("/v1/keys/rotate", auth, body).await
}

/// Run `sql` with `binds` (byte strings, `$1`, `$2`, …) on the server's database, as
/// plain SQL; the rows it touched.
pub async fn exec(s: &TestServer, postgres: Option<&str>, sql: &str, binds: &[&[u8]]) -> u64 {
    match postgres {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
            for b in binds {
                q = q.bind(b.to_vec());
            }
            q.execute(&pool).await.unwrap().rows_affected()
        }
        None => {
            let pool = s.db().await;
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
            for b in binds {
                q = q.bind(b.to_vec());
            }
            q.execute(&pool).await.unwrap().rows_affected()
        }
    }
}
