//! The key lifecycle: versioned vault keys, holders' slots, pending grants, rotation
//! serialized with writes, revocation that makes vaults due, grants dying with their holder.
//!
//! Tokens of the fixtures expire at 100: `LIVE` is a time they still work, `ENDED` one
//! after they ended.

use std::future::Future;
use std::sync::Arc;

use keyslot_core::keystore::{Grant, Holder, Rotation};
use keyslot_core::model::TokenVaultSlot;
use keyslot_core::store::{Store, StoreError};
use keyslot_crypto::Id;

use super::fixtures::{Account, account, audit, item, mint_scoped, token_record};
use crate::{Gate, Gated};

const LIVE: i64 = 50;
const ENDED: i64 = 150;

/// A rotation of `a`'s vault from `from`, run by the owner's session (its own member slot
/// re-wrapped), granting the new version to `tokens`.
pub(super) fn rotation(a: &Account, from: u32, tokens: &[Id], now: i64) -> Rotation {
    Rotation {
        vault: a.vault,
        from_version: from,
        chain: format!("vk{from} under vk{}", from + 1).into_bytes(),
        name: format!("name under vk{}", from + 1).into_bytes(),
        own_slot: Some((
            Holder::User(a.user),
            format!("vk{} under uk", from + 1).into_bytes(),
        )),
        grants: tokens
            .iter()
            .map(|t| Grant {
                holder: Holder::Token(*t),
                vault_id: a.vault,
                key_version: from + 1,
                sealed: format!("vk{} sealed to {t}", from + 1).into_bytes(),
            })
            .collect(),
        now,
        audit: audit(Some(&a.user), "vault.rotate"),
    }
}

/// A read-only token of `a` holding a slot for `a`'s vault at `version` (expires at 100).
async fn mint_at(store: &dyn Store, a: &Account, version: u32) -> Id {
    let token = token_record(&a.user, false, None);
    let t = token.id;
    let slot = TokenVaultSlot {
        token_id: t,
        vault_id: a.vault,
        key_version: version,
        wrapped_vault_key: format!("vk{version} under t-wrap").into_bytes(),
    };
    store
        .create_token(
            token,
            vec![slot],
            None,
            None,
            audit(Some(&a.user), "token.mint"),
        )
        .await
        .unwrap();
    t
}

async fn token_slot_version(store: &dyn Store, a: &Account, token: &Id) -> Option<u32> {
    store
        .vault_access(&a.user, &a.vault, Holder::Token(*token))
        .await
        .unwrap()
        .unwrap()
        .slot
        .map(|s| s.key_version)
}

check!(
    a_new_vault_has_its_owner_as_member_at_version_one,
    |store| async move {
        let a = account(store.as_ref(), "kim").await;
        let access = store
            .vault_access(&a.user, &a.vault, Holder::User(a.user))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(access.state.key_version, 1);
        assert_eq!(access.state.owner, a.user);
        assert!(!access.state.rotation_due);
        assert_eq!(access.state.rotate_due_at, None);
        let slot = access.slot.expect("the owner holds a member slot");
        assert_eq!(
            (slot.key_version, slot.wrapped_vault_key.as_slice()),
            (1, &b"wrapped vk"[..])
        );
        let b = account(store.as_ref(), "lea").await;
        assert!(
            store
                .vault_access(&b.user, &a.vault, Holder::User(b.user))
                .await
                .unwrap()
                .is_none(),
            "another user's vault is not found"
        );
        let token = mint_scoped(store.as_ref(), &a).await;
        let state = store
            .vault_access(&a.user, &a.vault, Holder::Token(token))
            .await
            .unwrap()
            .unwrap()
            .state;
        assert_eq!(
            state.rotate_due_at,
            Some(100),
            "due from the token's expiry"
        );
        assert!(state.is_due(100) && !state.is_due(99));
    }
);

check!(
    rotation_moves_the_version_and_grants_the_live_tokens,
    |store| async move {
        let a = account(store.as_ref(), "mia").await;
        let token = mint_scoped(store.as_ref(), &a).await;
        let holders = store.rotation_holders(&a.vault, LIVE).await.unwrap();
        assert_eq!(
            holders.iter().map(|h| h.holder).collect::<Vec<_>>(),
            vec![Holder::User(a.user), Holder::Token(token)]
        );
        store
            .rotate_vault(rotation(&a, 1, &[token], LIVE))
            .await
            .unwrap();
        let access = store
            .vault_access(&a.user, &a.vault, Holder::User(a.user))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(access.state.key_version, 2);
        assert_eq!(access.state.name, b"name under vk2");
        assert_eq!(
            access.slot.unwrap().key_version,
            2,
            "the rotating owner's own slot"
        );
        assert_eq!(access.state.rotate_due_at, Some(100));
        let links = store.chain_links(&a.vault, 2, 1).await.unwrap();
        assert_eq!(links.len(), 1);
        assert_eq!(
            (links[0].key_version, links[0].chain.as_slice()),
            (2, &b"vk1 under vk2"[..])
        );
        // The token still holds version 1 and has version 2 waiting.
        assert_eq!(
            token_slot_version(store.as_ref(), &a, &token).await,
            Some(1)
        );
        let grant = store
            .newest_grant(Holder::Token(token), &a.vault)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(grant.key_version, 2);
        assert!(
            store
                .convert_grant(&grant, b"vk2 under t-wrap".to_vec())
                .await
                .unwrap()
        );
        let slot = store
            .token_vault_slot(&token, &a.vault)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (slot.key_version, slot.wrapped_vault_key.as_slice()),
            (2, &b"vk2 under t-wrap"[..])
        );
        assert!(
            store
                .newest_grant(Holder::Token(token), &a.vault)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            !store
                .convert_grant(&grant, b"again".to_vec())
                .await
                .unwrap(),
            "a grant converts once"
        );
        assert_eq!(
            store
                .token_vault_slot(&token, &a.vault)
                .await
                .unwrap()
                .unwrap()
                .wrapped_vault_key,
            b"vk2 under t-wrap"
        );
    }
);

check!(
    rotation_refuses_a_stale_version_or_holder_set,
    |store| async move {
        let a = account(store.as_ref(), "noa").await;
        let token = mint_scoped(store.as_ref(), &a).await;
        // Sealed for no token: the live token would be left behind.
        assert_eq!(
            store.rotate_vault(rotation(&a, 1, &[], LIVE)).await,
            Err(StoreError::KeyVersionMoved)
        );
        // Sealed for a token that holds nothing here.
        let other = mint_scoped(store.as_ref(), &account(store.as_ref(), "ola").await).await;
        assert_eq!(
            store
                .rotate_vault(rotation(&a, 1, &[token, other], LIVE))
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        // From a version that is not current.
        assert_eq!(
            store.rotate_vault(rotation(&a, 2, &[token], LIVE)).await,
            Err(StoreError::KeyVersionMoved)
        );
        let state = store
            .vault_access(&a.user, &a.vault, Holder::User(a.user))
            .await
            .unwrap()
            .unwrap()
            .state;
        assert_eq!(state.key_version, 1, "nothing changed");
        assert!(
            store
                .newest_grant(Holder::Token(token), &a.vault)
                .await
                .unwrap()
                .is_none()
        );
        store
            .rotate_vault(rotation(&a, 1, &[token], LIVE))
            .await
            .unwrap();
        assert_eq!(
            store.rotate_vault(rotation(&a, 1, &[token], LIVE)).await,
            Err(StoreError::KeyVersionMoved),
            "the same rotation twice: the second finds the version moved"
        );
    }
);

check!(
    an_expired_token_is_no_holder_and_loses_its_slot_at_rotation,
    |store| async move {
        let a = account(store.as_ref(), "pia").await;
        let token = mint_scoped(store.as_ref(), &a).await;
        let holders = store.rotation_holders(&a.vault, ENDED).await.unwrap();
        assert_eq!(
            holders.iter().map(|h| h.holder).collect::<Vec<_>>(),
            vec![Holder::User(a.user)]
        );
        assert_eq!(
            store.rotate_vault(rotation(&a, 1, &[token], ENDED)).await,
            Err(StoreError::KeyVersionMoved),
            "nothing may be sealed to an expired token"
        );
        store
            .rotate_vault(rotation(&a, 1, &[], ENDED))
            .await
            .unwrap();
        assert_eq!(
            token_slot_version(store.as_ref(), &a, &token).await,
            None,
            "its slot is gone"
        );
        let state = store
            .vault_access(&a.user, &a.vault, Holder::User(a.user))
            .await
            .unwrap()
            .unwrap()
            .state;
        assert_eq!(
            state.rotate_due_at, None,
            "no token holds a key of it any more"
        );
    }
);

check!(
    revoking_a_token_makes_its_vaults_due_and_takes_its_keys,
    |store| async move {
        let a = account(store.as_ref(), "quinn").await;
        let token = mint_scoped(store.as_ref(), &a).await;
        let kept = mint_scoped(store.as_ref(), &a).await;
        store
            .rotate_vault(rotation(&a, 1, &[token, kept], LIVE))
            .await
            .unwrap();
        let b = account(store.as_ref(), "rex").await;
        assert_eq!(
            store
                .revoke_token(&b.user, &token, audit(Some(&b.user), "token.revoke"))
                .await,
            Err(StoreError::NotFound),
            "only its user revokes it"
        );
        let revoked = store
            .revoke_token(&a.user, &token, audit(Some(&a.user), "token.revoke"))
            .await
            .unwrap();
        assert_eq!(revoked.vaults, vec![a.vault]);
        let access = store
            .vault_access(&a.user, &a.vault, Holder::Token(token))
            .await
            .unwrap()
            .unwrap();
        assert!(access.state.rotation_due);
        assert!(access.slot.is_none(), "its slot went with it");
        assert!(
            store
                .newest_grant(Holder::Token(token), &a.vault)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .newest_grant(Holder::Token(kept), &a.vault)
                .await
                .unwrap()
                .is_some()
        );
        // The next rotation clears the flag and seals only to the token that is left.
        store
            .rotate_vault(rotation(&a, 2, &[kept], LIVE))
            .await
            .unwrap();
        let state = store
            .vault_access(&a.user, &a.vault, Holder::User(a.user))
            .await
            .unwrap()
            .unwrap()
            .state;
        assert!(!state.rotation_due && state.key_version == 3);
        assert_eq!(
            store
                .newest_grant(Holder::Token(kept), &a.vault)
                .await
                .unwrap()
                .unwrap()
                .key_version,
            3
        );
    }
);

check!(
    a_deleted_token_takes_its_grants_with_it,
    |store| async move {
        let a = account(store.as_ref(), "sam").await;
        let token = mint_scoped(store.as_ref(), &a).await;
        store
            .rotate_vault(rotation(&a, 1, &[token], LIVE))
            .await
            .unwrap();
        store
            .delete_token(&a.user, &token, audit(Some(&a.user), "token.revoke"))
            .await
            .unwrap();
        assert!(
            store
                .newest_grant(Holder::Token(token), &a.vault)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .token_vault_slot(&token, &a.vault)
                .await
                .unwrap()
                .is_none()
        );
        // And the sweeper's deletes cascade the same way.
        let swept = mint_at(store.as_ref(), &a, 2).await;
        store
            .rotate_vault(rotation(&a, 2, &[swept], LIVE))
            .await
            .unwrap();
        store.sweep_expired(ENDED, 0).await.unwrap();
        assert!(
            store
                .newest_grant(Holder::Token(swept), &a.vault)
                .await
                .unwrap()
                .is_none()
        );
    }
);

check!(
    a_write_under_an_old_key_version_is_refused,
    |store| async move {
        let a = account(store.as_ref(), "tara").await;
        store
            .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
            .await
            .unwrap();
        store
            .rotate_vault(rotation(&a, 1, &[], LIVE))
            .await
            .unwrap();
        assert_eq!(
            store
                .update_item(item(&a, 2, b"v2"), audit(Some(&a.user), "item.update"))
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        let mut newer = item(&a, 2, b"v2");
        newer.key_version = 2;
        store
            .update_item(newer, audit(Some(&a.user), "item.update"))
            .await
            .unwrap();
        let mut fresh = item(&a, 1, b"x");
        fresh.id = Id::random().unwrap();
        assert_eq!(
            store
                .create_item(fresh.clone(), audit(Some(&a.user), "item.create"))
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        // A mint that wrapped the old version leaves no token behind.
        let token = token_record(&a.user, false, None);
        let t = token.id;
        let slot = TokenVaultSlot {
            token_id: t,
            vault_id: a.vault,
            key_version: 1,
            wrapped_vault_key: b"stale".to_vec(),
        };
        assert_eq!(
            store
                .create_token(
                    token,
                    vec![slot],
                    None,
                    None,
                    audit(Some(&a.user), "token.mint")
                )
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        assert!(store.token(&t).await.unwrap().is_none());
        let holders = store.rotation_holders(&a.vault, LIVE).await.unwrap();
        assert_eq!(holders.len(), 1);
    }
);

/// Run `a` and `b` at the same instant through a store gated on `gates` (two parties).
pub(super) async fn race2<A, B, FA, FB>(
    store: &Arc<dyn Store>,
    gates: &[Gate],
    a: A,
    b: B,
) -> (FA::Output, FB::Output)
where
    A: FnOnce(Arc<dyn Store>) -> FA,
    B: FnOnce(Arc<dyn Store>) -> FB,
    FA: Future + Send + 'static,
    FB: Future + Send + 'static,
    FA::Output: Send + 'static,
    FB::Output: Send + 'static,
{
    let mut all = vec![Gate::Ping];
    all.extend_from_slice(gates);
    let gated: Arc<dyn Store> = Arc::new(Gated::new(Arc::clone(store), 2, &all));
    // Two connections open first, so the racers meet in the database, not in the pool.
    let (p1, p2) = (Arc::clone(&gated), Arc::clone(&gated));
    let (r1, r2) = tokio::join!(
        tokio::spawn(async move { p1.ping().await }),
        tokio::spawn(async move { p2.ping().await })
    );
    r1.unwrap().unwrap();
    r2.unwrap().unwrap();
    let ta = tokio::spawn(a(Arc::clone(&gated)));
    let tb = tokio::spawn(b(Arc::clone(&gated)));
    (ta.await.unwrap(), tb.await.unwrap())
}

check!(
    two_conversions_of_one_grant_make_one_slot,
    |store| async move {
        for round in 0..4 {
            let a = account(store.as_ref(), &format!("vic{round}")).await;
            let token = mint_scoped(store.as_ref(), &a).await;
            store
                .rotate_vault(rotation(&a, 1, &[token], LIVE))
                .await
                .unwrap();
            let grant = store
                .newest_grant(Holder::Token(token), &a.vault)
                .await
                .unwrap()
                .unwrap();
            let (g1, g2) = (grant.clone(), grant);
            let (r1, r2) = race2(
                &store,
                &[Gate::ConvertGrant],
                move |s| async move { s.convert_grant(&g1, b"first".to_vec()).await },
                move |s| async move { s.convert_grant(&g2, b"second".to_vec()).await },
            )
            .await;
            let (r1, r2) = (r1.unwrap(), r2.unwrap());
            assert!(r1 ^ r2, "exactly one conversion writes the slot: {r1} {r2}");
            let slot = store
                .token_vault_slot(&token, &a.vault)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(slot.key_version, 2);
            assert_eq!(
                slot.wrapped_vault_key,
                if r1 {
                    b"first".to_vec()
                } else {
                    b"second".to_vec()
                }
            );
        }
    }
);

check!(
    a_write_racing_a_rotation_commits_before_it_or_is_told_to_retry,
    |store| async move {
        let mut outcomes = (0, 0);
        for round in 0..6u64 {
            let a = account(store.as_ref(), &format!("wes{round}")).await;
            let item_id = Id::random().unwrap();
            let at = |version, value: &[u8]| {
                let mut it = item(&a, version, value);
                it.id = item_id;
                it
            };
            store
                .create_item(at(1, b"v1"), audit(Some(&a.user), "item.create"))
                .await
                .unwrap();
            let rot = rotation(&a, 1, &[], LIVE);
            let (write, rotated) = race2(
                &store,
                &[Gate::UpdateItem, Gate::RotateVault],
                {
                    let it = at(2, b"v2");
                    let ev = audit(Some(&a.user), "item.update");
                    move |s| async move { s.update_item(it, ev).await }
                },
                move |s| async move { s.rotate_vault(rot).await },
            )
            .await;
            rotated.unwrap();
            let stored = store
                .item(&a.user, &a.vault, &item_id)
                .await
                .unwrap()
                .unwrap();
            match write {
                // It committed first: under version 1, which the chain from version 2 opens.
                Ok(()) => {
                    outcomes.0 += 1;
                    assert_eq!((stored.version, stored.key_version), (2, 1));
                }
                // The rotation committed first: the write under version 1 changed nothing.
                Err(StoreError::KeyVersionMoved) => {
                    outcomes.1 += 1;
                    assert_eq!((stored.version, stored.key_version), (1, 1));
                }
                Err(e) => panic!("a write racing a rotation failed otherwise: {e:?}"),
            }
        }
        assert_eq!(outcomes.0 + outcomes.1, 6, "{outcomes:?}");
    }
);
