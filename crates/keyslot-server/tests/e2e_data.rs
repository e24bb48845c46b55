//! End-to-end data (docs/END-TO-END.md §1, §6, §9) through the real server, on SQLite and
//! on PostgreSQL: a token presented as a `ksa_` proof gets envelopes and writes
//! envelopes its client made, here played with keyslot-crypto directly. The account is a
//! server-mode one, so the same data is also read and written by the server: what either
//! writes, the other reads. A `kse_` secret that reaches the server revokes its token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod e2e_support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Auth, TestServer};
use keyslot_crypto::item::{ItemPlace, SealedItem, open_vault_name};
use keyslot_crypto::{
    E2eTokenCredential, Envelope, Id, NameIndexKey, TokenCredential, UnlockedCredential, VaultKey,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(value.as_str().expect("a base64url string"))
        .unwrap()
}

fn id(value: &Value) -> Id {
    value.as_str().expect("an id").parse().unwrap()
}

async fn server(postgres: bool, name: &str) -> Option<TestServer> {
    Some(common::with_store(postgres, name, |_| {}).await?.0)
}

/// A token's client: the `ksa_` proof it sends and the credential that opens its slots.
struct Client {
    auth: Auth,
    credential: UnlockedCredential,
}

impl Client {
    fn of(token_text: &str) -> Self {
        let credential = TokenCredential::parse(token_text).unwrap().unlock();
        let proof = credential.auth_proof().to_text();
        Self {
            auth: Auth::Token(proof.to_string()),
            credential,
        }
    }

    /// Open the vault key the slot in `body` holds (a token's own slot).
    fn vault_key(&self, owner: &Id, vault: &Id, body: &Value) -> (u32, VaultKey) {
        let slot = &body["slot"];
        assert_eq!(slot["kind"], "token", "{body}");
        let version = u32::try_from(slot["key_version"].as_u64().unwrap()).unwrap();
        let wrapped = Envelope::from_bytes(&unb64(&slot["wrapped_vault_key"])).unwrap();
        let key = self
            .credential
            .open_vault_key(owner, vault, version, &wrapped)
            .unwrap();
        (version, key)
    }
}

/// A client-made write body for `name` = `value` (JSON text) as item `item` version
/// `version` under `key_version`.
fn sealed_write(key: &VaultKey, place: ItemPlace, name: &str, value: &str) -> (SealedItem, Value) {
    let sealed = place.seal(key, name, value.as_bytes()).unwrap();
    let index = NameIndexKey::derive(key, &place.vault, place.key_version).index(name);
    let body = json!({
        "id": place.item.to_string(),
        "version": place.version,
        "key_version": place.key_version,
        "wrapped_item_key": b64(&sealed.wrapped_item_key),
        "sealed_name": b64(&sealed.sealed_name),
        "sealed_value": b64(&sealed.sealed_value),
        "name_index": b64(&index),
    });
    (sealed, body)
}

async fn data_written_either_way_reads_either_way(postgres: bool) {
    let Some(s) = server(postgres, "e2e_data_both_ways").await else {
        return;
    };
    let alice = s.signup("alice").await;
    let session = s.session("alice", common::PASSWORD).await;
    let vault: Id = alice.vault.parse().unwrap();
    let owner: Id = alice.user_id.parse().unwrap();
    let server_item = s
        .create_item(
            &session,
            &alice.vault,
            "db/password",
            json!({"v": "hunter2"}),
        )
        .await;
    let (_, text) = s
        .mint(&session, json!([alice.vault]), json!(["read", "write"]))
        .await;
    let client = Client::of(&text);

    // The vault as envelopes: the name opens with the key the token's slot holds.
    let r = s.get("/v1/vaults", &client.auth).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let listed = &r.body["vaults"][0];
    assert_eq!(id(&listed["id"]), vault);
    assert_eq!(id(&listed["owner_id"]), owner);
    assert!(listed.get("name").is_none(), "no plaintext name: {listed}");
    let (version, key) = client.vault_key(&owner, &vault, listed);
    let name = open_vault_name(
        &key,
        &owner,
        &vault,
        version,
        &unb64(&listed["sealed_name"]),
    );
    assert!(name.is_ok(), "the vault name opens with the token's key");

    // The server-mode item, read through ksa_ and opened by the client.
    let r = s
        .get(
            &format!("/v1/vaults/{vault}/items/{server_item}"),
            &client.auth,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(
        r.body.get("value").is_none(),
        "no plaintext value: {:?}",
        r.body
    );
    let place = ItemPlace {
        owner,
        vault,
        item: id(&r.body["id"]),
        version: r.body["version"].as_u64().unwrap(),
        key_version: u32::try_from(r.body["key_version"].as_u64().unwrap()).unwrap(),
    };
    let (name, value) = place
        .open(
            &key,
            &SealedItem {
                wrapped_item_key: unb64(&r.body["wrapped_item_key"]),
                sealed_name: unb64(&r.body["sealed_name"]),
                sealed_value: unb64(&r.body["sealed_value"]),
            },
        )
        .unwrap();
    assert_eq!(name, "db/password");
    assert_eq!(
        serde_json::from_slice::<Value>(&value).unwrap(),
        json!({"v": "hunter2"})
    );
    // The server computed the blind index of its own write.
    assert_eq!(
        unb64(&r.body["name_index"]),
        NameIndexKey::derive(&key, &vault, place.key_version)
            .index("db/password")
            .to_vec()
    );

    // The client's own item, read by the server in server mode.
    let mine = Id::random().unwrap();
    let place = ItemPlace {
        owner,
        vault,
        item: mine,
        version: 1,
        key_version: version,
    };
    let (_, body) = sealed_write(&key, place, "api/key", r#"{"k":"abc"}"#);
    let r = s
        .post(&format!("/v1/vaults/{vault}/items"), &client.auth, body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["version"], 1);
    let r = s
        .get(&format!("/v1/vaults/{vault}/items/{mine}"), &session)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["name"], "api/key");
    assert_eq!(r.body["value"], json!({"k": "abc"}));

    // Its next version, conditional on the one read.
    let (_, body) = sealed_write(
        &key,
        ItemPlace {
            version: 2,
            ..place
        },
        "api/key",
        r#"{"k":"def"}"#,
    );
    let r = s
        .call(
            Method::PUT,
            &format!("/v1/vaults/{vault}/items/{mine}"),
            &client.auth,
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["version"], 2);
    // The same body again names version 2, which is no longer the next one: 412.
    let r = s
        .call(
            Method::PUT,
            &format!("/v1/vaults/{vault}/items/{mine}"),
            &client.auth,
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{:?}", r.body);
    let r = s
        .get(&format!("/v1/vaults/{vault}/items/{mine}"), &session)
        .await;
    assert_eq!(r.body["value"], json!({"k": "def"}));

    // A name-index lookup finds exactly that item; an unknown index finds nothing.
    let index = NameIndexKey::derive(&key, &vault, version).index("api/key");
    let r = s
        .get(
            &format!("/v1/vaults/{vault}/items?name_index={}", b64(&index)),
            &client.auth,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:?}", r.body);
    assert_eq!(id(&items[0]["id"]), mine);
    let r = s
        .get(
            &format!("/v1/vaults/{vault}/items?name_index={}", b64(&[7u8; 32])),
            &client.auth,
        )
        .await;
    assert_eq!(r.body["items"], json!([]));
    // Without a filter, both items, each with its envelopes and index.
    let r = s
        .get(&format!("/v1/vaults/{vault}/items"), &client.auth)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2, "{:?}", r.body);

    // A server-mode write of the client's item recomputes its index for the new name.
    let r = s
        .put(
            &format!("/v1/vaults/{vault}/items/{mine}"),
            &session,
            json!({"name": "api/renamed", "value": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let renamed = NameIndexKey::derive(&key, &vault, version).index("api/renamed");
    let r = s
        .get(
            &format!("/v1/vaults/{vault}/items?name_index={}", b64(&renamed)),
            &client.auth,
        )
        .await;
    assert_eq!(r.body["items"][0]["id"], mine.to_string(), "{:?}", r.body);

    // Deleting through ksa_.
    let r = s
        .delete(&format!("/v1/vaults/{vault}/items/{mine}"), &client.auth)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = s
        .get(&format!("/v1/vaults/{vault}/items/{mine}"), &session)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn data_written_either_way_reads_either_way_sqlite() {
    data_written_either_way_reads_either_way(false).await;
}

#[tokio::test]
async fn data_written_either_way_reads_either_way_postgres() {
    data_written_either_way_reads_either_way(true).await;
}

async fn the_rewrap_recomputes_the_name_index(postgres: bool) {
    let Some(s) = server(postgres, "e2e_data_rewrap_index").await else {
        return;
    };
    let alice = s.signup("alice").await;
    let session = s.session("alice", common::PASSWORD).await;
    let vault: Id = alice.vault.parse().unwrap();
    let owner: Id = alice.user_id.parse().unwrap();
    let item = s
        .create_item(&session, &alice.vault, "db/password", json!("v"))
        .await;
    let (_, text) = s
        .mint(&session, json!([alice.vault]), json!(["read"]))
        .await;
    let client = Client::of(&text);
    // The owner rotates; the server's re-wrap moves the item to version 2.
    let r = s
        .call(
            Method::POST,
            &format!("/v1/vaults/{vault}/rotate"),
            &session,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let path = format!("/v1/vaults/{vault}/items/{item}");
    let mut body = Value::Null;
    for _ in 0..100 {
        body = s.get(&path, &client.auth).await.body;
        if body["key_version"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(body["key_version"], 2, "the re-wrap moved the item: {body}");
    // The token's client opens its grant of version 2 and finds the item's index is
    // version 2's, so a lookup under the current key finds it.
    assert_eq!(body["slot"]["kind"], "grant", "{body}");
    let token = TokenCredential::parse(&text).unwrap();
    let vk2: VaultKey = keyslot_crypto::open_from(
        &keyslot_crypto::TokenKeyPair::derive(&token),
        &keyslot_crypto::SealedKey::from_bytes(&unb64(&body["slot"]["sealed"])).unwrap(),
        &keyslot_crypto::grant_aad(
            &owner,
            &vault,
            2,
            keyslot_crypto::RecipientKind::Token,
            token.id(),
        ),
    )
    .unwrap();
    let index = NameIndexKey::derive(&vk2, &vault, 2).index("db/password");
    assert_eq!(unb64(&body["name_index"]), index.to_vec());
    let r = s
        .get(
            &format!("/v1/vaults/{vault}/items?name_index={}", b64(&index)),
            &client.auth,
        )
        .await;
    assert_eq!(r.body["items"][0]["id"], item, "{:?}", r.body);
}

#[tokio::test]
async fn the_rewrap_recomputes_the_name_index_sqlite() {
    the_rewrap_recomputes_the_name_index(false).await;
}

#[tokio::test]
async fn the_rewrap_recomputes_the_name_index_postgres() {
    the_rewrap_recomputes_the_name_index(true).await;
}

async fn a_scoped_token_reaches_its_vaults_only(postgres: bool) {
    let Some(s) = server(postgres, "e2e_data_scope").await else {
        return;
    };
    let alice = s.signup("alice").await;
    let session = s.session("alice", common::PASSWORD).await;
    let other = s.create_vault(&session, "other").await;
    let hidden = s.create_item(&session, &other, "hidden", json!("x")).await;
    let (_, text) = s
        .mint(&session, json!([alice.vault]), json!(["read"]))
        .await;
    let client = Client::of(&text);
    let vault: Id = alice.vault.parse().unwrap();
    let owner: Id = alice.user_id.parse().unwrap();

    // Only its vault is listed; the other answers 404 however it is asked.
    let r = s.get("/v1/vaults", &client.auth).await;
    let vaults = r.body["vaults"].as_array().unwrap();
    assert_eq!(vaults.len(), 1, "{:?}", r.body);
    for path in [
        format!("/v1/vaults/{other}/items"),
        format!("/v1/vaults/{other}/items/{hidden}"),
    ] {
        let r = s.get(&path, &client.auth).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {:?}", r.body);
    }

    // A read-only token may not write, even a well-formed envelope.
    let (version, key) = client.vault_key(&owner, &vault, &vaults[0]);
    let place = ItemPlace {
        owner,
        vault,
        item: Id::random().unwrap(),
        version: 1,
        key_version: version,
    };
    let (_, body) = sealed_write(&key, place, "n", "1");
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/items"),
            &client.auth,
            body.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let r = s
        .post(&format!("/v1/vaults/{other}/items"), &client.auth, body)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);

    // Session-only routes stay closed to it.
    let r = s
        .post("/v1/vaults", &client.auth, json!({"name": "new"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
}

#[tokio::test]
async fn a_scoped_token_reaches_its_vaults_only_sqlite() {
    a_scoped_token_reaches_its_vaults_only(false).await;
}

#[tokio::test]
async fn a_scoped_token_reaches_its_vaults_only_postgres() {
    a_scoped_token_reaches_its_vaults_only(true).await;
}

async fn a_disclosed_secret_revokes_its_token(postgres: bool) {
    let Some(s) = server(postgres, "e2e_data_disclosed").await else {
        return;
    };
    let alice = s.signup("alice").await;
    let session = s.session("alice", common::PASSWORD).await;
    let (token_id, text) = s
        .mint(&session, json!([alice.vault]), json!(["read", "write"]))
        .await;
    let client = Client::of(&text);
    let item = s.create_item(&session, &alice.vault, "n", json!(1)).await;
    let r = s
        .get(
            &format!("/v1/vaults/{}/items/{item}", alice.vault),
            &client.auth,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = s
        .get(&format!("/v1/vaults/{}/items", alice.vault), &client.auth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let before = s
        .get(&format!("/v1/vaults/{}", alice.vault), &session)
        .await;
    let version_before = before.body["key_version"].as_u64().unwrap();

    let parsed = TokenCredential::parse(&text).unwrap();
    let secret = E2eTokenCredential::from_parts(*parsed.id(), *parsed.expose_secret());
    // A kse_ naming the token with another secret proves nothing: 401, nothing revoked.
    let forged = E2eTokenCredential::from_parts(*parsed.id(), [9u8; 32]);
    let r = s
        .get("/v1/vaults", &Auth::Token(forged.expose_text().to_string()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);
    let r = s.get("/v1/vaults", &client.auth).await;
    assert_eq!(r.status, StatusCode::OK, "a forged kse_ revoked nothing");
    // An unknown one: 401 as well.
    let unknown = E2eTokenCredential::generate().unwrap();
    let r = s
        .get(
            "/v1/vaults",
            &Auth::Token(unknown.expose_text().to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The real secret in a header: 403, and the token is gone.
    let r = s
        .get("/v1/vaults", &Auth::Token(secret.expose_text().to_string()))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert!(
        !r.text.contains(secret.expose_text().as_str()),
        "the answer never echoes the secret"
    );
    let r = s.get("/v1/vaults", &client.auth).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);
    // The one-query item read refuses it alike.
    let r = s
        .get(
            &format!("/v1/vaults/{}/items/{item}", alice.vault),
            &client.auth,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);
    let r = s.get("/v1/vaults", &Auth::Token(text.clone())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);

    // Its vault was made due: the owner's next look at it rotates.
    let after = s
        .get(&format!("/v1/vaults/{}", alice.vault), &session)
        .await;
    assert_eq!(
        after.body["key_version"].as_u64().unwrap(),
        version_before + 1,
        "{:?}",
        after.body
    );
    // Audited as a disclosure, naming the token.
    let r = s.get("/v1/audit?action=token.disclosed", &session).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let events = r.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{:?}", r.body);
    assert!(
        events[0]["detail"].as_str().unwrap().contains(&token_id),
        "{:?}",
        events[0]
    );
}

#[tokio::test]
async fn a_disclosed_secret_revokes_its_token_sqlite() {
    a_disclosed_secret_revokes_its_token(false).await;
}

#[tokio::test]
async fn a_disclosed_secret_revokes_its_token_postgres() {
    a_disclosed_secret_revokes_its_token(true).await;
}

async fn writes_must_be_under_the_current_key(postgres: bool) {
    let Some(s) = server(postgres, "e2e_data_versions").await else {
        return;
    };
    let alice = s.signup("alice").await;
    let session = s.session("alice", common::PASSWORD).await;
    let vault: Id = alice.vault.parse().unwrap();
    let owner: Id = alice.user_id.parse().unwrap();
    let (_, text) = s
        .mint(&session, json!([alice.vault]), json!(["read", "write"]))
        .await;
    let client = Client::of(&text);
    let r = s.get("/v1/vaults", &client.auth).await;
    let (version, key) = client.vault_key(&owner, &vault, &r.body["vaults"][0]);
    let place = ItemPlace {
        owner,
        vault,
        item: Id::random().unwrap(),
        version: 1,
        key_version: version,
    };
    let (_, stale_body) = sealed_write(&key, place, "n", "1");

    // Another token revoked without rotating: the vault is due; a client write waits
    // for a rotation (the server holds no key to run it for this caller).
    let (other, _) = s
        .mint(&session, json!([alice.vault]), json!(["read"]))
        .await;
    let r = s
        .delete(&format!("/v1/tokens/{other}?rotate=false"), &session)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/items"),
            &client.auth,
            stale_body.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(
        r.body["type"], "urn:keyslot:problem:rotation-due",
        "{:?}",
        r.body
    );

    // The owner's rotation moves the version: the write under the old one is stale.
    let r = s
        .call(
            Method::POST,
            &format!("/v1/vaults/{vault}/rotate"),
            &session,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = s
        .post(
            &format!("/v1/vaults/{vault}/items"),
            &client.auth,
            stale_body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(
        r.body["type"], "urn:keyslot:problem:stale-key-version",
        "{:?}",
        r.body
    );
    // The token now holds a grant of the new version, which its client converts.
    let r = s
        .get(&format!("/v1/vaults/{vault}/items"), &client.auth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(
        matches!(r.body["slot"]["kind"].as_str(), Some("grant" | "token")),
        "{:?}",
        r.body
    );
}

#[tokio::test]
async fn writes_must_be_under_the_current_key_sqlite() {
    writes_must_be_under_the_current_key(false).await;
}

#[tokio::test]
async fn writes_must_be_under_the_current_key_postgres() {
    writes_must_be_under_the_current_key(true).await;
}

async fn sizes_are_checked_and_named(postgres: bool) {
    let Some(s) = server(postgres, "e2e_data_sizes").await else {
        return;
    };
    let alice = s.signup("alice").await;
    let session = s.session("alice", common::PASSWORD).await;
    let vault: Id = alice.vault.parse().unwrap();
    let owner: Id = alice.user_id.parse().unwrap();
    let (_, text) = s
        .mint(&session, json!([alice.vault]), json!(["read", "write"]))
        .await;
    let client = Client::of(&text);
    let r = s.get("/v1/vaults", &client.auth).await;
    let (version, key) = client.vault_key(&owner, &vault, &r.body["vaults"][0]);
    let place = ItemPlace {
        owner,
        vault,
        item: Id::random().unwrap(),
        version: 1,
        key_version: version,
    };
    let path = format!("/v1/vaults/{vault}/items");

    let (_, mut body) = sealed_write(&key, place, "n", "1");
    body["name_index"] = json!(b64(&[1u8; 5]));
    let r = s.post(&path, &client.auth, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "name_index", "{:?}", r.body);

    let (_, mut body) = sealed_write(&key, place, "n", "1");
    body["wrapped_item_key"] = json!("not base64!");
    let r = s.post(&path, &client.auth, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(
        r.body["errors"][0]["field"], "wrapped_item_key",
        "{:?}",
        r.body
    );

    let (_, mut body) = sealed_write(&key, place, "n", "1");
    body["signature"] = json!(b64(&[0u8; 64]));
    let r = s.post(&path, &client.auth, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "signature", "{:?}", r.body);

    // A value over the limit (1 MiB by default) sealed properly: 422 naming it.
    let big = format!("\"{}\"", "x".repeat(1024 * 1024 + 1));
    let (_, body) = sealed_write(&key, place, "n", &big);
    let r = s.post(&path, &client.auth, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.status);
    assert_eq!(r.body["errors"][0]["field"], "sealed_value", "{:?}", r.body);
    // One at the limit is taken.
    let at_limit = format!("\"{}\"", "x".repeat(1024 * 1024 - 2));
    let (_, body) = sealed_write(&key, place, "n", &at_limit);
    let r = s.post(&path, &client.auth, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = s
        .delete(&format!("{path}/{}", place.item), &client.auth)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    // Far over the body limit: 413.
    let (_, mut body) = sealed_write(&key, place, "n", "1");
    body["sealed_value"] = json!("A".repeat(8 * 1024 * 1024));
    let r = s.post(&path, &client.auth, body).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.status);

    // Nothing was written by any of them.
    let r = s.get(&path, &client.auth).await;
    assert_eq!(r.body["items"], json!([]), "{:?}", r.body);
}

#[tokio::test]
async fn sizes_are_checked_and_named_sqlite() {
    sizes_are_checked_and_named(false).await;
}

#[tokio::test]
async fn sizes_are_checked_and_named_postgres() {
    sizes_are_checked_and_named(true).await;
}

mod sessions {
    //! An end-to-end account's session: it creates vaults and writes items its client
    //! signed, and mints tokens its client made; the server checks the signatures, the
    //! password proof and the slots, and stores only what the client sent.

    use super::*;
    use common::Session;
    use keyslot_crypto::item::seal_vault_name;
    use keyslot_crypto::slot::vault_key_for_user_aad;
    use keyslot_crypto::{
        IdentityKeyPair, KdfPolicy, Password, RecipientKind, SealedKey, TokenKeyPair, UserKey,
        VaultKeyPair, Wraps, grant_aad, open_from, seal_to,
    };

    const PASSWORD: &str = "an end-to-end passphrase 42";
    const IP: &str = "127.0.0.1";

    /// An end-to-end account as its client knows it.
    pub(super) struct Owner {
        pub(super) username: String,
        pub(super) user: Id,
        pub(super) uk: UserKey,
        pub(super) identity: IdentityKeyPair,
        pub(super) vault: Id,
        pub(super) vk1: VaultKey,
        pub(super) auth: Auth,
    }

    pub(super) async fn e2e_account(s: &TestServer, username: &str) -> Owner {
        let made = e2e_support::make_signup(username, Id::random().unwrap());
        let user = made.signup.user_id;
        s.keyslot.signup_e2e(made.signup, IP).await.unwrap();
        let logged_in = s
            .keyslot
            .login_auth(username, &made.auth, IP, None)
            .await
            .unwrap();
        Owner {
            username: username.into(),
            user,
            uk: made.uk,
            identity: made.identity,
            vault: made.vault,
            vk1: made.vk1,
            auth: Auth::Session(Session {
                cookie: logged_in.session.to_string(),
                csrf: logged_in.csrf_token.to_string(),
                set_cookie: String::new(),
            }),
        }
    }

    /// The password proof a client derives for `owner` (prelogin, Argon2id, HKDF).
    async fn password_auth(s: &TestServer, owner: &Owner, password: &str) -> String {
        let pre = s.keyslot.prelogin(&owner.username).await.unwrap();
        Password::new(password)
            .unlock_client(
                pre.params,
                &pre.salt,
                pre.credential_id,
                &KdfPolicy::default(),
            )
            .unwrap()
            .auth_proof()
            .auth_base64url()
            .to_string()
    }

    /// A signed item write by `owner` as `POST …/items` takes it.
    fn signed_item(
        owner: &Owner,
        vault: &Id,
        key: &VaultKey,
        item: Id,
        name: &str,
        value: &str,
    ) -> Value {
        let place = ItemPlace {
            owner: owner.user,
            vault: *vault,
            item,
            version: 1,
            key_version: 1,
        };
        let (sealed, mut body) = sealed_write(key, place, name, value);
        body["signature"] = json!(b64(owner
            .identity
            .sign_item(vault, &item, 1, &sealed)
            .as_bytes()));
        body
    }

    /// The body of a token mint by `owner`'s client for `vaults` with `slots`.
    fn mint_body(
        owner: &Owner,
        secret: &E2eTokenCredential,
        vaults: Value,
        slots: Value,
        auth: &str,
    ) -> Value {
        let unlocked = secret.unlock();
        let public = TokenKeyPair::derive(secret).public_key();
        let aad = |purpose| {
            keyslot_crypto::Aad::new(purpose)
                .user(&owner.user)
                .credential(keyslot_crypto::CredentialKind::Token, secret.id())
        };
        let name_key = keyslot_crypto::ItemKey::generate().unwrap();
        let name = b64(&keyslot_crypto::ContentKey::seal_content(
            &name_key,
            &aad(keyslot_crypto::Purpose::TokenName),
            b"ci deploy",
        )
        .unwrap()
        .to_bytes());
        let wrapped_name_key = b64(&owner
            .uk
            .wrap(&name_key, &aad(keyslot_crypto::Purpose::TokenNameKey))
            .unwrap()
            .to_bytes());
        json!({
            "id": secret.id().to_string(),
            "sealed_name": name,
            "name_key": wrapped_name_key,
            "verifier": b64(unlocked.auth_proof().verifier().as_bytes()),
            "x25519_public": b64(public.as_bytes()),
            "public_key_signature": b64(owner.identity.sign_token_key(&owner.user, secret.id(), &public).as_bytes()),
            "vaults": vaults,
            "permissions": ["read", "write"],
            "slots": slots,
            "auth": auth,
        })
    }

    async fn signed_vaults_items_and_tokens(postgres: bool) {
        let Some(s) = server(postgres, "e2e_data_sessions").await else {
            return;
        };
        let alice = e2e_account(&s, "alice").await;

        // A vault her client made: the signature over its public key must verify.
        let vault = Id::random().unwrap();
        let vk = VaultKey::generate().unwrap();
        let public = VaultKeyPair::derive(&vk, &vault, 1).public_key();
        let mut body = json!({
            "id": vault.to_string(),
            "wrapped_vault_key": b64(&alice.uk.wrap(&vk, &vault_key_for_user_aad(&alice.user, &vault, 1)).unwrap().to_bytes()),
            "sealed_name": b64(&seal_vault_name(&vk, &alice.user, &vault, 1, "Work").unwrap()),
            "public_key": b64(public.as_bytes()),
            "public_key_signature": b64(alice.identity.sign_vault_key(&vault, 2, &public).as_bytes()),
        });
        let r = s.post("/v1/vaults", &alice.auth, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "public_key_signature");
        body["public_key_signature"] = json!(b64(alice
            .identity
            .sign_vault_key(&vault, 1, &public)
            .as_bytes()));
        let r = s.post("/v1/vaults", &alice.auth, body.clone()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["slot"]["kind"], "member");
        assert_eq!(r.body["key_version"], 1);
        assert_eq!(r.body["public_key"], json!(b64(public.as_bytes())));
        let r = s.post("/v1/vaults", &alice.auth, body).await;
        assert_eq!(
            r.status,
            StatusCode::CONFLICT,
            "the same id twice: {}",
            r.text
        );
        let r = s.get("/v1/vaults", &alice.auth).await;
        assert_eq!(r.body["vaults"].as_array().unwrap().len(), 2, "{}", r.text);
        // Its name opens with the key her slot holds.
        let r = s.get(&format!("/v1/vaults/{vault}"), &alice.auth).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let slot = Envelope::from_bytes(&unb64(&r.body["slot"]["wrapped_vault_key"])).unwrap();
        let opened: VaultKey = alice
            .uk
            .unwrap_key(&slot, &vault_key_for_user_aad(&alice.user, &vault, 1))
            .unwrap();
        assert_eq!(
            open_vault_name(
                &opened,
                &alice.user,
                &vault,
                1,
                &unb64(&r.body["sealed_name"])
            )
            .unwrap(),
            "Work"
        );

        // A member's item write must be signed by her, over exactly this version.
        let path = format!("/v1/vaults/{vault}/items");
        let item = Id::random().unwrap();
        let mut body = signed_item(&alice, &vault, &vk, item, "deploy/key", "\"k1\"");
        let signature = body["signature"].take();
        let r = s.post(&path, &alice.auth, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "signature");
        body["signature"] = json!(b64(&[1u8; 64]));
        let r = s.post(&path, &alice.auth, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "signature");
        body["signature"] = signature;
        let r = s.post(&path, &alice.auth, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let r = s.get(&format!("{path}/{item}"), &alice.auth).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["signer"], alice.user.to_string());
        let sealed = SealedItem {
            wrapped_item_key: unb64(&r.body["wrapped_item_key"]),
            sealed_name: unb64(&r.body["sealed_name"]),
            sealed_value: unb64(&r.body["sealed_value"]),
        };
        let signature =
            keyslot_crypto::Signature::from_slice(&unb64(&r.body["signature"])).unwrap();
        alice
            .identity
            .public()
            .verify_item(&vault, &item, 1, &sealed, &signature)
            .unwrap();

        // A token her client made: the wrong password proof is 403 and mints nothing.
        let secret = E2eTokenCredential::generate().unwrap();
        let slot = secret
            .unlock()
            .wrap_vault_key(&alice.user, &vault, 1, &vk)
            .unwrap();
        let slots = json!([{"vault": vault.to_string(), "key_version": 1,
                            "wrapped_vault_key": b64(&slot.to_bytes())}]);
        let wrong = password_auth(&s, &alice, "not the passphrase").await;
        let r = s
            .post(
                "/v1/tokens",
                &alice.auth,
                mint_body(
                    &alice,
                    &secret,
                    json!([vault.to_string()]),
                    slots.clone(),
                    &wrong,
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        let auth = password_auth(&s, &alice, PASSWORD).await;
        // A slot at another key version is stale.
        let stale = json!([{"vault": vault.to_string(), "key_version": 2,
                            "wrapped_vault_key": b64(&slot.to_bytes())}]);
        let r = s
            .post(
                "/v1/tokens",
                &alice.auth,
                mint_body(&alice, &secret, json!([vault.to_string()]), stale, &auth),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
        // "*" needs a slot for every vault she is a member of.
        let r = s
            .post(
                "/v1/tokens",
                &alice.auth,
                mint_body(&alice, &secret, json!("*"), slots.clone(), &auth),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "slots");
        let r = s
            .post(
                "/v1/tokens",
                &alice.auth,
                mint_body(&alice, &secret, json!([vault.to_string()]), slots, &auth),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["id"], secret.id().to_string());
        assert!(
            r.body.get("token").is_none(),
            "the server never had it: {}",
            r.text
        );

        // The token reads the item through ksa_ and opens it with its own slot.
        let token_auth = Auth::Token(secret.unlock().auth_proof().to_text().to_string());
        let r = s.get(&format!("{path}/{item}"), &token_auth).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["slot"]["kind"], "token");
        assert_eq!(r.body["signer"], alice.user.to_string(), "{}", r.text);
        assert_eq!(r.body["owner_id"], alice.user.to_string(), "{}", r.text);
        let token_vk = secret
            .unlock()
            .open_vault_key(
                &alice.user,
                &vault,
                1,
                &Envelope::from_bytes(&unb64(&r.body["slot"]["wrapped_vault_key"])).unwrap(),
            )
            .unwrap();
        let place = ItemPlace {
            owner: alice.user,
            vault,
            item,
            version: 1,
            key_version: 1,
        };
        let sealed = SealedItem {
            wrapped_item_key: unb64(&r.body["wrapped_item_key"]),
            sealed_name: unb64(&r.body["sealed_name"]),
            sealed_value: unb64(&r.body["sealed_value"]),
        };
        let (_, value) = place.open(&token_vk, &sealed).unwrap();
        assert_eq!(&value[..], b"\"k1\"");
        // Her token list shows it, name sealed.
        let r = s.get("/v1/tokens", &alice.auth).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let tokens = r.body["tokens"].as_array().unwrap();
        assert_eq!(tokens.len(), 1, "{}", r.text);
        assert!(tokens[0].get("name").is_none());
        assert_eq!(tokens[0]["vaults"], json!([vault.to_string()]));
        // A deposit token holds no key: no slots, vaults she owns; it reads nothing.
        let depositor = E2eTokenCredential::generate().unwrap();
        let mut body = mint_body(
            &alice,
            &depositor,
            json!([vault.to_string()]),
            json!([]),
            &auth,
        );
        body["permissions"] = json!(["deposit"]);
        let with_slot = json!([{"vault": vault.to_string(), "key_version": 1,
                                "wrapped_vault_key": b64(&slot.to_bytes())}]);
        let mut refused = body.clone();
        refused["slots"] = with_slot;
        let r = s.post("/v1/tokens", &alice.auth, refused).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "slots");
        let r = s.post("/v1/tokens", &alice.auth, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let deposit_auth = Auth::Token(depositor.unlock().auth_proof().to_text().to_string());
        for path in [format!("{path}/{item}"), path.clone()] {
            let r = s.get(&path, &deposit_auth).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        }
        let r = s.get("/v1/vaults", &deposit_auth).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        let r = s.get("/v1/tokens", &alice.auth).await;
        let tokens = r.body["tokens"].as_array().unwrap();
        assert!(
            tokens
                .iter()
                .any(|t| t["permissions"] == json!(["deposit"])),
            "{}",
            r.text
        );

        // Its secret in the kst_ form would have the server open the item: it is taken as
        // a disclosure (403, the token revoked), on the one-query read path too.
        let as_kst = TokenCredential::from_parts(*secret.id(), *secret.expose_secret());
        let r = s
            .get(
                &format!("{path}/{item}"),
                &Auth::Token(as_kst.expose_text().to_string()),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        assert!(r.body.get("value").is_none());
        let r = s.get(&format!("{path}/{item}"), &token_auth).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        let _ = alice.vk1;
    }

    #[tokio::test]
    async fn signed_vaults_items_and_tokens_sqlite() {
        signed_vaults_items_and_tokens(false).await;
    }

    #[tokio::test]
    async fn signed_vaults_items_and_tokens_postgres() {
        signed_vaults_items_and_tokens(true).await;
    }

    async fn a_star_token_converts_the_grant_of_a_new_vault(postgres: bool) {
        let Some(s) = server(postgres, "e2e_data_star").await else {
            return;
        };
        let alice = e2e_account(&s, "alice").await;
        let auth = password_auth(&s, &alice, PASSWORD).await;
        let secret = E2eTokenCredential::generate().unwrap();
        let unlocked = secret.unlock();
        let slot = unlocked
            .wrap_vault_key(&alice.user, &alice.vault, 1, &alice.vk1)
            .unwrap();
        let slots = json!([{"vault": alice.vault.to_string(), "key_version": 1,
                            "wrapped_vault_key": b64(&slot.to_bytes())}]);
        let r = s
            .post(
                "/v1/tokens",
                &alice.auth,
                mint_body(&alice, &secret, json!("*"), slots, &auth),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

        // Her client learns of it, with its signed key, from her keys.
        let r = s.get("/v1/keys", &alice.auth).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            r.body["star_tokens"][0]["id"],
            secret.id().to_string(),
            "{}",
            r.text
        );
        // A vault made afterwards must come with a grant to the "*" token.
        let vault = Id::random().unwrap();
        let vk = VaultKey::generate().unwrap();
        let public = VaultKeyPair::derive(&vk, &vault, 1).public_key();
        let mut body = json!({
            "id": vault.to_string(),
            "wrapped_vault_key": b64(&alice.uk.wrap(&vk, &vault_key_for_user_aad(&alice.user, &vault, 1)).unwrap().to_bytes()),
            "sealed_name": b64(&seal_vault_name(&vk, &alice.user, &vault, 1, "Later").unwrap()),
            "public_key": b64(public.as_bytes()),
            "public_key_signature": b64(alice.identity.sign_vault_key(&vault, 1, &public).as_bytes()),
        });
        let r = s.post("/v1/vaults", &alice.auth, body.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(r.body["errors"][0]["field"], "token_grants");
        let token_public = TokenKeyPair::derive(&secret).public_key();
        let sealed = seal_to(
            &token_public,
            &vk,
            &grant_aad(&alice.user, &vault, 1, RecipientKind::Token, secret.id()),
        )
        .unwrap();
        body["token_grants"] =
            json!([{"token": secret.id().to_string(), "sealed": b64(&sealed.to_bytes())}]);
        let r = s.post("/v1/vaults", &alice.auth, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

        // The token sees a grant, opens it, and converts it into its own slot.
        let token_auth = Auth::Token(unlocked.auth_proof().to_text().to_string());
        let r = s.get(&format!("/v1/vaults/{vault}"), &token_auth).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["slot"]["kind"], "grant", "{}", r.text);
        let opened: VaultKey = open_from(
            &TokenKeyPair::derive(&secret),
            &SealedKey::from_bytes(&unb64(&r.body["slot"]["sealed"])).unwrap(),
            &grant_aad(&alice.user, &vault, 1, RecipientKind::Token, secret.id()),
        )
        .unwrap();
        let wrapped = unlocked
            .wrap_vault_key(&alice.user, &vault, 1, &opened)
            .unwrap();
        let put = json!({"key_version": 1, "wrapped_vault_key": b64(&wrapped.to_bytes())});
        let r = s
            .put(
                &format!("/v1/vaults/{vault}/slot"),
                &token_auth,
                put.clone(),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        // Again: the same answer, nothing changes.
        let r = s
            .put(&format!("/v1/vaults/{vault}/slot"), &token_auth, put)
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        let r = s.get(&format!("/v1/vaults/{vault}"), &token_auth).await;
        assert_eq!(r.body["slot"]["kind"], "token", "{}", r.text);
        let held = unlocked
            .open_vault_key(
                &alice.user,
                &vault,
                1,
                &Envelope::from_bytes(&unb64(&r.body["slot"]["wrapped_vault_key"])).unwrap(),
            )
            .unwrap();
        assert_eq!(
            open_vault_name(
                &held,
                &alice.user,
                &vault,
                1,
                &unb64(&r.body["sealed_name"])
            )
            .unwrap(),
            "Later"
        );
        // The kst_ form of its secret, on a route other than an item read: 403, revoked.
        let as_kst = TokenCredential::from_parts(*secret.id(), *secret.expose_secret());
        let r = s
            .get("/v1/vaults", &Auth::Token(as_kst.expose_text().to_string()))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        let r = s.get("/v1/vaults", &token_auth).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        let r = s.get("/v1/audit?action=token.disclosed", &alice.auth).await;
        assert_eq!(r.body["events"].as_array().unwrap().len(), 1, "{}", r.text);
    }

    #[tokio::test]
    async fn a_star_token_converts_the_grant_of_a_new_vault_sqlite() {
        a_star_token_converts_the_grant_of_a_new_vault(false).await;
    }

    #[tokio::test]
    async fn a_star_token_converts_the_grant_of_a_new_vault_postgres() {
        a_star_token_converts_the_grant_of_a_new_vault(true).await;
    }
}
