//! Sessions: login, activity, logout, and which sessions a password change ends.

use keyslot_core::store::{NewLogin, StoreError};

use super::fixtures::{account, audit, id, record_login, session};

check!(sessions_live_touch_and_die, |store| async move {
    let a = account(store.as_ref(), "erin").await;
    let s = session(&a.user, 5_000);
    record_login(
        store.as_ref(),
        s.clone(),
        Some(b"upgraded slot".to_vec()),
        audit(Some(&a.user), "login"),
    )
    .await
    .unwrap();
    assert_eq!(
        store.user(&a.user).await.unwrap().unwrap().password_slot,
        b"upgraded slot"
    );
    let got = store.session(&s.id).await.unwrap().unwrap();
    assert_eq!(
        (got.user_id, got.wrapped_user_key.clone(), got.expires_at),
        (a.user, s.wrapped_user_key.clone(), s.expires_at)
    );
    store.touch_session(&s.id, 5_100).await.unwrap();
    assert_eq!(
        store.session(&s.id).await.unwrap().unwrap().last_seen_at,
        5_100
    );
    store.touch_session(&s.id, 5_050).await.unwrap();
    assert_eq!(
        store.session(&s.id).await.unwrap().unwrap().last_seen_at,
        5_100,
        "never goes back"
    );
    store
        .delete_session(&s.id, audit(Some(&a.user), "logout"))
        .await
        .unwrap();
    assert!(store.session(&s.id).await.unwrap().is_none());
});

check!(
    password_change_ends_other_sessions_only_when_asked,
    |store| async move {
        let a = account(store.as_ref(), "frank").await;
        let (s1, s2, s3) = (
            session(&a.user, 10),
            session(&a.user, 10),
            session(&a.user, 10),
        );
        for s in [&s1, &s2, &s3] {
            record_login(
                store.as_ref(),
                s.clone(),
                None,
                audit(Some(&a.user), "login"),
            )
            .await
            .unwrap();
        }
        store
            .change_password(
                &a.user,
                None,
                b"slot v2".to_vec(),
                false,
                Some(&s1.id),
                false,
                audit(Some(&a.user), "password.change"),
            )
            .await
            .unwrap();
        assert!(store.session(&s2.id).await.unwrap().is_some());
        store
            .change_password(
                &a.user,
                None,
                b"slot v3".to_vec(),
                true,
                Some(&s1.id),
                false,
                audit(Some(&a.user), "password.change"),
            )
            .await
            .unwrap();
        assert!(
            store.session(&s1.id).await.unwrap().is_some(),
            "the current session stays"
        );
        assert!(store.session(&s2.id).await.unwrap().is_none());
        assert!(store.session(&s3.id).await.unwrap().is_none());
        assert_eq!(
            store.user(&a.user).await.unwrap().unwrap().password_slot,
            b"slot v3"
        );
        assert_eq!(
            store
                .change_password(
                    &id(),
                    None,
                    vec![1],
                    true,
                    None,
                    false,
                    audit(None, "password.change")
                )
                .await,
            Err(StoreError::NotFound)
        );
    }
);

check!(
    a_login_that_verified_a_replaced_password_writes_nothing,
    |store| async move {
        let a = account(store.as_ref(), "ivan").await;
        let verified = store.user(&a.user).await.unwrap().unwrap().password_slot;
        // The password changes while the login runs Argon2 on the old one.
        store
            .change_password(
                &a.user,
                None,
                b"new slot".to_vec(),
                true,
                None,
                false,
                audit(Some(&a.user), "password.change"),
            )
            .await
            .unwrap();
        let s = session(&a.user, 20);
        let late = store
            .record_login(NewLogin {
                session: s.clone(),
                verified_password_slot: verified,
                upgraded_password_slot: Some(b"upgrade of the old password".to_vec()),
                max_sessions: 100,
                audit: audit(Some(&a.user), "login"),
            })
            .await;
        assert_eq!(late, Err(StoreError::Conflict));
        assert!(
            store.session(&s.id).await.unwrap().is_none(),
            "no session from the old password"
        );
        assert_eq!(
            store.user(&a.user).await.unwrap().unwrap().password_slot,
            b"new slot",
            "the old password's upgrade never overwrites the new slot"
        );
    }
);

check!(
    sessions_beyond_the_cap_end_oldest_first,
    |store| async move {
        let a = account(store.as_ref(), "judy").await;
        let slot = store.user(&a.user).await.unwrap().unwrap().password_slot;
        // Two logins in the same second: the later one is still the newer.
        let sessions = [
            session(&a.user, 10),
            session(&a.user, 11),
            session(&a.user, 11),
            session(&a.user, 12),
        ];
        for s in &sessions {
            store
                .record_login(NewLogin {
                    session: s.clone(),
                    verified_password_slot: slot.clone(),
                    upgraded_password_slot: None,
                    max_sessions: 3,
                    audit: audit(Some(&a.user), "login"),
                })
                .await
                .unwrap();
        }
        assert!(
            store.session(&sessions[0].id).await.unwrap().is_none(),
            "the oldest ended"
        );
        for s in &sessions[1..] {
            assert!(store.session(&s.id).await.unwrap().is_some());
        }
    }
);

check!(
    requests_whose_session_ended_meanwhile_write_nothing,
    |store| async move {
        let a = account(store.as_ref(), "lena").await;
        let s = session(&a.user, 10);
        record_login(
            store.as_ref(),
            s.clone(),
            None,
            audit(Some(&a.user), "login"),
        )
        .await
        .unwrap();
        // A recovery commits while a mint and a password change of `s` run Argon2.
        let code = store
            .recovery(&a.user)
            .await
            .unwrap()
            .unwrap()
            .credential_id;
        let next = keyslot_core::model::RecoveryRecord {
            user_id: a.user,
            credential_id: id(),
            verifier: vec![9; 32],
            wrapped_user_key: b"rc after recovery".to_vec(),
        };
        store
            .recover(
                &a.user,
                &code,
                None,
                b"owner's slot".to_vec(),
                next,
                true,
                audit(Some(&a.user), "recover"),
            )
            .await
            .unwrap();
        let late_token = super::fixtures::token_record(&a.user, true, None);
        let late_id = late_token.id;
        assert_eq!(
            store
                .create_token(
                    late_token,
                    vec![],
                    Some(&s.id),
                    None,
                    audit(Some(&a.user), "token.mint")
                )
                .await,
            Err(StoreError::Conflict),
            "a mint by an ended session leaves no token"
        );
        assert!(store.token(&late_id).await.unwrap().is_none());
        assert_eq!(
            store
                .change_password(
                    &a.user,
                    None,
                    b"attacker's slot".to_vec(),
                    true,
                    Some(&s.id),
                    false,
                    audit(Some(&a.user), "password.change")
                )
                .await,
            Err(StoreError::Conflict),
            "a password change by an ended session changes nothing"
        );
        assert_eq!(
            store.user(&a.user).await.unwrap().unwrap().password_slot,
            b"owner's slot",
            "the recovery's password stands"
        );
    }
);
