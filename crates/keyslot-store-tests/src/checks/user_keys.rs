//! User-key rotation's swap (`UserKeyStore`): everything under the user key replaced in
//! one transaction, and nothing at all when the user moved since the read.

use keyslot_core::keystore::{Grant, Holder};
use keyslot_core::memberstore::{NewMember, Role};
use keyslot_core::store::{Store, StoreError};
use keyslot_core::user_key_store::{RecoveryRekey, UserKeySwap};
use keyslot_crypto::Id;

use super::fixtures::{Account, account, audit, mint_scoped, record_login, session};

/// `owner` shares their vault with `who` (an empty slot at version 0 and a pending grant).
async fn share(store: &dyn Store, owner: &Account, who: &Account) {
    store
        .add_member(NewMember {
            vault: owner.vault,
            user: who.user,
            role: Role::Read,
            grant: Grant {
                holder: Holder::User(who.user),
                vault_id: owner.vault,
                key_version: 1,
                sealed: b"vk1 sealed to the old pair".to_vec(),
            },
            audit: audit(Some(&owner.user), "vault.member.add"),
        })
        .await
        .unwrap();
}

/// A login's session for `a`; its id.
async fn login(store: &dyn Store, a: &Account) -> Id {
    let s = session(&a.user, 5_000);
    let id = s.id;
    record_login(store, s, None, audit(Some(&a.user), "login"))
        .await
        .unwrap();
    id
}

/// The swap a rotation of `a` would write after reading: its own vault and `shared` (whose
/// grant it converts), its token `token`, its recovery code sealed, session `keep` kept.
fn swap(a: &Account, shared: &Id, token: &Id, keep: &Id) -> UserKeySwap {
    UserKeySwap {
        user: a.user,
        old_password_slot: b"sealed password slot".to_vec(),
        password_slot: b"new password slot".to_vec(),
        old_public_key: vec![1; 32],
        public_key: vec![7; 32],
        public_key_mac: vec![8; 32],
        wrapped_private_key: b"new pair under the new uk".to_vec(),
        members: vec![
            (a.vault, 1, 1, b"vk1 under the new uk".to_vec()),
            (*shared, 0, 1, b"shared vk1 under the new uk".to_vec()),
        ],
        grants: vec![(*shared, 1)],
        token_name_keys: vec![(*token, b"name key under the new uk".to_vec())],
        deposit_copies: vec![],
        recovery: RecoveryRekey::Sealed {
            credential_id: a.recovery,
            sealed_user_key: b"new uk sealed to the code".to_vec(),
        },
        keep_session: Some((*keep, b"session slot of the new uk".to_vec())),
        revoke_tokens: false,
        audit: audit(Some(&a.user), "user.keys.rotate"),
    }
}

async fn member_slot(store: &dyn Store, a: &Account, vault: &Id) -> (u32, Vec<u8>) {
    let slot = store
        .vault_access(&a.user, vault, Holder::User(a.user))
        .await
        .unwrap()
        .unwrap()
        .slot
        .unwrap();
    (slot.key_version, slot.wrapped_vault_key)
}

check!(
    a_user_key_swap_replaces_every_key_of_the_user_at_once,
    |store| async move {
        let (a, b) = (
            account(store.as_ref(), "uma").await,
            account(store.as_ref(), "vic").await,
        );
        share(store.as_ref(), &b, &a).await;
        let token = mint_scoped(store.as_ref(), &a).await;
        let (keep, other) = (
            login(store.as_ref(), &a).await,
            login(store.as_ref(), &a).await,
        );
        let held = store.user_key_holdings(&a.user).await.unwrap().unwrap();
        let mut vaults: Vec<(Id, u32)> = held
            .members
            .iter()
            .map(|m| (m.vault_id, m.key_version))
            .collect();
        vaults.sort();
        let mut expected = vec![(a.vault, 1), (b.vault, 0)];
        expected.sort();
        assert_eq!(vaults, expected);
        assert_eq!(held.grants.len(), 1);
        assert_eq!(held.token_name_keys, vec![(token, vec![1])]);
        let (slot, keys) = held.recovery.unwrap();
        assert_eq!(slot.credential_id, a.recovery);
        assert_eq!(keys.public_key, None);

        let done = store
            .swap_user_key(swap(&a, &b.vault, &token, &keep))
            .await
            .unwrap();
        let mut due = done.vaults.clone();
        due.sort();
        let mut both = vec![a.vault, b.vault];
        both.sort();
        assert_eq!(due, both);
        assert_eq!((done.sessions_ended, done.tokens_revoked), (1, 0));

        let user = store.user(&a.user).await.unwrap().unwrap();
        assert_eq!(user.password_slot, b"new password slot");
        assert_eq!(user.x25519_public, vec![7; 32]);
        assert_eq!(user.x25519_wrapped, b"new pair under the new uk");
        assert_eq!(
            store
                .session(&keep)
                .await
                .unwrap()
                .unwrap()
                .wrapped_user_key,
            b"session slot of the new uk"
        );
        assert!(store.session(&other).await.unwrap().is_none());
        assert_eq!(
            member_slot(store.as_ref(), &a, &b.vault).await,
            (1, b"shared vk1 under the new uk".to_vec())
        );
        assert!(
            store
                .newest_grant(Holder::User(a.user), &b.vault)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store.token(&token).await.unwrap().unwrap().name_key,
            b"name key under the new uk"
        );
        assert!(
            store
                .recovery(&a.user)
                .await
                .unwrap()
                .unwrap()
                .wrapped_user_key
                .is_empty(),
            "the old user key does not stay beside the grant"
        );
        assert_eq!(
            store
                .recovery_keys(&a.user)
                .await
                .unwrap()
                .unwrap()
                .sealed_user_key,
            Some(b"new uk sealed to the code".to_vec())
        );
        for vault in [a.vault, b.vault] {
            let access = store
                .vault_access(&a.user, &vault, Holder::User(a.user))
                .await
                .unwrap()
                .unwrap();
            assert!(access.state.rotation_due, "every vault of the user is due");
        }
        let events = store.audit_events(&a.user, 10).await.unwrap();
        assert!(events.iter().any(|e| e.action == "user.keys.rotate"));
    }
);

check!(
    a_user_key_swap_writes_nothing_when_the_user_moved_since_the_read,
    |store| async move {
        let (a, b, c) = (
            account(store.as_ref(), "wes").await,
            account(store.as_ref(), "xia").await,
            account(store.as_ref(), "yan").await,
        );
        share(store.as_ref(), &b, &a).await;
        let token = mint_scoped(store.as_ref(), &a).await;
        let keep = login(store.as_ref(), &a).await;
        let unchanged = |store: std::sync::Arc<dyn Store>| {
            let a_user = a.user;
            async move {
                let user = store.user(&a_user).await.unwrap().unwrap();
                assert_eq!(user.password_slot, b"sealed password slot");
                assert_eq!(user.x25519_public, vec![1; 32]);
                assert_eq!(
                    store
                        .session(&keep)
                        .await
                        .unwrap()
                        .unwrap()
                        .wrapped_user_key,
                    b"s slot"
                );
            }
        };

        // A grant sealed to the old public key after the read would die with the pair.
        share(store.as_ref(), &c, &a).await;
        assert!(matches!(
            store.swap_user_key(swap(&a, &b.vault, &token, &keep)).await,
            Err(StoreError::KeyVersionMoved)
        ));
        unchanged(store.clone()).await;
        assert_eq!(
            member_slot(store.as_ref(), &a, &b.vault).await.0,
            0,
            "the refused swap converted nothing"
        );
        // With c's vault read too, but a token minted since the read: refused.
        let mut read_all = swap(&a, &b.vault, &token, &keep);
        read_all.members.push((c.vault, 0, 1, b"c vk1".to_vec()));
        read_all.grants.push((c.vault, 1));
        let late = mint_scoped(store.as_ref(), &a).await;
        assert!(matches!(
            store.swap_user_key(read_all.clone()).await,
            Err(StoreError::KeyVersionMoved)
        ));
        unchanged(store.clone()).await;
        read_all
            .token_name_keys
            .push((late, b"late name key".to_vec()));
        // A password changed since the read (another slot): the swap is refused.
        let mut stale = read_all.clone();
        stale.old_password_slot = b"the slot before a change".to_vec();
        assert!(matches!(
            store.swap_user_key(stale).await,
            Err(StoreError::Conflict)
        ));
        unchanged(store.clone()).await;
        // A recovery replaced the code since the read: refused.
        let mut recovered = read_all.clone();
        recovered.recovery = RecoveryRekey::Sealed {
            credential_id: Id::from_bytes([3; 16]),
            sealed_user_key: b"to a dead code".to_vec(),
        };
        assert!(matches!(
            store.swap_user_key(recovered).await,
            Err(StoreError::Conflict)
        ));
        unchanged(store.clone()).await;
        // The calling session ended meanwhile: refused.
        let mut ended = read_all.clone();
        ended.keep_session = Some((Id::from_bytes([4; 16]), b"slot".to_vec()));
        assert!(matches!(
            store.swap_user_key(ended).await,
            Err(StoreError::Conflict)
        ));
        unchanged(store.clone()).await;
        // As read: it commits.
        store.swap_user_key(read_all).await.unwrap();
        assert_eq!(
            store.user(&a.user).await.unwrap().unwrap().password_slot,
            b"new password slot"
        );
    }
);

check!(
    credential_changes_that_read_the_old_keys_write_nothing_after_a_rotation,
    |store| async move {
        // What a password change, a recovery and a mint read before a rotation committed:
        // the password slot and public key from before it. Each is refused with nothing
        // written; with what is current, each commits.
        let a = account(store.as_ref(), "rho").await;
        let now = store.user(&a.user).await.unwrap().unwrap();
        let (stale_slot, stale_key) = (b"slot before".to_vec(), vec![2; 32]);
        let refused = store
            .change_password(
                &a.user,
                Some(&stale_slot),
                b"slot for a dead key".to_vec(),
                false,
                None,
                false,
                audit(Some(&a.user), "password.change"),
            )
            .await;
        assert_eq!(refused, Err(StoreError::KeyVersionMoved));
        let fresh = |wrapped: &[u8]| keyslot_core::model::RecoveryRecord {
            user_id: a.user,
            credential_id: Id::random().unwrap(),
            verifier: vec![7; 32],
            wrapped_user_key: wrapped.to_vec(),
        };
        let refused = store
            .recover(
                &a.user,
                &a.recovery,
                Some(&stale_key),
                b"slot for a dead key".to_vec(),
                fresh(b"rc of a dead key"),
                false,
                audit(Some(&a.user), "recover"),
            )
            .await;
        assert_eq!(refused, Err(StoreError::KeyVersionMoved));
        let token = super::fixtures::token_record(&a.user, false, None);
        let refused = store
            .create_token(
                token.clone(),
                vec![],
                None,
                Some(&stale_key),
                audit(Some(&a.user), "token.mint"),
            )
            .await;
        assert_eq!(refused, Err(StoreError::KeyVersionMoved));
        let after = store.user(&a.user).await.unwrap().unwrap();
        assert_eq!(after.password_slot, now.password_slot, "nothing written");
        assert_eq!(
            store
                .recovery(&a.user)
                .await
                .unwrap()
                .unwrap()
                .credential_id,
            a.recovery
        );
        assert!(store.tokens(&a.user).await.unwrap().is_empty());

        store
            .create_token(
                token,
                vec![],
                None,
                Some(&now.x25519_public),
                audit(Some(&a.user), "token.mint"),
            )
            .await
            .unwrap();
        store
            .change_password(
                &a.user,
                Some(&now.password_slot),
                b"changed".to_vec(),
                false,
                None,
                false,
                audit(Some(&a.user), "password.change"),
            )
            .await
            .unwrap();
        store
            .recover(
                &a.user,
                &a.recovery,
                Some(&now.x25519_public),
                b"recovered".to_vec(),
                fresh(b"rc"),
                false,
                audit(Some(&a.user), "recover"),
            )
            .await
            .unwrap();
        assert_eq!(
            store.user(&a.user).await.unwrap().unwrap().password_slot,
            b"recovered"
        );
    }
);
