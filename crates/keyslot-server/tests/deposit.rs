//! Write-only deposit tokens (issue 15, DESIGN §3.1), on SQLite and on PostgreSQL (when
//! `KEYSLOT_TEST_DATABASE_URL` is set; always in CI).
//!
//! A deposit token creates items in the vaults it names and reads nothing, not even what
//! it wrote. The attacker's test keeps the deposit token's secret and a copy of the rows
//! (read through the store as raw records, opened with `keyslot-crypto` alone, no server):
//! the deposited item does not open with anything that secret derives, while a reader's
//! key from the same copy does open it (so the harness can fail). Deposits while the
//! vault's rotation is due, the claim batch and the deposit rate: `deposit_due.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{Auth, PASSWORD, TestServer};
use keyslot_core::Store;
use keyslot_core::deposit_store::DepositRecord;
use keyslot_core::keystore::Holder;
use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, ItemKey, Purpose, RecipientKind, SealedKey, TokenCredential,
    TokenKeyPair, VaultKey, VaultKeyPair, deposit_aad, open_from,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn server(postgres: bool) -> Option<(TestServer, Arc<dyn Store>)> {
    common::with_store(postgres, "deposit", |_| {}).await
}

fn id(text: &str) -> Id {
    text.parse().unwrap()
}

async fn deposit(s: &TestServer, token: &Auth, vault: &str, name: &str, value: Value) -> String {
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/items"),
            token,
            json!({"name": name, "value": value}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["version"], 1);
    r.str("id")
}

/// The deposits waiting in `vault` that its owner can open (all of them: the owner is a
/// reader of every deposit), as stored.
async fn pending(store: &dyn Store, owner: &Id, vault: &Id) -> Vec<DepositRecord> {
    store
        .pending_deposits(vault, Holder::User(*owner), None, 1000)
        .await
        .unwrap()
}

/// The vault key a read token's slot (in the database copy) opens with its secret.
async fn vault_key_of(store: &dyn Store, secret: &str, owner: &Id, vault: &Id) -> (u32, VaultKey) {
    let token = TokenCredential::parse(secret).unwrap();
    let slot = store
        .token_vault_slot(token.id(), vault)
        .await
        .unwrap()
        .expect("a read token holds a slot");
    let key = token
        .unlock()
        .open_vault_key(
            owner,
            vault,
            slot.key_version,
            &Envelope::from_bytes(&slot.wrapped_vault_key).unwrap(),
        )
        .unwrap();
    (slot.key_version, key)
}

/// Open a deposit row's value with an item key, if the key is the right one.
fn open_value(key: &ItemKey, owner: &Id, d: &DepositRecord) -> Option<Value> {
    let aad = Aad::new(Purpose::ItemValue)
        .user(owner)
        .vault(&d.vault_id)
        .item(&d.id)
        .item_version(1)
        .key_version(d.key_version);
    let plain = key
        .open_content(&aad, &Envelope::from_bytes(&d.value).ok()?)
        .ok()?;
    serde_json::from_slice(&plain).ok()
}

/// What a vault key version's holder gets from a deposit row: its pair opens the item key.
fn open_with_vault_key(
    key: &VaultKey,
    version: u32,
    owner: &Id,
    d: &DepositRecord,
) -> Option<Value> {
    let pair = VaultKeyPair::derive(key, &d.vault_id, version);
    let item_key: ItemKey = open_from(
        &pair,
        &SealedKey::from_bytes(&d.sealed_item_key).ok()?,
        &deposit_aad(owner, &d.vault_id, &d.id, 1, d.key_version),
    )
    .ok()?;
    open_value(&item_key, owner, d)
}

/// Everything the deposit token's secret derives, tried on a deposit row: its X25519
/// pair (as recipient of any kind it can be named as), and its wrap key on every slot the
/// database holds for it.
async fn open_with_deposit_secret(
    store: &dyn Store,
    secret: &str,
    owner: &Id,
    d: &DepositRecord,
) -> Option<Value> {
    let token = TokenCredential::parse(secret).unwrap();
    let pair = TokenKeyPair::derive(&token);
    let sealed = SealedKey::from_bytes(&d.sealed_item_key).ok()?;
    let as_token = deposit_aad(owner, &d.vault_id, &d.id, 1, d.key_version)
        .recipient(RecipientKind::Token, token.id());
    if let Ok(key) = open_from::<ItemKey>(&pair, &sealed, &as_token) {
        return open_value(&key, owner, d);
    }
    if let Some(slot) = store
        .token_vault_slot(token.id(), &d.vault_id)
        .await
        .unwrap()
    {
        let key = token
            .unlock()
            .open_vault_key(
                owner,
                &d.vault_id,
                slot.key_version,
                &Envelope::from_bytes(&slot.wrapped_vault_key).unwrap(),
            )
            .ok()?;
        return open_with_vault_key(&key, slot.key_version, owner, d);
    }
    None
}

async fn a_deposit_token_writes_and_reads_nothing(postgres: bool) {
    let Some((s, store)) = server(postgres).await else {
        return;
    };
    let a = s.signup("dora").await;
    let session = s.session("dora", PASSWORD).await;
    let other_vault = s.create_vault(&session, "Other").await;
    let written = s.create_item(&session, &a.vault, "mine", json!("m")).await;

    // Minting: ["deposit"] alone, listed vaults only.
    for (vaults, permissions, field) in [
        (json!([a.vault]), json!(["deposit", "read"]), "permissions"),
        (json!([a.vault]), json!(["deposit", "write"]), "permissions"),
        (json!("*"), json!(["deposit"]), "vaults"),
    ] {
        let r = s
            .post(
                "/v1/tokens",
                &session,
                json!({"name": "x", "vaults": vaults, "permissions": permissions, "current_password": PASSWORD}),
            )
            .await;
        r.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.fields(), vec![field.to_owned()], "{}", r.text);
    }
    let (token_id, secret) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    let token = Auth::Token(secret.clone());
    let listed = s.get("/v1/tokens", &session).await;
    let row = listed.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == token_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["permissions"], json!(["deposit"]));
    assert_eq!(row["vaults"], json!([a.vault]));
    assert!(
        store
            .token_vault_slot(&id(&token_id), &id(&a.vault))
            .await
            .unwrap()
            .is_none(),
        "a deposit token holds no vault key"
    );

    let item = deposit(&s, &token, &a.vault, "drop", json!({"k": 1})).await;

    // Everything else is 403 in its scope, 404 outside it.
    let base = format!("/v1/vaults/{}", a.vault);
    s.get(&format!("{base}/items/{item}"), &token)
        .await
        .problem(StatusCode::FORBIDDEN);
    s.get(&format!("{base}/items/{written}"), &token)
        .await
        .problem(StatusCode::FORBIDDEN);
    s.get(&format!("{base}/items"), &token)
        .await
        .problem(StatusCode::FORBIDDEN);
    s.get(&base, &token).await.problem(StatusCode::FORBIDDEN);
    s.get("/v1/vaults", &token)
        .await
        .problem(StatusCode::FORBIDDEN);
    s.put(
        &format!("{base}/items/{item}"),
        &token,
        json!({"name": "drop", "value": 2}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    s.delete(&format!("{base}/items/{item}"), &token)
        .await
        .problem(StatusCode::FORBIDDEN);
    let outside = s
        .post(
            &format!("/v1/vaults/{other_vault}/items"),
            &token,
            json!({"name": "x", "value": 1}),
        )
        .await;
    outside.problem(StatusCode::NOT_FOUND);
    let nowhere = s
        .post(
            &format!("/v1/vaults/{}/items", Id::random().unwrap()),
            &token,
            json!({"name": "x", "value": 1}),
        )
        .await;
    nowhere.problem(StatusCode::NOT_FOUND);
    assert_eq!(outside.body, nowhere.body);
    s.get(&format!("/v1/vaults/{other_vault}/items"), &token)
        .await
        .problem(StatusCode::NOT_FOUND);
    s.post(
        "/v1/tokens",
        &token,
        json!({"name": "x", "vaults": [a.vault], "permissions": ["deposit"], "current_password": PASSWORD}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);

    // The owner's session lists it (who deposited it, name decrypted) and reads it.
    let list = s.get(&format!("{base}/items"), &session).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let items = list.body["items"].as_array().unwrap();
    let by_id = |i: &str| items.iter().find(|x| x["id"] == i).unwrap().clone();
    assert_eq!(by_id(&item)["name"], "drop");
    assert_eq!(by_id(&item)["deposited_by"], token_id.as_str());
    assert_eq!(by_id(&written)["deposited_by"], Value::Null);
    let r = s.get(&format!("{base}/items/{item}"), &session).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["value"], json!({"k": 1}));
    // Moved into the items table by that first reader: still 403 for the depositor.
    s.get(&format!("{base}/items/{item}"), &token)
        .await
        .problem(StatusCode::FORBIDDEN);

    // A second deposit read first by its id (no listing), then by a read token.
    let second = deposit(&s, &token, &a.vault, "second", json!("two")).await;
    let r = s.get(&format!("{base}/items/{second}"), &session).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["value"], "two");
    let (_, reader) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let r = s
        .get(&format!("{base}/items/{second}"), &Auth::Token(reader))
        .await;
    assert_eq!(r.body["value"], "two", "{}", r.text);

    // Deposits never read may be replaced or deleted by a writer straight away.
    let third = deposit(&s, &token, &a.vault, "third", json!(3)).await;
    let r = s
        .put(
            &format!("{base}/items/{third}"),
            &session,
            json!({"name": "third", "value": 33}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["version"], 2);
    let fourth = deposit(&s, &token, &a.vault, "fourth", json!(4)).await;
    let r = s.delete(&format!("{base}/items/{fourth}"), &session).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    s.get(&format!("{base}/items/{fourth}"), &session)
        .await
        .problem(StatusCode::NOT_FOUND);

    // Audited as a deposit by that token.
    let audit = s.get("/v1/audit?action=item.deposit", &session).await;
    let events = audit.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 4, "{}", audit.text);
    assert_eq!(events[0]["actor"], format!("token:{token_id}"));

    // Revoking it rotates nothing: it held no key.
    let r = s.delete(&format!("/v1/tokens/{token_id}"), &session).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let state = s.get(&base, &session).await;
    assert_eq!(state.body["key_version"], 1);
    assert_eq!(state.body["rotation_due"], false);
    let r = s
        .post(
            &format!("{base}/items"),
            &token,
            json!({"name": "late", "value": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

#[tokio::test]
async fn a_deposit_token_writes_and_reads_nothing_sqlite() {
    a_deposit_token_writes_and_reads_nothing(false).await;
}

#[tokio::test]
async fn a_deposit_token_writes_and_reads_nothing_postgres() {
    a_deposit_token_writes_and_reads_nothing(true).await;
}

async fn the_depositor_cannot_open_its_deposit_from_a_database_copy(postgres: bool) {
    let Some((s, store)) = server(postgres).await else {
        return;
    };
    let a = s.signup("erik").await;
    let (owner, vault) = (id(&a.user_id), id(&a.vault));
    let session = s.session("erik", PASSWORD).await;
    let (_, reader) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (_, secret) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    let item = deposit(
        &s,
        &Auth::Token(secret.clone()),
        &a.vault,
        "x",
        json!("secret"),
    )
    .await;

    // The copy: the deposit as stored, before any reader came by.
    let rows = pending(store.as_ref(), &owner, &vault).await;
    assert_eq!(rows.len(), 1);
    let d = &rows[0];
    assert_eq!(d.id, id(&item));
    assert_eq!(d.key_version, 1);
    assert_eq!(
        open_with_deposit_secret(store.as_ref(), &secret, &owner, d).await,
        None,
        "the depositor's secret opens its deposit"
    );
    // The same copy with a reader's secret: its slot gives VK_1, whose pair opens it.
    let (version, key) = vault_key_of(store.as_ref(), &reader, &owner, &vault).await;
    assert_eq!(
        open_with_vault_key(&key, version, &owner, d),
        Some(json!("secret")),
        "the harness opens a deposit with a holder's key"
    );
    // The public key it was sealed to is the one derived from VK_1, stored with a MAC.
    let (pk, mac) = store.vault_public_key(&vault, 1).await.unwrap().unwrap();
    assert_eq!(
        pk.unwrap(),
        VaultKeyPair::derive(&key, &vault, 1)
            .public_key()
            .as_bytes()
            .to_vec()
    );
    assert!(mac.is_some());

    // Once a reader moved it into items, the depositor's secret still opens nothing.
    assert_eq!(
        s.get(&format!("/v1/vaults/{}/items/{item}", a.vault), &session)
            .await
            .body["value"],
        "secret"
    );
    assert!(pending(store.as_ref(), &owner, &vault).await.is_empty());
    let stored = store
        .item(&owner, &vault, &id(&item))
        .await
        .unwrap()
        .unwrap();
    let token = TokenCredential::parse(&secret).unwrap();
    assert!(
        store
            .token_vault_slot(token.id(), &vault)
            .await
            .unwrap()
            .is_none(),
        "nothing wraps a vault key for the deposit token"
    );
    assert_eq!(stored.key_version, 1);
}

#[tokio::test]
async fn the_depositor_cannot_open_its_deposit_from_a_database_copy_sqlite() {
    the_depositor_cannot_open_its_deposit_from_a_database_copy(false).await;
}

#[tokio::test]
async fn the_depositor_cannot_open_its_deposit_from_a_database_copy_postgres() {
    the_depositor_cannot_open_its_deposit_from_a_database_copy(true).await;
}

async fn a_deposit_after_a_rotation_seals_to_the_new_version(postgres: bool) {
    let Some((s, store)) = server(postgres).await else {
        return;
    };
    let a = s.signup("fred").await;
    let (owner, vault) = (id(&a.user_id), id(&a.vault));
    let session = s.session("fred", PASSWORD).await;
    let (_, old_reader) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (_, secret) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    let depositor = Auth::Token(secret);
    let before = deposit(&s, &depositor, &a.vault, "before", json!("b")).await;
    let r = s
        .post(
            &format!("/v1/vaults/{}/rotate", a.vault),
            &session,
            json!({}),
        )
        .await;
    assert_eq!(r.body["key_version"], 2, "{}", r.text);
    let after = deposit(&s, &depositor, &a.vault, "after", json!("a")).await;

    let rows = pending(store.as_ref(), &owner, &vault).await;
    let find = |i: &str| rows.iter().find(|d| d.id == id(i)).unwrap().clone();
    assert_eq!(find(&before).key_version, 1);
    let d = find(&after);
    assert_eq!(
        d.key_version, 2,
        "sealed to the current version's public key"
    );
    // VK_1 (the old reader's slot in this copy) does not open it; VK_2 does.
    let (v1, k1) = vault_key_of(store.as_ref(), &old_reader, &owner, &vault).await;
    assert_eq!(v1, 1);
    assert_eq!(open_with_vault_key(&k1, 1, &owner, &d), None);
    assert_eq!(
        open_with_vault_key(&k1, 1, &owner, &find(&before)),
        Some(json!("b"))
    );
    let (_, new_reader) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (v2, k2) = vault_key_of(store.as_ref(), &new_reader, &owner, &vault).await;
    assert_eq!(v2, 2);
    assert_eq!(open_with_vault_key(&k2, 2, &owner, &d), Some(json!("a")));

    // The owner lists both: the older one through the chain, both now under version 2.
    let list = s
        .get(&format!("/v1/vaults/{}/items", a.vault), &session)
        .await;
    let mut names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, vec!["after", "before"], "{}", list.text);
    for item in [&before, &after] {
        let stored = store
            .item(&owner, &vault, &id(item))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.key_version, 2);
    }
}

#[tokio::test]
async fn a_deposit_after_a_rotation_seals_to_the_new_version_sqlite() {
    a_deposit_after_a_rotation_seals_to_the_new_version(false).await;
}

#[tokio::test]
async fn a_deposit_after_a_rotation_seals_to_the_new_version_postgres() {
    a_deposit_after_a_rotation_seals_to_the_new_version(true).await;
}

/// A public key copied from another vault's row: refused before anything is sealed.
#[tokio::test]
async fn a_vault_public_key_moved_between_rows_is_refused_sqlite() {
    let Some((s, store)) = server(false).await else {
        return;
    };
    let a = s.signup("hugo").await;
    let session = s.session("hugo", PASSWORD).await;
    let other = s.create_vault(&session, "Other").await;
    let (_, secret) = s
        .mint(&session, json!([a.vault, other]), json!(["deposit"]))
        .await;
    let depositor = Auth::Token(secret);
    let db = s.db().await;
    sqlx::query(
        "UPDATE vault_keys SET (public_key, public_key_mac) = \
         (SELECT public_key, public_key_mac FROM vault_keys WHERE vault_id = ?1) WHERE vault_id = ?2",
    )
    .bind(id(&other).as_bytes().to_vec())
    .bind(id(&a.vault).as_bytes().to_vec())
    .execute(&db)
    .await
    .unwrap();
    let r = s
        .post(
            &format!("/v1/vaults/{}/items", a.vault),
            &depositor,
            json!({"name": "x", "value": 1}),
        )
        .await;
    r.problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!r.text.contains("public key"), "no internals: {}", r.text);
    assert!(
        pending(store.as_ref(), &id(&a.user_id), &id(&a.vault))
            .await
            .is_empty()
    );
    let audit = s.get("/v1/audit?action=key.public_key_mac", &session).await;
    assert_eq!(
        audit.body["events"][0]["outcome"], "failed",
        "{}",
        audit.text
    );
    // The other vault, whose row is its own, still takes deposits.
    deposit(&s, &depositor, &other, "y", json!(2)).await;
}
