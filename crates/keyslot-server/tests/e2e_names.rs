//! End-to-end item names are unique by blind index (review R2 finding 8; END-TO-END §6):
//! a client's write whose `name_index` another item of the vault has at the same key
//! version is 409 `name-taken` naming `name_index`, and nothing is written, so a look-up
//! by index (`keyslot read ks://vault/name`) finds one item, not whichever came first. An
//! item's own next version keeps its name. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod e2e_support;

use e2e_support::{Client, b64, e2e_account, item_body, server};
use keyslot_crypto::item::seal_item;
use keyslot_crypto::{Id, NameIndexKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Version `version` of `item` named `name`, as alice's client writes it under her
/// vault's version-1 key.
fn version_body(alice: &Client, item: &Id, version: u64, name: &str) -> Value {
    let vault = alice.vault;
    let sealed = seal_item(
        &alice.vk1,
        &alice.user,
        &vault,
        item,
        version,
        1,
        name,
        b"\"v\"",
    )
    .unwrap();
    json!({
        "version": version,
        "key_version": 1,
        "wrapped_item_key": b64(&sealed.wrapped_item_key),
        "sealed_name": b64(&sealed.sealed_name),
        "sealed_value": b64(&sealed.sealed_value),
        "name_index": b64(&NameIndexKey::derive(&alice.vk1, &vault, 1).index(name)),
        "signature": alice.identity.sign_item(&vault, item, version, &sealed).to_base64(),
    })
}

async fn a_second_item_with_the_same_name_is_refused(postgres: bool) {
    let Some((s, _store)) = server(postgres, "e2e_names").await else {
        return;
    };
    let alice = e2e_account(&s, "alice-names").await;
    let vault = alice.vault;
    let items = format!("/v1/vaults/{vault}/items");
    let create = |name: &str| {
        let id = Id::random().unwrap();
        let body = item_body(
            &alice.identity,
            &alice.user,
            &vault,
            (&alice.vk1, 1),
            &id,
            name,
            &json!("v"),
        );
        (id, body)
    };
    let (first, body) = create("db/password");
    let r = s.post(&items, &alice.auth, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // The same name again: 409 name-taken naming name_index, nothing written.
    let (second, body) = create("db/password");
    let r = s.post(&items, &alice.auth, body).await;
    r.problem(StatusCode::CONFLICT);
    assert_eq!(
        r.body["type"], "urn:keyslot:problem:name-taken",
        "{}",
        r.text
    );
    assert_eq!(r.fields(), ["name_index"], "{}", r.text);
    let r = s.get(&format!("{items}/{second}"), &alice.auth).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let index = NameIndexKey::derive(&alice.vk1, &vault, 1).index("db/password");
    let r = s
        .get(&format!("{items}?name_index={}", b64(&index)), &alice.auth)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.text);

    // Another name is free; renaming it onto the taken name is refused the same way.
    let (other, body) = create("db/user");
    let r = s.post(&items, &alice.auth, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = s
        .call(
            Method::PUT,
            &format!("{items}/{other}"),
            &alice.auth,
            Some(version_body(&alice, &other, 2, "db/password")),
        )
        .await;
    r.problem(StatusCode::CONFLICT);
    assert_eq!(r.fields(), ["name_index"], "{}", r.text);
    let r = s.get(&format!("{items}/{other}"), &alice.auth).await;
    assert_eq!(r.body["version"], 1, "{}", r.text);

    // An item's own next version keeps its name.
    let r = s
        .call(
            Method::PUT,
            &format!("{items}/{first}"),
            &alice.auth,
            Some(version_body(&alice, &first, 2, "db/password")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["version"], 2);
}

#[tokio::test]
async fn a_second_item_with_the_same_name_is_refused_sqlite() {
    a_second_item_with_the_same_name_is_refused(false).await;
}

#[tokio::test]
async fn a_second_item_with_the_same_name_is_refused_postgres() {
    a_second_item_with_the_same_name_is_refused(true).await;
}
