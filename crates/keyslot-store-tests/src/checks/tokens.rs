//! API tokens: slots, revocation, use marks, and the one-query token read.

use keyslot_core::model::TokenRecord;
use keyslot_core::store::StoreError;
use keyslot_crypto::Id;

use super::fixtures::{account, audit, id, item, mint_scoped, token_record};

check!(
    tokens_with_slots_round_trip_and_revoke,
    |store| async move {
        let a = account(store.as_ref(), "olivia").await;
        let b = account(store.as_ref(), "peggy").await;
        let t = mint_scoped(store.as_ref(), &a).await;
        let got = store.token(&t).await.unwrap().unwrap();
        assert_eq!(
            (
                got.user_id,
                got.can_write,
                got.wrapped_user_key,
                got.last_used_at
            ),
            (a.user, false, None, None)
        );
        assert_eq!(
            store
                .token_vault_slot(&t, &a.vault)
                .await
                .unwrap()
                .unwrap()
                .wrapped_vault_key,
            b"t slot"
        );
        assert!(
            store
                .token_vault_slot(&t, &b.vault)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.tokens(&a.user).await.unwrap().len(), 1);
        assert!(store.tokens(&b.user).await.unwrap().is_empty());
        store.mark_tokens_used(&[(t, 50)]).await.unwrap();
        store.mark_tokens_used(&[(t, 40)]).await.unwrap();
        assert_eq!(
            store.token(&t).await.unwrap().unwrap().last_used_at,
            Some(50)
        );
        assert_eq!(
            store
                .delete_token(&b.user, &t, audit(Some(&b.user), "token.revoke"))
                .await,
            Err(StoreError::NotFound)
        );
        store
            .delete_token(&a.user, &t, audit(Some(&a.user), "token.revoke"))
            .await
            .unwrap();
        assert!(store.token(&t).await.unwrap().is_none());
        assert!(
            store.token_vault_slots(&t).await.unwrap().is_empty(),
            "slots go with the token"
        );
    }
);

check!(
    a_token_read_is_one_query_with_exactly_its_keys,
    |store| async move {
        let a = account(store.as_ref(), "xena").await;
        let b = account(store.as_ref(), "yuri").await;
        store
            .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
            .await
            .unwrap();
        let it = item(&a, 1, b"").id;
        let token = |user: Id, all: bool| token_record(&user, false, all.then(|| vec![3]));
        let scoped = mint_scoped(store.as_ref(), &a).await;
        let all = token(a.user, true);
        store
            .create_token(
                all.clone(),
                vec![],
                None,
                None,
                audit(Some(&a.user), "token.mint"),
            )
            .await
            .unwrap();
        let foreign = token(b.user, true);
        store
            .create_token(
                foreign.clone(),
                vec![],
                None,
                None,
                audit(Some(&b.user), "token.mint"),
            )
            .await
            .unwrap();

        let r = store
            .token_read(&scoped, &a.vault, &it)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.token.id, scoped);
        assert_eq!(
            r.slot.map(|s| s.wrapped_vault_key),
            Some(b"t slot".to_vec())
        );
        assert_eq!(r.item.map(|i| i.value), Some(b"v1".to_vec()));

        let r = store
            .token_read(&scoped, &b.vault, &it)
            .await
            .unwrap()
            .unwrap();
        assert!(
            r.slot.is_none() && r.vault_now.is_none() && r.item.is_none(),
            "another vault: nothing"
        );

        let r = store
            .token_read(&all.id, &a.vault, &it)
            .await
            .unwrap()
            .unwrap();
        // A "*" token of the first schema holds no slot yet, and no token is handed a
        // member's slot: the service converts it before it opens anything.
        assert!(r.slot.is_none());
        assert!(r.item.is_some());

        let r = store
            .token_read(&foreign.id, &a.vault, &it)
            .await
            .unwrap()
            .unwrap();
        assert!(
            r.slot.is_none() && r.vault_now.is_none() && r.item.is_none(),
            "another user's token reaches nothing of this user"
        );

        let missing = store
            .token_read(&all.id, &a.vault, &id())
            .await
            .unwrap()
            .unwrap();
        assert!(missing.item.is_none());
        assert!(
            store
                .token_read(&id(), &a.vault, &it)
                .await
                .unwrap()
                .is_none(),
            "unknown token"
        );
        store
            .set_user_disabled(&a.user, Some(50), audit(Some(&a.user), "user.disable"))
            .await
            .unwrap();
        assert!(
            store
                .token_read(&all.id, &a.vault, &it)
                .await
                .unwrap()
                .is_none(),
            "disabled user"
        );
    }
);

check!(
    tokens_expiring_counts_live_tokens_in_the_window_only,
    |store| async move {
        let a = account(store.as_ref(), "ursula").await;
        let b = account(store.as_ref(), "victor").await;
        let mint = |user: Id, expires_at: i64| {
            let store = store.clone();
            async move {
                let t = TokenRecord {
                    expires_at,
                    ..token_record(&user, false, None)
                };
                let id = t.id;
                store
                    .create_token(t, vec![], None, None, audit(Some(&user), "token.mint"))
                    .await
                    .unwrap();
                id
            }
        };
        // The window is (1_000, 2_000].
        mint(a.user, 1_000).await; // ends at `now`: already over
        mint(a.user, 1_001).await;
        let revoked = mint(a.user, 1_500).await;
        mint(a.user, 2_000).await; // the window's last second
        mint(a.user, 2_001).await; // beyond it
        mint(b.user, 1_800).await;
        assert_eq!(store.count_tokens_expiring(1_000, 2_000).await.unwrap(), 4);
        store
            .delete_token(&a.user, &revoked, audit(Some(&a.user), "token.revoke"))
            .await
            .unwrap();
        assert_eq!(
            store.count_tokens_expiring(1_000, 2_000).await.unwrap(),
            3,
            "a revoked token no longer expires"
        );
        store
            .set_user_disabled(&b.user, Some(1_000), audit(Some(&b.user), "user.disable"))
            .await
            .unwrap();
        assert_eq!(
            store.count_tokens_expiring(1_000, 2_000).await.unwrap(),
            2,
            "a disabled user's tokens do not work, so they are not counted"
        );
        assert_eq!(store.count_tokens_expiring(5_000, 9_000).await.unwrap(), 0);
    }
);
