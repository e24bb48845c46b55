//! Two instances on one PostgreSQL database (runs when `KEYSLOT_TEST_DATABASE_URL` is set;
//! always in CI): one token with a pending grant used on both at the same moment ends with
//! one slot and two answered reads; writes on one instance racing rotations on the other
//! all commit, each under the version current when it committed, and everything reads
//! back on both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, PASSWORD, TestServer};
use keyslot_core::Store;
use keyslot_core::keystore::Holder;
use keyslot_crypto::Id;
use reqwest::StatusCode;
use serde_json::json;

async fn two_instances() -> Option<(TestServer, TestServer, String)> {
    let url = keyslot_store_tests::postgres::fresh_database_url("rotation instances").await?;
    let a = TestServer::start_with(|c| c.database_url = Some(url.clone())).await;
    let seal = a.data_dir.join("seal.key");
    let b = TestServer::start_with(|c| {
        c.database_url = Some(url.clone());
        c.seal_key_file = Some(seal.clone());
    })
    .await;
    Some((a, b, url))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_pending_grant_used_on_two_instances_at_once_makes_one_slot() {
    let Some((a, b, url)) = two_instances().await else {
        return;
    };
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(
        keyslot_store::open(&url, keyslot_store::Schema::Existing)
            .await
            .unwrap(),
    );
    let acct = a.signup("ada").await;
    let vault: Id = acct.vault.parse().unwrap();
    let session = a.session("ada", PASSWORD).await;
    for round in 0..4 {
        let (token_id, token) = a.mint(&session, json!([acct.vault]), json!(["read"])).await;
        let token_id: Id = token_id.parse().unwrap();
        let token = Auth::Token(token);
        let item = a
            .create_item(&session, &acct.vault, &format!("i{round}"), json!(round))
            .await;
        let r = a
            .post(
                &format!("/v1/vaults/{}/rotate", acct.vault),
                &session,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let version = r.body["key_version"].as_u64().unwrap();
        assert!(
            store
                .newest_grant(Holder::Token(token_id), &vault)
                .await
                .unwrap()
                .is_some(),
            "the token has its grant waiting"
        );
        let path = format!("/v1/vaults/{}/items/{item}", acct.vault);
        let (ra, rb) = tokio::join!(a.get(&path, &token), b.get(&path, &token));
        assert_eq!(ra.status, StatusCode::OK, "{}", ra.text);
        assert_eq!(rb.status, StatusCode::OK, "{}", rb.text);
        assert_eq!(
            (ra.body["value"].clone(), rb.body["value"].clone()),
            (json!(round), json!(round))
        );
        let slot = store
            .token_vault_slot(&token_id, &vault)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            u64::from(slot.key_version),
            version,
            "one slot, at the new version"
        );
        assert!(
            store
                .newest_grant(Holder::Token(token_id), &vault)
                .await
                .unwrap()
                .is_none(),
            "the grant was converted once and is gone"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_on_one_instance_racing_rotations_on_the_other_all_land() {
    let Some((a, b, _url)) = two_instances().await else {
        return;
    };
    let acct = a.signup("bea").await;
    let session = a.session("bea", PASSWORD).await;
    let (_, token) = a
        .mint(&session, json!([acct.vault]), json!(["read", "write"]))
        .await;
    let token = Auth::Token(token);
    let rotate = format!("/v1/vaults/{}/rotate", acct.vault);
    let items_path = format!("/v1/vaults/{}/items", acct.vault);
    let mut written = Vec::new();
    const ROUNDS: u64 = 6;
    for round in 0..ROUNDS {
        let (rotated, wrote) = tokio::join!(
            a.post(&rotate, &session, json!({})),
            b.post(
                &items_path,
                &token,
                json!({"name": format!("w{round}"), "value": round})
            )
        );
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
        assert_eq!(wrote.status, StatusCode::CREATED, "{}", wrote.text);
        written.push((wrote.str("id"), round));
    }
    let state = a.get(&format!("/v1/vaults/{}", acct.vault), &session).await;
    assert_eq!(state.body["key_version"], 1 + ROUNDS);
    for (id, round) in &written {
        let path = format!("{items_path}/{id}");
        for (server, auth) in [(&a, &session), (&b, &token), (&a, &token)] {
            let r = server.get(&path, auth).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(r.body["value"], json!(round));
        }
    }
}
