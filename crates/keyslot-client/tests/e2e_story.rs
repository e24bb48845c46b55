//! The end-to-end account's story through keyslot-client against a real server, on
//! SQLite and PostgreSQL: sign up, log in, store, list, find by name, resume a session,
//! mint a `kse_` token and read with it, change the password, recover, share with a
//! second end-to-end user (fingerprint confirmed), revoke the token and rotate.
//!
//! What the server sees is checked elsewhere (the CLI's recording proxy); here the
//! client's refusals are checked too: a wrong fingerprint, parameters below the last
//! seen, a wrong password.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use keyslot_client::e2e::{self, E2eError, ParamsCheck, Refusal, TokenClient, account};
use keyslot_crypto::Argon2Params;
use serde_json::json;
use support::{BACKENDS, Server};

const ALICE_PASSWORD: &str = "correct horse battery staple 41";
const ALICE_NEW: &str = "a different long passphrase 7";
const ALICE_RECOVERED: &str = "yet another quite long passphrase 9";
const BOB_PASSWORD: &str = "bobs own unguessable passphrase 3";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_to_end_story() {
    for (postgres, backend) in BACKENDS {
        let Some(server) = Server::start(postgres, "client_e2e_story").await else {
            continue;
        };
        story(&server, backend).await;
        server.stop().await;
    }
}

async fn story(server: &Server, backend: &str) {
    let base = server.client();

    // Sign up: every key made here; the recovery code is shown once and redacted in Debug.
    let alice_up = account::signup(&base, "alice", ALICE_PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("{backend}: sign-up: {e}"));
    assert!(!format!("{alice_up:?}").contains(alice_up.recovery_code.as_str()));
    // The client's own rules run before anything is sent.
    let weak = account::signup(&base, "mallory", "short")
        .await
        .unwrap_err();
    assert!(
        matches!(weak, E2eError::Invalid(ref f) if f[0].0 == "password"),
        "{weak}"
    );

    // Log in; a wrong password is the server's 401.
    let wrong = account::login(
        &base,
        "alice",
        "not the password at all 1",
        &ParamsCheck::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(wrong.status(), Some(401), "{backend}: {wrong}");
    let (alice, unlock, seen) =
        account::login(&base, "alice", ALICE_PASSWORD, &ParamsCheck::default())
            .await
            .unwrap_or_else(|e| panic!("{backend}: login: {e}"));
    assert_eq!(seen, alice_up.params);
    assert_eq!(alice.fingerprint(), alice_up.fingerprint);
    // Parameters lower than the last seen for this username are a downgrade: refused
    // before any hash runs or anything is sent.
    let higher = Argon2Params {
        m_cost_kib: seen.m_cost_kib * 2,
        ..seen
    };
    let refused = account::login(
        &base,
        "alice",
        ALICE_PASSWORD,
        &ParamsCheck::after(Some(higher)),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(refused.refusal(), Some(Refusal::ParamsBelowLastSeen { .. })),
        "{refused}"
    );

    // The first vault, its name opened here.
    let vaults = alice.vaults().await.unwrap();
    assert_eq!(vaults.len(), 1, "{vaults:?}");
    assert_eq!(vaults[0].name.as_deref(), Some("Personal"));
    let personal = vaults[0].id;

    // Store, list, find by name, read, update.
    let (item, v1) = alice
        .create_item(&personal, "db-password", &json!("hunter2-canary"))
        .await
        .unwrap();
    assert_eq!(v1, 1);
    alice
        .create_item(&personal, "api-key", &json!({"key": "abc"}))
        .await
        .unwrap();
    let mut names: Vec<String> = alice
        .items(&personal)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    names.sort();
    assert_eq!(names, ["api-key", "db-password"]);
    let found = alice
        .find_item(&personal, "db-password")
        .await
        .unwrap()
        .expect("found by name");
    assert_eq!(found.id, item);
    assert_eq!(found.value, json!("hunter2-canary"));
    assert_eq!(found.signed, e2e::items::Signed::Verified(*alice.user_id()));
    assert!(
        alice
            .find_item(&personal, "no-such")
            .await
            .unwrap()
            .is_none()
    );
    let v2 = alice
        .update_item(&personal, &item, 1, "db-password", &json!("hunter3-canary"))
        .await
        .unwrap();
    assert_eq!(v2, 2);
    // A write on a stale version is refused by the server.
    let stale = alice
        .update_item(&personal, &item, 1, "db-password", &json!("lost update"))
        .await
        .unwrap_err();
    assert!(matches!(stale.status(), Some(409 | 412)), "{stale}");

    // A later command resumes the session with the unlock secret alone.
    let text = unlock.to_text();
    let resumed = account::resume(alice.client(), &e2e::UnlockSecret::parse(&text).unwrap())
        .await
        .unwrap();
    assert_eq!(
        resumed.item(&personal, &item).await.unwrap().value,
        json!("hunter3-canary")
    );

    // A token: made here, read with its ksa_ proof.
    let minted = alice
        .mint_token(ALICE_PASSWORD, "ci", Some(&[personal]), false, None)
        .await
        .unwrap();
    assert!(minted.token.starts_with("kse_"));
    assert!(!format!("{minted:?}").contains(minted.token.as_str()));
    let listed = alice.tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "ci");
    let token = TokenClient::new(&base, &minted.token).unwrap();
    let read = token
        .find_item(&personal, "db-password")
        .await
        .unwrap()
        .expect("the token finds it");
    assert_eq!(read.value, json!("hunter3-canary"));
    let no_write = token
        .create_item(&personal, "from-token", &json!(1))
        .await
        .unwrap_err();
    assert_eq!(no_write.status(), Some(403), "{no_write}");

    // Password change: the old password stops working.
    let new_params = alice
        .change_password(ALICE_PASSWORD, ALICE_NEW, false)
        .await
        .unwrap();
    let old = account::login(
        &base,
        "alice",
        ALICE_PASSWORD,
        &ParamsCheck::after(Some(new_params)),
    )
    .await
    .unwrap_err();
    assert_eq!(old.status(), Some(401), "{old}");
    let (changed, _, _) = account::login(
        &base,
        "alice",
        ALICE_NEW,
        &ParamsCheck::after(Some(new_params)),
    )
    .await
    .unwrap();
    assert_eq!(
        changed.item(&personal, &item).await.unwrap().value,
        json!("hunter3-canary")
    );

    // Recovery in two steps: the code opens the user key here; the new password and a
    // new code replace the old ones; the data is still there.
    let started = account::recover_begin(&base, "alice", &alice_up.recovery_code)
        .await
        .unwrap();
    let (new_code, _) = started.finish(ALICE_RECOVERED).await.unwrap();
    assert_ne!(new_code.as_str(), alice_up.recovery_code.as_str());
    let reused = account::recover_begin(&base, "alice", &alice_up.recovery_code)
        .await
        .unwrap_err();
    assert!(matches!(reused.status(), Some(401 | 403)), "{reused}");
    let (alice, _, _) = account::login(&base, "alice", ALICE_RECOVERED, &ParamsCheck::default())
        .await
        .unwrap();
    assert_eq!(
        alice.item(&personal, &item).await.unwrap().value,
        json!("hunter3-canary")
    );

    // Sharing with a second end-to-end user: a wrong fingerprint is refused before
    // anything is sealed; the right one shares, and bob opens the grant and reads.
    let bob_up = account::signup(&base, "bob", BOB_PASSWORD).await.unwrap();
    let (bob, _, _) = account::login(&base, "bob", BOB_PASSWORD, &ParamsCheck::default())
        .await
        .unwrap();
    let wrong_fp = alice
        .share_vault(&personal, "bob", "read", &alice_up.fingerprint)
        .await
        .unwrap_err();
    assert!(
        matches!(
            wrong_fp.refusal(),
            Some(Refusal::FingerprintMismatch { .. })
        ),
        "{wrong_fp}"
    );
    let bob_id = alice
        .share_vault(&personal, "bob", "read", &bob_up.fingerprint)
        .await
        .unwrap();
    assert_eq!(bob_id, *bob.user_id());
    // Bob accepts the grant only once he has confirmed alice's identity: anyone can seal
    // a key to him, and her signature over the vault's public key is what tells hers
    // from one the server made (review R1 finding 2).
    let unconfirmed = bob.vault(&personal).await.unwrap_err();
    assert!(
        matches!(unconfirmed.refusal(), Some(Refusal::NotPinned { .. })),
        "{unconfirmed}"
    );
    bob.confirm_user("alice", &alice_up.fingerprint)
        .await
        .unwrap();
    let shared = bob.vault(&personal).await.unwrap();
    assert_eq!(shared.name.as_deref(), Some("Personal"));
    let read = bob.item(&personal, &item).await.unwrap();
    assert_eq!(read.value, json!("hunter3-canary"));
    assert_eq!(
        bob.item(&personal, &item).await.unwrap().signed,
        e2e::items::Signed::Verified(*alice.user_id())
    );

    // Revoke the token: the vault is due, writes wait for a client to rotate; alice
    // rotates (bob's key verified through his pinned identity); writes work again, bob
    // reads them, the revoked token reads nothing.
    let keeper = alice
        .mint_token(ALICE_RECOVERED, "keeper", Some(&[personal]), false, None)
        .await
        .unwrap();
    let keeper = TokenClient::new(&base, &keeper.token).unwrap();
    alice.revoke_token(&minted.id).await.unwrap();
    let due = alice
        .create_item(&personal, "after-revoke", &json!("x"))
        .await
        .unwrap_err();
    assert_eq!(due.status(), Some(409), "{due}");
    let version = alice.rotate_vault(&personal).await.unwrap();
    assert_eq!(version, 2);
    let (after, _) = alice
        .create_item(&personal, "after-rotation", &json!("new-secret-canary"))
        .await
        .unwrap();
    assert_eq!(
        bob.item(&personal, &after).await.unwrap().value,
        json!("new-secret-canary")
    );
    // The token that stays gets the new key sealed to its verified key, opens that grant
    // and reads what was written after the rotation.
    assert_eq!(
        keeper.item(&personal, &after).await.unwrap().value,
        json!("new-secret-canary")
    );
    // Old items still read through the chain.
    assert_eq!(
        bob.item(&personal, &item).await.unwrap().value,
        json!("hunter3-canary")
    );
    let gone = token.item(&personal, &after).await.unwrap_err();
    assert_eq!(gone.status(), Some(401), "{gone}");

    // Only the owner runs a due rotation (her identity signs the vault's keys): bob's
    // client refuses to, sending nothing, and the vault stays due until alice rotates;
    // bob then reads what she writes under the new key.
    let second = alice
        .mint_token(ALICE_RECOVERED, "second", Some(&[personal]), false, None)
        .await
        .unwrap();
    alice.revoke_token(&second.id).await.unwrap();
    let refused = bob.rotate_vault(&personal).await.unwrap_err();
    assert!(
        matches!(&refused, E2eError::Invalid(fields) if fields[0].0 == "vault"),
        "{refused}"
    );
    assert!(bob.vault(&personal).await.unwrap().rotation_due);
    assert_eq!(alice.rotate_vault(&personal).await.unwrap(), 3);
    let (third, _) = alice
        .create_item(
            &personal,
            "after-the-owners-rotation",
            &json!("third-canary"),
        )
        .await
        .unwrap();
    assert_eq!(
        bob.item(&personal, &third).await.unwrap().value,
        json!("third-canary")
    );
    assert_eq!(
        alice.item(&personal, &item).await.unwrap().value,
        json!("hunter3-canary")
    );

    // Bob becomes a writer; his write is signed, and alice (who pinned him) checks it.
    alice
        .set_member_role(&personal, bob.user_id(), "write")
        .await
        .unwrap();
    let (bobs, _) = bob
        .create_item(&personal, "from-bob", &json!("bob-canary"))
        .await
        .unwrap();
    let read = alice.item(&personal, &bobs).await.unwrap();
    assert_eq!(read.value, json!("bob-canary"));
    assert_eq!(read.signed, e2e::items::Signed::Verified(*bob.user_id()));

    // Removing bob rotates at once (the server only marks it due): what alice writes
    // next is under a key bob never gets.
    let rotated = alice
        .remove_member(&personal, bob.user_id(), true)
        .await
        .unwrap();
    assert_eq!(rotated, Some(4));
    let (secret, _) = alice
        .create_item(&personal, "after-removal", &json!("bob-must-not-read"))
        .await
        .unwrap();
    let refused = bob.item(&personal, &secret).await.unwrap_err();
    assert_eq!(refused.status(), Some(404), "{refused}");
}

/// A `"*"` token gets every vault its user gets: at mint (a slot per vault), at a new
/// vault and at a share (grants the client seals to the token's key, verified under its
/// user's identity).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_star_token_reaches_vaults_made_and_shared_after_it() {
    for (postgres, backend) in BACKENDS {
        let Some(server) = Server::start(postgres, "client_e2e_star").await else {
            continue;
        };
        let base = server.client();
        let carol_up = account::signup(&base, "carol", ALICE_PASSWORD)
            .await
            .unwrap();
        let (carol, _, _) = account::login(&base, "carol", ALICE_PASSWORD, &ParamsCheck::default())
            .await
            .unwrap();
        let dave_up = account::signup(&base, "dave", BOB_PASSWORD).await.unwrap();
        let (dave, _, _) = account::login(&base, "dave", BOB_PASSWORD, &ParamsCheck::default())
            .await
            .unwrap();
        let minted = dave
            .mint_token(BOB_PASSWORD, "everything", None, false, None)
            .await
            .unwrap_or_else(|e| panic!("{backend}: mint *: {e}"));
        let star = TokenClient::new(&base, &minted.token).unwrap();

        // A vault dave makes after the mint.
        let work = dave
            .create_vault("Work")
            .await
            .unwrap_or_else(|e| panic!("{backend}: vault with a * token: {e}"));
        dave.create_item(&work.id, "k", &json!("v1")).await.unwrap();
        let names: Vec<Option<String>> = star
            .vaults()
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert!(names.contains(&Some("Work".into())), "{backend}: {names:?}");

        // A vault carol shares with dave after the mint.
        let shared = carol.create_vault("Shared").await.unwrap();
        let (item, _) = carol
            .create_item(&shared.id, "from-carol", &json!("v2"))
            .await
            .unwrap();
        carol
            .share_vault(&shared.id, "dave", "read", &dave_up.fingerprint)
            .await
            .unwrap_or_else(|e| panic!("{backend}: share to a user with a * token: {e}"));
        // The token's id commits to dave's identity only; carol signed this vault's key,
        // and nothing the token holds vouches for carol, so a grant the server could
        // have made is refused rather than trusted (review R1 finding 2).
        let refused = star.item(&shared.id, &item).await.unwrap_err();
        assert!(
            matches!(refused.refusal(), Some(Refusal::UnverifiedKey { .. })),
            "{backend}: {refused}"
        );
        let _ = carol_up;
        server.stop().await;
    }
}

/// A server-mode account's `kst_` token used through its `ksa_` proof: it decrypts what
/// the server wrote, and the server decrypts what it wrote (the formats are the same).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_mode_token_reads_and_writes_through_its_proof() {
    for (postgres, backend) in BACKENDS {
        let Some(server) = Server::start(postgres, "client_e2e_kst").await else {
            continue;
        };
        let base = server.client();
        let up = base.signup("erin", ALICE_PASSWORD).await.unwrap();
        let (session, _) = base.login("erin", ALICE_PASSWORD).await.unwrap();
        session
            .create_item(&up.vault_id, "server-written", &json!({"a": 1}))
            .await
            .unwrap();
        let minted = session
            .mint_token(
                ALICE_PASSWORD,
                &keyslot_client::MintToken {
                    name: "ci".into(),
                    vaults: json!([up.vault_id]),
                    permissions: vec!["read".into(), "write".into()],
                    expires_in_seconds: None,
                },
            )
            .await
            .unwrap();
        let token = TokenClient::new(&base, &minted.token).unwrap();
        let vault = up.vault_id.parse().unwrap();
        let read = token
            .find_item(&vault, "server-written")
            .await
            .unwrap_or_else(|e| panic!("{backend}: ksa_ read: {e}"))
            .expect("found by name index");
        assert_eq!(read.value, json!({"a": 1}));
        let (written, _) = token
            .create_item(&vault, "client-written", &json!("b"))
            .await
            .unwrap();
        let back = session
            .item(&up.vault_id, &written.to_string())
            .await
            .unwrap();
        assert_eq!(
            (back.name.as_str(), back.value),
            ("client-written", json!("b"))
        );
        server.stop().await;
    }
}
