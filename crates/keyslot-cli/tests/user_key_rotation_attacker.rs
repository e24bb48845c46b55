//! The attacker's test of user-key rotation (DESIGN §3.1 "User-key rotation", issue 15),
//! written as an attacker would: keep a session cookie of the user (its row in any copy of
//! the database opens the user key) and copies of the database; the user rotates their
//! keys from another session ("sign out everywhere and rotate keys"); items are written
//! afterwards by that session, by a scoped token and by a deposit token (over two instances
//! on PostgreSQL), and in a vault another user shares with them; take a new copy. With
//! `keyslot-crypto` on the raw rows of every copy and no server, nothing written after the
//! rotation opens with the old user key — not through the member slots, not through the
//! grants sealed to the old key pair, not through the key chain. Before the rotation the
//! same harness opens both vaults' items with that cookie, and afterwards the caller's
//! cookie opens everything written after: so it can fail.
//!
//! Runs on SQLite and on PostgreSQL (`KEYSLOT_TEST_DATABASE_URL`; CI sets it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/attacker.rs"]
mod attacker;
#[path = "support/checks.rs"]
mod checks;
#[path = "support/db_copy.rs"]
mod db_copy;
#[path = "support/deployment.rs"]
mod deployment;
mod support;

use std::collections::BTreeSet;

use checks::{after_the_end, assert_opens_exactly, deposit_token, leaked};
use deployment::{Deployment, PASSWORD};
use keyslot_crypto::Id;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::As;

/// A vault of `session`'s user, shared with `username` as a writer: its id.
async fn share_a_vault(d: &Deployment, session: &support::Session, username: &str) -> Id {
    let (status, body) = d
        .send(0, Method::GET, "/v1/vaults", As::Session(session), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let vault: Id = body["vaults"][0]["id"].as_str().unwrap().parse().unwrap();
    let (status, body) = d
        .send(
            0,
            Method::POST,
            &format!("/v1/vaults/{vault}/members"),
            As::Session(session),
            Some(json!({"username": username, "role": "write"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    vault
}

async fn old_user_key_opens_nothing_written_after(mut d: Deployment) {
    let (vault, sessions) = d.owner().await;
    let caller = sessions[0].clone();
    let (_, b, _) = d.mint(&caller, &vault, true, None).await;
    let (_, e) = deposit_token(&d, &caller, &vault).await;
    // The attacker's cookie: another session of the same user.
    let stolen = d.client.login(&d.base(0), "owner", PASSWORD).await.unwrap();
    let (_, olga) = d.user("olga").await;
    let shared = share_a_vault(&d, &olga, "owner").await;
    let i1 = d.write(0, As::Session(&caller), &vault, "before").await;
    let s1 = d
        .write(0, As::Session(&olga), &shared, "shared-before")
        .await;

    let old = d.copy().await;
    let before = BTreeSet::from([i1, s1]);
    let opened = attacker::attack_with_session(&stolen.cookie, &[&old]);
    assert_eq!(
        opened.item_ids(),
        before,
        "the stolen cookie before the rotation, through the member slot and the pending grant: {opened:?}"
    );
    let versions = (
        old.key_version(&vault).unwrap(),
        old.key_version(&shared).unwrap(),
    );

    let (status, body) = d
        .send(
            0,
            Method::POST,
            "/v1/keys/rotate",
            As::Session(&caller),
            Some(json!({"current_password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}\n{}", d.logs());
    assert_eq!(body["vaults_rotated"], 2, "{body}");
    let at_200 = d.copy().await;
    assert!(at_200.key_version(&vault).unwrap() > versions.0);
    assert!(at_200.key_version(&shared).unwrap() > versions.1);
    let (status, _) = d
        .send(
            1 % d.instances.len(),
            Method::GET,
            "/v1/me",
            As::Session(&stolen),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the stolen session ended");

    // Written afterwards: by the caller's session, token B and deposit token E, at once;
    // and in the shared vault by both users.
    let mut in_vault = after_the_end(&d, std::slice::from_ref(&caller), &b, &e, &vault, true).await;
    let mut after = in_vault.clone();
    after.insert(d.write(0, As::Session(&olga), &shared, "shared-olga").await);
    let by_caller = d
        .write(0, As::Session(&caller), &shared, "shared-owner")
        .await;
    after.insert(by_caller);
    let new = d.copy().await;

    let copies = [&old, &at_200, &new];
    let opened = attacker::attack_with_session(&stolen.cookie, &copies);
    assert_eq!(
        leaked(&opened, &after),
        Vec::<String>::new(),
        "written after the rotation, opened with the old user key"
    );
    assert!(opened.item_ids().is_subset(&before), "{opened:?}");
    // The new user key (the caller's cookie, re-keyed) opens all of it: the harness can.
    let by_new = attacker::attack_with_session(&caller.cookie, &[&new]);
    assert!(
        after.is_subset(&by_new.item_ids()),
        "the caller's re-keyed session opens what was written after: {by_new:?}"
    );
    in_vault.insert(i1);
    assert_opens_exactly(&b, &[&new], &in_vault, "B after the rotation");
    d.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_old_user_key_opens_nothing_written_after() {
    old_user_key_opens_nothing_written_after(Deployment::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_old_user_key_opens_nothing_written_after() {
    let Some(d) = Deployment::postgres("attacker user key").await else {
        return;
    };
    old_user_key_opens_nothing_written_after(d).await;
}
