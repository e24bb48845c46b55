//! Vault key rotation, revoke-and-rotate, and rotation due at a token's expiry (issue 15,
//! first slice), on SQLite and on PostgreSQL (when `KEYSLOT_TEST_DATABASE_URL` is set;
//! always in CI).
//!
//! The attacker's tests keep a token's secret and copies of the database rows the token
//! could ever reach (its slot, its pending grants, the key chain, the items), read with
//! the store as raw records, and try to open items with `keyslot-crypto` alone — no
//! server. Before the token ends, the same harness opens what the token should open (so
//! the harness can fail); after it ends, nothing written afterwards opens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{Auth, PASSWORD, TestServer};
use keyslot_core::Store;
use keyslot_core::keystore::Holder;
use keyslot_core::model::ItemRecord;
use keyslot_crypto::slot::item_key_aad;
use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, Purpose, RecipientKind, SealedKey, TokenCredential,
    TokenKeyPair, VaultKey, Wraps, grant_aad, open_chain, open_from,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A server on SQLite, or on a fresh PostgreSQL database; and the store, opened beside
/// it, through which the tests read raw rows as an attacker with a database copy would.
async fn server(postgres: bool) -> Option<(TestServer, Arc<dyn Store>)> {
    server_with(postgres, 500).await
}

/// As [`server`], moving at most `rewrap_batch` items per re-wrap batch (0: none, so
/// reads go through the chain).
async fn server_with(postgres: bool, rewrap_batch: u32) -> Option<(TestServer, Arc<dyn Store>)> {
    common::with_store(postgres, "rotation", |c| c.core.rewrap_batch = rewrap_batch).await
}

fn id(text: &str) -> Id {
    text.parse().unwrap()
}

async fn vault_state(s: &TestServer, auth: &Auth, vault: &str) -> Value {
    let r = s.get(&format!("/v1/vaults/{vault}"), auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn read_value(s: &TestServer, auth: &Auth, vault: &str, item: &str) -> Value {
    let r = s
        .get(&format!("/v1/vaults/{vault}/items/{item}"), auth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["value"].clone()
}

/// What an attacker holds about one token: the rows a database copy gave them.
#[derive(Default)]
struct Loot {
    /// The token's slot for the vault: `(key_version, wrapped)`.
    slots: Vec<(u32, Vec<u8>)>,
    /// Its pending grants: `(key_version, sealed)`.
    grants: Vec<(u32, Vec<u8>)>,
    /// Chain links: `(key_version, VK_{v-1} under VK_v)`.
    chain: Vec<(u32, Vec<u8>)>,
    /// Items as stored, from every copy taken.
    items: Vec<ItemRecord>,
}

impl Loot {
    /// Copy what the database holds now about `token` and `vault` into the loot.
    async fn take(&mut self, store: &dyn Store, owner: &Id, vault: &Id, token: &Id) {
        if let Some(slot) = store.token_vault_slot(token, vault).await.unwrap() {
            self.slots.push((slot.key_version, slot.wrapped_vault_key));
        }
        if let Some(grant) = store
            .newest_grant(Holder::Token(*token), vault)
            .await
            .unwrap()
        {
            self.grants.push((grant.key_version, grant.sealed));
        }
        let top = store
            .vault_access(owner, vault, Holder::User(*owner))
            .await
            .unwrap()
            .map_or(1, |a| a.state.key_version);
        for link in store.chain_links(vault, top, 1).await.unwrap() {
            self.chain.push((link.key_version, link.chain));
        }
        // Every copy is kept: an older copy may hold a row the re-wrap has since moved.
        self.items.extend(store.items(owner, vault).await.unwrap());
    }

    /// Every vault key version the token's secret opens from the loot: its slots, its
    /// grants, and every older version through the chain links.
    fn vault_keys(&self, secret: &str, owner: &Id, vault: &Id) -> Vec<(u32, VaultKey)> {
        let token = TokenCredential::parse(secret).unwrap();
        let unlocked = token.unlock();
        let pair = TokenKeyPair::derive(&token);
        let mut keys: Vec<(u32, VaultKey)> = Vec::new();
        for (version, wrapped) in &self.slots {
            if let Ok(key) = unlocked.open_vault_key(
                owner,
                vault,
                *version,
                &Envelope::from_bytes(wrapped).unwrap(),
            ) {
                keys.push((*version, key));
            }
        }
        for (version, sealed) in &self.grants {
            let aad = grant_aad(owner, vault, *version, RecipientKind::Token, token.id());
            if let Ok(key) =
                open_from::<VaultKey>(&pair, &SealedKey::from_bytes(sealed).unwrap(), &aad)
            {
                keys.push((*version, key));
            }
        }
        // Walk every chain link from every key held, down as far as it goes.
        loop {
            let mut found = false;
            for (version, link) in &self.chain {
                let older = version - 1;
                if keys.iter().any(|(v, _)| *v == older) {
                    continue;
                }
                let Some((_, newer)) = keys.iter().find(|(v, _)| v == version) else {
                    continue;
                };
                if let Ok(key) = open_chain(
                    newer,
                    &Envelope::from_bytes(link).unwrap(),
                    owner,
                    vault,
                    older,
                ) {
                    keys.push((older, key));
                    found = true;
                }
            }
            if !found {
                return keys;
            }
        }
    }

    /// The value of `item` if anything the attacker holds opens it.
    /// The value of `item` if anything the attacker holds opens any copy of its row.
    fn open(&self, secret: &str, owner: &Id, vault: &Id, item: &Id) -> Option<Value> {
        let keys = self.vault_keys(secret, owner, vault);
        self.items
            .iter()
            .filter(|i| i.id == *item)
            .find_map(|record| open_record(&keys, owner, vault, record))
    }
}

/// An item row opened with one of `keys`, if its version's key is among them.
fn open_record(
    keys: &[(u32, VaultKey)],
    owner: &Id,
    vault: &Id,
    record: &ItemRecord,
) -> Option<Value> {
    let (_, vault_key) = keys.iter().find(|(v, _)| *v == record.key_version)?;
    let item_key: keyslot_crypto::ItemKey = vault_key
        .unwrap_key(
            &Envelope::from_bytes(&record.wrapped_item_key).ok()?,
            &item_key_aad(owner, vault, &record.id, record.version, record.key_version),
        )
        .ok()?;
    let aad = Aad::new(Purpose::ItemValue)
        .user(owner)
        .vault(vault)
        .item(&record.id)
        .item_version(record.version)
        .key_version(record.key_version);
    let plain = item_key
        .open_content(&aad, &Envelope::from_bytes(&record.value).ok()?)
        .ok()?;
    serde_json::from_slice(&plain).ok()
}

async fn rotated_items_stay_readable(postgres: bool) {
    let Some((s, _store)) = server_with(postgres, 0).await else {
        return;
    };
    let a = s.signup("rosa").await;
    let session = s.session("rosa", PASSWORD).await;
    let (_, token) = s
        .mint(&session, json!([a.vault]), json!(["read", "write"]))
        .await;
    let token = Auth::Token(token);
    let old = s.create_item(&session, &a.vault, "old", json!("v1")).await;
    let by_token = s
        .create_item(&token, &a.vault, "by token", json!("t1"))
        .await;
    assert_eq!(vault_state(&s, &session, &a.vault).await["key_version"], 1);

    let r = s
        .post(
            &format!("/v1/vaults/{}/rotate", a.vault),
            &session,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["key_version"], 2);
    let state = vault_state(&s, &session, &a.vault).await;
    assert_eq!(state["key_version"], 2);
    assert_eq!(state["rotation_due"], false);
    assert_eq!(
        state["rewrap_pending"], true,
        "two items are under version 1"
    );
    assert_eq!(
        state["name"], "Personal",
        "the name moved to the new version"
    );
    assert_eq!(state["role"], "owner");

    // Old items: by session through the chain; by the token through its converted grant.
    assert_eq!(read_value(&s, &session, &a.vault, &old).await, json!("v1"));
    assert_eq!(read_value(&s, &token, &a.vault, &old).await, json!("v1"));
    assert_eq!(
        read_value(&s, &token, &a.vault, &by_token).await,
        json!("t1")
    );
    // New writes by either are under version 2 and read by both.
    let new = s.create_item(&token, &a.vault, "new", json!("v2")).await;
    assert_eq!(read_value(&s, &session, &a.vault, &new).await, json!("v2"));
    let names: Vec<Value> = s
        .get(&format!("/v1/vaults/{}/items", a.vault), &token)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("old"), json!("by token"), json!("new")]);
    let listed = s.get("/v1/vaults", &token).await;
    assert_eq!(listed.body["vaults"][0]["name"], "Personal");

    // Twice more, so reads walk a chain of two links.
    for expected in [3, 4] {
        let r = s
            .post(
                &format!("/v1/vaults/{}/rotate", a.vault),
                &session,
                json!({}),
            )
            .await;
        assert_eq!(r.body["key_version"], expected);
    }
    assert_eq!(read_value(&s, &token, &a.vault, &old).await, json!("v1"));
    assert_eq!(read_value(&s, &session, &a.vault, &new).await, json!("v2"));
}

#[tokio::test]
async fn rotated_items_stay_readable_sqlite() {
    rotated_items_stay_readable(false).await;
}

#[tokio::test]
async fn rotated_items_stay_readable_postgres() {
    rotated_items_stay_readable(true).await;
}

async fn the_contract_of_the_lifecycle_routes(postgres: bool) {
    let Some((s, _store)) = server(postgres).await else {
        return;
    };
    let a = s.signup("sven").await;
    let session = s.session("sven", PASSWORD).await;
    let b = s.signup("tove").await;
    let other = s.session("tove", PASSWORD).await;
    let (_, token) = s
        .mint(&session, json!([a.vault]), json!(["read", "write"]))
        .await;
    let token = Auth::Token(token);
    // A token reads its vault's state, and may not rotate: that is its owner's session's.
    assert_eq!(vault_state(&s, &token, &a.vault).await["key_version"], 1);
    let r = s
        .post(&format!("/v1/vaults/{}/rotate", a.vault), &token, json!({}))
        .await;
    r.problem(StatusCode::FORBIDDEN);
    // Another user's vault and no vault at all answer alike.
    let theirs = s.get(&format!("/v1/vaults/{}", b.vault), &session).await;
    let unknown = s
        .get(&format!("/v1/vaults/{}", Id::random().unwrap()), &session)
        .await;
    theirs.problem(StatusCode::NOT_FOUND);
    unknown.problem(StatusCode::NOT_FOUND);
    assert_eq!(theirs.body, unknown.body);
    let r = s
        .post(&format!("/v1/vaults/{}/rotate", a.vault), &other, json!({}))
        .await;
    r.problem(StatusCode::NOT_FOUND);
    assert_eq!(vault_state(&s, &session, &a.vault).await["key_version"], 1);
    let r = s
        .delete(
            &format!("/v1/tokens/{}?rotate=maybe", Id::random().unwrap()),
            &session,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.fields().contains(&"rotate".to_owned()));
}

#[tokio::test]
async fn the_contract_of_the_lifecycle_routes_sqlite() {
    the_contract_of_the_lifecycle_routes(false).await;
}

#[tokio::test]
async fn the_contract_of_the_lifecycle_routes_postgres() {
    the_contract_of_the_lifecycle_routes(true).await;
}

async fn a_revoked_token_opens_nothing_written_after(postgres: bool) {
    let Some((s, store)) = server(postgres).await else {
        return;
    };
    let a = s.signup("uli").await;
    let (owner, vault) = (id(&a.user_id), id(&a.vault));
    let session = s.session("uli", PASSWORD).await;
    let (leaked_id, leaked) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let leaked_id = id(&leaked_id);
    let (_, writer) = s
        .mint(&session, json!([a.vault]), json!(["read", "write"]))
        .await;
    let writer = Auth::Token(writer);

    // Before the end: the harness opens what the leaked token reaches, through its slot,
    // and after a rotation through its pending grant.
    let before = s
        .create_item(&session, &a.vault, "before", json!("b"))
        .await;
    let mut loot = Loot::default();
    loot.take(store.as_ref(), &owner, &vault, &leaked_id).await;
    assert_eq!(
        loot.open(&leaked, &owner, &vault, &id(&before)),
        Some(json!("b"))
    );
    let r = s
        .post(
            &format!("/v1/vaults/{}/rotate", a.vault),
            &session,
            json!({}),
        )
        .await;
    assert_eq!(r.body["key_version"], 2);
    let granted = s
        .create_item(&session, &a.vault, "granted", json!("g"))
        .await;
    loot.take(store.as_ref(), &owner, &vault, &leaked_id).await;
    assert_eq!(
        loot.open(&leaked, &owner, &vault, &id(&granted)),
        Some(json!("g")),
        "the harness opens a pending grant"
    );

    // Revoke: the key version has moved when the 204 arrives.
    let r = s.delete(&format!("/v1/tokens/{leaked_id}"), &session).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let state = vault_state(&s, &session, &a.vault).await;
    assert_eq!(state["key_version"], 3);
    assert_eq!(state["rotation_due"], false);
    assert_eq!(
        s.get(
            &format!("/v1/vaults/{}/items/{before}", a.vault),
            &Auth::Token(leaked.clone())
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );

    // Written afterwards, by the session and by another token; a new copy taken.
    let by_session = s.create_item(&session, &a.vault, "after", json!("s")).await;
    let by_token = s
        .create_item(&writer, &a.vault, "after 2", json!("t"))
        .await;
    loot.take(store.as_ref(), &owner, &vault, &leaked_id).await;
    assert!(
        loot.slots.len() >= 2 && !loot.grants.is_empty(),
        "old copies kept"
    );
    for item in [&by_session, &by_token] {
        assert_eq!(loot.open(&leaked, &owner, &vault, &id(item)), None);
    }
    assert!(
        loot.vault_keys(&leaked, &owner, &vault)
            .iter()
            .all(|(v, _)| *v <= 2),
        "no key of version 3 reaches the leaked secret"
    );
    // What was readable before the end still is, to the attacker (old data, old keys).
    assert_eq!(
        loot.open(&leaked, &owner, &vault, &id(&before)),
        Some(json!("b"))
    );
    // But in the new copy the re-wrap has moved that row under version 3 as well.
    let latest = store
        .item(&owner, &vault, &id(&before))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.key_version, 3, "the re-wrap moved it");
    let keys = loot.vault_keys(&leaked, &owner, &vault);
    assert_eq!(open_record(&keys, &owner, &vault, &latest), None);
    // And the writer, which kept access, reads both.
    assert_eq!(
        read_value(&s, &writer, &a.vault, &by_session).await,
        json!("s")
    );
}

#[tokio::test]
async fn a_revoked_token_opens_nothing_written_after_sqlite() {
    a_revoked_token_opens_nothing_written_after(false).await;
}

#[tokio::test]
async fn a_revoked_token_opens_nothing_written_after_postgres() {
    a_revoked_token_opens_nothing_written_after(true).await;
}

async fn rotate_false_leaves_the_vault_due_until_the_next_write(postgres: bool) {
    let Some((s, store)) = server(postgres).await else {
        return;
    };
    let a = s.signup("vera").await;
    let (owner, vault) = (id(&a.user_id), id(&a.vault));
    let session = s.session("vera", PASSWORD).await;
    let (token_id, _) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let r = s
        .delete(&format!("/v1/tokens/{token_id}?rotate=false"), &session)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let state = store
        .vault_access(&owner, &vault, Holder::User(owner))
        .await
        .unwrap()
        .unwrap()
        .state;
    assert!(
        state.rotation_due && state.key_version == 1,
        "due, not rotated"
    );
    s.create_item(&session, &a.vault, "x", json!(1)).await;
    let state = store
        .vault_access(&owner, &vault, Holder::User(owner))
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!((state.rotation_due, state.key_version), (false, 2));
    let item = &store.items(&owner, &vault).await.unwrap()[0];
    assert_eq!(
        item.key_version, 2,
        "the write ran the rotation first, then wrapped under it"
    );
}

#[tokio::test]
async fn rotate_false_leaves_the_vault_due_until_the_next_write_sqlite() {
    rotate_false_leaves_the_vault_due_until_the_next_write(false).await;
}

#[tokio::test]
async fn rotate_false_leaves_the_vault_due_until_the_next_write_postgres() {
    rotate_false_leaves_the_vault_due_until_the_next_write(true).await;
}

async fn an_expired_token_makes_the_next_write_rotate(postgres: bool) {
    let Some((s, store)) = server(postgres).await else {
        return;
    };
    let a = s.signup("wilma").await;
    let (owner, vault) = (id(&a.user_id), id(&a.vault));
    let session = s.session("wilma", PASSWORD).await;
    let r = s
        .post(
            "/v1/tokens",
            &session,
            json!({"name": "short", "vaults": [a.vault], "permissions": ["read"],
                   "expires_in_seconds": 3, "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (short_id, short) = (id(&r.str("id")), r.str("token"));
    let (_, keeper) = s
        .mint(&session, json!([a.vault]), json!(["read", "write"]))
        .await;
    let keeper = Auth::Token(keeper);
    let before = s
        .create_item(&session, &a.vault, "before", json!("b"))
        .await;
    let mut loot = Loot::default();
    loot.take(store.as_ref(), &owner, &vault, &short_id).await;
    assert_eq!(
        loot.open(&short, &owner, &vault, &id(&before)),
        Some(json!("b"))
    );

    // Let its expires_at pass; no sweeper runs in between (none reaches these rows).
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    let state = store
        .vault_access(&owner, &vault, Holder::User(owner))
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(state.key_version, 1);
    assert!(state.is_due(time_now()), "due from the token's expiry");
    // Written by a token: the token runs the due rotation, and the owner (who has no
    // session in that request) gets the new key as a pending grant.
    let after = s.create_item(&keeper, &a.vault, "after", json!("a")).await;
    let state = store
        .vault_access(&owner, &vault, Holder::User(owner))
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(state.key_version, 2, "the write rotated first");
    assert!(!state.is_due(time_now()), "and is not due any more");
    assert!(
        store
            .token_vault_slot(&short_id, &vault)
            .await
            .unwrap()
            .is_none(),
        "the expired token's slot went with the rotation"
    );
    loot.take(store.as_ref(), &owner, &vault, &short_id).await;
    assert_eq!(loot.open(&short, &owner, &vault, &id(&after)), None);
    assert_eq!(read_value(&s, &keeper, &a.vault, &after).await, json!("a"));
    // The owner's session reads it through its converted grant, and older items through
    // the chain.
    let member = |store: Arc<dyn Store>| async move {
        store
            .vault_access(&owner, &vault, Holder::User(owner))
            .await
            .unwrap()
            .unwrap()
            .slot
            .unwrap()
            .key_version
    };
    assert_eq!(
        member(store.clone()).await,
        1,
        "the owner's slot waits for its grant"
    );
    assert_eq!(read_value(&s, &session, &a.vault, &after).await, json!("a"));
    assert_eq!(
        read_value(&s, &session, &a.vault, &before).await,
        json!("b")
    );
    assert_eq!(
        member(store.clone()).await,
        2,
        "converted at the session's next use"
    );
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

#[tokio::test]
async fn an_expired_token_makes_the_next_write_rotate_sqlite() {
    an_expired_token_makes_the_next_write_rotate(false).await;
}

#[tokio::test]
async fn an_expired_token_makes_the_next_write_rotate_postgres() {
    an_expired_token_makes_the_next_write_rotate(true).await;
}
