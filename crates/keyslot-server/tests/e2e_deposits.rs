//! End-to-end deposits (issue 16, docs/END-TO-END.md §8), on SQLite and on PostgreSQL
//! (when `KEYSLOT_TEST_DATABASE_URL` is set; always in CI). The test plays both clients —
//! the deposit token's and the readers' — with `keyslot-crypto` alone.
//!
//! A deposit token's client seals the item key in HPKE auth mode, with the token's own
//! key, to the vault's public key as its owner signed it; the depositor reads nothing
//! back; a reader opens it with the sender's key the server kept, re-seals it under the
//! vault key and claims it, exactly once. While a rotation is due the vault's key is
//! refused and the deposit goes to each remaining reader instead — exactly those, or 409
//! naming who is missing — and each reader opens its own copy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod e2e_support;

use e2e_support::{
    Client, Token, b64, e2e_account, holders, item_body, members_path, mint, mint_deposit,
    open_read, server, share_body, unb64,
};
use keyslot_core::keystore::Holder;
use keyslot_crypto::{
    Aad, AuthSealedKey, ContentKey, Envelope, Id, ItemKey, PublicKey, Purpose, RecipientKind,
    SealedKey, TokenKeyPair, VaultKey, VaultKeyPair, deposit_aad, grant_aad, open_from,
    open_from_auth, seal_to_auth,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn content_aad(purpose: Purpose, owner: &Id, vault: &Id, item: &Id, key_version: u32) -> Aad {
    Aad::new(purpose)
        .user(owner)
        .vault(vault)
        .item(item)
        .item_version(1)
        .key_version(key_version)
}

/// A deposit made by `token`'s client: the item key, and the body without its sealing.
struct Deposit {
    id: Id,
    key: ItemKey,
    body: Value,
}

fn deposit(owner: &Id, vault: &Id, key_version: u32, name: &str, value: &Value) -> Deposit {
    let id = Id::random().unwrap();
    let key = ItemKey::generate().unwrap();
    let sealed_name = key
        .seal_content(
            &content_aad(Purpose::ItemName, owner, vault, &id, key_version),
            name.as_bytes(),
        )
        .unwrap();
    let sealed_value = key
        .seal_content(
            &content_aad(Purpose::ItemValue, owner, vault, &id, key_version),
            value.to_string().as_bytes(),
        )
        .unwrap();
    Deposit {
        id,
        key,
        body: json!({
            "id": id.to_string(),
            "key_version": key_version,
            "sealed_name": b64(&sealed_name.to_bytes()),
            "sealed_value": b64(&sealed_value.to_bytes()),
        }),
    }
}

/// The value of a pending deposit once its item key is opened.
fn open_pending(p: &Value, key: &ItemKey, owner: &Id, vault: &Id) -> (String, Value) {
    let id: Id = p["id"].as_str().unwrap().parse().unwrap();
    let version = u32::try_from(p["key_version"].as_u64().unwrap()).unwrap();
    let name = key
        .open_content(
            &content_aad(Purpose::ItemName, owner, vault, &id, version),
            &Envelope::from_bytes(&unb64(p["sealed_name"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
    let value = key
        .open_content(
            &content_aad(Purpose::ItemValue, owner, vault, &id, version),
            &Envelope::from_bytes(&unb64(p["sealed_value"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
    (
        String::from_utf8(name.to_vec()).unwrap(),
        serde_json::from_slice(&value).unwrap(),
    )
}

fn sender_of(p: &Value) -> PublicKey {
    PublicKey::from_slice(&unb64(p["sender_public_key"].as_str().unwrap())).unwrap()
}

fn auth_sealed(p: &Value) -> AuthSealedKey {
    AuthSealedKey::from_bytes(&unb64(p["sealed_item_key"].as_str().unwrap())).unwrap()
}

async fn pending(s: &common::TestServer, reader: &Client, vault: &Id) -> Vec<Value> {
    let r = s
        .get(&format!("/v1/vaults/{vault}/deposits"), &reader.auth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["deposits"].as_array().unwrap().clone()
}

async fn a_deposit_reaches_the_readers_and_never_the_depositor(postgres: bool) {
    let Some((s, store)) = server(postgres, "e2e_deposit").await else {
        return;
    };
    let alice = e2e_account(&s, "alice-dep").await;
    let bob = e2e_account(&s, "bob-dep").await;
    let (owner, vault) = (alice.user, alice.vault);
    let r = s
        .post(
            &members_path(&vault),
            &alice.auth,
            share_body(&alice, &vault, &alice.vk1, 1, &bob),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A reader who may not write.
    let carol = e2e_account(&s, "carol-dep").await;
    let mut read_only = share_body(&alice, &vault, &alice.vk1, 1, &carol);
    read_only["role"] = json!("read");
    let r = s.post(&members_path(&vault), &alice.auth, read_only).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let depositor: Token = mint_deposit(&s, &alice, &vault).await;
    let sender = TokenKeyPair::derive(&depositor.secret);

    // What to seal to: version 1's public key, as the owner signed it at sign-up.
    let key_path = format!("/v1/vaults/{vault}/deposit-key");
    let r = s.get(&key_path, &depositor.auth()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["owner_id"], owner.to_string());
    // The owner's identity, which the token's client accepts only if its id commits to it.
    assert_eq!(
        r.body["owner_identity_public"],
        b64(alice.identity.public().as_bytes())
    );
    assert_eq!(r.body["key_version"], 1);
    assert_eq!(r.body["rotation_due"], false);
    let vault_public = VaultKeyPair::derive(&alice.vk1, &vault, 1).public_key();
    assert_eq!(
        r.body["public_key_signature"],
        alice
            .identity
            .sign_vault_key(&vault, 1, &vault_public)
            .to_base64()
    );
    assert_eq!(r.body["readers"], json!([]));
    assert_eq!(
        unb64(r.body["public_key"].as_str().unwrap()),
        vault_public.as_bytes()
    );
    // Nobody else asks for it: a session 403, another vault 404.
    s.get(&key_path, &alice.auth)
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(
        s.get(
            &format!("/v1/vaults/{}/deposit-key", bob.vault),
            &depositor.auth()
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // The deposit: the item key sealed in auth mode by the token's own pair.
    let secret = json!({"api_key": "deposited"});
    let mut d = deposit(&owner, &vault, 1, "ci-key", &secret);
    let sealed = seal_to_auth(
        &vault_public,
        &sender,
        &d.key,
        &deposit_aad(&owner, &vault, &d.id, 1, 1),
    )
    .unwrap();
    d.body["sealed_item_key"] = json!(b64(&sealed.to_bytes()));
    let deposits = format!("/v1/vaults/{vault}/deposits");
    // A key sealed in base mode (no sender) is not a deposit here.
    let mut base = d.body.clone();
    base["sealed_item_key"] = json!(b64(&keyslot_crypto::seal_to(
        &vault_public,
        &d.key,
        &deposit_aad(&owner, &vault, &d.id, 1, 1)
    )
    .unwrap()
    .to_bytes()));
    let r = s.post(&deposits, &depositor.auth(), base).await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), ["sealed_item_key"], "{}", r.text);
    let r = s.post(&deposits, &depositor.auth(), d.body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["id"], d.id.to_string());

    // The depositor reads nothing back, not even the waiting deposit.
    s.get(&deposits, &depositor.auth())
        .await
        .problem(StatusCode::FORBIDDEN);
    s.get(&format!("/v1/vaults/{vault}/items"), &depositor.auth())
        .await
        .problem(StatusCode::FORBIDDEN);

    // The token goes before anyone reads its deposit: the deposit stays, with its sender.
    let r = s
        .delete(&format!("/v1/tokens/{}", depositor.id), &alice.auth)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // The member's client opens it with the vault key and the sender the server kept.
    let waiting = pending(&s, &bob, &vault).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let p = &waiting[0];
    assert_eq!(p["to_readers"], false);
    assert_eq!(p["token_id"], depositor.id.to_string());
    assert_eq!(
        p["sender_signature"],
        alice
            .identity
            .sign_token_key(&owner, &depositor.id, &sender.public_key())
            .to_base64()
    );
    assert_eq!(sender_of(p), sender.public_key());
    let grant = store
        .newest_grant(Holder::User(bob.user), &vault)
        .await
        .unwrap()
        .unwrap();
    let vk: VaultKey = open_from(
        &bob.pair,
        &SealedKey::from_bytes(&grant.sealed).unwrap(),
        &grant_aad(&owner, &vault, 1, RecipientKind::User, &bob.user),
    )
    .unwrap();
    let key: ItemKey = open_from_auth(
        &VaultKeyPair::derive(&vk, &vault, 1),
        &sender_of(p),
        &auth_sealed(p),
        &deposit_aad(&owner, &vault, &d.id, 1, 1),
    )
    .unwrap();
    // Sealed by the token: another sender's key does not open it.
    assert!(
        open_from_auth::<ItemKey>(
            &VaultKeyPair::derive(&vk, &vault, 1),
            &bob.public(),
            &auth_sealed(p),
            &deposit_aad(&owner, &vault, &d.id, 1, 1),
        )
        .is_err()
    );
    let (name, value) = open_pending(p, &key, &owner, &vault);
    assert_eq!((name.as_str(), &value), ("ci-key", &secret));

    // The claim: re-sealed as an ordinary item under the current key, moved once.
    let mut claim = item_body(
        &bob.identity,
        &owner,
        &vault,
        (&vk, 1),
        &d.id,
        &name,
        &value,
    );
    for field in ["id", "version", "signature"] {
        claim.as_object_mut().unwrap().remove(field);
    }
    let claim_path = format!("{deposits}/{}/claim", d.id);
    // A reader who may not write cannot put content under the deposit's id.
    s.post(&claim_path, &carol.auth, claim.clone())
        .await
        .problem(StatusCode::FORBIDDEN);
    let r = s.post(&claim_path, &bob.auth, claim.clone()).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    s.post(&claim_path, &alice.auth, claim)
        .await
        .problem(StatusCode::NOT_FOUND);
    assert!(pending(&s, &alice, &vault).await.is_empty());
    let r = s
        .get(&format!("/v1/vaults/{vault}/items/{}", d.id), &alice.auth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(open_read(&r.body, &owner, &vault, &alice.vk1), Some(secret));
}

#[tokio::test]
async fn a_deposit_reaches_the_readers_and_never_the_depositor_sqlite() {
    a_deposit_reaches_the_readers_and_never_the_depositor(false).await;
}

#[tokio::test]
async fn a_deposit_reaches_the_readers_and_never_the_depositor_postgres() {
    a_deposit_reaches_the_readers_and_never_the_depositor(true).await;
}

async fn while_due_a_deposit_goes_to_each_remaining_reader(postgres: bool) {
    let Some((s, _store)) = server(postgres, "e2e_deposit_due").await else {
        return;
    };
    let alice = e2e_account(&s, "alice-due").await;
    let bob = e2e_account(&s, "bob-due").await;
    let (owner, vault) = (alice.user, alice.vault);
    let r = s
        .post(
            &members_path(&vault),
            &alice.auth,
            share_body(&alice, &vault, &alice.vk1, 1, &bob),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let depositor = mint_deposit(&s, &alice, &vault).await;
    let sender = TokenKeyPair::derive(&depositor.secret);
    let leaked = mint(&s, &alice, &vault, &alice.vk1, 1).await;
    let r = s
        .delete(&format!("/v1/tokens/{}", leaked.id), &alice.auth)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // Due: the vault's key is within reach of the revoked token. The readers are listed.
    let r = s
        .get(
            &format!("/v1/vaults/{vault}/deposit-key"),
            &depositor.auth(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["rotation_due"], true);
    let readers = r.body["readers"].as_array().unwrap().clone();
    let mut ids: Vec<&str> = readers.iter().map(|h| h["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut expected = vec![owner.to_string(), bob.user.to_string()];
    expected.sort();
    assert_eq!(ids, expected, "{readers:?}");
    assert_eq!(holders(&s, &alice.auth, &vault).await["rotation_due"], true);

    let secret = json!("while due");
    let d = deposit(&owner, &vault, 1, "due", &secret);
    let deposits = format!("/v1/vaults/{vault}/deposits");
    // Sealed to the vault anyway: refused, the vault's key is not to be sealed to now.
    let vault_public = VaultKeyPair::derive(&alice.vk1, &vault, 1).public_key();
    let mut to_vault = d.body.clone();
    to_vault["sealed_item_key"] = json!(b64(&seal_to_auth(
        &vault_public,
        &sender,
        &d.key,
        &deposit_aad(&owner, &vault, &d.id, 1, 1)
    )
    .unwrap()
    .to_bytes()));
    let r = s.post(&deposits, &depositor.auth(), to_vault).await;
    r.problem(StatusCode::CONFLICT);
    assert_eq!(
        r.body["type"], "urn:keyslot:problem:rotation-due",
        "{}",
        r.text
    );

    let copy = |reader: &Client| {
        let aad =
            deposit_aad(&owner, &vault, &d.id, 1, 1).recipient(RecipientKind::User, &reader.user);
        json!({"holder": reader.user.to_string(),
               "sealed": b64(&seal_to_auth(&reader.public(), &sender, &d.key, &aad).unwrap().to_bytes())})
    };
    // A reader left out: 409 naming it, nothing stored.
    let mut short = d.body.clone();
    short["readers"] = json!([copy(&alice)]);
    let r = s.post(&deposits, &depositor.auth(), short).await;
    r.problem(StatusCode::CONFLICT);
    assert_eq!(
        r.body["type"], "urn:keyslot:problem:holders-changed",
        "{}",
        r.text
    );
    assert!(r.text.contains(&bob.user.to_string()), "{}", r.text);
    assert!(pending(&s, &alice, &vault).await.is_empty());

    // Every remaining reader: stored, and each opens its own copy.
    let mut exact = d.body.clone();
    exact["readers"] = json!([copy(&alice), copy(&bob)]);
    let r = s.post(&deposits, &depositor.auth(), exact).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    for reader in [&alice, &bob] {
        let waiting = pending(&s, reader, &vault).await;
        assert_eq!(waiting.len(), 1, "{waiting:?}");
        let p = &waiting[0];
        assert_eq!(p["to_readers"], true);
        let key: ItemKey = open_from_auth(
            &reader.pair,
            &sender_of(p),
            &auth_sealed(p),
            &deposit_aad(&owner, &vault, &d.id, 1, 1).recipient(RecipientKind::User, &reader.user),
        )
        .unwrap();
        assert_eq!(
            open_pending(p, &key, &owner, &vault),
            ("due".to_owned(), secret.clone())
        );
    }
    // Claiming is a write: not while due (the item would go under a key the revoked
    // token holds).
    let p = &pending(&s, &bob, &vault).await[0];
    let mut claim = item_body(
        &bob.identity,
        &owner,
        &vault,
        (&alice.vk1, 1),
        &d.id,
        "due",
        &secret,
    );
    for field in ["id", "version", "signature"] {
        claim.as_object_mut().unwrap().remove(field);
    }
    assert_eq!(p["id"], d.id.to_string());
    let r = s
        .post(&format!("{deposits}/{}/claim", d.id), &bob.auth, claim)
        .await;
    r.problem(StatusCode::CONFLICT);
    assert_eq!(
        r.body["type"], "urn:keyslot:problem:rotation-due",
        "{}",
        r.text
    );
    // The revoked token has no copy and no key: it is no reader.
    assert_eq!(
        s.get(&deposits, &leaked.auth()).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn while_due_a_deposit_goes_to_each_remaining_reader_sqlite() {
    while_due_a_deposit_goes_to_each_remaining_reader(false).await;
}

#[tokio::test]
async fn while_due_a_deposit_goes_to_each_remaining_reader_postgres() {
    while_due_a_deposit_goes_to_each_remaining_reader(true).await;
}

/// A server-mode vault's deposits are sealed by its server in base mode (its listing opens
/// them); an auth-mode deposit from a `ksa_` deposit token would be one it cannot open.
async fn a_server_mode_vault_takes_no_client_deposit(postgres: bool) {
    let Some((s, _store)) = server(postgres, "e2e_deposit_server_mode").await else {
        return;
    };
    let carol = s.signup("carol-deposit").await;
    let session = s.session("carol-deposit", common::PASSWORD).await;
    let (_, text) = s
        .mint(&session, json!([carol.vault]), json!(["deposit"]))
        .await;
    let proof = keyslot_crypto::TokenCredential::parse(&text)
        .unwrap()
        .unlock()
        .auth_proof()
        .to_text()
        .to_string();
    let depositor = common::Auth::Token(proof);
    let (owner, vault): (Id, Id) = (carol.user_id.parse().unwrap(), carol.vault.parse().unwrap());
    let r = s
        .get(&format!("/v1/vaults/{vault}/deposit-key"), &depositor)
        .await;
    r.problem(StatusCode::FORBIDDEN);
    let mut d = deposit(&owner, &vault, 1, "x", &json!("x"));
    let sender = TokenKeyPair::derive(&keyslot_crypto::E2eTokenCredential::generate().unwrap());
    let public = PublicKey::from_slice(&[9; 32]).unwrap();
    d.body["sealed_item_key"] = json!(b64(&seal_to_auth(
        &public,
        &sender,
        &d.key,
        &deposit_aad(&owner, &vault, &d.id, 1, 1)
    )
    .unwrap()
    .to_bytes()));
    let r = s
        .post(&format!("/v1/vaults/{vault}/deposits"), &depositor, d.body)
        .await;
    r.problem(StatusCode::FORBIDDEN);
    // Its own listing still works: nothing it cannot open was stored.
    let r = s.get(&format!("/v1/vaults/{vault}/items"), &session).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn a_server_mode_vault_takes_no_client_deposit_sqlite() {
    a_server_mode_vault_takes_no_client_deposit(false).await;
}

#[tokio::test]
async fn a_server_mode_vault_takes_no_client_deposit_postgres() {
    a_server_mode_vault_takes_no_client_deposit(true).await;
}
