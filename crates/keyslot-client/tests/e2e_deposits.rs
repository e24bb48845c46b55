//! End-to-end deposits through keyslot-client (END-TO-END.md §8), against a real server
//! on SQLite and PostgreSQL, through a proxy that can play a lying server.
//!
//! A `kse_` deposit token seals an item to the vault's key as its owner signed it; the
//! owner's client claims it and reads it like any item, and the token reads nothing back.
//! A server that substitutes the vault's public key (or the owner's identity) gets nothing:
//! the token refuses before it posts. While the vault's rotation is due, the token seals to
//! the readers only when it can vouch for each; a member it cannot vouch for makes it
//! refuse, naming the retry after the owner's rotation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/proxy.rs"]
mod proxy;
mod support;

use base64::Engine as _;
use keyslot_client::e2e::{E2eSession, ParamsCheck, Refusal, TokenClient, account};
use keyslot_client::{Client, Credential};
use keyslot_crypto::identity::IdentityKeyPair;
use keyslot_crypto::{E2eTokenCredential, Id, TokenKeyPair, VaultKey, VaultKeyPair};
use proxy::{Proxy, Rewrite};
use serde_json::{Value, json};
use support::{BACKENDS, Server};

const ALICE: &str = "correct horse battery staple 41";
const BOB: &str = "bobs own unguessable passphrase 3";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_token_deposits_and_the_owner_claims_and_reads_it() {
    for (postgres, backend) in BACKENDS {
        let Some(server) = Server::start(postgres, "client_e2e_deposits").await else {
            continue;
        };
        let (proxy, url) = Proxy::start(server.addr).await;
        story(&proxy, &Client::new(&url, Credential::None), backend).await;
        server.stop().await;
    }
}

async fn login(base: &Client, who: &str, password: &str) -> E2eSession {
    account::login(base, who, password, &ParamsCheck::default())
        .await
        .unwrap()
        .0
}

/// The rewrite: the deposit-key answer names `public` as the vault's key, signed by
/// `signer` (when given) and with `signer` as the owner's identity (when `as_owner`).
fn substituting(public: Vec<u8>, signer: Option<IdentityKeyPair>, as_owner: bool) -> Rewrite {
    Box::new(move |_method, path, body| {
        if !path.ends_with("/deposit-key") {
            return;
        }
        body["public_key"] = json!(b64(&public));
        if let Some(signer) = &signer {
            let vault: Id = path.split('/').nth(3).unwrap().parse().unwrap();
            let version = u32::try_from(body["key_version"].as_u64().unwrap()).unwrap();
            let key = keyslot_crypto::PublicKey::from_slice(&public).unwrap();
            body["public_key_signature"] =
                json!(b64(signer.sign_vault_key(&vault, version, &key).as_bytes()));
            if as_owner {
                body["owner_identity_public"] = json!(b64(signer.public().as_bytes()));
            }
        }
    })
}

async fn story(proxy: &Proxy, base: &Client, backend: &str) {
    let alice_up = account::signup(base, "alice", ALICE).await.unwrap();
    let alice = login(base, "alice", ALICE).await;
    let bob_up = account::signup(base, "bob", BOB).await.unwrap();
    let bob = login(base, "bob", BOB).await;
    let inbox = alice.create_vault("Inbox").await.unwrap().id;

    let solo = alice.create_vault("Solo").await.unwrap().id;
    let minted = alice
        .mint_deposit_token(ALICE, "intake", &[inbox, solo], None)
        .await
        .unwrap();
    let listed = alice.tokens().await.unwrap();
    assert_eq!(listed[0].permissions, ["deposit"], "{backend}");
    let depositor = TokenClient::new(base, &minted.token).unwrap();

    // The deposit, sealed here; the token reads nothing back.
    let secret = json!({"api_key": "deposited-canary"});
    let id = depositor.deposit(&inbox, "ci-key", &secret).await.unwrap();
    let refused = depositor.items(&inbox).await.unwrap_err();
    assert_eq!(refused.status(), Some(403), "{backend}: {refused}");
    let refused = depositor.vaults().await.unwrap_err();
    assert_eq!(refused.status(), Some(403), "{backend}: {refused}");

    // A lying server names another sender (its own key, signed by an identity of its
    // own): the owner's client refuses before opening, and claims nothing.
    let server_identity = IdentityKeyPair::generate().unwrap();
    let server_sender = TokenKeyPair::derive(&E2eTokenCredential::generate().unwrap());
    let owner = *alice.user_id();
    proxy.set(Some(Box::new(move |method, path, body| {
        if method != "GET" || !path.ends_with("/deposits") {
            return;
        }
        for d in body["deposits"].as_array_mut().unwrap() {
            let token: Id = d["token_id"].as_str().unwrap().parse().unwrap();
            let public = server_sender.public_key();
            d["sender_public_key"] = json!(b64(public.as_bytes()));
            d["sender_signature"] = json!(b64(server_identity
                .sign_token_key(&owner, &token, &public)
                .as_bytes()));
        }
    })));
    proxy.clear();
    let e = alice.claim_deposits(&inbox).await.unwrap_err();
    assert!(
        matches!(e.refusal(), Some(Refusal::UnverifiedKey { .. })),
        "{backend}: {e}"
    );
    assert!(
        !proxy.saw(&format!("POST /v1/vaults/{inbox}/deposits/")),
        "{backend}: a deposit with a forged sender was claimed"
    );
    proxy.set(None);

    // The owner claims it, then reads it as an ordinary item.
    assert_eq!(
        alice.claim_deposits(&inbox).await.unwrap(),
        [id],
        "{backend}"
    );
    assert!(alice.claim_deposits(&inbox).await.unwrap().is_empty());
    let items = alice.items(&inbox).await.unwrap();
    assert_eq!(items.len(), 1, "{backend}");
    assert_eq!((items[0].id, items[0].name.as_str()), (id, "ci-key"));
    let read = alice.item(&inbox, &id).await.unwrap();
    assert_eq!(read.value, secret, "{backend}");
    assert_eq!(read.version, 1);

    // A lying server: the vault's key replaced by one it made — unsigned, signed by an
    // identity of its own, and with that identity also named as the owner's. The token
    // refuses each before posting anything.
    let deposits = format!("POST /v1/vaults/{inbox}/deposits");
    let forged = VaultKeyPair::derive(&VaultKey::generate().unwrap(), &inbox, 1)
        .public_key()
        .as_bytes()
        .to_vec();
    for (signer, as_owner) in [
        (None, false),
        (Some(IdentityKeyPair::generate().unwrap()), false),
        (Some(IdentityKeyPair::generate().unwrap()), true),
    ] {
        proxy.set(Some(substituting(forged.clone(), signer, as_owner)));
        proxy.clear();
        let e = depositor
            .deposit(&inbox, "leak", &json!("never-sent-canary"))
            .await
            .unwrap_err();
        assert!(
            matches!(e.refusal(), Some(Refusal::UnverifiedKey { .. })),
            "{backend} (as owner: {as_owner}): {e}"
        );
        assert!(!proxy.saw(&deposits), "{backend}: a deposit was posted");
    }
    proxy.set(None);

    // While due with a member the token cannot vouch for: refused, nothing sent, and the
    // message says to retry after the owner rotates.
    alice
        .share_vault(&inbox, "bob", "write", &bob_up.fingerprint)
        .await
        .unwrap();
    bob.confirm_user("alice", &alice_up.fingerprint)
        .await
        .unwrap();
    // Only a vault's owner mints a deposit token for it (the token checks the vault's
    // key under its minter's identity), not a member.
    let bobs = bob
        .mint_deposit_token(BOB, "intake", &[inbox], None)
        .await
        .unwrap_err();
    assert!(bobs.to_string().contains("not yours"), "{backend}: {bobs}");
    let reader = alice
        .mint_token(ALICE, "reader", Some(&[inbox]), false, None)
        .await
        .unwrap();
    alice.revoke_token(&reader.id).await.unwrap();
    proxy.clear();
    let due = depositor
        .deposit(&inbox, "while-due", &json!("due-canary"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            due.refusal(),
            Some(Refusal::DepositReadersUnverifiable { readers, .. })
                if readers == &[bob.user_id().to_string()]
        ),
        "{backend}: {due}"
    );
    assert!(due.to_string().contains("retry after"), "{backend}: {due}");
    assert!(!proxy.saw(&deposits), "{backend}: a deposit was posted");

    // After the owner's rotation the deposit goes to the new key; the member claims it.
    assert_eq!(alice.rotate_vault(&inbox).await.unwrap(), 2, "{backend}");
    let later = depositor
        .deposit(&inbox, "after-rotation", &json!("later"))
        .await
        .unwrap();
    assert_eq!(bob.claim_deposits(&inbox).await.unwrap(), [later]);
    let read = alice.item(&inbox, &later).await.unwrap();
    assert_eq!(
        (read.name.as_str(), &read.value),
        ("after-rotation", &json!("later"))
    );
    // A vault due with no reader but its owner: the token vouches for the owner's key
    // and seals to it; the owner claims it once the rotation is done (a claim is a write).
    let solo_reader = alice
        .mint_token(ALICE, "solo-reader", Some(&[solo]), false, None)
        .await
        .unwrap();
    alice.revoke_token(&solo_reader.id).await.unwrap();
    let due_id = depositor
        .deposit(&solo, "to-the-owner", &json!("owner-only"))
        .await
        .unwrap();
    let e = alice.claim_deposits(&solo).await.unwrap_err();
    assert_eq!(e.status(), Some(409), "{backend}: {e}");
    assert_eq!(alice.rotate_vault(&solo).await.unwrap(), 2, "{backend}");
    assert_eq!(alice.claim_deposits(&solo).await.unwrap(), [due_id]);
    let read = alice.item(&solo, &due_id).await.unwrap();
    assert_eq!(read.value, json!("owner-only"), "{backend}");

    let text: Value = json!(format!("{minted:?}"));
    assert!(!text.to_string().contains(minted.token.as_str()));
}
