//! Deposit tokens and deposits: a scope and no key; a deposit commits only under the
//! vault's current version, with its public key published, while no rotation is due, and
//! while the token is live and in scope; a deposit is moved into items exactly once.

use keyslot_core::deposit_store::DepositRecord;
use keyslot_core::keystore::Holder;
use keyslot_core::store::StoreError;
use keyslot_crypto::Id;

use super::fixtures::{Account, account, audit, item, mint_scoped, token_record};
use super::keys::rotation;

const NOW: i64 = 50;

/// A deposit token of `a` (expires at 100) scoped to `a`'s vault.
async fn deposit_token(store: &dyn keyslot_core::Store, a: &Account) -> Id {
    let mut t = token_record(&a.user, false, None);
    t.deposit = true;
    let id = t.id;
    store
        .create_deposit_token(
            t,
            &[a.vault],
            None,
            None,
            audit(Some(&a.user), "token.mint"),
        )
        .await
        .unwrap();
    id
}

fn deposit(a: &Account, token: &Id, key_version: u32) -> DepositRecord {
    DepositRecord {
        id: Id::random().unwrap(),
        vault_id: a.vault,
        user_id: a.user,
        key_version,
        to_readers: false,
        sealed_item_key: format!("ik sealed to vault pair {key_version}").into_bytes(),
        name: b"name".to_vec(),
        value: b"value".to_vec(),
        token_id: *token,
        created_at: NOW,
    }
}

check!(
    a_deposit_token_holds_a_scope_and_no_key,
    |store| async move {
        let a = account(store.as_ref(), "dana").await;
        let b = account(store.as_ref(), "dirk").await;
        let t = deposit_token(store.as_ref(), &a).await;
        let row = store.token(&t).await.unwrap().unwrap();
        assert!(row.deposit && !row.can_write && row.wrapped_user_key.is_none());
        assert!(store.token_vault_slots(&t).await.unwrap().is_empty());
        assert_eq!(store.deposit_scope(&t).await.unwrap(), vec![a.vault]);
        assert!(
            store.deposit_target(&t, &b.vault).await.unwrap().is_none(),
            "another user's vault is not in scope"
        );
        // Someone else's vault in the scope: nothing written at all.
        let mut other = token_record(&a.user, false, None);
        other.deposit = true;
        let other_id = other.id;
        assert_eq!(
            store
                .create_deposit_token(
                    other,
                    &[a.vault, b.vault],
                    None,
                    None,
                    audit(Some(&a.user), "token.mint")
                )
                .await,
            Err(StoreError::NotFound)
        );
        assert!(store.token(&other_id).await.unwrap().is_none());
        // An ordinary token row reads as not a deposit token.
        let scoped = mint_scoped(store.as_ref(), &a).await;
        assert!(!store.token(&scoped).await.unwrap().unwrap().deposit);
    }
);

check!(
    a_deposit_commits_only_under_the_current_published_version_when_not_due,
    |store| async move {
        let a = account(store.as_ref(), "elke").await;
        let t = deposit_token(store.as_ref(), &a).await;
        let reader = mint_scoped(store.as_ref(), &a).await;
        // No public key yet: refused.
        assert_eq!(
            store
                .create_deposit(
                    deposit(&a, &t, 1),
                    NOW,
                    audit(Some(&a.user), "item.deposit")
                )
                .await,
            Err(StoreError::Conflict)
        );
        store
            .set_vault_public_key(&a.vault, 1, &[1; 32], b"mac1")
            .await
            .unwrap();
        // Written once: a second write does not replace it.
        store
            .set_vault_public_key(&a.vault, 1, &[9; 32], b"mac9")
            .await
            .unwrap();
        let target = store.deposit_target(&t, &a.vault).await.unwrap().unwrap();
        assert!(!target.is_due(NOW));
        assert_eq!(
            (
                target.owner,
                target.key_version,
                target.public_key,
                target.public_key_mac
            ),
            (a.user, 1, Some(vec![1; 32]), Some(b"mac1".to_vec()))
        );
        store
            .create_deposit(
                deposit(&a, &t, 1),
                NOW,
                audit(Some(&a.user), "item.deposit"),
            )
            .await
            .unwrap();
        // Past the token's end, nothing is stored.
        assert_eq!(
            store
                .create_deposit(
                    deposit(&a, &t, 1),
                    100,
                    audit(Some(&a.user), "item.deposit")
                )
                .await,
            Err(StoreError::NotFound)
        );
        // Rotated: version 1 is refused; version 2 waits for its public key.
        store
            .rotate_vault(rotation(&a, 1, &[reader], NOW))
            .await
            .unwrap();
        assert_eq!(
            store
                .create_deposit(
                    deposit(&a, &t, 1),
                    NOW,
                    audit(Some(&a.user), "item.deposit")
                )
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        assert_eq!(
            store
                .create_deposit(
                    deposit(&a, &t, 2),
                    NOW,
                    audit(Some(&a.user), "item.deposit")
                )
                .await,
            Err(StoreError::Conflict)
        );
        store
            .set_vault_public_key(&a.vault, 2, &[2; 32], b"mac2")
            .await
            .unwrap();
        store
            .create_deposit(
                deposit(&a, &t, 2),
                NOW,
                audit(Some(&a.user), "item.deposit"),
            )
            .await
            .unwrap();
        // A holder revoked: due, and nothing may be sealed to version 2 any more.
        store
            .revoke_token(&a.user, &reader, audit(Some(&a.user), "token.revoke"))
            .await
            .unwrap();
        assert!(
            store
                .deposit_target(&t, &a.vault)
                .await
                .unwrap()
                .unwrap()
                .is_due(NOW)
        );
        assert_eq!(
            store
                .create_deposit(
                    deposit(&a, &t, 2),
                    NOW,
                    audit(Some(&a.user), "item.deposit")
                )
                .await,
            Err(StoreError::Conflict)
        );
        // Both deposits were made in the same second: their order is by random id.
        let pending = store
            .pending_deposits(&a.vault, Holder::User(a.user), None, 100)
            .await
            .unwrap();
        let mut versions = pending.iter().map(|d| d.key_version).collect::<Vec<_>>();
        versions.sort_unstable();
        assert_eq!(versions, vec![1, 2]);
    }
);

check!(
    a_deposit_moves_into_items_exactly_once,
    |store| async move {
        let a = account(store.as_ref(), "fenna").await;
        let t = deposit_token(store.as_ref(), &a).await;
        store
            .set_vault_public_key(&a.vault, 1, &[1; 32], b"mac1")
            .await
            .unwrap();
        let d = deposit(&a, &t, 1);
        store
            .create_deposit(d.clone(), NOW, audit(Some(&a.user), "item.deposit"))
            .await
            .unwrap();
        assert_eq!(
            store
                .pending_deposits(&a.vault, Holder::User(a.user), Some(&d.id), 1)
                .await
                .unwrap(),
            vec![d.clone()]
        );
        let mut moved = item(&a, 1, b"value");
        moved.id = d.id;
        // Under a version that is not current: refused, the deposit stays.
        let mut stale = moved.clone();
        stale.key_version = 2;
        assert_eq!(
            store.claim_deposit(&d.id, stale, &t).await,
            Err(StoreError::KeyVersionMoved)
        );
        assert!(store.claim_deposit(&d.id, moved.clone(), &t).await.unwrap());
        assert!(
            !store.claim_deposit(&d.id, moved.clone(), &t).await.unwrap(),
            "the second reader finds it moved"
        );
        assert!(
            store
                .pending_deposits(&a.vault, Holder::User(a.user), None, 100)
                .await
                .unwrap()
                .is_empty()
        );
        let stored = store.item(&a.user, &a.vault, &d.id).await.unwrap().unwrap();
        assert_eq!(stored.value, b"value");
        assert_eq!(store.depositors(&a.vault).await.unwrap(), vec![(d.id, t)]);
        // The mark outlives the token; it goes with the item.
        store
            .revoke_token(&a.user, &t, audit(Some(&a.user), "token.revoke"))
            .await
            .unwrap();
        assert_eq!(store.depositors(&a.vault).await.unwrap(), vec![(d.id, t)]);
        assert!(
            !store
                .vault_access(&a.user, &a.vault, Holder::User(a.user))
                .await
                .unwrap()
                .unwrap()
                .state
                .rotation_due,
            "revoking a deposit token makes nothing due"
        );
        store
            .delete_item(
                &a.user,
                &a.vault,
                &d.id,
                audit(Some(&a.user), "item.delete"),
            )
            .await
            .unwrap();
        assert!(store.depositors(&a.vault).await.unwrap().is_empty());
    }
);
