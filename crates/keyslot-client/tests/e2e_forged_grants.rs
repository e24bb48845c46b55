//! A server that hands a holder a vault key of its own making (review R1 finding 2).
//!
//! A grant is a vault key sealed to the holder's public key (HPKE base mode): anyone can
//! make one. The lying server (a proxy in front of a real one, on SQLite and PostgreSQL)
//! replaces the caller's slot with a grant of a fresh key VK', the vault's public key with
//! VK''s, and its name with one sealed under VK' — everything consistent except the
//! owner's signature. Before the fix the member and the token opened it, converted it
//! (`PUT …/slot`) and would have written under VK'. Now both refuse, convert nothing and
//! write nothing; the same operations through the honest server still work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/proxy.rs"]
mod proxy;
mod support;

use base64::Engine as _;
use keyslot_client::Client;
use keyslot_client::Credential;
use keyslot_client::e2e::{ParamsCheck, Refusal, TokenClient, account};
use keyslot_crypto::identity::IdentityKeyPair;
use keyslot_crypto::{
    E2eTokenCredential, Id, PublicKey, RecipientKind, TokenKeyPair, VaultKey, VaultKeyPair,
    grant_aad, seal_to,
};
use proxy::{Proxy, Rewrite};
use serde_json::{Value, json};
use support::{BACKENDS, Server};

const ALICE: &str = "correct horse battery staple 41";
const BOB: &str = "bobs own unguessable passphrase 3";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// Who the server forges a grant for, and whether it also signs the forged public key
/// with an identity of its own.
struct Forge {
    owner: Id,
    vault: Id,
    kind: RecipientKind,
    recipient: Id,
    public: PublicKey,
    sign_with: Option<IdentityKeyPair>,
}

/// The rewrite: every answer about `vault` carries a grant of a key the server made.
fn forging(f: Forge) -> Rewrite {
    let key = VaultKey::generate().unwrap();
    Box::new(move |_method, path, body| {
        if !path.starts_with("/v1/vaults") {
            return;
        }
        let vault = f.vault.to_string();
        let about_vault = path.contains(&vault);
        let forge_in = |v: &mut Value| {
            let Some(slot) = v.get("slot") else { return };
            let version = v
                .get("key_version")
                .and_then(Value::as_u64)
                .or_else(|| slot.get("key_version").and_then(Value::as_u64))
                .unwrap() as u32;
            let aad = grant_aad(&f.owner, &f.vault, version, f.kind, &f.recipient);
            let sealed = seal_to(&f.public, &key, &aad).unwrap();
            v["slot"] = json!({"kind": "grant", "key_version": version,
                               "sealed": b64(&sealed.to_bytes())});
            // A vault's own row: its public key and name made consistent with VK'.
            if v.get("rotation_due").is_some() && v.get("public_key").is_some() {
                let public = VaultKeyPair::derive(&key, &f.vault, version).public_key();
                v["public_key"] = json!(b64(public.as_bytes()));
                if let Some(server) = &f.sign_with {
                    let signature = server.sign_vault_key(&f.vault, version, &public);
                    v["public_key_signature"] = json!(b64(signature.as_bytes()));
                }
                let name = keyslot_crypto::item::seal_vault_name(
                    &key, &f.owner, &f.vault, version, "Forged",
                )
                .unwrap();
                v["sealed_name"] = json!(b64(&name));
            }
        };
        if let Some(list) = body.get_mut("vaults").and_then(Value::as_array_mut) {
            for v in list {
                if v.get("id").and_then(Value::as_str) == Some(vault.as_str()) {
                    forge_in(v);
                }
            }
        } else if about_vault {
            forge_in(body);
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_key_the_server_made_is_refused_by_members_and_tokens() {
    for (postgres, backend) in BACKENDS {
        let Some(server) = Server::start(postgres, "client_forged_grants").await else {
            continue;
        };
        let (proxy, url) = Proxy::start(server.addr).await;
        story(&proxy, &Client::new(&url, Credential::None), backend).await;
        server.stop().await;
    }
}

async fn story(proxy: &Proxy, base: &Client, backend: &str) {
    let alice_up = account::signup(base, "alice", ALICE).await.unwrap();
    let (alice, _, _) = account::login(base, "alice", ALICE, &ParamsCheck::default())
        .await
        .unwrap();
    let bob_up = account::signup(base, "bob", BOB).await.unwrap();
    let (bob, _, _) = account::login(base, "bob", BOB, &ParamsCheck::default())
        .await
        .unwrap();
    let vault = alice.create_vault("Team").await.unwrap().id;
    let (item, _) = alice
        .create_item(&vault, "db", &json!("team-canary"))
        .await
        .unwrap();
    alice
        .share_vault(&vault, "bob", "write", &bob_up.fingerprint)
        .await
        .unwrap();
    let bob_public = {
        let keys = proxy.answers.lock().unwrap()["/v1/users/bob/keys"].clone();
        PublicKey::from_slice(&unb64(keys["x25519_public"].as_str().unwrap())).unwrap()
    };
    let minted = alice
        .mint_token(ALICE, "ci", Some(&[vault]), true, None)
        .await
        .unwrap();
    let token = TokenClient::new(base, &minted.token).unwrap();
    let token_public =
        TokenKeyPair::derive(&E2eTokenCredential::parse(&minted.token).unwrap()).public_key();

    // The grant is accepted only from an owner bob confirmed: until then it is refused,
    // naming the step that is missing.
    let unconfirmed = bob.vault(&vault).await.unwrap_err();
    assert!(
        matches!(unconfirmed.refusal(), Some(Refusal::NotPinned { .. })),
        "{backend}: {unconfirmed}"
    );
    bob.confirm_user("alice", &alice_up.fingerprint)
        .await
        .unwrap();

    // The server's own key, sealed to bob, with and without its own signature over it.
    let slot_put = format!("PUT /v1/vaults/{vault}/slot");
    let item_post = format!("POST /v1/vaults/{vault}/items");
    for signed_by_server in [false, true] {
        proxy.set(Some(forging(Forge {
            owner: *alice.user_id(),
            vault,
            kind: RecipientKind::User,
            recipient: *bob.user_id(),
            public: bob_public,
            sign_with: signed_by_server.then(|| IdentityKeyPair::generate().unwrap()),
        })));
        proxy.clear();
        let opened = bob.vault(&vault).await.unwrap_err();
        assert!(
            matches!(opened.refusal(), Some(Refusal::UnverifiedKey { .. })),
            "{backend} (server signed: {signed_by_server}): {opened}"
        );
        let listed = bob.vaults().await.unwrap_err();
        assert!(listed.refusal().is_some(), "{backend}: {listed}");
        let wrote = bob
            .create_item(&vault, "leak", &json!("bob-secret-canary"))
            .await
            .unwrap_err();
        assert!(
            matches!(wrote.refusal(), Some(Refusal::UnverifiedKey { .. })),
            "{backend}: {wrote}"
        );
        assert!(
            !proxy.saw(&slot_put),
            "{backend}: a forged grant was converted"
        );
        assert!(
            !proxy.saw(&item_post),
            "{backend}: written under a forged key"
        );
    }

    // The same for alice's kse_ token: its id commits to alice's identity, which did not
    // sign the server's key.
    proxy.set(Some(forging(Forge {
        owner: *alice.user_id(),
        vault,
        kind: RecipientKind::Token,
        recipient: minted.id,
        public: token_public,
        sign_with: Some(IdentityKeyPair::generate().unwrap()),
    })));
    proxy.clear();
    let opened = token.vaults().await.unwrap_err();
    assert!(
        matches!(opened.refusal(), Some(Refusal::UnverifiedKey { .. })),
        "{backend}: {opened}"
    );
    let wrote = token
        .create_item(&vault, "leak", &json!("token-secret-canary"))
        .await
        .unwrap_err();
    assert!(wrote.refusal().is_some(), "{backend}: {wrote}");
    assert!(
        !proxy.saw(&slot_put),
        "{backend}: a forged grant was converted"
    );
    assert!(
        !proxy.saw(&item_post),
        "{backend}: written under a forged key"
    );

    // The honest server: bob opens alice's real grant (it verifies under her pinned
    // identity), converts it, reads and writes; the token reads and writes too.
    proxy.set(None);
    proxy.clear();
    let opened = bob.vault(&vault).await.unwrap();
    assert_eq!(opened.name.as_deref(), Some("Team"), "{backend}");
    assert!(
        proxy.saw(&slot_put),
        "{backend}: the real grant is converted"
    );
    assert_eq!(
        bob.item(&vault, &item).await.unwrap().value,
        json!("team-canary")
    );
    bob.create_item(&vault, "from-bob", &json!(1))
        .await
        .unwrap();
    assert_eq!(
        token.item(&vault, &item).await.unwrap().value,
        json!("team-canary")
    );
    token
        .create_item(&vault, "from-token", &json!(2))
        .await
        .unwrap();

    // Bob's slot is wrapped now, and still checked: a server hiding his pin of alice
    // (so that no owner identity is known) gets the vault refused, not trusted.
    proxy.set(Some(Box::new(|_, path, body| {
        if path == "/v1/pins" {
            *body = json!({"pins": []});
        }
    })));
    let hidden = bob.vault(&vault).await.unwrap_err();
    assert!(
        matches!(hidden.refusal(), Some(Refusal::NotPinned { .. })),
        "{backend}: {hidden}"
    );
    proxy.set(None);
}
