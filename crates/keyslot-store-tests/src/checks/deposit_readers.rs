//! Deposits sealed to their readers (made while the vault's rotation is due): stored only
//! with exactly the vault's holders under its lock, each with the public key stored for
//! it; listed to a reader only with that reader's own copy, in bounded batches; each copy
//! gone with its reader's access; all of them gone when the deposit is claimed.

use keyslot_core::deposit_store::{DepositRecord, ReaderCopy};
use keyslot_core::keystore::Grant;
use keyslot_core::keystore::Holder;
use keyslot_core::memberstore::{NewMember, Role};
use keyslot_core::store::StoreError;
use keyslot_crypto::Id;

use super::fixtures::{Account, account, audit, item, mint_scoped, token_record};

const NOW: i64 = 50;

/// A deposit token of `a` scoped to `a`'s vault, live until 1000 (the readers' tokens of
/// the fixtures end at 100).
async fn deposit_token(store: &dyn keyslot_core::Store, a: &Account) -> Id {
    let mut t = token_record(&a.user, false, None);
    t.deposit = true;
    t.expires_at = 1000;
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

fn reader_deposit(a: &Account, token: &Id, created_at: i64) -> DepositRecord {
    DepositRecord {
        id: Id::random().unwrap(),
        vault_id: a.vault,
        user_id: a.user,
        key_version: 1,
        to_readers: true,
        sealed_item_key: Vec::new(),
        name: b"name".to_vec(),
        value: b"value".to_vec(),
        token_id: *token,
        created_at,
    }
}

/// A copy for `reader` with the public key the fixtures store for it (users `[1; 32]`,
/// tokens `[5; 32]`).
fn copy(reader: Holder) -> ReaderCopy {
    let (public_key, name) = match reader {
        Holder::User(id) => (vec![1; 32], format!("ik sealed to user {id}")),
        Holder::Token(id) => (vec![5; 32], format!("ik sealed to token {id}")),
    };
    ReaderCopy {
        reader,
        public_key,
        sealed_item_key: name.into_bytes(),
    }
}

fn copies(readers: &[Holder]) -> Vec<ReaderCopy> {
    readers.iter().copied().map(copy).collect()
}

check!(
    a_deposit_to_readers_commits_only_with_exactly_the_live_holders,
    |store| async move {
        let a = account(store.as_ref(), "ines").await;
        let t = deposit_token(store.as_ref(), &a).await;
        let reader = mint_scoped(store.as_ref(), &a).await;
        let revoked = mint_scoped(store.as_ref(), &a).await;
        store
            .revoke_token(&a.user, &revoked, audit(Some(&a.user), "token.revoke"))
            .await
            .unwrap();
        let owner = Holder::User(a.user);
        let live = [owner, Holder::Token(reader)];
        let add = |readers: &[Holder]| {
            let d = reader_deposit(&a, &t, NOW);
            (d, copies(readers))
        };
        // The revoked token among the readers, one reader missing, a key not the one
        // stored: nothing stored, the caller reads the holders again.
        for readers in [
            vec![owner, Holder::Token(reader), Holder::Token(revoked)],
            vec![owner],
        ] {
            let (d, c) = add(&readers);
            assert_eq!(
                store
                    .create_deposit_for_readers(d, c, NOW, audit(Some(&a.user), "item.deposit"))
                    .await,
                Err(StoreError::KeyVersionMoved)
            );
        }
        let (d, mut c) = add(&live);
        c[1].public_key = vec![7; 32];
        assert_eq!(
            store
                .create_deposit_for_readers(d, c, NOW, audit(Some(&a.user), "item.deposit"))
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        // A token at its expiry (100) is no holder any more: sealed to it, refused.
        let (d, c) = add(&live);
        assert_eq!(
            store
                .create_deposit_for_readers(d, c, 100, audit(Some(&a.user), "item.deposit"))
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        // A version that moved: nothing stored.
        let (mut d, c) = add(&live);
        d.key_version = 2;
        assert_eq!(
            store
                .create_deposit_for_readers(d, c, NOW, audit(Some(&a.user), "item.deposit"))
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        assert!(
            store
                .pending_deposits(&a.vault, owner, None, 100)
                .await
                .unwrap()
                .is_empty()
        );
        // Exactly the live holders, while the vault is due: stored.
        let (d, c) = add(&live);
        store
            .create_deposit_for_readers(d.clone(), c, NOW, audit(Some(&a.user), "item.deposit"))
            .await
            .unwrap();
        // Each reader sees it with its own copy; the revoked token and the depositor none.
        for reader in live {
            let pending = store
                .pending_deposits(&a.vault, reader, None, 100)
                .await
                .unwrap();
            assert_eq!(pending.len(), 1);
            assert!(pending[0].to_readers);
            assert_eq!(pending[0].sealed_item_key, copy(reader).sealed_item_key);
            assert_eq!(
                store
                    .pending_deposits(&a.vault, reader, Some(&d.id), 1)
                    .await
                    .unwrap(),
                pending
            );
        }
        for outsider in [Holder::Token(revoked), Holder::Token(t)] {
            assert!(
                store
                    .pending_deposits(&a.vault, outsider, None, 100)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        // Claimed once, by the first reader; every copy goes with it.
        let mut moved = item(&a, 1, b"value");
        moved.id = d.id;
        assert!(store.claim_deposit(&d.id, moved.clone(), &t).await.unwrap());
        assert!(!store.claim_deposit(&d.id, moved, &t).await.unwrap());
        for reader in live {
            assert!(
                store
                    .pending_deposits(&a.vault, reader, None, 100)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        assert_eq!(store.depositors(&a.vault).await.unwrap(), vec![(d.id, t)]);
    }
);

check!(a_readers_copy_goes_with_its_access, |store| async move {
    let a = account(store.as_ref(), "jorn").await;
    let b = account(store.as_ref(), "kira").await;
    let t = deposit_token(store.as_ref(), &a).await;
    let reader = mint_scoped(store.as_ref(), &a).await;
    store
        .add_member(NewMember {
            vault: a.vault,
            user: b.user,
            role: Role::Read,
            grant: Grant {
                holder: Holder::User(b.user),
                vault_id: a.vault,
                key_version: 1,
                sealed: b"vk sealed to the member".to_vec(),
            },
            audit: audit(Some(&a.user), "vault.member.add"),
        })
        .await
        .unwrap();
    let readers = [
        Holder::User(a.user),
        Holder::User(b.user),
        Holder::Token(reader),
    ];
    let d = reader_deposit(&a, &t, NOW);
    store
        .create_deposit_for_readers(
            d.clone(),
            copies(&readers),
            NOW,
            audit(Some(&a.user), "item.deposit"),
        )
        .await
        .unwrap();
    let sees = |holder: Holder| {
        let store = store.clone();
        let vault = a.vault;
        async move {
            store
                .pending_deposits(&vault, holder, None, 100)
                .await
                .unwrap()
                .len()
        }
    };
    for holder in readers {
        assert_eq!(sees(holder).await, 1);
    }
    // Revoking the token deletes its copy; removing the member deletes theirs.
    store
        .revoke_token(&a.user, &reader, audit(Some(&a.user), "token.revoke"))
        .await
        .unwrap();
    assert_eq!(sees(Holder::Token(reader)).await, 0);
    store
        .remove_member(
            &a.vault,
            &b.user,
            1,
            audit(Some(&a.user), "vault.member.remove"),
        )
        .await
        .unwrap();
    assert_eq!(sees(Holder::User(b.user)).await, 0);
    // The owner's copy stays, and with it the deposit.
    assert_eq!(sees(Holder::User(a.user)).await, 1);
});

check!(
    pending_deposits_come_in_batches_oldest_first,
    |store| async move {
        let a = account(store.as_ref(), "lotte").await;
        let t = deposit_token(store.as_ref(), &a).await;
        let owner = Holder::User(a.user);
        let mut made = Vec::new();
        for at in 0..5 {
            let d = reader_deposit(&a, &t, NOW + at);
            made.push(d.id);
            store
                .create_deposit_for_readers(
                    d,
                    copies(&[owner]),
                    NOW + at,
                    audit(Some(&a.user), "item.deposit"),
                )
                .await
                .unwrap();
        }
        let first: Vec<Id> = store
            .pending_deposits(&a.vault, owner, None, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(first, made[..2].to_vec());
        let all = store
            .pending_deposits(&a.vault, owner, None, 100)
            .await
            .unwrap();
        assert_eq!(all.len(), 5);
    }
);
