//! A deposit sealed to its readers survives a reader's user-key rotation (issue 15,
//! DESIGN §3.1), on SQLite and on PostgreSQL (when `KEYSLOT_TEST_DATABASE_URL` is set;
//! always in CI).
//!
//! While a vault's rotation is due, a deposit seals its item key to each reader's own
//! public key. A user-key rotation replaces the user's pair and deletes the old one: a
//! copy still sealed to it would open with nothing. The swap opens every such copy with
//! the old pair and seals it to the new one, in its transaction, like a pending grant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod deposit_raw;

use common::{Auth, PASSWORD};
use deposit_raw::server;
use keyslot_crypto::Id;
use reqwest::StatusCode;
use serde_json::json;

async fn a_deposit_to_the_readers_survives_the_owners_user_key_rotation(postgres: bool) {
    let Some((s, raw)) = server(postgres, |_| {}).await else {
        return;
    };
    let a = s.signup("uma").await;
    let vault: Id = a.vault.parse().unwrap();
    let session = s.session("uma", PASSWORD).await;
    let (leaked, _) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (_, depositor) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    // Revoked without rotating: the vault is due, so the deposit is sealed to the readers.
    let r = s
        .delete(&format!("/v1/tokens/{leaked}?rotate=false"), &session)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = s
        .post(
            &format!("/v1/vaults/{}/items", a.vault),
            &Auth::Token(depositor),
            json!({"name": "dropped", "value": "for uma"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let item = r.str("id");
    let copies = raw.copies(&vault).await;
    assert_eq!(copies.len(), 1, "one copy, sealed to the owner: {copies:?}");
    let before = copies[0].sealed.clone();

    // The owner rotates their user key before anything read the deposit.
    let r = s
        .post(
            "/v1/keys/rotate",
            &session,
            json!({"current_password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let after = raw.copies(&vault).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after[0].sealed, before, "the copy is sealed to the new key");

    // The item appears for the owner, with its value, and stays after it is claimed.
    let listed = s
        .get(&format!("/v1/vaults/{}/items", a.vault), &session)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let names: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dropped"], "{}", listed.text);
    let read = s
        .get(&format!("/v1/vaults/{}/items/{item}", a.vault), &session)
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["value"], json!("for uma"));
    assert!(raw.deposits(&vault).await.is_empty(), "claimed into items");
}

#[tokio::test]
async fn a_deposit_to_the_readers_survives_the_owners_user_key_rotation_sqlite() {
    a_deposit_to_the_readers_survives_the_owners_user_key_rotation(false).await;
}

#[tokio::test]
async fn a_deposit_to_the_readers_survives_the_owners_user_key_rotation_postgres() {
    a_deposit_to_the_readers_survives_the_owners_user_key_rotation(true).await;
}
