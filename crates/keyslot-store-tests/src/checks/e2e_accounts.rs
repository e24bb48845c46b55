//! End-to-end accounts: a sign-up with its identity stored in one transaction (nothing on
//! a conflict), the account's mode on its user and its sessions, the once-per-session
//! unlock slot, pins, and a password change or recovery that replaces the credential id
//! with the slot.

use keyslot_core::e2e_store::{
    E2eIdentity, E2ePasswordChange, E2eRecoveryRecord, NewE2eAccount, PinRecord,
};
use keyslot_core::model::{RecoveryRecord, UserRecord};
use keyslot_core::store::{Store, StoreError};
use keyslot_crypto::Id;

use super::fixtures::{account, audit, id, record_login, session, vault_record};

fn new_account(user: Id, username: &str) -> NewE2eAccount {
    NewE2eAccount {
        user: UserRecord {
            id: user,
            username: username.into(),
            created_at: 1_000,
            password_credential: id(),
            password_slot: b"sealed e2e slot".to_vec(),
            x25519_public: vec![4; 32],
            x25519_wrapped: b"wrapped x25519".to_vec(),
            failed_logins: 0,
            locked_until: None,
            disabled_at: None,
            end_to_end: true,
        },
        user_public_key_mac: b"user mac".to_vec(),
        identity: E2eIdentity {
            identity_public: vec![5; 32],
            identity_wrapped: b"wrapped identity".to_vec(),
            x25519_signature: vec![6; 64],
        },
        recovery: RecoveryRecord {
            user_id: user,
            credential_id: id(),
            verifier: vec![7; 32],
            wrapped_user_key: b"rc slot".to_vec(),
        },
        recovery_public_key: (vec![8; 32], b"rc mac".to_vec()),
        vault: vault_record(&user, id()),
        vault_public_key: (vec![9; 32], vec![10; 64], b"vault mac".to_vec()),
        audit: audit(Some(&user), "signup"),
    }
}

check!(
    an_end_to_end_sign_up_stores_its_identity_or_nothing,
    |store| async move {
        let user = id();
        let account = new_account(user, "e2e-erin");
        let (identity, credential) = (account.identity.clone(), account.recovery.credential_id);
        let vault_id = account.vault.id;
        store.create_e2e_account(account).await.unwrap();
        let row = store.user_by_name("E2E-ERIN").await.unwrap().unwrap();
        assert!(row.end_to_end);
        assert_eq!(store.e2e_identity(&user).await.unwrap(), Some(identity));
        let vault = store.vault_public_key(&vault_id, 1).await.unwrap();
        assert_eq!(
            vault,
            Some((Some(vec![9; 32]), Some(b"vault mac".to_vec())))
        );
        let keys = store.recovery_keys(&user).await.unwrap().unwrap();
        assert_eq!(keys.public_key, Some(vec![8; 32]));
        assert_eq!(
            store.recovery(&user).await.unwrap().unwrap().credential_id,
            credential
        );

        // A server-mode account has no identity and is not end-to-end.
        let plain = account_of(store.as_ref(), "plain").await;
        assert!(!store.user(&plain).await.unwrap().unwrap().end_to_end);
        assert_eq!(store.e2e_identity(&plain).await.unwrap(), None);

        // Taken username, taken user id: Conflict, and no row of the attempt stays.
        let again = new_account(id(), "e2e-ERIN");
        let again_user = again.user.id;
        assert_eq!(
            store.create_e2e_account(again).await,
            Err(StoreError::Conflict)
        );
        assert!(store.user(&again_user).await.unwrap().is_none());
        let same_id = new_account(user, "someone-else");
        let vault = same_id.vault.id;
        assert_eq!(
            store.create_e2e_account(same_id).await,
            Err(StoreError::Conflict)
        );
        assert!(store.user_by_name("someone-else").await.unwrap().is_none());
        assert!(store.vault(&user, &vault).await.unwrap().is_none());
    }
);

async fn account_of(store: &dyn Store, name: &str) -> Id {
    account(store, name).await.user
}

check!(
    an_end_to_end_session_stores_its_unlock_slot_once,
    |store| async move {
        let user = id();
        store
            .create_e2e_account(new_account(user, "e2e-sam"))
            .await
            .unwrap();
        let s = session(&user, 5_000);
        let s = keyslot_core::model::SessionRecord {
            wrapped_user_key: Vec::new(),
            end_to_end: true,
            ..s
        };
        record_login(store.as_ref(), s.clone(), None, audit(Some(&user), "login"))
            .await
            .unwrap();
        assert!(store.session(&s.id).await.unwrap().unwrap().end_to_end);
        assert_eq!(store.session_unlock(&s.id).await.unwrap(), None);
        let unlock = id();
        store
            .set_session_unlock(&s.id, &unlock, b"unlock slot")
            .await
            .unwrap();
        assert_eq!(
            store
                .set_session_unlock(&s.id, &id(), b"another slot")
                .await,
            Err(StoreError::Conflict)
        );
        assert_eq!(
            store.session_unlock(&s.id).await.unwrap(),
            Some((unlock, b"unlock slot".to_vec()))
        );
        assert_eq!(
            store.set_session_unlock(&id(), &unlock, b"slot").await,
            Err(StoreError::NotFound)
        );

        // A server-mode account's session says so.
        let plain = account_of(store.as_ref(), "plain-sam").await;
        let p = session(&plain, 5_000);
        record_login(
            store.as_ref(),
            p.clone(),
            None,
            audit(Some(&plain), "login"),
        )
        .await
        .unwrap();
        assert!(!store.session(&p.id).await.unwrap().unwrap().end_to_end);
    }
);

check!(pins_are_stored_replaced_and_listed, |store| async move {
    let (a, b) = (id(), id());
    store
        .create_e2e_account(new_account(a, "pin-a"))
        .await
        .unwrap();
    store
        .create_e2e_account(new_account(b, "pin-b"))
        .await
        .unwrap();
    let pin = |bytes: u8| PinRecord {
        user_id: a,
        pinned_user_id: b,
        identity_public: vec![bytes; 32],
        pin: vec![bytes + 1; 32],
        updated_at: 2_000,
    };
    store
        .put_pin(pin(1), audit(Some(&a), "pin.set"))
        .await
        .unwrap();
    store
        .put_pin(pin(3), audit(Some(&a), "pin.set"))
        .await
        .unwrap();
    assert_eq!(store.pins(&a).await.unwrap(), vec![pin(3)]);
    assert_eq!(store.pins(&b).await.unwrap(), vec![]);
    let unknown = PinRecord {
        pinned_user_id: id(),
        ..pin(5)
    };
    assert_eq!(
        store.put_pin(unknown, audit(Some(&a), "pin.set")).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.pins(&a).await.unwrap(), vec![pin(3)]);
});

check!(
    an_end_to_end_password_change_and_recovery_replace_the_credential_id,
    |store| async move {
        let user = id();
        let account = new_account(user, "e2e-kim");
        let old_recovery = account.recovery.credential_id;
        store.create_e2e_account(account).await.unwrap();
        let s = session(&user, 5_000);
        record_login(store.as_ref(), s.clone(), None, audit(Some(&user), "login"))
            .await
            .unwrap();
        let change = |expected: &[u8], credential| E2ePasswordChange {
            user,
            expected_password_slot: expected.to_vec(),
            credential_id: credential,
            password_slot: b"second slot".to_vec(),
            end_other_sessions: true,
            session: s.id,
            revoke_tokens: false,
            audit: audit(Some(&user), "password.change"),
        };
        // Over a slot that is no longer the account's: nothing changes.
        assert_eq!(
            store.change_password_e2e(change(b"stale", id())).await,
            Err(StoreError::KeyVersionMoved)
        );
        let credential = id();
        store
            .change_password_e2e(change(b"sealed e2e slot", credential))
            .await
            .unwrap();
        let row = store.user(&user).await.unwrap().unwrap();
        assert_eq!(row.password_credential, credential);
        assert_eq!(row.password_slot, b"second slot");

        let recovery = |expected| E2eRecoveryRecord {
            user,
            expected_recovery: expected,
            expected_public_key: vec![4; 32],
            credential_id: id(),
            password_slot: b"third slot".to_vec(),
            recovery: RecoveryRecord {
                user_id: user,
                credential_id: id(),
                verifier: vec![11; 32],
                wrapped_user_key: b"new rc slot".to_vec(),
            },
            revoke_tokens: false,
            audit: audit(Some(&user), "recover"),
        };
        assert_eq!(
            store.recover_e2e(recovery(id())).await,
            Err(StoreError::Conflict)
        );
        let r = recovery(old_recovery);
        let (credential, new_code) = (r.credential_id, r.recovery.credential_id);
        store.recover_e2e(r).await.unwrap();
        let row = store.user(&user).await.unwrap().unwrap();
        assert_eq!(row.password_credential, credential);
        assert_eq!(row.password_slot, b"third slot");
        assert_eq!(
            store.recovery(&user).await.unwrap().unwrap().credential_id,
            new_code
        );
        assert!(store.session(&s.id).await.unwrap().is_none());
    }
);
