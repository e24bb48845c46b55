//! Accounts: sign-up, usernames, recovery, disabling.

use keyslot_core::model::{RecoveryRecord, UserRecord};
use keyslot_core::store::{NewAccount, StoreError};

use super::fixtures::{
    account, audit, id, mint_scoped, record_login, session, token_record, vault_record,
};

check!(
    account_round_trip_and_case_insensitive_names,
    |store| async move {
        let a = account(store.as_ref(), "Alice.Example").await;
        let by_name = store.user_by_name("alice.example").await.unwrap().unwrap();
        assert_eq!(by_name.id, a.user);
        assert_eq!(by_name.username, "Alice.Example", "stored as given");
        assert_eq!(by_name.password_slot, b"sealed password slot");
        assert_eq!(
            store.user(&a.user).await.unwrap().unwrap().username,
            "Alice.Example"
        );
        assert_eq!(
            store
                .recovery(&a.user)
                .await
                .unwrap()
                .unwrap()
                .credential_id,
            a.recovery
        );
        assert_eq!(store.vaults(&a.user).await.unwrap().len(), 1);
        assert!(store.user_by_name("bob").await.unwrap().is_none());
        store.ping().await.unwrap();
    }
);

check!(
    duplicate_username_conflicts_and_writes_nothing,
    |store| async move {
        let first = account(store.as_ref(), "carol").await;
        let other = id();
        let result = store
            .create_account(NewAccount {
                user: UserRecord {
                    id: other,
                    username: "CAROL".into(),
                    ..store.user(&first.user).await.unwrap().unwrap()
                },
                user_public_key_mac: None,
                recovery: RecoveryRecord {
                    user_id: other,
                    credential_id: id(),
                    verifier: vec![0; 32],
                    wrapped_user_key: vec![0],
                },
                vault: vault_record(&other, id()),
                audit: audit(Some(&other), "signup"),
            })
            .await;
        assert_eq!(result, Err(StoreError::Conflict));
        assert!(store.user(&other).await.unwrap().is_none());
        assert!(
            store.vaults(&other).await.unwrap().is_empty(),
            "no half-written account"
        );
        assert!(store.audit_events(&other, 10).await.unwrap().is_empty());
    }
);

check!(
    recovery_replaces_slots_and_ends_sessions,
    |store| async move {
        let a = account(store.as_ref(), "grace").await;
        let s = session(&a.user, 10);
        record_login(
            store.as_ref(),
            s.clone(),
            None,
            audit(Some(&a.user), "login"),
        )
        .await
        .unwrap();
        let new_rc = RecoveryRecord {
            user_id: a.user,
            credential_id: id(),
            verifier: vec![7; 32],
            wrapped_user_key: b"new rc".to_vec(),
        };
        store
            .recover(
                &a.user,
                &a.recovery,
                None,
                b"new pw slot".to_vec(),
                new_rc.clone(),
                false,
                audit(Some(&a.user), "recover"),
            )
            .await
            .unwrap();
        assert_eq!(
            store.user(&a.user).await.unwrap().unwrap().password_slot,
            b"new pw slot"
        );
        let rc = store.recovery(&a.user).await.unwrap().unwrap();
        assert_eq!(
            (rc.credential_id, rc.wrapped_user_key),
            (new_rc.credential_id, new_rc.wrapped_user_key)
        );
        assert!(store.session(&s.id).await.unwrap().is_none());
    }
);

check!(stale_recovery_changes_nothing, |store| async move {
    let a = account(store.as_ref(), "heidi").await;
    let stale = id();
    let rc = RecoveryRecord {
        user_id: a.user,
        credential_id: id(),
        verifier: vec![7; 32],
        wrapped_user_key: vec![1],
    };
    assert_eq!(
        store
            .recover(
                &a.user,
                &stale,
                None,
                b"x".to_vec(),
                rc,
                false,
                audit(Some(&a.user), "recover")
            )
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.user(&a.user).await.unwrap().unwrap().password_slot,
        b"sealed password slot"
    );
    assert_eq!(
        store
            .recovery(&a.user)
            .await
            .unwrap()
            .unwrap()
            .credential_id,
        a.recovery
    );
});

check!(
    disabled_users_lose_sessions_and_tokens_until_enabled,
    |store| async move {
        let a = account(store.as_ref(), "trent").await;
        let other = account(store.as_ref(), "uma").await;
        let s = session(&a.user, 10);
        record_login(
            store.as_ref(),
            s.clone(),
            None,
            audit(Some(&a.user), "login"),
        )
        .await
        .unwrap();
        let token = token_record(&a.user, true, Some(vec![3]));
        let t = token.id;
        store
            .create_token(
                token,
                vec![],
                None,
                None,
                audit(Some(&a.user), "token.mint"),
            )
            .await
            .unwrap();
        store
            .set_user_disabled(&a.user, Some(20), audit(Some(&a.user), "user.disable"))
            .await
            .unwrap();
        assert_eq!(
            store.user(&a.user).await.unwrap().unwrap().disabled_at,
            Some(20)
        );
        assert!(
            store.session(&s.id).await.unwrap().is_none(),
            "sessions end"
        );
        assert!(store.token(&t).await.unwrap().is_none(), "tokens stop");
        let users = store.users().await.unwrap();
        assert_eq!(
            users
                .iter()
                .map(|u| u.username.as_str())
                .collect::<Vec<_>>(),
            ["trent", "uma"]
        );
        assert_eq!(
            store.user(&other.user).await.unwrap().unwrap().disabled_at,
            None
        );
        store
            .set_user_disabled(&a.user, None, audit(Some(&a.user), "user.enable"))
            .await
            .unwrap();
        assert!(
            store.token(&t).await.unwrap().is_some(),
            "tokens work again once enabled"
        );
        assert_eq!(
            store
                .set_user_disabled(&id(), Some(1), audit(None, "user.disable"))
                .await,
            Err(StoreError::NotFound)
        );
    }
);

check!(
    credential_changes_revoke_tokens_only_when_asked,
    |store| async move {
        let a = account(store.as_ref(), "kim").await;
        let kept = mint_scoped(store.as_ref(), &a).await;
        store
            .change_password(
                &a.user,
                None,
                b"slot 2".to_vec(),
                false,
                None,
                false,
                audit(Some(&a.user), "password.change"),
            )
            .await
            .unwrap();
        assert!(
            store.token(&kept).await.unwrap().is_some(),
            "tokens stay unless asked"
        );
        store
            .change_password(
                &a.user,
                None,
                b"slot 3".to_vec(),
                false,
                None,
                true,
                audit(Some(&a.user), "password.change"),
            )
            .await
            .unwrap();
        assert!(store.token(&kept).await.unwrap().is_none());
        assert!(
            store.token_vault_slots(&kept).await.unwrap().is_empty(),
            "a revoked token's keys go with it"
        );

        let again = mint_scoped(store.as_ref(), &a).await;
        let code = store
            .recovery(&a.user)
            .await
            .unwrap()
            .unwrap()
            .credential_id;
        let next = RecoveryRecord {
            user_id: a.user,
            credential_id: id(),
            verifier: vec![8; 32],
            wrapped_user_key: b"rc 2".to_vec(),
        };
        store
            .recover(
                &a.user,
                &code,
                None,
                b"slot 4".to_vec(),
                next,
                true,
                audit(Some(&a.user), "recover"),
            )
            .await
            .unwrap();
        assert!(
            store.token(&again).await.unwrap().is_none(),
            "recovery with revoke_tokens ends every token"
        );
    }
);
