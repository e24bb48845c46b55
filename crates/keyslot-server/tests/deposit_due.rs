//! Deposits while a vault's rotation is due (issue 15, DESIGN §3.1 "When a rotation is
//! due"), the claim batch and the deposit rate, on SQLite and on PostgreSQL (when
//! `KEYSLOT_TEST_DATABASE_URL` is set; always in CI).
//!
//! While due, a deposit is sealed to each remaining reader's own public key: every
//! member and their live tokens holding a slot of the vault. The attacker keeps a token's
//! secret and what an old copy of the database gave it (the vault key its slot opened),
//! has the token revoked without a rotation, and reads the deposit's rows from a new copy
//! with `keyslot-crypto` alone: nothing opens. A remaining reader's secret does open its
//! own copy from the same rows, so the harness can fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod deposit_raw;

use common::{Auth, PASSWORD, TestServer};
use deposit_raw::{Copy, Deposit, Raw, server};
use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, ItemKey, Purpose, RecipientKind, SealedKey, TokenCredential,
    TokenKeyPair, VaultKey, VaultKeyPair, deposit_aad, open_from,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id(text: &str) -> Id {
    text.parse().unwrap()
}

fn items_path(vault: &str) -> String {
    format!("/v1/vaults/{vault}/items")
}

async fn deposit(s: &TestServer, token: &Auth, vault: &str, name: &str, value: Value) -> String {
    let r = s
        .post(
            &items_path(vault),
            token,
            json!({"name": name, "value": value}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.str("id")
}

async fn read_value(s: &TestServer, auth: &Auth, vault: &str, item: &str) -> Value {
    let r = s.get(&format!("{}/{item}", items_path(vault)), auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["value"].clone()
}

async fn listed(s: &TestServer, auth: &Auth, vault: &str) -> usize {
    let r = s.get(&items_path(vault), auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().unwrap().len()
}

/// A deposit's value, opened with its item key (version 1, the deposit's key version).
fn open_value(key: &ItemKey, owner: &Id, vault: &Id, d: &Deposit) -> Option<Value> {
    let aad = Aad::new(Purpose::ItemValue)
        .user(owner)
        .vault(vault)
        .item(&d.id)
        .item_version(1)
        .key_version(d.key_version);
    let plain = key
        .open_content(&aad, &Envelope::from_bytes(&d.value).ok()?)
        .ok()?;
    serde_json::from_slice(&plain).ok()
}

/// What a token's secret opens of a deposit's copies: its own X25519 pair under every
/// context the copy could name (itself, or the copy's reader), and, with `vault_key`, the
/// vault pair of the deposit's version.
fn open_with(
    secret: &str,
    vault_key: Option<&VaultKey>,
    owner: &Id,
    vault: &Id,
    d: &Deposit,
    copies: &[Copy],
) -> Option<Value> {
    let token = TokenCredential::parse(secret).unwrap();
    let pair = TokenKeyPair::derive(&token);
    let aad = deposit_aad(owner, vault, &d.id, 1, d.key_version);
    for c in copies.iter().filter(|c| c.deposit == d.id) {
        let Ok(sealed) = SealedKey::from_bytes(&c.sealed) else {
            continue;
        };
        for recipient in [*token.id(), c.holder] {
            let context = aad.clone().recipient(RecipientKind::Token, &recipient);
            if let Ok(key) = open_from::<ItemKey>(&pair, &sealed, &context) {
                return open_value(&key, owner, vault, d);
            }
        }
        if let Some(vk) = vault_key {
            let vault_pair = VaultKeyPair::derive(vk, vault, d.key_version);
            if let Ok(key) = open_from::<ItemKey>(&vault_pair, &sealed, &aad) {
                return open_value(&key, owner, vault, d);
            }
        }
    }
    if let (Some(vk), Ok(sealed)) = (vault_key, SealedKey::from_bytes(&d.sealed_item_key)) {
        let vault_pair = VaultKeyPair::derive(vk, vault, d.key_version);
        if let Ok(key) = open_from::<ItemKey>(&vault_pair, &sealed, &aad) {
            return open_value(&key, owner, vault, d);
        }
    }
    None
}

/// The vault key a scoped token's slot opens, as a copy of the database gives it.
async fn vault_key_of(raw: &Raw, secret: &str, owner: &Id, vault: &Id) -> VaultKey {
    let token = TokenCredential::parse(secret).unwrap();
    let (version, wrapped) = raw
        .token_slot(token.id(), vault)
        .await
        .expect("a read token holds a slot");
    token
        .unlock()
        .open_vault_key(
            owner,
            vault,
            version,
            &Envelope::from_bytes(&wrapped).unwrap(),
        )
        .unwrap()
}

async fn share(s: &TestServer, owner: &Auth, vault: &str, username: &str, role: &str) {
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/members"),
            owner,
            json!({"username": username, "role": role}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// Revoke a token without rotating: the vault is due, its current key in the reach of
/// the revoked token's secret and any old copy of the database.
async fn revoke_without_rotating(s: &TestServer, session: &Auth, token: &str) {
    let r = s
        .delete(&format!("/v1/tokens/{token}?rotate=false"), session)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

async fn every_remaining_reader_reads_a_deposit_made_while_due(postgres: bool) {
    let Some((s, raw)) = server(postgres, |_| {}).await else {
        return;
    };
    let a = s.signup("olga").await;
    s.signup("pete").await;
    let (owner, vault) = (id(&a.user_id), id(&a.vault));
    let session = s.session("olga", PASSWORD).await;
    share(&s, &session, &a.vault, "pete", "read").await;
    let member = s.session("pete", PASSWORD).await;
    let (reader_id, reader) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (leaked_id, leaked) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (_, depositor) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    let depositor = Auth::Token(depositor);
    // The attacker's old copy: the leaked token's slot opens VK_1.
    let vk1 = vault_key_of(&raw, &leaked, &owner, &vault).await;

    revoke_without_rotating(&s, &session, &leaked_id).await;
    let drops = [
        deposit(&s, &depositor, &a.vault, "for olga", json!("o")).await,
        deposit(&s, &depositor, &a.vault, "for pete", json!("p")).await,
        deposit(&s, &depositor, &a.vault, "for the token", json!("t")).await,
    ];

    // The new copy: each deposit sealed to no vault key, with one copy per reader — the
    // owner, the member, the read token — and none for the revoked token or the depositor.
    let (deposits, copies) = (raw.deposits(&vault).await, raw.copies(&vault).await);
    assert_eq!(deposits.len(), 3);
    let pete = raw_user(&s, &member).await;
    for d in &deposits {
        assert!(d.to_readers && d.sealed_item_key.is_empty(), "{d:?}");
        assert_eq!(d.key_version, 1);
        let mut readers: Vec<(bool, Id)> = copies
            .iter()
            .filter(|c| c.deposit == d.id)
            .map(|c| (c.token, c.holder))
            .collect();
        readers.sort_unstable_by_key(|(token, holder)| (*token, *holder.as_bytes()));
        let mut expected = vec![(false, owner), (false, pete), (true, id(&reader_id))];
        expected.sort_unstable_by_key(|(token, holder)| (*token, *holder.as_bytes()));
        assert_eq!(readers, expected);
        assert_eq!(
            open_with(&leaked, Some(&vk1), &owner, &vault, d, &copies),
            None,
            "the revoked token's secret and VK_1 open a deposit made after the revocation"
        );
    }
    // The harness does open a copy with a remaining reader's secret.
    let first = deposits.iter().find(|d| d.id == id(&drops[0])).unwrap();
    assert_eq!(
        open_with(&reader, None, &owner, &vault, first, &copies),
        Some(json!("o"))
    );

    // Each reader moves one into items by reading it first (the owner's request also
    // runs the due rotation); then every reader reads all three.
    let token = Auth::Token(reader);
    assert_eq!(read_value(&s, &session, &a.vault, &drops[0]).await, "o");
    assert_eq!(read_value(&s, &member, &a.vault, &drops[1]).await, "p");
    assert_eq!(read_value(&s, &token, &a.vault, &drops[2]).await, "t");
    assert!(raw.deposits(&vault).await.is_empty());
    assert!(
        raw.copies(&vault).await.is_empty(),
        "every copy went with its deposit"
    );
    for auth in [&session, &member, &token] {
        assert_eq!(listed(&s, auth, &a.vault).await, 3);
        for (item, value) in drops.iter().zip(["o", "p", "t"]) {
            assert_eq!(read_value(&s, auth, &a.vault, item).await, value);
        }
    }
    s.get(&items_path(&a.vault), &Auth::Token(leaked))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let audit = s.get("/v1/audit?action=item.deposit", &session).await;
    assert_eq!(
        audit.body["events"].as_array().unwrap().len(),
        3,
        "{}",
        audit.text
    );
}

/// The member's user id, as the server names them.
async fn raw_user(s: &TestServer, session: &Auth) -> Id {
    let r = s.get("/v1/me", session).await;
    id(&r.str("user_id"))
}

#[tokio::test]
async fn every_remaining_reader_reads_a_deposit_made_while_due_sqlite() {
    every_remaining_reader_reads_a_deposit_made_while_due(false).await;
}

#[tokio::test]
async fn every_remaining_reader_reads_a_deposit_made_while_due_postgres() {
    every_remaining_reader_reads_a_deposit_made_while_due(true).await;
}

/// A `"*"` token of a member is a reader too: it holds a slot of every vault it covers.
async fn an_all_vaults_token_reads_a_deposit_made_while_due(postgres: bool) {
    let Some((s, raw)) = server(postgres, |_| {}).await else {
        return;
    };
    let a = s.signup("quin").await;
    let vault = id(&a.vault);
    let session = s.session("quin", PASSWORD).await;
    let (star_id, star) = s.mint(&session, json!("*"), json!(["read"])).await;
    let (leaked_id, _) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (_, depositor) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    revoke_without_rotating(&s, &session, &leaked_id).await;
    let item = deposit(&s, &Auth::Token(depositor), &a.vault, "x", json!("star")).await;
    assert!(
        raw.copies(&vault)
            .await
            .iter()
            .any(|c| c.token && c.holder == id(&star_id)),
        "no copy for the \"*\" token: it is not among the vault's holders"
    );
    // The "*" token is the first reader: it opens its own copy.
    assert_eq!(
        read_value(&s, &Auth::Token(star), &a.vault, &item).await,
        "star"
    );
    assert!(raw.deposits(&vault).await.is_empty());
}

#[tokio::test]
async fn an_all_vaults_token_reads_a_deposit_made_while_due_sqlite() {
    an_all_vaults_token_reads_a_deposit_made_while_due(false).await;
}

#[tokio::test]
async fn an_all_vaults_token_reads_a_deposit_made_while_due_postgres() {
    an_all_vaults_token_reads_a_deposit_made_while_due(true).await;
}

/// Before any holder published the current version's public key (a crash between a
/// rotation and its publication), deposits go to the readers too, and the next listing
/// publishes it.
async fn a_deposit_before_the_key_is_published_goes_to_the_readers(postgres: bool) {
    let Some((s, raw)) = server(postgres, |_| {}).await else {
        return;
    };
    let a = s.signup("rosa").await;
    let vault = id(&a.vault);
    let session = s.session("rosa", PASSWORD).await;
    let (_, depositor) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    raw.execute(
        "UPDATE vault_keys SET public_key = NULL, public_key_mac = NULL WHERE vault_id = $1",
        &[vault.as_bytes()],
    )
    .await;
    let item = deposit(&s, &Auth::Token(depositor.clone()), &a.vault, "x", json!(1)).await;
    let rows = raw.deposits(&vault).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].to_readers);
    assert_eq!(listed(&s, &session, &a.vault).await, 1);
    assert_eq!(read_value(&s, &session, &a.vault, &item).await, 1);
    // Published again by that listing: the next deposit is sealed to the vault.
    deposit(&s, &Auth::Token(depositor), &a.vault, "y", json!(2)).await;
    let rows = raw.deposits(&vault).await;
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].to_readers && !rows[0].sealed_item_key.is_empty());
}

#[tokio::test]
async fn a_deposit_before_the_key_is_published_goes_to_the_readers_sqlite() {
    a_deposit_before_the_key_is_published_goes_to_the_readers(false).await;
}

#[tokio::test]
async fn a_deposit_before_the_key_is_published_goes_to_the_readers_postgres() {
    a_deposit_before_the_key_is_published_goes_to_the_readers(true).await;
}
