//! The re-wrap after a rotation: items under older key versions move to the newest in
//! bounded batches, advanced by rotations and writes, resumable, and readable all along;
//! once nothing is under an older version, the chain links are gone. On SQLite and on
//! PostgreSQL (when `KEYSLOT_TEST_DATABASE_URL` is set; always in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{Auth, PASSWORD, TestServer};
use keyslot_core::Store;
use keyslot_core::keystore::Holder;
use keyslot_crypto::Id;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BATCH: u32 = 2;

async fn server(postgres: bool) -> Option<(TestServer, Arc<dyn Store>)> {
    common::with_store(postgres, "rewrap", |c| c.core.rewrap_batch = BATCH).await
}

/// Key versions of the vault's items, as stored, in item order.
async fn versions(store: &dyn Store, owner: &Id, vault: &Id) -> Vec<u32> {
    store
        .items(owner, vault)
        .await
        .unwrap()
        .iter()
        .map(|i| i.key_version)
        .collect()
}

async fn value(s: &TestServer, auth: &Auth, vault: &str, item: &str) -> Value {
    let r = s
        .get(&format!("/v1/vaults/{vault}/items/{item}"), auth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["value"].clone()
}

async fn rewrap_moves_items_in_batches_until_none_is_left(postgres: bool) {
    let Some((s, store)) = server(postgres).await else {
        return;
    };
    let a = s.signup("zora").await;
    let (owner, vault) = (
        a.user_id.parse::<Id>().unwrap(),
        a.vault.parse::<Id>().unwrap(),
    );
    let session = s.session("zora", PASSWORD).await;
    let (_, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let token = Auth::Token(token);
    let mut items = Vec::new();
    for n in 0..5 {
        items.push(
            s.create_item(&session, &a.vault, &format!("i{n}"), json!(n))
                .await,
        );
    }
    assert_eq!(versions(store.as_ref(), &owner, &vault).await, vec![1; 5]);

    // The rotation moves its first batch; the rest waits, readable through the chain.
    let rotate = format!("/v1/vaults/{}/rotate", a.vault);
    assert_eq!(
        s.post(&rotate, &session, json!({})).await.body["key_version"],
        2
    );
    let moved = |v: &[u32]| v.iter().filter(|k| **k == 2).count();
    // The rotation answers first and moves its first batch right after.
    let mut first_batch = 0;
    for _ in 0..200 {
        first_batch = moved(&versions(store.as_ref(), &owner, &vault).await);
        if first_batch != 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(
        first_batch, 2,
        "one batch of {BATCH} moved after the rotation"
    );
    let state = s.get(&format!("/v1/vaults/{}", a.vault), &session).await;
    assert_eq!(state.body["rewrap_pending"], true);
    for (n, item) in items.iter().enumerate() {
        assert_eq!(value(&s, &token, &a.vault, item).await, json!(n));
    }

    // Each write advances it by a batch (this one is the sixth item, under version 2).
    items.push(s.create_item(&session, &a.vault, "i5", json!(5)).await);
    assert_eq!(moved(&versions(store.as_ref(), &owner, &vault).await), 5);
    assert!(
        !store.chain_links(&vault, 2, 1).await.unwrap().is_empty(),
        "one item still needs the link"
    );
    let r = s
        .put(
            &format!("/v1/vaults/{}/items/{}", a.vault, items[0]),
            &session,
            json!({"name": "i0", "value": "changed"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(versions(store.as_ref(), &owner, &vault).await, vec![2; 6]);
    let state = s.get(&format!("/v1/vaults/{}", a.vault), &session).await;
    assert_eq!(state.body["rewrap_pending"], false);
    assert!(
        store.chain_links(&vault, 2, 1).await.unwrap().is_empty(),
        "nothing is under version 1: the link to it is gone"
    );
    // Every item reads as written, by the session and by the token.
    assert_eq!(
        value(&s, &session, &a.vault, &items[0]).await,
        json!("changed")
    );
    for (n, item) in items.iter().enumerate().skip(1) {
        assert_eq!(value(&s, &session, &a.vault, item).await, json!(n));
        assert_eq!(value(&s, &token, &a.vault, item).await, json!(n));
    }
    let listed = s
        .get(&format!("/v1/vaults/{}/items", a.vault), &token)
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 6);
    let member = store
        .vault_access(&owner, &vault, Holder::User(owner))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.state.key_version, 2);
}

#[tokio::test]
async fn rewrap_moves_items_in_batches_until_none_is_left_sqlite() {
    rewrap_moves_items_in_batches_until_none_is_left(false).await;
}

#[tokio::test]
async fn rewrap_moves_items_in_batches_until_none_is_left_postgres() {
    rewrap_moves_items_in_batches_until_none_is_left(true).await;
}
