//! End-to-end sharing, rotation and deposits (`E2eLifecycleStore`): what a client sends
//! is committed under the server-mode rules, with its signatures and the new version's
//! public key in the same transaction, and nothing of it when the rules refuse; an
//! end-to-end deposit keeps its sender after its token is gone.

use keyslot_core::deposit_store::DepositRecord;
use keyslot_core::e2e_lifecycle_store::{ClientRotation, DepositSender};
use keyslot_core::keystore::{Grant, Holder};
use keyslot_core::memberstore::{NewMember, Role};
use keyslot_core::store::StoreError;
use keyslot_crypto::Id;

use super::fixtures::{Account, account, audit, mint_scoped, token_record};
use super::keys::rotation;

fn client_rotation(a: &Account, from: u32, tokens: &[Id], now: i64) -> ClientRotation {
    ClientRotation {
        rotation: rotation(a, from, tokens, now),
        public_key: vec![from as u8 + 40; 32],
        public_key_mac: vec![7; 32],
        public_key_signature: vec![8; 64],
        members_signature: Some(vec![9; 64]),
    }
}

check!(
    a_client_rotation_commits_its_signed_key_only_for_exactly_the_holders,
    |store| async move {
        let a = account(store.as_ref(), "eve").await;
        let t = mint_scoped(store.as_ref(), &a).await;
        // The token left out: refused under the lock, nothing written.
        assert_eq!(
            store
                .rotate_vault_client(client_rotation(&a, 1, &[], 50))
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        assert_eq!(store.vault_key_version(&a.vault).await.unwrap(), Some(1));
        assert_eq!(
            store.vault_public_key(&a.vault, 2).await.unwrap(),
            None,
            "no version 2 row, no key"
        );
        assert_eq!(store.members_signature(&a.vault).await.unwrap(), None);
        // An old version: refused too.
        assert_eq!(
            store
                .rotate_vault_client(client_rotation(&a, 0, &[t], 50))
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        // Exactly the holders: the version moves with its key, MAC and signatures.
        store
            .rotate_vault_client(client_rotation(&a, 1, &[t], 50))
            .await
            .unwrap();
        assert_eq!(store.vault_key_version(&a.vault).await.unwrap(), Some(2));
        assert_eq!(
            store.vault_public_key(&a.vault, 2).await.unwrap(),
            Some((Some(vec![41; 32]), Some(vec![7; 32])))
        );
        let signed = store.signed_vault_key(&a.vault, 2).await.unwrap().unwrap();
        assert_eq!(signed.signature, Some(vec![8; 64]));
        assert_eq!(
            store.members_signature(&a.vault).await.unwrap(),
            Some(vec![9; 64])
        );
        let grant = store
            .newest_grant(Holder::Token(t), &a.vault)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(grant.key_version, 2);
        // A rotation without a list signature clears the stored one: it signed version 1's.
        let mut next = client_rotation(&a, 2, &[t], 50);
        next.members_signature = None;
        store.rotate_vault_client(next).await.unwrap();
        assert_eq!(store.members_signature(&a.vault).await.unwrap(), None);
    }
);

check!(
    a_signed_share_stores_the_list_signature_with_the_grant,
    |store| async move {
        let a = account(store.as_ref(), "fay").await;
        let b = account(store.as_ref(), "gus").await;
        let member = |version: u32| NewMember {
            vault: a.vault,
            user: b.user,
            role: Role::Write,
            grant: Grant {
                holder: Holder::User(b.user),
                vault_id: a.vault,
                key_version: version,
                sealed: b"vk sealed by the owner's client".to_vec(),
            },
            audit: audit(Some(&a.user), "vault.member.add"),
        };
        assert_eq!(
            store
                .add_member_signed(member(2), Vec::new(), vec![3; 64], 50)
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        assert_eq!(store.members(&a.vault).await.unwrap().len(), 1);
        assert_eq!(store.members_signature(&a.vault).await.unwrap(), None);
        store
            .add_member_signed(member(1), Vec::new(), vec![3; 64], 50)
            .await
            .unwrap();
        assert_eq!(
            store.members_signature(&a.vault).await.unwrap(),
            Some(vec![3; 64])
        );
        let grant = store
            .newest_grant(Holder::User(b.user), &a.vault)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(grant.sealed, b"vk sealed by the owner's client".to_vec());
        // The signers of the holders' keys are listed for clients to check.
        let signatures = store.holder_signatures(&a.vault).await.unwrap();
        assert_eq!(signatures.len(), 2);
    }
);

check!(
    a_role_change_or_removal_replaces_the_list_signature_in_its_own_transaction,
    |store| async move {
        let a = account(store.as_ref(), "ida").await;
        let b = account(store.as_ref(), "jon").await;
        let share = NewMember {
            vault: a.vault,
            user: b.user,
            role: Role::Write,
            grant: Grant {
                holder: Holder::User(b.user),
                vault_id: a.vault,
                key_version: 1,
                sealed: b"vk sealed by the owner's client".to_vec(),
            },
            audit: audit(Some(&a.user), "vault.member.add"),
        };
        store
            .add_member_signed(share, Vec::new(), vec![3; 64], 50)
            .await
            .unwrap();
        let role_of = |members: Vec<keyslot_core::memberstore::MemberRow>, user: Id| {
            members
                .into_iter()
                .find(|m| m.user_id == user)
                .map(|m| m.role)
        };
        // A role change stores the signature sent over the new list with it.
        store
            .set_member_role_signed(
                &a.vault,
                &b.user,
                Role::Read,
                Some(vec![4; 64]),
                audit(Some(&a.user), "vault.member.role"),
            )
            .await
            .unwrap();
        assert_eq!(
            role_of(store.members(&a.vault).await.unwrap(), b.user),
            Some(Role::Read)
        );
        assert_eq!(
            store.members_signature(&a.vault).await.unwrap(),
            Some(vec![4; 64])
        );
        // Refused (the last owner demoted): neither the role nor the signature changes.
        assert_eq!(
            store
                .set_member_role_signed(
                    &a.vault,
                    &a.user,
                    Role::Read,
                    Some(vec![5; 64]),
                    audit(Some(&a.user), "vault.member.role"),
                )
                .await,
            Err(StoreError::Conflict)
        );
        assert_eq!(
            role_of(store.members(&a.vault).await.unwrap(), a.user),
            Some(Role::Owner)
        );
        assert_eq!(
            store.members_signature(&a.vault).await.unwrap(),
            Some(vec![4; 64])
        );
        // A change without a signature clears the old one (it signed the old list).
        store
            .set_member_role_signed(
                &a.vault,
                &b.user,
                Role::Write,
                None,
                audit(Some(&a.user), "vault.member.role"),
            )
            .await
            .unwrap();
        assert_eq!(store.members_signature(&a.vault).await.unwrap(), None);
        store
            .set_member_role_signed(
                &a.vault,
                &b.user,
                Role::Write,
                Some(vec![6; 64]),
                audit(Some(&a.user), "vault.member.role"),
            )
            .await
            .unwrap();
        // A removal clears it in the removal's own transaction.
        store
            .remove_member(
                &a.vault,
                &b.user,
                1,
                audit(Some(&a.user), "vault.member.remove"),
            )
            .await
            .unwrap();
        assert_eq!(store.members_signature(&a.vault).await.unwrap(), None);
        assert_eq!(store.members(&a.vault).await.unwrap().len(), 1);
    }
);

check!(
    a_client_deposit_keeps_its_sender_after_its_token_is_gone,
    |store| async move {
        let a = account(store.as_ref(), "hal").await;
        let mut t = token_record(&a.user, false, None);
        t.deposit = true;
        t.x25519_public = vec![6; 32];
        let token = t.id;
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
        let deposit = |id: Id| DepositRecord {
            id,
            vault_id: a.vault,
            user_id: a.user,
            key_version: 1,
            to_readers: false,
            sealed_item_key: b"ik sealed in auth mode".to_vec(),
            name: b"name".to_vec(),
            value: b"value".to_vec(),
            token_id: token,
            created_at: 50,
        };
        let first = Id::random().unwrap();
        // Version 1's key unpublished: nothing is sealed to it (as in server mode).
        assert_eq!(
            store
                .create_client_deposit(
                    deposit(first),
                    Vec::new(),
                    50,
                    audit(Some(&a.user), "item.deposit")
                )
                .await,
            Err(StoreError::Conflict)
        );
        assert_eq!(store.deposit_sender(&first).await.unwrap(), None);
        store
            .set_vault_public_key(&a.vault, 1, &[4; 32], &[5; 32])
            .await
            .unwrap();
        store
            .create_client_deposit(
                deposit(first),
                Vec::new(),
                50,
                audit(Some(&a.user), "item.deposit"),
            )
            .await
            .unwrap();
        let sender = DepositSender {
            public_key: Some(vec![6; 32]),
            signature: None,
        };
        assert_eq!(
            store.deposit_sender(&first).await.unwrap(),
            Some(sender.clone())
        );
        store
            .revoke_token(&a.user, &token, audit(Some(&a.user), "token.revoke"))
            .await
            .unwrap();
        assert!(store.token(&token).await.unwrap().is_none());
        assert_eq!(
            store.deposit_sender(&first).await.unwrap(),
            Some(sender),
            "the sender outlives its token"
        );
        // Gone, the token deposits nothing more.
        assert_eq!(
            store
                .create_client_deposit(
                    deposit(Id::random().unwrap()),
                    Vec::new(),
                    50,
                    audit(Some(&a.user), "item.deposit")
                )
                .await,
            Err(StoreError::NotFound)
        );
    }
);
