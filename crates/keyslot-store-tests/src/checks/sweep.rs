//! The sweeper: what has ended goes, with its keys; what lives stays.

use keyslot_core::model::TokenVaultSlot;
use keyslot_core::store::Swept;

use super::fixtures::{account, audit, record_login, session, token_record};

check!(
    ended_credentials_are_swept_and_live_ones_stay,
    |store| async move {
        let a = account(store.as_ref(), "sweepy").await;
        let b = account(store.as_ref(), "keepy").await;
        // Tokens expire at 100 (the fixture); one of a's wraps the user key (a "*" token of the
        // first schema), the other holds a vault slot.
        let star = token_record(&a.user, false, Some(b"wrapped user key".to_vec()));
        let scoped = token_record(&a.user, false, None);
        let mut live = token_record(&b.user, false, Some(b"live wrapped key".to_vec()));
        live.expires_at = 10_000;
        let slot = TokenVaultSlot {
            token_id: scoped.id,
            vault_id: a.vault,
            key_version: 1,
            wrapped_vault_key: b"slot".to_vec(),
        };
        let (star_id, scoped_id, live_id) = (star.id, scoped.id, live.id);
        for (t, slots) in [(star, vec![]), (scoped, vec![slot]), (live, vec![])] {
            let user = t.user_id;
            store
                .create_token(t, slots, None, None, audit(Some(&user), "token.mint"))
                .await
                .unwrap();
        }
        // Sessions: one past its absolute expiry, one idle too long, one alive.
        let mut expired = session(&a.user, 50);
        expired.expires_at = 90;
        let idle = session(&a.user, 40);
        let alive = session(&b.user, 150);
        for s in [&expired, &idle, &alive] {
            record_login(
                store.as_ref(),
                s.clone(),
                None,
                audit(Some(&s.user_id), "login"),
            )
            .await
            .unwrap();
        }
        store.touch_session(&alive.id, 150).await.unwrap();

        let swept = store.sweep_expired(100, 45).await.unwrap();
        assert_eq!(
            swept,
            Swept {
                tokens: 2,
                sessions: 2,
                user_keys_due: 1,
                attempt_counters: 0,
            }
        );
        assert!(store.token(&star_id).await.unwrap().is_none());
        assert!(store.token(&scoped_id).await.unwrap().is_none());
        assert!(
            store
                .token_vault_slots(&scoped_id)
                .await
                .unwrap()
                .is_empty(),
            "a swept token's slots go with it"
        );
        assert!(store.token(&live_id).await.unwrap().is_some());
        assert!(store.session(&expired.id).await.unwrap().is_none());
        assert!(store.session(&idle.id).await.unwrap().is_none());
        assert!(store.session(&alive.id).await.unwrap().is_some());
        // A second sweep, as another instance would run it, finds nothing more to do.
        assert_eq!(
            store.sweep_expired(100, 45).await.unwrap(),
            Swept::default()
        );
    }
);
