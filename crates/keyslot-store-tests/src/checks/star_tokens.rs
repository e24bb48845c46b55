//! `"*"` tokens hold per-vault slots, never the user key (DESIGN §3.1): the user-key
//! rotation a token that once held the user key leaves due when it ends.

use super::fixtures::{account, audit, mint_scoped, token_record};

check!(
    a_token_that_held_the_user_key_makes_the_user_key_due_when_it_ends,
    |store| async move {
        let a = account(store.as_ref(), "rupert").await;
        let b = account(store.as_ref(), "sybil").await;
        assert!(!store.user_key_rotation_due(&a.user, 50).await.unwrap());
        // A "*" token of the first schema: it wraps the user key (expires_at 100).
        let legacy = token_record(&a.user, false, Some(b"t wraps uk".to_vec()));
        store
            .create_token(legacy.clone(), vec![], None, audit(Some(&a.user), "token.mint"))
            .await
            .unwrap();
        // Alive: nothing is due yet. From its expires_at, unswept, the user key is due.
        assert!(!store.user_key_rotation_due(&a.user, 99).await.unwrap());
        assert!(store.user_key_rotation_due(&a.user, 100).await.unwrap());
        // Another user's state is their own; a scoped token's end never makes it due.
        let scoped = mint_scoped(store.as_ref(), &b).await;
        store
            .revoke_token(&b.user, &scoped, audit(Some(&b.user), "token.revoke"))
            .await
            .unwrap();
        assert!(!store.user_key_rotation_due(&b.user, 1_000).await.unwrap());

        // Revoked before its expiry: due from then on, though its row is gone.
        let c = account(store.as_ref(), "trent").await;
        let mut revoked = token_record(&c.user, false, Some(b"t wraps uk".to_vec()));
        revoked.expires_at = 5_000;
        store
            .create_token(revoked.clone(), vec![], None, audit(Some(&c.user), "token.mint"))
            .await
            .unwrap();
        assert!(!store.user_key_rotation_due(&c.user, 1_000).await.unwrap());
        store
            .revoke_token(&c.user, &revoked.id, audit(Some(&c.user), "token.revoke"))
            .await
            .unwrap();
        assert!(store.token(&revoked.id).await.unwrap().is_none());
        assert!(store.user_key_rotation_due(&c.user, 1_000).await.unwrap());

        // Swept after its expiry: the sweeper's mark keeps it due.
        let swept = store.sweep_expired(200, 0).await.unwrap();
        assert!(swept.user_keys_due >= 1);
        assert!(store.token(&legacy.id).await.unwrap().is_none());
        assert!(store.user_key_rotation_due(&a.user, 200).await.unwrap());
        // An unknown user has nothing due.
        assert!(
            !store
                .user_key_rotation_due(&keyslot_crypto::Id::random().unwrap(), 200)
                .await
                .unwrap()
        );
    }
);

