//! End-to-end sharing and rotation (issue 16, docs/END-TO-END.md §8-§9), on SQLite and on
//! PostgreSQL (when `KEYSLOT_TEST_DATABASE_URL` is set; always in CI). The test plays the
//! client with `keyslot-crypto` alone: it makes every key, seals every grant and wraps
//! every slot; the server only stores and checks.
//!
//! - Sharing across modes is 422 naming `username`, whichever side is end-to-end, and a
//!   server-mode owner cannot send a client's grant.
//! - An end-to-end share: the member's client opens the grant the owner's client sealed
//!   and reads the owner's item with it.
//! - Revoking a token makes the vault due; writes are refused until a client rotates; a
//!   rotation whose grants miss a holder or name one that holds nothing is refused with
//!   409 naming them and commits nothing; the exact one commits, writes work again, and
//!   the revoked token's keys open nothing written afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod e2e_support;

use e2e_support::{
    Client, b64, e2e_account, e2e_account_claiming, holders, item_body, members_path, mint,
    mint_claiming, open_read, server, share_body, signature, unb64,
};
use keyslot_core::keystore::Holder;
use keyslot_crypto::item::seal_vault_name;
use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{
    Id, PublicKey, RecipientKind, SealedKey, TokenKeyPair, VaultKey, VaultKeyPair, Wraps,
    grant_aad, open_from, seal_to, wrap_chain,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn cross_mode_sharing_is_refused(postgres: bool) {
    let Some((s, store)) = server(postgres, "e2e_cross_mode").await else {
        return;
    };
    let alice = e2e_account(&s, "alice-e2e").await;
    let bob = e2e_account(&s, "bob-e2e").await;
    let carol = s.signup("carol-server").await;
    let carol_auth = s.session("carol-server", common::PASSWORD).await;

    // An end-to-end owner to a server-mode account: its server would hold the key.
    let carol_id: Id = carol.user_id.parse().unwrap();
    let carol_public = PublicKey::from_slice(
        &store
            .user_public_key(&carol_id)
            .await
            .unwrap()
            .unwrap()
            .public_key,
    )
    .unwrap();
    let sealed = seal_to(
        &carol_public,
        &alice.vk1,
        &grant_aad(&alice.user, &alice.vault, 1, RecipientKind::User, &carol_id),
    )
    .unwrap();
    let r = s
        .post(
            &members_path(&alice.vault),
            &alice.auth,
            json!({"username": "carol-server", "role": "read", "key_version": 1,
                   "grant": b64(&sealed.to_bytes()), "members_signature": signature()}),
        )
        .await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["username"], "{}", r.text);

    // A server-mode owner to an end-to-end account: the server would hold their vault's key.
    let carol_vault: Id = carol.vault.parse().unwrap();
    let r = s
        .post(
            &members_path(&carol_vault),
            &carol_auth,
            json!({"username": bob.username, "role": "read"}),
        )
        .await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["username"], "{}", r.text);

    // A server-mode owner sending a client's grant: the server makes its own there.
    let r = s
        .post(
            &members_path(&carol_vault),
            &carol_auth,
            json!({"username": "alice-e2e", "role": "read", "grant": b64(&sealed.to_bytes())}),
        )
        .await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["grant"], "{}", r.text);

    // An end-to-end owner without the client's part: every missing field named.
    let r = s
        .post(
            &members_path(&alice.vault),
            &alice.auth,
            json!({"username": bob.username, "role": "read"}),
        )
        .await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(
        fields,
        ["grant", "key_version", "members_signature"],
        "{}",
        r.text
    );

    // Nothing was added anywhere.
    for (auth, vault) in [(&alice.auth, &alice.vault), (&carol_auth, &carol_vault)] {
        let r = s.get(&members_path(vault), auth).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["members"].as_array().unwrap().len(), 1, "{}", r.text);
    }
}

#[tokio::test]
async fn cross_mode_sharing_is_refused_sqlite() {
    cross_mode_sharing_is_refused(false).await;
}

#[tokio::test]
async fn cross_mode_sharing_is_refused_postgres() {
    cross_mode_sharing_is_refused(true).await;
}

async fn a_member_opens_the_owners_grant_and_reads(postgres: bool) {
    let Some((s, store)) = server(postgres, "e2e_share").await else {
        return;
    };
    let alice = e2e_account(&s, "alice-share").await;
    let bob = e2e_account(&s, "bob-share").await;
    let (owner, vault) = (alice.user, alice.vault);
    let item = Id::random().unwrap();
    let secret = json!({"password": "hunter2"});
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/items"),
            &alice.auth,
            item_body(
                &alice.identity,
                &owner,
                &vault,
                (&alice.vk1, 1),
                &item,
                "db",
                &secret,
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // Before the share, the vault is not bob's to read.
    let path = format!("/v1/vaults/{vault}/items/{item}");
    assert_eq!(s.get(&path, &bob.auth).await.status, StatusCode::NOT_FOUND);

    let r = s
        .post(
            &members_path(&vault),
            &alice.auth,
            share_body(&alice, &vault, &alice.vk1, 1, &bob),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["user_id"], bob.user.to_string());
    let r = s.get(&members_path(&vault), &bob.auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2, "{}", r.text);
    assert_eq!(r.body["members_signature"], signature(), "{}", r.text);

    // The grant the owner's client sealed is what the server stored, and the member's
    // X25519 key (never the server) opens it: the vault key of version 1.
    let grant = store
        .newest_grant(Holder::User(bob.user), &vault)
        .await
        .unwrap()
        .expect("the member's pending grant");
    assert_eq!(grant.key_version, 1);
    let vk: VaultKey = open_from(
        &bob.pair,
        &SealedKey::from_bytes(&grant.sealed).unwrap(),
        &grant_aad(&owner, &vault, 1, RecipientKind::User, &bob.user),
    )
    .unwrap();

    // The member reads the owner's item through the server and opens it alone.
    let r = s.get(&path, &bob.auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["slot"]["kind"], "grant", "{}", r.text);
    assert_eq!(open_read(&r.body, &owner, &vault, &vk), Some(secret));
    // The member converts the grant into its own slot under its user key.
    let wrapped = bob
        .uk
        .wrap(&vk, &vault_key_for_user_aad(&owner, &vault, 1))
        .unwrap();
    let r = s
        .put(
            &format!("/v1/vaults/{vault}/slot"),
            &bob.auth,
            json!({"key_version": 1, "wrapped_vault_key": b64(&wrapped.to_bytes())}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = s.get(&path, &bob.auth).await;
    assert_eq!(r.body["slot"]["kind"], "member", "{}", r.text);

    // A second share of the same member is a conflict, and changes nothing.
    let r = s
        .post(
            &members_path(&vault),
            &alice.auth,
            share_body(&alice, &vault, &alice.vk1, 1, &bob),
        )
        .await;
    r.problem(StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_member_opens_the_owners_grant_and_reads_sqlite() {
    a_member_opens_the_owners_grant_and_reads(false).await;
}

#[tokio::test]
async fn a_member_opens_the_owners_grant_and_reads_postgres() {
    a_member_opens_the_owners_grant_and_reads(true).await;
}

/// A client's rotation of `vault` from `vk` at `from` to a new key, sealed to `grants`.
struct Rotating {
    key: VaultKey,
    body: Value,
}

fn rotation(
    owner: &Client,
    vault: &Id,
    vk: &VaultKey,
    from: u32,
    grants: &[(Id, RecipientKind, PublicKey)],
) -> Rotating {
    let to = from + 1;
    let key = VaultKey::generate().unwrap();
    let grants: Vec<Value> = grants
        .iter()
        .map(|(id, kind, public)| {
            let sealed =
                seal_to(public, &key, &grant_aad(&owner.user, vault, to, *kind, id)).unwrap();
            json!({"holder": id.to_string(), "sealed": b64(&sealed.to_bytes())})
        })
        .collect();
    let body = json!({
        "key_version": to,
        "chain_link": b64(&wrap_chain(&key, vk, &owner.user, vault, from).unwrap().to_bytes()),
        "sealed_name": b64(&seal_vault_name(&key, &owner.user, vault, to, "Personal").unwrap()),
        "public_key": b64(VaultKeyPair::derive(&key, vault, to).public_key().as_bytes()),
        "public_key_signature": owner
            .identity
            .sign_vault_key(vault, to, &VaultKeyPair::derive(&key, vault, to).public_key())
            .to_base64(),
        "own_slot": b64(&owner.uk.wrap(&key, &vault_key_for_user_aad(&owner.user, vault, to)).unwrap().to_bytes()),
        "grants": grants,
        "members_signature": signature(),
    });
    Rotating { key, body }
}

fn messages(r: &common::Reply) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

async fn revocation_then_a_client_rotation_with_exact_grants(postgres: bool) {
    let Some((s, store)) = server(postgres, "e2e_rotation").await else {
        return;
    };
    let alice = e2e_account(&s, "alice-rot").await;
    let bob = e2e_account(&s, "bob-rot").await;
    let (owner, vault) = (alice.user, alice.vault);
    let r = s
        .post(
            &members_path(&vault),
            &alice.auth,
            share_body(&alice, &vault, &alice.vk1, 1, &bob),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let revoked = mint(&s, &alice, &vault, &alice.vk1, 1).await;
    let kept = mint(&s, &alice, &vault, &alice.vk1, 1).await;

    // Every holder is listed, with its public key: the owner, the member, both tokens.
    let h = holders(&s, &bob.auth, &vault).await;
    assert_eq!(h["key_version"], 1);
    assert_eq!(h["rotation_due"], false);
    let ids: Vec<&str> = h["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    for id in [alice.user, bob.user, revoked.id, kept.id] {
        assert!(ids.contains(&id.to_string().as_str()), "{id} in {h}");
    }
    assert_eq!(ids.len(), 4, "{h}");
    let bob_entry = h["holders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == bob.user.to_string())
        .unwrap();
    assert_eq!(bob_entry["kind"], "user");
    assert_eq!(bob_entry["role"], "write");
    assert_eq!(
        unb64(bob_entry["public_key"].as_str().unwrap()),
        bob.pair.public()
    );
    // What vouches for it: bob's identity over his key, which a client checks under its pin.
    assert_eq!(
        bob_entry["signature"],
        bob.identity
            .sign_user_x25519(&bob.user, &bob.public())
            .to_base64()
    );
    assert_eq!(
        unb64(bob_entry["identity_public"].as_str().unwrap()),
        bob.identity.public().as_bytes()
    );
    let token_entry = h["holders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == kept.id.to_string())
        .unwrap();
    assert_eq!(token_entry["kind"], "token");
    assert_eq!(
        token_entry["signature"],
        alice
            .identity
            .sign_token_key(&owner, &kept.id, &kept.public())
            .to_base64()
    );
    assert_eq!(token_entry["user_id"], owner.to_string());
    assert_eq!(
        unb64(token_entry["public_key"].as_str().unwrap()),
        kept.public().as_bytes()
    );

    // Revoking from the end-to-end session: 204, the vault due, no rotation (no key).
    let r = s
        .delete(&format!("/v1/tokens/{}", revoked.id), &alice.auth)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let h = holders(&s, &alice.auth, &vault).await;
    assert_eq!(h["rotation_due"], true, "{h}");
    assert_eq!(h["key_version"], 1, "{h}");
    assert_eq!(h["holders"].as_array().unwrap().len(), 3, "{h}");
    assert_eq!(
        s.get("/v1/vaults", &revoked.auth()).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Writes wait for a client's rotation.
    let item = Id::random().unwrap();
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/items"),
            &alice.auth,
            item_body(
                &alice.identity,
                &owner,
                &vault,
                (&alice.vk1, 1),
                &item,
                "early",
                &json!("x"),
            ),
        )
        .await;
    r.problem(StatusCode::CONFLICT);
    assert_eq!(
        r.body["type"], "urn:keyslot:problem:rotation-due",
        "{}",
        r.text
    );

    let rotate = format!("/v1/vaults/{vault}/rotate");
    // A holder left out: 409 naming it, nothing committed.
    let missing = rotation(
        &alice,
        &vault,
        &alice.vk1,
        1,
        &[(kept.id, RecipientKind::Token, kept.public())],
    );
    let r = s.post(&rotate, &alice.auth, missing.body).await;
    r.problem(StatusCode::CONFLICT);
    assert_eq!(
        r.body["type"], "urn:keyslot:problem:holders-changed",
        "{}",
        r.text
    );
    assert_eq!(
        messages(&r),
        [format!("missing: member {}", bob.user)],
        "{}",
        r.text
    );
    let h = holders(&s, &alice.auth, &vault).await;
    assert_eq!(
        (h["key_version"].as_u64(), h["rotation_due"].as_bool()),
        (Some(1), Some(true)),
        "{h}"
    );
    assert_eq!(
        store
            .newest_grant(Holder::Token(kept.id), &vault)
            .await
            .unwrap(),
        None
    );

    // The revoked token named (it holds nothing now), and an unknown id: 409 naming both.
    let unknown = Id::random().unwrap();
    let extra = rotation(
        &alice,
        &vault,
        &alice.vk1,
        1,
        &[
            (bob.user, RecipientKind::User, bob.public()),
            (kept.id, RecipientKind::Token, kept.public()),
            (revoked.id, RecipientKind::Token, revoked.public()),
            (unknown, RecipientKind::Token, kept.public()),
        ],
    );
    let r = s.post(&rotate, &alice.auth, extra.body).await;
    r.problem(StatusCode::CONFLICT);
    let mut found = messages(&r);
    found.sort();
    let mut expected = vec![
        format!("extra: {} holds no key of this vault", revoked.id),
        format!("extra: {unknown} holds no key of this vault"),
    ];
    expected.sort();
    assert_eq!(found, expected, "{}", r.text);
    assert_eq!(holders(&s, &alice.auth, &vault).await["key_version"], 1);

    // The caller's own id among the grants is extra too (its slot is `own_slot`).
    let own = rotation(
        &alice,
        &vault,
        &alice.vk1,
        1,
        &[
            (bob.user, RecipientKind::User, bob.public()),
            (kept.id, RecipientKind::Token, kept.public()),
            (owner, RecipientKind::User, alice.public()),
        ],
    );
    let r = s.post(&rotate, &alice.auth, own.body).await;
    r.problem(StatusCode::CONFLICT);
    assert_eq!(
        messages(&r),
        [format!("extra: {owner} holds no key of this vault")]
    );

    // A wrong version: 409, nothing committed.
    let mut stale = rotation(
        &alice,
        &vault,
        &alice.vk1,
        1,
        &[
            (bob.user, RecipientKind::User, bob.public()),
            (kept.id, RecipientKind::Token, kept.public()),
        ],
    );
    stale.body["key_version"] = json!(3);
    s.post(&rotate, &alice.auth, stale.body)
        .await
        .problem(StatusCode::CONFLICT);

    // Exactly the remaining holders: committed.
    let exact = rotation(
        &alice,
        &vault,
        &alice.vk1,
        1,
        &[
            (bob.user, RecipientKind::User, bob.public()),
            (kept.id, RecipientKind::Token, kept.public()),
        ],
    );
    let r = s.post(&rotate, &alice.auth, exact.body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["key_version"], 2);
    let h = holders(&s, &alice.auth, &vault).await;
    assert_eq!(
        (h["key_version"].as_u64(), h["rotation_due"].as_bool()),
        (Some(2), Some(false)),
        "{h}"
    );
    let vk2 = exact.key;

    // Writes work again, under the new version only.
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/items"),
            &alice.auth,
            item_body(
                &alice.identity,
                &owner,
                &vault,
                (&alice.vk1, 1),
                &item,
                "late",
                &json!("x"),
            ),
        )
        .await;
    r.problem(StatusCode::CONFLICT);
    let after = json!({"written": "after the revocation"});
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/items"),
            &alice.auth,
            item_body(
                &alice.identity,
                &owner,
                &vault,
                (&vk2, 2),
                &item,
                "late",
                &after,
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // The kept token opens its grant with its own key and reads the new item.
    let path = format!("/v1/vaults/{vault}/items/{item}");
    let r = s.get(&path, &kept.auth()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["slot"]["kind"], "grant", "{}", r.text);
    let sealed = SealedKey::from_bytes(&unb64(r.body["slot"]["sealed"].as_str().unwrap())).unwrap();
    let kept_vk: VaultKey = open_from(
        &TokenKeyPair::derive(&kept.secret),
        &sealed,
        &grant_aad(&owner, &vault, 2, RecipientKind::Token, &kept.id),
    )
    .unwrap();
    assert_eq!(
        open_read(&r.body, &owner, &vault, &kept_vk),
        Some(after.clone())
    );
    // The member too, through its grant.
    let bob_grant = store
        .newest_grant(Holder::User(bob.user), &vault)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob_grant.key_version, 2);

    // The revoked token's keys: its slot held version 1, and every row it had is gone.
    // Version 1 opens nothing written after the revocation.
    assert_eq!(
        store
            .newest_grant(Holder::Token(revoked.id), &vault)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .token_vault_slot(&revoked.id, &vault)
            .await
            .unwrap()
            .is_none()
    );
    let r = s.get(&path, &alice.auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["key_version"], 2);
    assert_eq!(open_read(&r.body, &owner, &vault, &alice.vk1), None);
    assert_eq!(open_read(&r.body, &owner, &vault, &vk2), Some(after));
    // Nor does it ever reach version 2: no stored row seals or wraps it for that token.
    let row = store.item(&owner, &vault, &item).await.unwrap().unwrap();
    assert_eq!(row.key_version, 2);
}

#[tokio::test]
async fn revocation_then_a_client_rotation_with_exact_grants_sqlite() {
    revocation_then_a_client_rotation_with_exact_grants(false).await;
}

#[tokio::test]
async fn revocation_then_a_client_rotation_with_exact_grants_postgres() {
    revocation_then_a_client_rotation_with_exact_grants(true).await;
}

async fn removal_makes_the_vault_due_and_the_server_keeps_the_mark(postgres: bool) {
    let Some((s, _store)) = server(postgres, "e2e_removal").await else {
        return;
    };
    let alice = e2e_account(&s, "alice-rm").await;
    let bob = e2e_account(&s, "bob-rm").await;
    let vault = alice.vault;
    let r = s
        .post(
            &members_path(&vault),
            &alice.auth,
            share_body(&alice, &vault, &alice.vk1, 1, &bob),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A member cannot change roles; the owner can, and the stale list signature goes.
    let member = format!("{}/{}", members_path(&vault), bob.user);
    let r = s
        .call(
            reqwest::Method::PATCH,
            &member,
            &bob.auth,
            Some(json!({"role": "read"})),
        )
        .await;
    r.problem(StatusCode::FORBIDDEN);
    let r = s
        .call(
            reqwest::Method::PATCH,
            &member,
            &alice.auth,
            Some(json!({"role": "read"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = s.get(&members_path(&vault), &alice.auth).await;
    assert_eq!(r.body.get("members_signature"), None, "{}", r.text);

    let r = s.delete(&member, &alice.auth).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Due, not rotated: the server holds no key. The member is no holder any more.
    let h = holders(&s, &alice.auth, &vault).await;
    assert_eq!(
        (h["key_version"].as_u64(), h["rotation_due"].as_bool()),
        (Some(1), Some(true)),
        "{h}"
    );
    assert_eq!(h["holders"].as_array().unwrap().len(), 1, "{h}");
    assert_eq!(
        s.get(&format!("/v1/vaults/{vault}/holders"), &bob.auth)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The owner's client rotates with no grant at all (it is the only holder left).
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/rotate"),
            &alice.auth,
            rotation(&alice, &vault, &alice.vk1, 1, &[]).body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        holders(&s, &alice.auth, &vault).await["rotation_due"],
        false
    );
}

#[tokio::test]
async fn removal_makes_the_vault_due_and_the_server_keeps_the_mark_sqlite() {
    removal_makes_the_vault_due_and_the_server_keeps_the_mark(false).await;
}

#[tokio::test]
async fn removal_makes_the_vault_due_and_the_server_keeps_the_mark_postgres() {
    removal_makes_the_vault_due_and_the_server_keeps_the_mark(true).await;
}

/// Who may rotate an end-to-end vault: only its owner's own session (review R2 finding
/// 2). Every client checks a vault key's signature under the owner's identity, so a
/// rotation by a member, a co-owner or a token — which cannot make that signature — would
/// leave the vault unopenable: not due, they get 403; due, 409 `rotation-due` saying the
/// owner must rotate, and nothing changes. The owner's rotation must carry the owner's
/// identity signature over the new public key (422 naming it otherwise).
async fn only_the_owners_session_rotates(postgres: bool) {
    let Some((s, store)) = server(postgres, "e2e_rotation_who").await else {
        return;
    };
    let alice = e2e_account(&s, "alice-who").await;
    let bob = e2e_account(&s, "bob-who").await;
    let (owner, vault) = (alice.user, alice.vault);
    let r = s
        .post(
            &members_path(&vault),
            &alice.auth,
            share_body(&alice, &vault, &alice.vk1, 1, &bob),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Bob is a co-owner: his role says owner, but the vault's keys are alice's.
    let r = s
        .call(
            reqwest::Method::PATCH,
            &format!("{}/{}", members_path(&vault), bob.user),
            &alice.auth,
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = mint(&s, &alice, &vault, &alice.vk1, 1).await;
    let gone = mint(&s, &alice, &vault, &alice.vk1, 1).await;
    let rotate = format!("/v1/vaults/{vault}/rotate");
    let everyone_but = |own: Option<Id>| -> Vec<(Id, RecipientKind, PublicKey)> {
        [
            (owner, RecipientKind::User, alice.public()),
            (bob.user, RecipientKind::User, bob.public()),
            (token.id, RecipientKind::Token, token.public()),
            (gone.id, RecipientKind::Token, gone.public()),
        ]
        .into_iter()
        .filter(|(id, _, _)| Some(*id) != own)
        .collect()
    };
    // A rotation as `rotator` would send it: signed with its own identity.
    let by_bob = || {
        let mut r = rotation(&alice, &vault, &alice.vk1, 1, &everyone_but(Some(bob.user)));
        let public = unb64(r.body["public_key"].as_str().unwrap());
        let public = PublicKey::from_slice(&public).unwrap();
        r.body["public_key_signature"] =
            json!(bob.identity.sign_vault_key(&vault, 2, &public).to_base64());
        r
    };
    let by_token = || {
        let mut r = rotation(&alice, &vault, &alice.vk1, 1, &everyone_but(Some(token.id)));
        let own_slot = token
            .secret
            .unlock()
            .wrap_vault_key(&owner, &vault, 2, &r.key)
            .unwrap();
        r.body["own_slot"] = json!(b64(&own_slot.to_bytes()));
        r.body.as_object_mut().unwrap().remove("members_signature");
        r
    };

    // Not due: neither a co-owner nor a token may rotate.
    s.post(&rotate, &bob.auth, by_bob().body)
        .await
        .problem(StatusCode::FORBIDDEN);
    s.post(&rotate, &token.auth(), by_token().body)
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(holders(&s, &alice.auth, &vault).await["key_version"], 1);

    // Due (a token revoked): still only the owner. The others wait, told why.
    let r = s
        .delete(&format!("/v1/tokens/{}", gone.id), &alice.auth)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let remaining = |own: Id| -> Vec<(Id, RecipientKind, PublicKey)> {
        everyone_but(Some(own))
            .into_iter()
            .filter(|(id, _, _)| *id != gone.id)
            .collect()
    };
    let mut bobs = by_bob();
    bobs.body["grants"] =
        rotation(&alice, &vault, &alice.vk1, 1, &remaining(bob.user)).body["grants"].clone();
    let mut tokens = by_token();
    tokens.body["grants"] =
        rotation(&alice, &vault, &alice.vk1, 1, &remaining(token.id)).body["grants"].clone();
    for (who, auth, body) in [
        ("co-owner", &bob.auth, bobs.body),
        ("token", &token.auth(), tokens.body),
    ] {
        let r = s.post(&rotate, auth, body).await;
        r.problem(StatusCode::CONFLICT);
        assert_eq!(
            r.body["type"], "urn:keyslot:problem:rotation-due",
            "{who}: {}",
            r.text
        );
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("the vault's owner must rotate it"),
            "{who}: {}",
            r.text
        );
    }
    let h = holders(&s, &alice.auth, &vault).await;
    assert_eq!(
        (h["key_version"].as_u64(), h["rotation_due"].as_bool()),
        (Some(1), Some(true)),
        "{h}"
    );

    // The owner's rotation signed by someone else's identity (or over another version) is
    // 422 naming public_key_signature; nothing is committed.
    let exact = rotation(&alice, &vault, &alice.vk1, 1, &remaining(owner));
    let public = PublicKey::from_slice(&unb64(exact.body["public_key"].as_str().unwrap())).unwrap();
    for wrong in [
        bob.identity.sign_vault_key(&vault, 2, &public),
        alice.identity.sign_vault_key(&vault, 3, &public),
        alice.identity.sign_vault_key(&bob.vault, 2, &public),
    ] {
        let mut forged = exact.body.clone();
        forged["public_key_signature"] = json!(wrong.to_base64());
        let r = s.post(&rotate, &alice.auth, forged).await;
        r.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.fields(), ["public_key_signature"], "{}", r.text);
    }
    assert_eq!(holders(&s, &alice.auth, &vault).await["key_version"], 1);

    // The owner's session rotates; every remaining holder's grant opens to its key.
    let r = s.post(&rotate, &alice.auth, exact.body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["key_version"], 2);
    let h = holders(&s, &alice.auth, &vault).await;
    assert_eq!(
        (h["key_version"].as_u64(), h["rotation_due"].as_bool()),
        (Some(2), Some(false)),
        "{h}"
    );
    let grant = store
        .newest_grant(Holder::User(bob.user), &vault)
        .await
        .unwrap()
        .unwrap();
    let opened: VaultKey = open_from(
        &bob.pair,
        &SealedKey::from_bytes(&grant.sealed).unwrap(),
        &grant_aad(&owner, &vault, 2, RecipientKind::User, &bob.user),
    )
    .unwrap();
    // Same key as the owner made: what one wraps, the other opens.
    let probe = VaultKey::generate().unwrap();
    let aad = vault_key_for_user_aad(&owner, &vault, 9);
    let wrapped = opened.wrap(&probe, &aad).unwrap();
    let unwrapped: Result<VaultKey, _> = exact.key.unwrap_key(&wrapped, &aad);
    assert!(unwrapped.is_ok());
}

#[tokio::test]
async fn only_the_owners_session_rotates_sqlite() {
    only_the_owners_session_rotates(false).await;
}

#[tokio::test]
async fn only_the_owners_session_rotates_postgres() {
    only_the_owners_session_rotates(true).await;
}

/// A vault's holders are told apart by id alone (a rotation's grants name them so), and a
/// token's id is its client's choice: a mint claiming an id already in use — a member's
/// user id, or another token's — is 409 and nothing is minted, and a sign-up claiming a
/// token's id as its user id is refused the same way (review R1 finding 9).
/// Before, a token with bob's id made every rotation of the vault unformable.
async fn a_token_cannot_claim_an_id_in_use(postgres: bool) {
    let Some((s, store)) = server(postgres, "e2e_token_ids").await else {
        return;
    };
    let alice = e2e_account(&s, "alice-ids").await;
    let bob = e2e_account(&s, "bob-ids").await;
    let vault = alice.vault;
    let r = s
        .post(
            &members_path(&vault),
            &alice.auth,
            share_body(&alice, &vault, &alice.vk1, 1, &bob),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let kept = mint(&s, &alice, &vault, &alice.vk1, 1).await;
    for claimed in [bob.user, alice.user, kept.id] {
        let (r, _) = mint_claiming(&s, &alice, &vault, &alice.vk1, 1, false, Some(claimed)).await;
        r.problem(StatusCode::CONFLICT);
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("already in use"),
            "{}",
            r.text
        );
    }
    assert!(store.token(&bob.user).await.unwrap().is_none());
    assert!(store.token(&alice.user).await.unwrap().is_none());
    // Nor does a sign-up take a token's id as its user id.
    let refused = e2e_account_claiming(&s, "carol-ids", kept.id).await;
    assert!(
        matches!(&refused, Err(keyslot_core::Error::Conflict(why)) if why.contains("user_id")),
        "{:?}",
        refused.err()
    );
    assert!(store.user(&kept.id).await.unwrap().is_none());
    // The vault's holders are the two members and the one token, each once.
    let h = holders(&s, &alice.auth, &vault).await;
    assert_eq!(h["holders"].as_array().unwrap().len(), 3, "{h}");
}

#[tokio::test]
async fn a_token_cannot_claim_an_id_in_use_sqlite() {
    a_token_cannot_claim_an_id_in_use(false).await;
}

#[tokio::test]
async fn a_token_cannot_claim_an_id_in_use_postgres() {
    a_token_cannot_claim_an_id_in_use(true).await;
}
