//! Sharing: adding a member with an empty slot and a pending grant, roles, the last owner,
//! and removal that takes the member's and their tokens' keys and makes the vault due.

use keyslot_core::keystore::{Grant, Holder};
use keyslot_core::memberstore::{NewMember, Role};
use keyslot_core::store::StoreError;

use super::fixtures::{Account, account, audit, mint_scoped};

fn member(owner: &Account, who: &Account, role: Role, version: u32) -> NewMember {
    NewMember {
        vault: owner.vault,
        user: who.user,
        role,
        grant: Grant {
            holder: Holder::User(who.user),
            vault_id: owner.vault,
            key_version: version,
            sealed: b"vk sealed to the member".to_vec(),
        },
        audit: audit(Some(&owner.user), "vault.member.add"),
    }
}

check!(
    an_added_member_has_an_empty_slot_and_a_grant_until_converted,
    |store| async move {
        let a = account(store.as_ref(), "nia").await;
        let b = account(store.as_ref(), "ole").await;
        // Not at the current version: refused, nothing written.
        assert!(matches!(
            store.add_member(member(&a, &b, Role::Read, 2)).await,
            Err(StoreError::KeyVersionMoved)
        ));
        assert_eq!(store.members(&a.vault).await.unwrap().len(), 1);
        store
            .add_member(member(&a, &b, Role::Read, 1))
            .await
            .unwrap();
        assert!(matches!(
            store.add_member(member(&a, &b, Role::Write, 1)).await,
            Err(StoreError::Conflict)
        ));
        let members = store.members(&a.vault).await.unwrap();
        let roles: Vec<(&str, Role, bool)> = members
            .iter()
            .map(|m| (m.username.as_str(), m.role, m.grant_pending))
            .collect();
        assert_eq!(
            roles,
            vec![("nia", Role::Owner, false), ("ole", Role::Read, true)]
        );
        // The member finds the vault through the membership, with its role and the
        // empty slot at version 0; the grant is theirs to convert.
        let access = store
            .vault_access(&b.user, &a.vault, Holder::User(b.user))
            .await
            .unwrap()
            .expect("a member finds the shared vault");
        assert_eq!(access.role, Role::Read);
        assert_eq!(access.state.owner, a.user);
        assert_eq!(access.slot.as_ref().unwrap().key_version, 0);
        let grant = store
            .newest_grant(Holder::User(b.user), &a.vault)
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .convert_grant(&grant, b"vk1 under ole's uk".to_vec())
                .await
                .unwrap()
        );
        let slot = store
            .vault_access(&b.user, &a.vault, Holder::User(b.user))
            .await
            .unwrap()
            .unwrap()
            .slot
            .unwrap();
        assert_eq!(
            (slot.key_version, slot.wrapped_vault_key.as_slice()),
            (1, &b"vk1 under ole's uk"[..])
        );
        assert!(!store.members(&a.vault).await.unwrap()[1].grant_pending);
        // Owned and shared alike, in the order they were made (a's vault first).
        assert_eq!(
            store.member_vaults(&b.user).await.unwrap(),
            vec![a.vault, b.vault]
        );
        assert_eq!(store.member_vaults(&a.user).await.unwrap(), vec![a.vault]);
        // Every member is a holder at the next rotation, whatever the role.
        let holders = store.rotation_holders(&a.vault, 50).await.unwrap();
        assert!(holders.iter().any(|h| h.holder == Holder::User(b.user)));
    }
);

check!(
    the_last_owner_can_neither_be_demoted_nor_removed,
    |store| async move {
        let a = account(store.as_ref(), "pia").await;
        let b = account(store.as_ref(), "quin").await;
        let demote = store
            .set_member_role(
                &a.vault,
                &a.user,
                Role::Write,
                audit(Some(&a.user), "vault.member.role"),
            )
            .await;
        assert!(matches!(demote, Err(StoreError::Conflict)));
        let leave = store
            .remove_member(
                &a.vault,
                &a.user,
                1,
                audit(Some(&a.user), "vault.member.remove"),
            )
            .await;
        assert!(matches!(leave, Err(StoreError::Conflict)));
        assert!(matches!(
            store
                .set_member_role(&a.vault, &b.user, Role::Read, audit(Some(&a.user), "x"))
                .await,
            Err(StoreError::NotFound)
        ));
        store
            .add_member(member(&a, &b, Role::Owner, 1))
            .await
            .unwrap();
        store
            .set_member_role(
                &a.vault,
                &a.user,
                Role::Read,
                audit(Some(&a.user), "vault.member.role"),
            )
            .await
            .unwrap();
        let access = store
            .vault_access(&a.user, &a.vault, Holder::User(a.user))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(access.role, Role::Read);
        assert!(matches!(
            store
                .remove_member(
                    &a.vault,
                    &b.user,
                    1,
                    audit(Some(&b.user), "vault.member.remove")
                )
                .await,
            Err(StoreError::Conflict)
        ));
    }
);

check!(
    removing_a_member_takes_their_and_their_tokens_keys_and_makes_the_vault_due,
    |store| async move {
        let a = account(store.as_ref(), "rue").await;
        let b = account(store.as_ref(), "sol").await;
        store
            .add_member(member(&a, &b, Role::Write, 1))
            .await
            .unwrap();
        // A token of b scoped to a's vault (its slot, as a mint writes it).
        let token = mint_scoped(
            store.as_ref(),
            &Account {
                user: b.user,
                vault: a.vault,
                recovery: b.recovery,
            },
        )
        .await;
        assert!(
            store
                .token_vault_slot(&token, &a.vault)
                .await
                .unwrap()
                .is_some()
        );
        // At a version that moved: refused, nothing deleted.
        assert!(matches!(
            store
                .remove_member(
                    &a.vault,
                    &b.user,
                    2,
                    audit(Some(&a.user), "vault.member.remove")
                )
                .await,
            Err(StoreError::KeyVersionMoved)
        ));
        store
            .remove_member(
                &a.vault,
                &b.user,
                1,
                audit(Some(&a.user), "vault.member.remove"),
            )
            .await
            .unwrap();
        assert!(
            store
                .vault_access(&b.user, &a.vault, Holder::User(b.user))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .vault_access(&b.user, &a.vault, Holder::Token(token))
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
        assert!(
            store
                .newest_grant(Holder::User(b.user), &a.vault)
                .await
                .unwrap()
                .is_none()
        );
        let state = store
            .vault_access(&a.user, &a.vault, Holder::User(a.user))
            .await
            .unwrap()
            .unwrap()
            .state;
        assert!(state.rotation_due, "removal makes the vault due");
        let holders = store.rotation_holders(&a.vault, 50).await.unwrap();
        assert_eq!(
            holders.iter().map(|h| h.holder).collect::<Vec<_>>(),
            vec![Holder::User(a.user)]
        );
        assert!(matches!(
            store
                .remove_member(
                    &a.vault,
                    &b.user,
                    1,
                    audit(Some(&a.user), "vault.member.remove")
                )
                .await,
            Err(StoreError::NotFound)
        ));
    }
);

check!(
    a_removed_member_can_mint_no_slot_and_their_deposit_tokens_lose_the_vault,
    |store| async move {
        let a = account(store.as_ref(), "una").await;
        let b = account(store.as_ref(), "vic").await;
        // b becomes an owner; a (the vault's creator) mints a deposit token for it.
        store
            .add_member(member(&a, &b, Role::Owner, 1))
            .await
            .unwrap();
        let mut t = super::fixtures::token_record(&a.user, false, None);
        t.deposit = true;
        let depositor = t.id;
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
        assert_eq!(
            store.deposit_scope(&depositor).await.unwrap(),
            vec![a.vault]
        );
        // b removes a; the version has not moved (the rotation comes after).
        store
            .remove_member(
                &a.vault,
                &a.user,
                1,
                audit(Some(&b.user), "vault.member.remove"),
            )
            .await
            .unwrap();
        // The removed member's deposit token no longer reaches the vault.
        assert!(store.deposit_scope(&depositor).await.unwrap().is_empty());
        assert!(
            store
                .deposit_target(&depositor, &a.vault)
                .await
                .unwrap()
                .is_none()
        );
        // A mint that opened the vault key before the removal commits no slot after it,
        // though the version is unchanged.
        let late = super::fixtures::token_record(&a.user, false, None);
        let late_id = late.id;
        let slot = keyslot_core::model::TokenVaultSlot {
            token_id: late_id,
            vault_id: a.vault,
            key_version: 1,
            wrapped_vault_key: b"t slot".to_vec(),
        };
        assert!(matches!(
            store
                .create_token(
                    late,
                    vec![slot],
                    None,
                    None,
                    audit(Some(&a.user), "token.mint")
                )
                .await,
            Err(StoreError::KeyVersionMoved)
        ));
        assert!(store.token(&late_id).await.unwrap().is_none());
        // And no token of a is a holder at the rotation.
        let holders = store.rotation_holders(&a.vault, 50).await.unwrap();
        assert!(
            holders
                .iter()
                .all(|h| matches!(h.holder, Holder::User(u) if u == b.user)),
            "only b keeps the vault"
        );
    }
);
