//! End-to-end data (docs/END-TO-END.md §1, §6, §9) through the real server, on SQLite and
//! on PostgreSQL: a token presented as a `ksa_` proof gets envelopes and writes
//! envelopes its client made, here played with keyslot-crypto directly. The account is a
//! server-mode one, so the same data is also read and written by the server: what either
//! writes, the other reads. A `kse_` secret that reaches the server revokes its token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

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
