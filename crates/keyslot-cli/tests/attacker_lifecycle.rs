//! The attacker's test of the key lifecycle (DESIGN §3.1, issue 15), written as an attacker
//! would: keep an API token's text (scoped, or `"*"`) and a copy of the database; let the token end — revoked
//! (rotating at once, or with `?rotate=false` so the rotation runs before the next write),
//! or past its `expires_at` with the sweeper off (one token, or two ending one after the
//! other); write items by session and by another token, and deposit items by a deposit
//! token, all at once, over two instances on PostgreSQL (concurrent writers to one server
//! on SQLite); take a new copy. With `keyslot-crypto` on the raw rows of every copy and no
//! server, nothing written after the end opens, and the deposit token's own secret reads
//! back nothing. Before the end the same harness does open what the token held, after it
//! a live token opens everything, and a vault whose due mark is cleared by hand shows the
//! leak: so it can fail.
//!
//! And a public key copied into another holder's row: the next rotation must refuse before
//! it seals anything to it (500 and an audit event), so the attacker's secret opens no
//! grant made for that holder.
//!
//! A removed member likewise: they keep their session cookie (their user key, from its
//! row) and a token of theirs scoped to the shared vault; after the owner removes them,
//! nothing written opens with either.
//!
//! Every case runs on SQLite and on PostgreSQL (`KEYSLOT_TEST_DATABASE_URL`; CI sets it).
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

use attacker::attack;
use checks::{after_the_end, assert_opens_exactly, deposit_token, leaked, wait_past};
use deployment::{Deployment, now};
use keyslot_crypto::{Id, TokenCredential, TokenKeyPair};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::As;

// ---------------------------------------------------------------------------------------
// Revoked token.

/// Which token the attacker kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    /// Scoped to the vault; revoked with rotation in the same request.
    Scoped,
    /// Scoped to the vault; revoked with `?rotate=false` (the next write rotates).
    ScopedRotateLater,
    /// A `"*"` token: a slot for the vault, and a pending grant for a vault created after
    /// it was minted; revoked with rotation in the same request.
    Star,
}

async fn revoked_token_opens_nothing_written_after(mut d: Deployment, kept: Kept) {
    let rotate_now = kept != Kept::ScopedRotateLater;
    let (vault, sessions) = d.owner().await;
    let (a_id, a, _) = if kept == Kept::Star {
        d.mint_scope(&sessions[0], json!("*"), false, None).await
    } else {
        d.mint(&sessions[0], &vault, false, None).await
    };
    let (_, b, _) = d.mint(&sessions[0], &vault, true, None).await;
    let (_, e) = deposit_token(&d, &sessions[0], &vault).await;
    let i1 = d
        .write(0, As::Session(&sessions[0]), &vault, "before")
        .await;
    let mut before = BTreeSet::from([i1]);
    let mut later_vault = None;
    if kept == Kept::Star {
        // A vault made after the "*" token: it reaches it through a pending grant.
        let (status, body) = d
            .send(
                0,
                Method::POST,
                "/v1/vaults",
                As::Session(&sessions[0]),
                Some(json!({"name": "later"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let later: Id = body["id"].as_str().unwrap().parse().unwrap();
        before.insert(d.write(0, As::Session(&sessions[0]), &later, "later").await);
        later_vault = Some(later);
    }

    // Before the end: A's secret and this copy open what it held, and only that.
    let old = d.copy().await;
    assert_opens_exactly(&a, &[&old], &before, "A before revocation");
    let version_before = old.key_version(&vault).unwrap();

    let path = if rotate_now {
        format!("/v1/tokens/{a_id}")
    } else {
        format!("/v1/tokens/{a_id}?rotate=false")
    };
    let (status, body) = d
        .send(
            1,
            Method::DELETE,
            &path,
            As::Session(&sessions[1 % sessions.len()]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}\n{}", d.logs());
    if rotate_now {
        // DESIGN §6: "key_version has moved when the 204 arrives" — read from a raw copy,
        // so no request of ours can have run the rotation after the 204.
        let at_204 = d.copy().await;
        assert!(
            at_204.key_version(&vault).unwrap() > version_before,
            "the revocation answered 204 with the vault still at key version {version_before}"
        );
    }

    // After the end: writes by session, by token B and deposits by token E, at once (and
    // by session to the vault the "*" token held through its grant).
    let mut after = after_the_end(&d, &sessions, &b, &e, &vault, rotate_now).await;
    let mut in_later = BTreeSet::new();
    if let Some(later) = &later_vault {
        let written = d
            .write(
                1,
                As::Session(&sessions[1 % sessions.len()]),
                later,
                "after",
            )
            .await;
        in_later.insert(written);
        after.insert(written);
    }
    assert!(
        d.key_version(&sessions[0], &vault).await > u64::from(version_before),
        "the vault key did not move"
    );
    assert_eq!(
        d.send(
            0,
            Method::GET,
            &format!("/v1/vaults/{vault}/items/{i1}"),
            As::Token(&a),
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );

    let new = d.copy().await;
    let opened = attack(&a, &[&old, &new]);
    assert_eq!(
        leaked(&opened, &after),
        Vec::<String>::new(),
        "items written after the revocation opened with the revoked token's secret (keys reached: {:?})",
        opened.vault_keys
    );
    assert!(
        opened.item_ids().is_subset(&before),
        "{:?}",
        opened.item_ids()
    );
    assert_eq!(
        new.grants_for(&a_id),
        0,
        "a grant left for the revoked token"
    );
    assert!(
        new.slots_for(&a_id) == 0,
        "a slot left for the revoked token"
    );

    assert_eq!(
        attack(&e, &[&old, &new]).item_ids(),
        BTreeSet::new(),
        "the deposit token's secret read back what it deposited"
    );

    // And the same harness, with a token that kept access, opens all of it from the new
    // copy alone: the new items are there to be opened, just not by A.
    // (B is scoped to the first vault: what was written to the later one is not its.)
    let mut everything: BTreeSet<Id> = after.difference(&in_later).copied().collect();
    everything.insert(i1);
    assert_opens_exactly(&b, &[&new], &everything, "B after A's revocation");
    d.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_revoked_token_opens_nothing_written_after() {
    revoked_token_opens_nothing_written_after(Deployment::sqlite().await, Kept::Scoped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_revoked_token_opens_nothing_written_after() {
    let Some(d) = Deployment::postgres("attacker revoke").await else {
        return;
    };
    revoked_token_opens_nothing_written_after(d, Kept::Scoped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_token_revoked_without_rotating_opens_nothing_written_after() {
    revoked_token_opens_nothing_written_after(Deployment::sqlite().await, Kept::ScopedRotateLater)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_token_revoked_without_rotating_opens_nothing_written_after() {
    let Some(d) = Deployment::postgres("attacker revoke later").await else {
        return;
    };
    revoked_token_opens_nothing_written_after(d, Kept::ScopedRotateLater).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_revoked_star_token_opens_nothing_written_after() {
    revoked_token_opens_nothing_written_after(Deployment::sqlite().await, Kept::Star).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_revoked_star_token_opens_nothing_written_after() {
    let Some(d) = Deployment::postgres("attacker revoke star").await else {
        return;
    };
    revoked_token_opens_nothing_written_after(d, Kept::Star).await;
}

/// The harness can fail: a server that lost the revocation's "rotation due" mark would
/// write under the revoked token's key, and the same attack then opens every new item.
/// (The mark is cleared here by hand, as such a server would leave it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_harness_sees_a_vault_that_did_not_rotate() {
    let mut d = Deployment::sqlite().await;
    let (vault, sessions) = d.owner().await;
    let (a_id, a, _) = d.mint(&sessions[0], &vault, false, None).await;
    let (_, b, _) = d.mint(&sessions[0], &vault, true, None).await;
    let i1 = d
        .write(0, As::Session(&sessions[0]), &vault, "before")
        .await;
    let old = d.copy().await;
    let (status, _) = d
        .send(
            0,
            Method::DELETE,
            &format!("/v1/tokens/{a_id}?rotate=false"),
            As::Session(&sessions[0]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    d.sqlite_exec("UPDATE vaults SET rotation_due = 0, rotate_due_at = NULL")
        .await;
    let after = d
        .write_concurrently(&sessions, &[&b], &vault, "after", 2)
        .await;
    let new = d.copy().await;
    assert_eq!(new.key_version(&vault), old.key_version(&vault));
    let opened = attack(&a, &[&old, &new]);
    assert_eq!(leaked(&opened, &after).len(), after.len(), "{opened:?}");
    assert!(opened.item_ids().contains(&i1));
    d.finish().await;
}

// ---------------------------------------------------------------------------------------
// Expired token, the sweeper off.

async fn expired_token_opens_nothing_written_after(mut d: Deployment) {
    let (vault, sessions) = d.owner().await;
    let (_, b, _) = d.mint(&sessions[0], &vault, true, None).await;
    let (_, e) = deposit_token(&d, &sessions[0], &vault).await;
    let i1 = d
        .write(0, As::Session(&sessions[0]), &vault, "before")
        .await;
    let (c_id, c, expires_at) = d.mint(&sessions[0], &vault, false, Some(2)).await;

    let old = d.copy().await;
    assert_opens_exactly(&c, &[&old], &BTreeSet::from([i1]), "C before expiry");
    let version_before = old.key_version(&vault).unwrap();

    wait_past(expires_at).await;
    assert_eq!(
        d.send(
            0,
            Method::GET,
            &format!("/v1/vaults/{vault}/items/{i1}"),
            As::Token(&c),
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );

    let after = after_the_end(&d, &sessions, &b, &e, &vault, false).await;
    let new = d.copy().await;
    assert!(
        new.key_version(&vault).unwrap() > version_before,
        "writes after the token's expiry left the vault at key version {version_before}"
    );
    let opened = attack(&c, &[&old, &new]);
    assert_eq!(
        leaked(&opened, &after),
        Vec::<String>::new(),
        "items written after expiry opened with the expired token's secret (keys reached: {:?})",
        opened.vault_keys
    );
    assert!(opened.item_ids().is_subset(&BTreeSet::from([i1])));
    assert_eq!(
        new.grants_for(&c_id),
        0,
        "a grant sealed to the expired token"
    );

    let mut everything = after.clone();
    everything.insert(i1);
    assert_opens_exactly(&b, &[&new], &everything, "B after C's expiry");
    d.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_expired_token_opens_nothing_written_after() {
    expired_token_opens_nothing_written_after(Deployment::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_expired_token_opens_nothing_written_after() {
    let Some(d) = Deployment::postgres("attacker expiry").await else {
        return;
    };
    expired_token_opens_nothing_written_after(d).await;
}

/// Two tokens of one vault end one after the other. The rotation at the first expiry
/// gives the second a grant to the new key (it is still live), and must leave the vault due
/// again at the second's `expires_at`: what is written after that opens with neither.
async fn each_expiry_ends_its_token(mut d: Deployment) {
    let (vault, sessions) = d.owner().await;
    let (_, b, _) = d.mint(&sessions[0], &vault, true, None).await;
    let i1 = d
        .write(0, As::Session(&sessions[0]), &vault, "before")
        .await;
    let (_, first, first_ends) = d.mint(&sessions[0], &vault, false, Some(2)).await;
    let (second_id, second, second_ends) = d.mint(&sessions[0], &vault, false, Some(20)).await;
    let start = d.copy().await;

    wait_past(first_ends).await;
    assert!(
        now() < second_ends,
        "the second token ended before the first rotation: the test ran too slowly to mean anything"
    );
    let between = d
        .write_concurrently(&sessions, &[&b], &vault, "between", 2)
        .await;
    let middle = d.copy().await;
    assert!(
        now() < second_ends,
        "the second token ended during the writes between: the test ran too slowly to mean anything"
    );
    assert!(
        middle.key_version(&vault) > start.key_version(&vault),
        "no rotation after the first expiry"
    );
    assert_eq!(
        middle.grants_for(&second_id),
        1,
        "the live second token got no grant to the rotated key"
    );
    let mut until_second = between.clone();
    until_second.insert(i1);
    assert_opens_exactly(
        &second,
        &[&start, &middle],
        &until_second,
        "the second token while live",
    );

    wait_past(second_ends).await;
    let after = d
        .write_concurrently(&sessions, &[&b], &vault, "after", 2)
        .await;
    let end = d.copy().await;
    assert!(
        end.key_version(&vault) > middle.key_version(&vault),
        "no rotation after the second expiry (rotate_due_at not brought to it)"
    );
    let copies = [&start, &middle, &end];
    let by_second = attack(&second, &copies);
    assert_eq!(
        leaked(&by_second, &after),
        Vec::<String>::new(),
        "written after the second token's expiry, opened with its secret"
    );
    let by_first = attack(&first, &copies);
    let mut after_first = between.clone();
    after_first.extend(after.iter().copied());
    assert_eq!(
        leaked(&by_first, &after_first),
        Vec::<String>::new(),
        "written after the first token's expiry, opened with its secret"
    );
    d.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_each_expiry_ends_its_token() {
    each_expiry_ends_its_token(Deployment::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_each_expiry_ends_its_token() {
    let Some(d) = Deployment::postgres("attacker two expiries").await else {
        return;
    };
    each_expiry_ends_its_token(d).await;
}

// ---------------------------------------------------------------------------------------
// Removed member.

/// A member keeps their session cookie (which opens their user key) and a token of theirs
/// scoped to the shared vault, and copies of the database; the owner removes them; items
/// and deposits written after the removal open with neither.
async fn removed_member_opens_nothing_written_after(mut d: Deployment) {
    let (vault, sessions) = d.owner().await;
    let (_, b, _) = d.mint(&sessions[0], &vault, true, None).await;
    let (_, e) = deposit_token(&d, &sessions[0], &vault).await;
    let (member, member_session) = d.user("mallory").await;
    let (status, body) = d
        .send(
            0,
            Method::POST,
            &format!("/v1/vaults/{vault}/members"),
            As::Session(&sessions[0]),
            Some(json!({"username": "mallory", "role": "write"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}\n{}", d.logs());
    let i1 = d
        .write(0, As::Session(&sessions[0]), &vault, "before")
        .await;
    // The member's first use turns the grant into their own slot; they mint a token too.
    let (status, body) = d
        .send(
            1,
            Method::GET,
            &format!("/v1/vaults/{vault}/items/{i1}"),
            As::Session(&member_session),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, member_token, _) = d.mint(&member_session, &vault, false, None).await;

    let old = d.copy().await;
    let before = BTreeSet::from([i1]);
    let by_session = attacker::attack_with_session(&member_session.cookie, &[&old]);
    assert_eq!(
        by_session.item_ids(),
        before,
        "the member before removal: {by_session:?}"
    );
    assert_opens_exactly(
        &member_token,
        &[&old],
        &before,
        "the member's token before removal",
    );
    let version_before = old.key_version(&vault).unwrap();

    let (status, body) = d
        .send(
            1,
            Method::DELETE,
            &format!("/v1/vaults/{vault}/members/{member}"),
            As::Session(&sessions[1 % sessions.len()]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}\n{}", d.logs());
    let at_204 = d.copy().await;
    assert!(
        at_204.key_version(&vault).unwrap() > version_before,
        "the removal answered 204 with the vault still at key version {version_before}"
    );

    let after = after_the_end(&d, &sessions, &b, &e, &vault, true).await;
    let new = d.copy().await;
    let copies = [&old, &at_204, &new];
    let by_session = attacker::attack_with_session(&member_session.cookie, &copies);
    assert_eq!(
        leaked(&by_session, &after),
        Vec::<String>::new(),
        "written after the removal, opened with the removed member's user key"
    );
    assert!(by_session.item_ids().is_subset(&before));
    let by_token = attack(&member_token, &copies);
    assert_eq!(
        leaked(&by_token, &after),
        Vec::<String>::new(),
        "written after the removal, opened with the removed member's token"
    );
    let mut everything = after.clone();
    everything.insert(i1);
    assert_opens_exactly(&b, &[&new], &everything, "B after the removal");
    d.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_removed_member_opens_nothing_written_after() {
    removed_member_opens_nothing_written_after(Deployment::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_removed_member_opens_nothing_written_after() {
    let Some(d) = Deployment::postgres("attacker member").await else {
        return;
    };
    removed_member_opens_nothing_written_after(d).await;
}

// ---------------------------------------------------------------------------------------
// A public key copied into another holder's row.

/// What the attacker leaves as the MAC of token B's row after writing D's public key in.
#[derive(Debug, Clone, Copy)]
enum MacOfB {
    /// D's public key, B's MAC left as it was.
    Kept,
    /// D's public key with D's own (valid, for D) MAC.
    CopiedFromD,
    /// D's public key and no MAC at all, as rows from before public-key MACs had.
    Cleared,
}

async fn copied_public_key_is_refused(mut d: Deployment, mac_of_b: MacOfB) {
    let (vault, sessions) = d.owner().await;
    let (b_id, b, _) = d.mint(&sessions[0], &vault, false, None).await;
    let (status, other) = d
        .send(
            0,
            Method::POST,
            "/v1/vaults",
            As::Session(&sessions[0]),
            Some(json!({"name": "the attacker's"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let other: Id = other["id"].as_str().unwrap().parse().unwrap();
    let (d_id, attacker_token, _) = d.mint(&sessions[0], &other, false, None).await;
    let i1 = d
        .write(0, As::Session(&sessions[0]), &vault, "victim")
        .await;
    let w1 = d.write(0, As::Session(&sessions[0]), &other, "own").await;

    // The owner rotates: B gets a pending grant, which the harness opens with B's secret
    // (the X25519 path works), and D's secret opens D's own vault and nothing of V.
    let (status, rotated) = d
        .send(
            0,
            Method::POST,
            &format!("/v1/vaults/{vault}/rotate"),
            As::Session(&sessions[0]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}\n{}", d.logs());
    let rotated_to = rotated["key_version"].as_u64().unwrap();
    let first = d.copy().await;
    let by_b = attack(&b, &[&first]);
    assert!(
        by_b.through_grants
            .contains(&(vault, u32::try_from(rotated_to).unwrap())),
        "the owner's rotation left no grant for B that B's secret opens: {by_b:?}"
    );
    assert_eq!(by_b.item_ids(), BTreeSet::from([i1]));
    assert_opens_exactly(
        &attacker_token,
        &[&first],
        &BTreeSet::from([w1]),
        "D before",
    );

    // The attacker writes D's public key into B's row.
    let d_public = TokenKeyPair::derive(&TokenCredential::parse(&attacker_token).unwrap())
        .public_key()
        .to_bytes();
    let row = |id: &Id| first.tokens.iter().find(|t| t.id == *id).unwrap().clone();
    let mac = match mac_of_b {
        MacOfB::Kept => row(&b_id).public_key_mac,
        MacOfB::CopiedFromD => row(&d_id).public_key_mac,
        MacOfB::Cleared => None,
    };
    assert!(
        row(&b_id).public_key_mac.is_some() && row(&d_id).public_key_mac.is_some(),
        "a token minted without its public key's MAC"
    );
    assert_eq!(
        row(&d_id).x25519_public,
        d_public.to_vec(),
        "D's stored key"
    );
    d.set_token_public_key(&b_id, &d_public, mac.as_deref())
        .await;

    // The next rotation must refuse before sealing: 500, an audit event, no new version.
    let (status, body) = d
        .send(
            0,
            Method::POST,
            &format!("/v1/vaults/{vault}/rotate"),
            As::Session(&sessions[0]),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "a rotation sealed to a public key copied into another token's row ({mac_of_b:?}): {body}"
    );
    let (status, events) = d
        .send(
            0,
            Method::GET,
            "/v1/audit?action=key.public_key_mac",
            As::Session(&sessions[0]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "key.public_key_mac"),
        "no audit event for the refused seal: {events}"
    );
    assert_eq!(d.key_version(&sessions[0], &vault).await, rotated_to);

    // Nothing sealed to D: its secret, with every copy, reaches no key of V.
    let i2 = d.write(0, As::Session(&sessions[0]), &vault, "later").await;
    let second = d.copy().await;
    let opened = attack(&attacker_token, &[&first, &second]);
    assert!(
        !opened.reached_vault(&vault),
        "the attacker's token reached a key of the victim's vault: {opened:?}"
    );
    assert_eq!(opened.item_ids(), BTreeSet::from([w1]), "{i1} {i2}");
    d.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_public_key_copied_into_another_token_is_refused() {
    copied_public_key_is_refused(Deployment::sqlite().await, MacOfB::Kept).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_public_key_copied_with_its_mac_is_refused() {
    copied_public_key_is_refused(Deployment::sqlite().await, MacOfB::CopiedFromD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_public_key_copied_into_another_token_is_refused() {
    let Some(d) = Deployment::postgres("attacker public key").await else {
        return;
    };
    copied_public_key_is_refused(d, MacOfB::Kept).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_public_key_copied_with_its_mac_is_refused() {
    let Some(d) = Deployment::postgres("attacker public key mac").await else {
        return;
    };
    copied_public_key_is_refused(d, MacOfB::CopiedFromD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_public_key_copied_without_a_mac_is_refused() {
    copied_public_key_is_refused(Deployment::sqlite().await, MacOfB::Cleared).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_public_key_copied_without_a_mac_is_refused() {
    let Some(d) = Deployment::postgres("attacker public key no mac").await else {
        return;
    };
    copied_public_key_is_refused(d, MacOfB::Cleared).await;
}
