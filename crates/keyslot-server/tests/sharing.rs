//! Sharing vaults (issue 15, DESIGN §3.1 "Sharing", server mode), on SQLite and on
//! PostgreSQL (when `KEYSLOT_TEST_DATABASE_URL` is set; always in CI): roles bound what a
//! member's session and tokens may do; removal takes the vault from the member and their
//! tokens and rotates it before the 204; the last owner stays; username look-ups are
//! budgeted and audited.
//!
//! The attacker's test keeps a removed member's user key (from their session secret and a
//! database copy taken while they were a member) and every row a database copy gives about
//! them, and opens items with `keyslot-crypto` alone: before the removal it opens the
//! vault's items (so the harness can fail); after it, nothing written afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{Auth, PASSWORD, TestServer};
use keyslot_core::Store;
use keyslot_core::keystore::Holder;
use keyslot_core::model::ItemRecord;
use keyslot_crypto::slot::{item_key_aad, vault_key_for_user_aad};
use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, Purpose, RecipientKind, SealedKey, SessionCredential, UserKey,
    UserKeyPair, VaultKey, Wraps, grant_aad, open_chain, open_from,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn server(postgres: bool, name: &str) -> Option<(TestServer, Arc<dyn Store>)> {
    common::with_store(postgres, name, |_| {}).await
}

fn id(text: &str) -> Id {
    text.parse().unwrap()
}

fn members_path(vault: &str) -> String {
    format!("/v1/vaults/{vault}/members")
}

async fn share(s: &TestServer, owner: &Auth, vault: &str, username: &str, role: &str) -> Value {
    let r = s
        .post(
            &members_path(vault),
            owner,
            json!({"username": username, "role": role}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

async fn set_role(s: &TestServer, auth: &Auth, vault: &str, user: &str, role: &str) -> StatusCode {
    s.call(
        Method::PATCH,
        &format!("{}/{user}", members_path(vault)),
        auth,
        Some(json!({"role": role})),
    )
    .await
    .status
}

async fn key_version(s: &TestServer, auth: &Auth, vault: &str) -> u64 {
    let r = s.get(&format!("/v1/vaults/{vault}"), auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["key_version"].as_u64().unwrap()
}

async fn read_value(s: &TestServer, auth: &Auth, vault: &str, item: &str) -> Read {
    let r = s
        .get(&format!("/v1/vaults/{vault}/items/{item}"), auth)
        .await;
    Read {
        status: r.status,
        value: r.body["value"].clone(),
    }
}

struct Read {
    status: StatusCode,
    value: Value,
}

/// What an attacker holds about one member: their user key (their session's secret with
/// the session row of a copy made while they were a member), and the rows copies gave.
#[derive(Default)]
struct Loot {
    /// The member's slots: `(key_version, VK under UK)`.
    slots: Vec<(u32, Vec<u8>)>,
    /// Their pending grants: `(key_version, sealed to their public key)`.
    grants: Vec<(u32, Vec<u8>)>,
    /// Chain links.
    chain: Vec<(u32, Vec<u8>)>,
    /// Their X25519 private key, wrapped under their user key.
    pair: Vec<u8>,
    /// Their session's wrapped user key.
    session_slot: Vec<u8>,
    /// Items as stored, in every copy taken (a re-wrap replaces a row; old copies keep it).
    items: Vec<ItemRecord>,
}

impl Loot {
    async fn take(
        &mut self,
        store: &dyn Store,
        member: &Id,
        owner: &Id,
        vault: &Id,
        session: &str,
    ) {
        let credential = SessionCredential::parse(session).unwrap();
        if let Some(record) = store.session(credential.id()).await.unwrap() {
            self.session_slot = record.wrapped_user_key;
        }
        self.pair = store.user(member).await.unwrap().unwrap().x25519_wrapped;
        if let Some(access) = store
            .vault_access(member, vault, Holder::User(*member))
            .await
            .unwrap()
            && let Some(slot) = access.slot
        {
            self.slots.push((slot.key_version, slot.wrapped_vault_key));
        }
        if let Some(grant) = store
            .newest_grant(Holder::User(*member), vault)
            .await
            .unwrap()
        {
            self.grants.push((grant.key_version, grant.sealed));
        }
        let top = store.vault_key_version(vault).await.unwrap().unwrap();
        for link in store.chain_links(vault, top, 1).await.unwrap() {
            self.chain.push((link.key_version, link.chain));
        }
        self.items.extend(store.items(owner, vault).await.unwrap());
    }

    fn user_key(&self, session: &str, member: &Id) -> UserKey {
        let credential = SessionCredential::parse(session).unwrap();
        credential
            .unlock()
            .open_user_key(member, &Envelope::from_bytes(&self.session_slot).unwrap())
            .unwrap()
    }

    /// Every vault key version the member's user key opens from the loot.
    fn vault_keys(
        &self,
        uk: &UserKey,
        member: &Id,
        owner: &Id,
        vault: &Id,
    ) -> Vec<(u32, VaultKey)> {
        let mut keys: Vec<(u32, VaultKey)> = Vec::new();
        for (version, wrapped) in &self.slots {
            let Ok(envelope) = Envelope::from_bytes(wrapped) else {
                continue; // the empty slot of a member whose grant is pending
            };
            if let Ok(key) =
                uk.unwrap_key(&envelope, &vault_key_for_user_aad(owner, vault, *version))
            {
                keys.push((*version, key));
            }
        }
        let pair =
            UserKeyPair::unwrap(uk, member, &Envelope::from_bytes(&self.pair).unwrap()).unwrap();
        for (version, sealed) in &self.grants {
            let aad = grant_aad(owner, vault, *version, RecipientKind::User, member);
            if let Ok(key) =
                open_from::<VaultKey>(&pair, &SealedKey::from_bytes(sealed).unwrap(), &aad)
            {
                keys.push((*version, key));
            }
        }
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
    fn open(&self, session: &str, member: &Id, owner: &Id, vault: &Id, item: &Id) -> Option<Value> {
        let uk = self.user_key(session, member);
        let keys = self.vault_keys(&uk, member, owner, vault);
        self.items
            .iter()
            .filter(|i| i.id == *item)
            .find_map(|record| Self::open_record(&keys, owner, vault, record))
    }

    fn open_record(
        keys: &[(u32, VaultKey)],
        owner: &Id,
        vault: &Id,
        record: &ItemRecord,
    ) -> Option<Value> {
        let item = &record.id;
        let (_, vault_key) = keys.iter().find(|(v, _)| *v == record.key_version)?;
        let item_key: keyslot_crypto::ItemKey = vault_key
            .unwrap_key(
                &Envelope::from_bytes(&record.wrapped_item_key).ok()?,
                &item_key_aad(owner, vault, item, record.version, record.key_version),
            )
            .ok()?;
        let aad = Aad::new(Purpose::ItemValue)
            .user(owner)
            .vault(vault)
            .item(item)
            .item_version(record.version)
            .key_version(record.key_version);
        let plain = item_key
            .open_content(&aad, &Envelope::from_bytes(&record.value).ok()?)
            .ok()?;
        serde_json::from_slice(&plain).ok()
    }
}

async fn a_shared_vault_follows_the_role_and_removal_ends_it(postgres: bool) {
    let Some((s, store)) = server(postgres, "sharing").await else {
        return;
    };
    let a = s.signup("alice").await;
    let b = s.signup("bob").await;
    let (owner, vault, bob_id) = (id(&a.user_id), id(&a.vault), id(&b.user_id));
    let alice = s.session("alice", PASSWORD).await;
    let bob = s.session("bob", PASSWORD).await;
    let bob_secret = bob.session().cookie;
    let before = s.create_item(&alice, &a.vault, "db", json!("before")).await;

    // Before sharing, bob reaches nothing of alice's vault.
    let r = s.get(&format!("/v1/vaults/{}", a.vault), &bob).await;
    r.problem(StatusCode::NOT_FOUND);

    let added = share(&s, &alice, &a.vault, "bob", "read").await;
    assert_eq!(added, json!({"user_id": b.user_id, "role": "read"}));
    let members = s.get(&members_path(&a.vault), &alice).await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.text);
    assert_eq!(
        members.body["members"],
        json!([
            {"user_id": a.user_id, "username": "alice", "role": "owner", "grant_pending": false},
            {"user_id": b.user_id, "username": "bob", "role": "read", "grant_pending": true},
        ])
    );

    // Bob's session lists it with his role, opens it (converting his grant), reads, and
    // may not write.
    let listed = s.get("/v1/vaults", &bob).await;
    let shared: Vec<&Value> = listed.body["vaults"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["id"] == a.vault)
        .collect();
    assert_eq!(shared.len(), 1, "{}", listed.text);
    assert_eq!(shared[0]["role"], "read");
    assert_eq!(shared[0]["name"], "Personal");
    let own = listed.body["vaults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == b.vault)
        .unwrap();
    assert_eq!(own["role"], "owner");
    let info = s.get(&format!("/v1/vaults/{}", a.vault), &bob).await;
    assert_eq!(info.body["role"], "read");
    let members = s.get(&members_path(&a.vault), &bob).await;
    assert_eq!(members.body["members"][1]["grant_pending"], false);
    let r = read_value(&s, &bob, &a.vault, &before).await;
    assert_eq!((r.status, r.value), (StatusCode::OK, json!("before")));
    let r = s
        .post(
            &format!("/v1/vaults/{}/items", a.vault),
            &bob,
            json!({"name": "x", "value": 1}),
        )
        .await;
    r.problem(StatusCode::FORBIDDEN);
    let r = s
        .delete(&format!("/v1/vaults/{}/items/{before}", a.vault), &bob)
        .await;
    r.problem(StatusCode::FORBIDDEN);
    // A read member adds no one, and may not rotate.
    let r = s
        .post(
            &members_path(&a.vault),
            &bob,
            json!({"username": "alice", "role": "read"}),
        )
        .await;
    r.problem(StatusCode::FORBIDDEN);
    let r = s
        .post(&format!("/v1/vaults/{}/rotate", a.vault), &bob, json!({}))
        .await;
    r.problem(StatusCode::FORBIDDEN);

    // Bob's token scoped to the shared vault reads it; even with write permission, his
    // role bounds it.
    let (bob_token_id, bob_token) = s
        .mint(&bob, json!([a.vault]), json!(["read", "write"]))
        .await;
    let bob_token = Auth::Token(bob_token);
    let r = read_value(&s, &bob_token, &a.vault, &before).await;
    assert_eq!((r.status, r.value), (StatusCode::OK, json!("before")));
    let r = s
        .post(
            &format!("/v1/vaults/{}/items", a.vault),
            &bob_token,
            json!({"name": "x", "value": 1}),
        )
        .await;
    r.problem(StatusCode::FORBIDDEN);

    // The attacker's harness opens what bob can open now (so it can fail).
    let mut loot = Loot::default();
    loot.take(store.as_ref(), &bob_id, &owner, &vault, &bob_secret)
        .await;
    assert_eq!(
        loot.open(&bob_secret, &bob_id, &owner, &vault, &id(&before)),
        Some(json!("before")),
        "the harness opens the shared vault's items with bob's user key"
    );

    // Upgraded to write, bob writes, by session and by token; alice reads it.
    assert_eq!(
        set_role(&s, &alice, &a.vault, &b.user_id, "write").await,
        StatusCode::OK
    );
    let by_bob = s.create_item(&bob, &a.vault, "bob's", json!("b1")).await;
    let by_token = s
        .create_item(&bob_token, &a.vault, "token's", json!("t1"))
        .await;
    let r = read_value(&s, &alice, &a.vault, &by_bob).await;
    assert_eq!((r.status, r.value), (StatusCode::OK, json!("b1")));
    let r = read_value(&s, &alice, &a.vault, &by_token).await;
    assert_eq!((r.status, r.value), (StatusCode::OK, json!("t1")));
    loot.take(store.as_ref(), &bob_id, &owner, &vault, &bob_secret)
        .await;
    assert_eq!(
        loot.open(&bob_secret, &bob_id, &owner, &vault, &id(&by_bob)),
        Some(json!("b1"))
    );

    // Alice removes bob: the key version has moved when the 204 arrives.
    let version = key_version(&s, &alice, &a.vault).await;
    let r = s
        .delete(&format!("{}/{}", members_path(&a.vault), b.user_id), &alice)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(key_version(&s, &alice, &a.vault).await, version + 1);
    assert!(
        !store
            .vault_access(&owner, &vault, Holder::User(owner))
            .await
            .unwrap()
            .unwrap()
            .state
            .rotation_due,
        "the rotation ran in the request"
    );
    // Bob's session and token reach nothing of it, and it left his tokens' scope.
    for auth in [&bob, &bob_token] {
        let r = s.get(&format!("/v1/vaults/{}", a.vault), auth).await;
        r.problem(StatusCode::NOT_FOUND);
        let r = read_value(&s, auth, &a.vault, &before).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let listed = s.get("/v1/vaults", &bob).await;
    assert!(
        !listed.text.contains(&a.vault),
        "a removed member's listing still shows the vault"
    );
    assert!(
        store
            .token_vault_slot(&id(&bob_token_id), &vault)
            .await
            .unwrap()
            .is_none()
    );

    // Written after the removal, by alice's session and her token.
    let (_, alice_token) = s
        .mint(&alice, json!([a.vault]), json!(["read", "write"]))
        .await;
    let after = s.create_item(&alice, &a.vault, "after", json!("a1")).await;
    let after_token = s
        .create_item(&Auth::Token(alice_token), &a.vault, "after2", json!("a2"))
        .await;
    // A new copy of the database: nothing written after the removal opens with anything
    // bob holds, though his old loot still opens what he could read before.
    loot.take(store.as_ref(), &bob_id, &owner, &vault, &bob_secret)
        .await;
    for item in [&after, &after_token] {
        assert_eq!(
            loot.open(&bob_secret, &bob_id, &owner, &vault, &id(item)),
            None,
            "a removed member's user key opened an item written after the removal"
        );
    }
    assert_eq!(
        loot.open(&bob_secret, &bob_id, &owner, &vault, &id(&before)),
        Some(json!("before"))
    );
    let r = read_value(&s, &alice, &a.vault, &after).await;
    assert_eq!((r.status, r.value), (StatusCode::OK, json!("a1")));
    let r = read_value(&s, &alice, &a.vault, &by_bob).await;
    assert_eq!((r.status, r.value), (StatusCode::OK, json!("b1")));
}

#[tokio::test]
async fn a_shared_vault_follows_the_role_and_removal_ends_it_sqlite() {
    a_shared_vault_follows_the_role_and_removal_ends_it(false).await;
}

#[tokio::test]
async fn a_shared_vault_follows_the_role_and_removal_ends_it_postgres() {
    a_shared_vault_follows_the_role_and_removal_ends_it(true).await;
}

async fn leaving_and_the_last_owner(postgres: bool) {
    let Some((s, _store)) = server(postgres, "sharing_leave").await else {
        return;
    };
    let a = s.signup("carla").await;
    let b = s.signup("dan").await;
    let c = s.signup("erin").await;
    let carla = s.session("carla", PASSWORD).await;
    let dan = s.session("dan", PASSWORD).await;
    let erin = s.session("erin", PASSWORD).await;
    let item = s.create_item(&carla, &a.vault, "k", json!(7)).await;

    // The contract's refusals.
    let r = s
        .post(
            &members_path(&a.vault),
            &carla,
            json!({"username": "dan", "role": "admin"}),
        )
        .await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["role".to_owned()]);
    let r = s
        .post(
            &members_path(&a.vault),
            &carla,
            json!({"username": "nobody-here", "role": "read"}),
        )
        .await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["username".to_owned()]);
    share(&s, &carla, &a.vault, "dan", "write").await;
    let r = s
        .post(
            &members_path(&a.vault),
            &carla,
            json!({"username": "DAN", "role": "read"}),
        )
        .await;
    r.problem(StatusCode::CONFLICT);
    // A write member is no owner: no adding, no re-roling, no removing others.
    let r = s
        .post(
            &members_path(&a.vault),
            &dan,
            json!({"username": "erin", "role": "read"}),
        )
        .await;
    r.problem(StatusCode::FORBIDDEN);
    assert_eq!(
        set_role(&s, &dan, &a.vault, &a.user_id, "read").await,
        StatusCode::FORBIDDEN
    );
    let r = s
        .delete(&format!("{}/{}", members_path(&a.vault), a.user_id), &dan)
        .await;
    r.problem(StatusCode::FORBIDDEN);
    // Someone who is no member gets 404 for all of it, as for an unknown vault.
    let r = s.get(&members_path(&a.vault), &erin).await;
    r.problem(StatusCode::NOT_FOUND);
    assert_eq!(
        set_role(&s, &carla, &a.vault, &c.user_id, "read").await,
        StatusCode::NOT_FOUND
    );

    // The last owner can neither leave nor be demoted.
    let r = s
        .delete(&format!("{}/{}", members_path(&a.vault), a.user_id), &carla)
        .await;
    r.problem(StatusCode::CONFLICT);
    assert_eq!(
        set_role(&s, &carla, &a.vault, &a.user_id, "write").await,
        StatusCode::CONFLICT
    );
    assert_eq!(key_version(&s, &carla, &a.vault).await, 1);

    // Dan reads (converting his grant), then leaves by himself: rotated before the 204.
    let r = read_value(&s, &dan, &a.vault, &item).await;
    assert_eq!((r.status, r.value), (StatusCode::OK, json!(7)));
    let r = s
        .delete(&format!("{}/{}", members_path(&a.vault), b.user_id), &dan)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(key_version(&s, &carla, &a.vault).await, 2);
    let r = read_value(&s, &dan, &a.vault, &item).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = read_value(&s, &carla, &a.vault, &item).await;
    assert_eq!((r.status, r.value), (StatusCode::OK, json!(7)));

    // With a second owner, the first may step down; then the second is the last.
    share(&s, &carla, &a.vault, "erin", "owner").await;
    assert_eq!(
        set_role(&s, &carla, &a.vault, &a.user_id, "read").await,
        StatusCode::OK
    );
    assert_eq!(
        set_role(&s, &erin, &a.vault, &c.user_id, "write").await,
        StatusCode::CONFLICT
    );
    let r = s
        .post(
            &format!("/v1/vaults/{}/items", a.vault),
            &carla,
            json!({"name": "x", "value": 1}),
        )
        .await;
    r.problem(StatusCode::FORBIDDEN);
    let r = read_value(&s, &erin, &a.vault, &item).await;
    assert_eq!((r.status, r.value), (StatusCode::OK, json!(7)));
}

#[tokio::test]
async fn leaving_and_the_last_owner_sqlite() {
    leaving_and_the_last_owner(false).await;
}

#[tokio::test]
async fn leaving_and_the_last_owner_postgres() {
    leaving_and_the_last_owner(true).await;
}

async fn username_probes_are_budgeted_and_audited(postgres: bool) {
    let Some((s, store)) = server(postgres, "sharing_probe").await else {
        return;
    };
    let a = s.signup("fay").await;
    let fay = s.session("fay", PASSWORD).await;
    let budget = 20;
    for n in 0..budget {
        let r = s
            .post(
                &members_path(&a.vault),
                &fay,
                json!({"username": format!("probe-{n}"), "role": "read"}),
            )
            .await;
        r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let _ = s.signup("gus").await;
    // Past the budget, even a name that exists is not looked up.
    let r = s
        .post(
            &members_path(&a.vault),
            &fay,
            json!({"username": "gus", "role": "read"}),
        )
        .await;
    r.problem(StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.get("retry-after").is_some());
    let members = s.get(&members_path(&a.vault), &fay).await;
    assert_eq!(members.body["members"].as_array().unwrap().len(), 1);

    let events = store.audit_events(&id(&a.user_id), 200).await.unwrap();
    let probes: Vec<_> = events
        .iter()
        .filter(|e| e.action == "vault.member.add")
        .collect();
    assert_eq!(
        probes
            .iter()
            .filter(|e| e.detail.contains("reason=unknown_username"))
            .count(),
        budget
    );
    assert_eq!(
        probes
            .iter()
            .filter(|e| e.detail.contains("reason=rate_limited"))
            .count(),
        1
    );
    for e in &events {
        assert!(
            !e.detail.contains("probe-") && !e.detail.contains("gus"),
            "an audit event names a probed username: {}",
            e.detail
        );
    }
}

#[tokio::test]
async fn username_probes_are_budgeted_and_audited_sqlite() {
    username_probes_are_budgeted_and_audited(false).await;
}

#[tokio::test]
async fn username_probes_are_budgeted_and_audited_postgres() {
    username_probes_are_budgeted_and_audited(true).await;
}
