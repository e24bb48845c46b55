//! A server that lists a revoked token or a removed member as a holder again (review R1
//! finding 3), on SQLite and PostgreSQL.
//!
//! Their keys still carry valid signatures (the owner's over the token's key at mint, the
//! member's over their own), so the rotation's signature checks pass; only the client
//! that ended them knows. It refuses them and sends no rotation, in the session that
//! ended them and in a later session handed the saved record; a member the owner never
//! added, slipped into the list with a valid signature of their own, is refused against
//! the member list the owner last signed; through the honest server the rotation runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/proxy.rs"]
mod proxy;
mod support;

use keyslot_client::e2e::{ParamsCheck, Refusal, account};
use keyslot_client::{Client, Credential};
use proxy::Proxy;
use serde_json::{Value, json};
use support::{BACKENDS, Server};

const ALICE: &str = "correct horse battery staple 41";
const BOB: &str = "bobs own unguessable passphrase 3";

/// Put `entry` back into every holders answer for `path` that lacks it.
fn relisting(path: String, entry: Value) -> proxy::Rewrite {
    Box::new(move |method, p, body| {
        if method != "GET" || p != path {
            return;
        }
        let holders = body["holders"].as_array_mut().unwrap();
        if !holders.iter().any(|h| h["id"] == entry["id"]) {
            holders.push(entry.clone());
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_or_removed_member_listed_again_gets_no_key() {
    for (postgres, backend) in BACKENDS {
        let Some(server) = Server::start(postgres, "client_ended_holders").await else {
            continue;
        };
        let (proxy, url) = Proxy::start(server.addr).await;
        story(&proxy, &Client::new(&url, Credential::None), backend).await;
        server.stop().await;
    }
}

async fn story(proxy: &Proxy, base: &Client, backend: &str) {
    account::signup(base, "alice", ALICE).await.unwrap();
    let (alice, _, _) = account::login(base, "alice", ALICE, &ParamsCheck::default())
        .await
        .unwrap();
    let bob_up = account::signup(base, "bob", BOB).await.unwrap();
    let vault = alice.create_vault("Team").await.unwrap().id;
    alice
        .share_vault(&vault, "bob", "write", &bob_up.fingerprint)
        .await
        .unwrap();
    let token = alice
        .mint_token(ALICE, "ci", Some(&[vault]), false, None)
        .await
        .unwrap();
    // The holders as they stand (bob and the token), recorded by the proxy.
    alice
        .set_member_role(&vault, &bob_up.user_id, "read")
        .await
        .unwrap();
    let holders_path = format!("/v1/vaults/{vault}/holders");
    let before = proxy.answers.lock().unwrap()[&holders_path].clone();
    let entry = |id: String| {
        before["holders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == json!(id))
            .unwrap_or_else(|| panic!("{backend}: {id} among {before}"))
            .clone()
    };
    let token_entry = entry(token.id.to_string());
    let bob_entry = entry(bob_up.user_id.to_string());
    let rotate = format!("POST /v1/vaults/{vault}/rotate");

    // The revoked token listed again: refused, nothing sent.
    alice.revoke_token(&token.id).await.unwrap();
    proxy.set(Some(relisting(holders_path.clone(), token_entry)));
    proxy.clear();
    let refused = alice.rotate_vault(&vault).await.unwrap_err();
    assert!(
        matches!(refused.refusal(), Some(Refusal::EndedHolder { .. })),
        "{backend}: {refused}"
    );
    assert!(!proxy.saw(&rotate), "{backend}: sealed to a revoked token");
    // A later session knows only what it is handed: the saved record refuses it too.
    let (later, _, _) = account::login(base, "alice", ALICE, &ParamsCheck::default())
        .await
        .unwrap();
    later.remember_ended(&alice.ended_holders());
    let refused = later.rotate_vault(&vault).await.unwrap_err();
    assert!(
        matches!(refused.refusal(), Some(Refusal::EndedHolder { .. })),
        "{backend}: {refused}"
    );
    assert!(!proxy.saw(&rotate), "{backend}: sealed to a revoked token");
    // The honest list: the rotation runs.
    proxy.set(None);
    assert_eq!(alice.rotate_vault(&vault).await.unwrap(), 2, "{backend}");

    // The removed member listed again: refused the same way.
    alice
        .remove_member(&vault, &bob_up.user_id, false)
        .await
        .unwrap();
    proxy.set(Some(relisting(holders_path.clone(), bob_entry)));
    proxy.clear();
    let refused = alice.rotate_vault(&vault).await.unwrap_err();
    assert!(
        matches!(refused.refusal(), Some(Refusal::EndedHolder { .. })),
        "{backend}: {refused}"
    );
    assert!(!proxy.saw(&rotate), "{backend}: sealed to a removed member");
    proxy.set(None);
    assert_eq!(alice.rotate_vault(&vault).await.unwrap(), 3, "{backend}");

    // A member slipped in: carol, whom alice confirmed but never shared with, listed
    // with her own valid signature. The list alice signed at version 3 does not have
    // her, so the rotation is refused and nothing is sealed to her.
    let carol_up = account::signup(base, "carol", BOB).await.unwrap();
    alice
        .confirm_user("carol", &carol_up.fingerprint)
        .await
        .unwrap();
    let keys = proxy.answers.lock().unwrap()["/v1/users/carol/keys"].clone();
    let carol = carol_up.user_id.to_string();
    let carol_entry = json!({
        "kind": "user", "id": carol, "user_id": carol, "role": "read",
        "public_key": keys["x25519_public"], "signature": keys["x25519_signature"],
        "identity_public": keys["identity_public"],
    });
    proxy.set(Some(relisting(holders_path.clone(), carol_entry)));
    proxy.clear();
    let refused = alice.rotate_vault(&vault).await.unwrap_err();
    assert!(
        matches!(refused.refusal(), Some(Refusal::Mismatch { .. })),
        "{backend}: {refused}"
    );
    assert!(
        !proxy.saw(&rotate),
        "{backend}: sealed to a member never added"
    );
    proxy.set(None);
    assert_eq!(alice.rotate_vault(&vault).await.unwrap(), 4, "{backend}");
}
