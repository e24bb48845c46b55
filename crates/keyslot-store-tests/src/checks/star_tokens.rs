//! `"*"` tokens hold per-vault slots, never the user key (DESIGN §3.1): the user-key
//! rotation a token that once held the user key leaves due when it ends.

use keyslot_core::keystore::{Grant, Holder};
use keyslot_core::memberstore::{NewMember, Role};
use keyslot_core::model::{RecoveryRecord, TokenRecord, TokenVaultSlot};
use keyslot_core::store::StoreError;
use keyslot_crypto::Id;

use super::fixtures::{account, audit, id, mint_scoped, token_record, vault_record};
use super::keys::race2;
use crate::Gate;

/// Tokens here live until this (the fixtures' vaults are made at 1_000).
const EXPIRES: i64 = 5_000;

fn grant(token: &Id, vault: &Id, key_version: u32) -> Grant {
    Grant {
        holder: Holder::Token(*token),
        vault_id: *vault,
        key_version,
        sealed: b"vk sealed to the token".to_vec(),
    }
}

fn slot(token: &Id, vault: &Id, key_version: u32) -> TokenVaultSlot {
    TokenVaultSlot {
        token_id: *token,
        vault_id: *vault,
        key_version,
        wrapped_vault_key: b"vk under t-wrap".to_vec(),
    }
}

/// A `"*"` token of `user` as minted now: no user key, `all_vaults`.
fn star(user: &Id) -> TokenRecord {
    TokenRecord {
        all_vaults: true,
        expires_at: EXPIRES,
        ..token_record(user, false, None)
    }
}

check!(
    a_token_that_held_the_user_key_makes_the_user_key_due_when_it_ends,
    |store| async move {
        let a = account(store.as_ref(), "rupert").await;
        let b = account(store.as_ref(), "sybil").await;
        assert!(!store.user_key_rotation_due(&a.user, 50).await.unwrap());
        // A "*" token of the first schema: it wraps the user key (expires_at 100).
        let legacy = token_record(&a.user, false, Some(b"t wraps uk".to_vec()));
        store
            .create_token(
                legacy.clone(),
                vec![],
                None,
                None,
                audit(Some(&a.user), "token.mint"),
            )
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
            .create_token(
                revoked.clone(),
                vec![],
                None,
                None,
                audit(Some(&c.user), "token.mint"),
            )
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
                .user_key_rotation_due(&Id::random().unwrap(), 200)
                .await
                .unwrap()
        );
    }
);

check!(
    a_star_token_holds_a_slot_or_grant_for_every_vault_of_its_user,
    |store| async move {
        let a = account(store.as_ref(), "wanda").await;
        let b = account(store.as_ref(), "xavier").await;
        // A "*" mint must carry a slot for each of the user's vaults: none missing.
        let refused = star(&a.user);
        assert_eq!(
            store
                .create_token(
                    refused.clone(),
                    vec![],
                    None,
                    None,
                    audit(Some(&a.user), "token.mint")
                )
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        assert!(store.token(&refused.id).await.unwrap().is_none());
        let t = star(&a.user);
        store
            .create_token(
                t.clone(),
                vec![slot(&t.id, &a.vault, 1)],
                None,
                None,
                audit(Some(&a.user), "token.mint"),
            )
            .await
            .unwrap();
        let live = store.star_tokens(&a.user, 1_000).await.unwrap();
        assert_eq!(
            live.iter().map(|h| h.holder).collect::<Vec<_>>(),
            vec![Holder::Token(t.id)]
        );
        assert!(
            store
                .star_tokens(&a.user, EXPIRES)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.star_tokens(&b.user, 1_000).await.unwrap().is_empty());

        // A vault created without a grant to the live "*" token is refused; with one,
        // the token has an empty slot beside its grant, and is a holder of the vault.
        let later = id();
        assert_eq!(
            store
                .create_vault(
                    vault_record(&a.user, later),
                    audit(Some(&a.user), "vault.create")
                )
                .await,
            Err(StoreError::KeyVersionMoved)
        );
        assert!(store.vault(&a.user, &later).await.unwrap().is_none());
        store
            .create_vault_granted(
                vault_record(&a.user, later),
                vec![grant(&t.id, &later, 1)],
                audit(Some(&a.user), "vault.create"),
            )
            .await
            .unwrap();
        let pending = store
            .token_vault_slot(&t.id, &later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (pending.key_version, pending.wrapped_vault_key.len()),
            (0, 0)
        );
        assert_eq!(
            store
                .newest_grant(Holder::Token(t.id), &later)
                .await
                .unwrap()
                .map(|g| g.key_version),
            Some(1)
        );
        let holders = store.rotation_holders(&later, 1_000).await.unwrap();
        assert!(holders.iter().any(|h| h.holder == Holder::Token(t.id)));
        let state = store
            .vault_access(&a.user, &later, Holder::User(a.user))
            .await
            .unwrap()
            .unwrap()
            .state;
        assert_eq!(
            state.rotate_due_at,
            Some(EXPIRES),
            "due at the token's expiry"
        );

        // b shares their vault with a: a's "*" token must be granted it in the same
        // transaction, or the addition is refused.
        let member = NewMember {
            vault: b.vault,
            user: a.user,
            role: Role::Read,
            grant: Grant {
                holder: Holder::User(a.user),
                vault_id: b.vault,
                key_version: 1,
                sealed: b"vk sealed to wanda".to_vec(),
            },
            audit: audit(Some(&b.user), "vault.member.add"),
        };
        assert_eq!(
            store.add_member(member.clone()).await,
            Err(StoreError::KeyVersionMoved)
        );
        assert_eq!(store.members(&b.vault).await.unwrap().len(), 1);
        store
            .add_member_granted(member, vec![grant(&t.id, &b.vault, 1)], 1_000)
            .await
            .unwrap();
        assert_eq!(
            store
                .token_vault_slot(&t.id, &b.vault)
                .await
                .unwrap()
                .map(|s| s.key_version),
            Some(0)
        );
        assert!(
            store
                .missing_star_slots(&a.user, 1_000)
                .await
                .unwrap()
                .is_empty()
        );

        // A "*" token of the first schema holds no slot: the login pass finds each of
        // its user's vaults missing, grants them once, and finds nothing the next time.
        let legacy = TokenRecord {
            expires_at: EXPIRES,
            ..token_record(&a.user, false, Some(b"t wraps uk".to_vec()))
        };
        store
            .create_token(
                legacy.clone(),
                vec![],
                None,
                None,
                audit(Some(&a.user), "token.mint"),
            )
            .await
            .unwrap();
        let missing = store.missing_star_slots(&a.user, 1_000).await.unwrap();
        assert_eq!(missing.len(), 3);
        assert!(
            missing
                .iter()
                .all(|(h, _)| h.holder == Holder::Token(legacy.id))
        );
        let grants: Vec<Grant> = missing
            .iter()
            .map(|(_, v)| grant(&legacy.id, v, 1))
            .collect();
        assert_eq!(
            store
                .grant_missing_star_slots(&a.user, vec![grant(&legacy.id, &later, 2)], 1_000)
                .await,
            Err(StoreError::KeyVersionMoved),
            "a grant not at the vault's current version"
        );
        assert_eq!(
            store
                .grant_missing_star_slots(&a.user, grants.clone(), 1_000)
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            store
                .grant_missing_star_slots(&a.user, grants, 1_000)
                .await
                .unwrap(),
            0,
            "written once"
        );

        // Its conversion: a slot for each vault at its current version, exactly.
        let all_three = [a.vault, later, b.vault];
        assert_eq!(
            store
                .convert_legacy_token(&legacy.id, vec![slot(&legacy.id, &a.vault, 1)])
                .await,
            Err(StoreError::KeyVersionMoved),
            "a vault missing"
        );
        assert!(
            store
                .token(&legacy.id)
                .await
                .unwrap()
                .unwrap()
                .wrapped_user_key
                .is_some()
        );
        let slots: Vec<TokenVaultSlot> = all_three.iter().map(|v| slot(&legacy.id, v, 1)).collect();
        assert!(
            store
                .convert_legacy_token(&legacy.id, slots.clone())
                .await
                .unwrap()
        );
        assert!(
            !store.convert_legacy_token(&legacy.id, slots).await.unwrap(),
            "converted once"
        );
        assert!(
            store
                .token(&legacy.id)
                .await
                .unwrap()
                .unwrap()
                .wrapped_user_key
                .is_none()
        );
        for vault in &all_three {
            let held = store
                .token_vault_slot(&legacy.id, vault)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(held.key_version, 1);
            assert!(
                store
                    .newest_grant(Holder::Token(legacy.id), vault)
                    .await
                    .unwrap()
                    .is_none(),
                "its grants went with the conversion"
            );
        }
        // Converted, its end still makes the user key due: old copies gave it UK.
        assert!(store.user_key_rotation_due(&a.user, EXPIRES).await.unwrap());
        assert!(!store.user_key_rotation_due(&a.user, 1_000).await.unwrap());
    }
);

check!(
    a_star_mint_and_a_vault_creation_racing_never_miss_each_other,
    |store| async move {
        for round in 0..4 {
            let a = account(store.as_ref(), &format!("yara{round}")).await;
            let user = a.user;
            let t = star(&user);
            let slots = vec![slot(&t.id, &a.vault, 1)];
            let later = id();
            // The mint knows only the first vault; the creation grants to no token.
            let (minted, created) = race2(
                &store,
                &[Gate::StarTokens],
                move |s| async move {
                    s.create_token(t, slots, None, None, audit(Some(&user), "token.mint"))
                        .await
                },
                move |s| async move {
                    s.create_vault_granted(
                        vault_record(&user, later),
                        vec![],
                        audit(Some(&user), "vault.create"),
                    )
                    .await
                },
            )
            .await;
            // Whichever commits first, the other sees it and is refused: never a "*"
            // token without the vault, nor a vault without the token's grant.
            assert!(
                minted.is_ok() ^ created.is_ok(),
                "round {round}: mint {minted:?}, creation {created:?}"
            );
            assert_eq!(
                minted.err().or(created.err()),
                Some(StoreError::KeyVersionMoved)
            );
        }
    }
);

check!(
    two_conversions_of_one_legacy_token_write_its_slots_once,
    |store| async move {
        for round in 0..4 {
            let a = account(store.as_ref(), &format!("zeno{round}")).await;
            let legacy = TokenRecord {
                expires_at: EXPIRES,
                ..token_record(&a.user, false, Some(b"t wraps uk".to_vec()))
            };
            let t = legacy.id;
            store
                .create_token(
                    legacy,
                    vec![],
                    None,
                    None,
                    audit(Some(&a.user), "token.mint"),
                )
                .await
                .unwrap();
            let first = vec![TokenVaultSlot {
                wrapped_vault_key: b"first".to_vec(),
                ..slot(&t, &a.vault, 1)
            }];
            let second = vec![TokenVaultSlot {
                wrapped_vault_key: b"second".to_vec(),
                ..slot(&t, &a.vault, 1)
            }];
            let (r1, r2) = race2(
                &store,
                &[Gate::StarTokens],
                move |s| async move { s.convert_legacy_token(&t, first).await },
                move |s| async move { s.convert_legacy_token(&t, second).await },
            )
            .await;
            let (r1, r2) = (r1.unwrap(), r2.unwrap());
            assert!(r1 ^ r2, "exactly one conversion writes: {r1} {r2}");
            let held = store.token_vault_slot(&t, &a.vault).await.unwrap().unwrap();
            assert_eq!(
                held.wrapped_vault_key,
                if r1 {
                    b"first".to_vec()
                } else {
                    b"second".to_vec()
                }
            );
            assert!(
                store
                    .token(&t)
                    .await
                    .unwrap()
                    .unwrap()
                    .wrapped_user_key
                    .is_none()
            );
        }
    }
);

check!(
    revoking_every_token_at_a_password_change_or_recovery_makes_their_vaults_and_the_user_key_due,
    |store| async move {
        let a = account(store.as_ref(), "abel").await;
        let b = account(store.as_ref(), "beth").await;
        for who in [&a, &b] {
            mint_scoped(store.as_ref(), who).await;
            let legacy = TokenRecord {
                expires_at: EXPIRES,
                ..token_record(&who.user, false, Some(b"t wraps uk".to_vec()))
            };
            store
                .create_token(
                    legacy,
                    vec![],
                    None,
                    None,
                    audit(Some(&who.user), "token.mint"),
                )
                .await
                .unwrap();
        }
        let due = |who: Id, vault: Id| {
            let store = store.clone();
            async move {
                let state = store
                    .vault_access(&who, &vault, Holder::User(who))
                    .await
                    .unwrap()
                    .unwrap()
                    .state;
                (
                    state.rotation_due,
                    store.user_key_rotation_due(&who, 1_000).await.unwrap(),
                )
            }
        };
        assert_eq!(due(a.user, a.vault).await, (false, false));
        store
            .change_password(
                &a.user,
                None,
                b"new password slot".to_vec(),
                false,
                None,
                true,
                audit(Some(&a.user), "password.change"),
            )
            .await
            .unwrap();
        assert!(store.tokens(&a.user).await.unwrap().is_empty());
        assert_eq!(
            due(a.user, a.vault).await,
            (true, true),
            "the scoped token's vault and the legacy token's user key"
        );

        assert_eq!(due(b.user, b.vault).await, (false, false));
        store
            .recover(
                &b.user,
                &b.recovery,
                None,
                b"new password slot".to_vec(),
                RecoveryRecord {
                    user_id: b.user,
                    credential_id: id(),
                    verifier: vec![7; 32],
                    wrapped_user_key: b"new rc slot".to_vec(),
                },
                true,
                audit(Some(&b.user), "recover"),
            )
            .await
            .unwrap();
        assert!(store.tokens(&b.user).await.unwrap().is_empty());
        assert_eq!(due(b.user, b.vault).await, (true, true));
    }
);
