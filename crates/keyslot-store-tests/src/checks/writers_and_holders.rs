//! Who may commit and who gets keys (issue 15, key-lifecycle review): an item write
//! commits only for a member whose role may write, read in the write's own transaction
//! (a demotion between a write's key opening and its commit stops it); and a disabled
//! user and their tokens are no rotation holders, so nothing new is sealed to them.

use keyslot_core::keystore::{Grant, Holder};
use keyslot_core::memberstore::{NewMember, Role};
use keyslot_core::store::StoreError;

use super::fixtures::{Account, account, audit, item, mint_scoped};
use super::keys::rotation;

fn member(owner: &Account, who: &Account, role: Role) -> NewMember {
    NewMember {
        vault: owner.vault,
        user: who.user,
        role,
        grant: Grant {
            holder: Holder::User(who.user),
            vault_id: owner.vault,
            key_version: 1,
            sealed: b"vk sealed to the member".to_vec(),
        },
        audit: audit(Some(&owner.user), "vault.member.add"),
    }
}

check!(
    an_item_write_commits_only_for_a_member_who_may_write,
    |store| async move {
        let a = account(store.as_ref(), "wes").await;
        let b = account(store.as_ref(), "xia").await;
        let c = account(store.as_ref(), "yul").await;
        store.add_member(member(&a, &b, Role::Read)).await.unwrap();
        let refused = |r: Result<(), StoreError>| matches!(r, Err(StoreError::KeyVersionMoved));
        // A read member and a stranger write nothing (the caller re-opens and answers
        // 403 or 404 from the role it then reads).
        for who in [&b, &c] {
            assert!(refused(
                store
                    .create_item(item(&a, 1, b"v1"), audit(Some(&who.user), "item.create"))
                    .await
            ));
        }
        assert!(store.items(&a.user, &a.vault).await.unwrap().is_empty());
        store
            .set_member_role(&a.vault, &b.user, Role::Write, audit(Some(&a.user), "r"))
            .await
            .unwrap();
        store
            .create_item(item(&a, 1, b"v1"), audit(Some(&b.user), "item.create"))
            .await
            .unwrap();
        // Demoted: neither update nor delete commits; the item stays as it was.
        store
            .set_member_role(&a.vault, &b.user, Role::Read, audit(Some(&a.user), "r"))
            .await
            .unwrap();
        assert!(refused(
            store
                .update_item(item(&a, 2, b"v2"), audit(Some(&b.user), "item.update"))
                .await
        ));
        let it = item(&a, 1, b"");
        assert!(refused(
            store
                .delete_item(
                    &a.user,
                    &a.vault,
                    &it.id,
                    audit(Some(&b.user), "item.delete")
                )
                .await
        ));
        let stored = store
            .item(&a.user, &a.vault, &it.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((stored.version, stored.value.as_slice()), (1, &b"v1"[..]));
        // The owner still writes; a missing item is NotFound whoever asks.
        store
            .update_item(item(&a, 2, b"v2"), audit(Some(&a.user), "item.update"))
            .await
            .unwrap();
        store
            .delete_item(
                &a.user,
                &a.vault,
                &it.id,
                audit(Some(&a.user), "item.delete"),
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .delete_item(
                    &a.user,
                    &a.vault,
                    &it.id,
                    audit(Some(&b.user), "item.delete")
                )
                .await,
            Err(StoreError::NotFound)
        );
    }
);

check!(
    a_disabled_user_and_their_tokens_are_no_rotation_holders,
    |store| async move {
        const NOW: i64 = 50;
        let a = account(store.as_ref(), "zed").await;
        let b = account(store.as_ref(), "abe").await;
        store.add_member(member(&a, &b, Role::Write)).await.unwrap();
        // A token of b scoped to a's vault.
        let token = mint_scoped(
            store.as_ref(),
            &Account {
                user: b.user,
                vault: a.vault,
                recovery: b.recovery,
            },
        )
        .await;
        let holders = |store: std::sync::Arc<dyn keyslot_core::Store>| async move {
            let mut h: Vec<Holder> = store
                .rotation_holders(&a.vault, NOW)
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.holder)
                .collect();
            h.sort_by_key(|h| format!("{h:?}"));
            h
        };
        let mut everyone = vec![
            Holder::User(a.user),
            Holder::User(b.user),
            Holder::Token(token),
        ];
        everyone.sort_by_key(|h| format!("{h:?}"));
        assert_eq!(holders(store.clone()).await, everyone);

        store
            .set_user_disabled(&b.user, Some(NOW), audit(None, "user.disable"))
            .await
            .unwrap();
        assert_eq!(holders(store.clone()).await, [Holder::User(a.user)]);
        // A rotation sealing to the owner alone is the one the store commits (the holder
        // set it checks under the vault's lock agrees), and b holds nothing of it.
        store.rotate_vault(rotation(&a, 1, &[], NOW)).await.unwrap();
        assert!(
            store
                .newest_grant(Holder::User(b.user), &a.vault)
                .await
                .unwrap()
                .is_none_or(|g| g.key_version < 2)
        );
        assert!(
            store
                .newest_grant(Holder::Token(token), &a.vault)
                .await
                .unwrap()
                .is_none_or(|g| g.key_version < 2)
        );

        let due = |store: std::sync::Arc<dyn keyslot_core::Store>| async move {
            store
                .vault_access(&a.user, &a.vault, Holder::User(a.user))
                .await
                .unwrap()
                .unwrap()
                .state
                .rotation_due
        };
        assert!(!due(store.clone()).await);

        // Enabled again, b and the token are holders, and the vault rotated without them
        // is due: the next rotation seals to them, so b reads it again.
        store
            .set_user_disabled(&b.user, None, audit(None, "user.enable"))
            .await
            .unwrap();
        assert_eq!(holders(store.clone()).await, everyone);
        assert!(due(store.clone()).await, "rotated while b was disabled");
        // b's own vault never moved: enabling makes nothing else due.
        assert!(
            !store
                .vault_access(&b.user, &b.vault, Holder::User(b.user))
                .await
                .unwrap()
                .unwrap()
                .state
                .rotation_due
        );
    }
);
