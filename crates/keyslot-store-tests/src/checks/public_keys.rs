//! Stored public keys: a token's and a user's MAC stored by the INSERT that makes the row;
//! in bulk, pages in key order (only those without a MAC, when asked), and a MAC written
//! only over the public key and MAC as they were read — recovery codes' keys included.

use keyslot_core::keystore::Holder;
use keyslot_core::model::{RecoveryRecord, TokenRecord, TokenVaultSlot, UserRecord};
use keyslot_core::public_key_store::{PublicKeyTable, StoredPublicKey};
use keyslot_core::store::NewAccount;

use super::fixtures::{account, audit, id, mint_scoped, token_record, vault_record};

check!(
    a_created_account_and_token_have_their_public_key_mac_in_the_row,
    |store| async move {
        // Sign-up: the user's MAC goes in with the user's row, no later write.
        let (user, vault) = (id(), id());
        store
            .create_account(NewAccount {
                user: UserRecord {
                    id: user,
                    username: "pk-mac".into(),
                    created_at: 1_000,
                    password_credential: id(),
                    password_slot: b"sealed password slot".to_vec(),
                    x25519_public: vec![3; 32],
                    x25519_wrapped: b"wrapped x25519".to_vec(),
                    failed_logins: 0,
                    locked_until: None,
                    disabled_at: None,
                    end_to_end: false,
                },
                user_public_key_mac: Some(b"user key mac".to_vec()),
                recovery: RecoveryRecord {
                    user_id: user,
                    credential_id: id(),
                    verifier: vec![2; 32],
                    wrapped_user_key: b"rc slot".to_vec(),
                },
                vault: vault_record(&user, vault),
                audit: audit(Some(&user), "signup"),
            })
            .await
            .unwrap();

        // A scoped token, a "*" token and a deposit token: each MAC in its row.
        let scoped = TokenRecord {
            public_key_mac: Some(b"scoped mac".to_vec()),
            ..token_record(&user, false, None)
        };
        let slot = TokenVaultSlot {
            token_id: scoped.id,
            vault_id: vault,
            key_version: 1,
            wrapped_vault_key: b"t slot".to_vec(),
        };
        let all = TokenRecord {
            public_key_mac: Some(b"all mac".to_vec()),
            x25519_public: vec![6; 32],
            ..token_record(&user, true, Some(b"wrapped user key".to_vec()))
        };
        let deposit = TokenRecord {
            public_key_mac: Some(b"deposit mac".to_vec()),
            x25519_public: vec![7; 32],
            deposit: true,
            ..token_record(&user, false, None)
        };
        let ids = [scoped.id, all.id, deposit.id];
        store
            .create_token(
                scoped,
                vec![slot],
                None,
                None,
                audit(Some(&user), "token.mint"),
            )
            .await
            .unwrap();
        store
            .create_token(all, vec![], None, None, audit(Some(&user), "token.mint"))
            .await
            .unwrap();
        store
            .create_deposit_token(
                deposit,
                &[vault],
                None,
                None,
                audit(Some(&user), "token.mint"),
            )
            .await
            .unwrap();

        // Read straight back, by every path that reads them.
        for (t, mac) in ids
            .iter()
            .zip([&b"scoped mac"[..], b"all mac", b"deposit mac"])
        {
            let got = store.token(t).await.unwrap().unwrap();
            assert_eq!(got.public_key_mac.as_deref(), Some(mac));
        }
        let listed = store.tokens(&user).await.unwrap();
        assert_eq!(listed.len(), 3);
        assert!(
            listed.iter().all(|t| t.public_key_mac.is_some()),
            "{listed:?}"
        );
        let holders = store.rotation_holders(&vault, 50).await.unwrap();
        let mac_of = |h: Holder| {
            holders
                .iter()
                .find(|p| p.holder == h)
                .and_then(|p| p.public_key_mac.clone())
        };
        assert_eq!(mac_of(Holder::User(user)), Some(b"user key mac".to_vec()));
        assert_eq!(mac_of(Holder::Token(ids[0])), Some(b"scoped mac".to_vec()));
        let users = store
            .stored_public_keys(PublicKeyTable::Users, None, false, 10)
            .await
            .unwrap();
        let ours = users.iter().find(|k| k.holder == user).unwrap();
        assert_eq!(
            (ours.public_key.clone(), ours.mac.clone()),
            (vec![3; 32], Some(b"user key mac".to_vec()))
        );
        // Nothing is left for a backfill to find.
        for table in [PublicKeyTable::Users, PublicKeyTable::Tokens] {
            let missing = store
                .stored_public_keys(table, None, true, 10)
                .await
                .unwrap();
            assert!(missing.is_empty(), "{missing:?}");
        }
    }
);

check!(
    public_key_macs_page_in_order_and_are_written_only_over_what_was_read,
    |store| async move {
        let (a, b) = (
            account(store.as_ref(), "pk-a").await,
            account(store.as_ref(), "pk-b").await,
        );
        let t = mint_scoped(store.as_ref(), &a).await;
        store
            .set_vault_public_key(&a.vault, 1, &[9; 32], b"vault mac")
            .await
            .unwrap();

        // Users: both without a MAC, one page of one at a time, in id order.
        let mut ours = [a.user, b.user];
        ours.sort();
        let first = store
            .stored_public_keys(PublicKeyTable::Users, None, true, 1)
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].holder, ours[0]);
        assert_eq!(first[0].user, ours[0]);
        assert_eq!(
            (first[0].public_key.clone(), first[0].mac.clone()),
            (vec![1; 32], None)
        );
        let second = store
            .stored_public_keys(PublicKeyTable::Users, Some((ours[0], 0)), true, 1)
            .await
            .unwrap();
        assert_eq!(
            second.iter().map(|k| k.holder).collect::<Vec<_>>(),
            [ours[1]]
        );

        // A MAC is written over the row as read, once; a second write from the same
        // read, or one over another public key, changes nothing.
        let key = first[0].clone();
        assert!(
            store
                .replace_public_key_mac(&key, b"mac one")
                .await
                .unwrap()
        );
        assert!(
            !store
                .replace_public_key_mac(&key, b"mac two")
                .await
                .unwrap()
        );
        let moved = StoredPublicKey {
            public_key: vec![7; 32],
            mac: Some(b"mac one".to_vec()),
            ..key.clone()
        };
        assert!(
            !store
                .replace_public_key_mac(&moved, b"mac three")
                .await
                .unwrap()
        );
        let missing = store
            .stored_public_keys(PublicKeyTable::Users, None, true, 10)
            .await
            .unwrap();
        assert_eq!(
            missing.iter().map(|k| k.holder).collect::<Vec<_>>(),
            [ours[1]]
        );
        let all = store
            .stored_public_keys(PublicKeyTable::Users, None, false, 10)
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].mac.as_deref(), Some(&b"mac one"[..]));
        // Replaced over the MAC it carries now (the seal key moved).
        let now = all[0].clone();
        assert!(
            store
                .replace_public_key_mac(&now, b"mac four")
                .await
                .unwrap()
        );
        assert!(
            !store
                .replace_public_key_mac(&now, b"mac five")
                .await
                .unwrap()
        );

        // Tokens: the token's key with its user.
        let tokens = store
            .stored_public_keys(PublicKeyTable::Tokens, None, true, 10)
            .await
            .unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!((tokens[0].holder, tokens[0].user), (t, a.user));
        assert!(
            store
                .replace_public_key_mac(&tokens[0], b"token mac")
                .await
                .unwrap()
        );
        assert!(
            store
                .stored_public_keys(PublicKeyTable::Tokens, None, true, 10)
                .await
                .unwrap()
                .is_empty()
        );

        // Vault keys: only published versions, with the vault's owner and version; the
        // one here has its MAC.
        let vaults = store
            .stored_public_keys(PublicKeyTable::VaultKeys, None, false, 10)
            .await
            .unwrap();
        assert_eq!(vaults.len(), 1, "{vaults:?}");
        assert_eq!(
            (vaults[0].holder, vaults[0].user, vaults[0].key_version),
            (a.vault, a.user, 1)
        );
        assert!(
            store
                .stored_public_keys(PublicKeyTable::VaultKeys, None, true, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .replace_public_key_mac(&vaults[0], b"hsm mac")
                .await
                .unwrap()
        );
        let after = store
            .stored_public_keys(PublicKeyTable::VaultKeys, Some((a.vault, 1)), false, 10)
            .await
            .unwrap();
        assert!(after.is_empty(), "{after:?}");
    }
);

check!(
    recovery_codes_public_keys_page_by_credential_and_take_a_mac_over_what_was_read,
    |store| async move {
        // A slot whose code's key is not published (as before user-key rotation): none.
        let (a, b) = (
            account(&*store, "rc-a").await,
            account(&*store, "rc-b").await,
        );
        let none = store
            .stored_public_keys(PublicKeyTable::RecoveryCodes, None, false, 10)
            .await
            .unwrap();
        assert!(none.is_empty(), "{none:?}");
        for (who, key) in [(&a, 4u8), (&b, 5u8)] {
            assert!(
                store
                    .set_recovery_public_key(&who.user, &who.recovery, &[key; 32], b"rc mac")
                    .await
                    .unwrap()
            );
        }
        // Both, in credential-id order, each with its user (what the MAC binds).
        let mut want = vec![(a.recovery, a.user), (b.recovery, b.user)];
        want.sort();
        let page = store
            .stored_public_keys(PublicKeyTable::RecoveryCodes, None, false, 10)
            .await
            .unwrap();
        let got: Vec<_> = page.iter().map(|k| (k.holder, k.user)).collect();
        assert_eq!(got, want);
        assert_eq!(page[0].mac.as_deref(), Some(&b"rc mac"[..]));
        let rest = store
            .stored_public_keys(
                PublicKeyTable::RecoveryCodes,
                Some((want[0].0, 0)),
                false,
                1,
            )
            .await
            .unwrap();
        assert_eq!(
            rest.iter().map(|k| k.holder).collect::<Vec<_>>(),
            [want[1].0]
        );
        assert!(
            store
                .stored_public_keys(PublicKeyTable::RecoveryCodes, None, true, 10)
                .await
                .unwrap()
                .is_empty()
        );

        // Written over the key and MAC as read, once; not over another user's slot.
        let key = page[0].clone();
        let elsewhere = StoredPublicKey {
            user: page[1].user,
            ..key.clone()
        };
        assert!(
            !store
                .replace_public_key_mac(&elsewhere, b"hsm")
                .await
                .unwrap()
        );
        assert!(
            store
                .replace_public_key_mac(&key, b"hsm mac")
                .await
                .unwrap()
        );
        assert!(!store.replace_public_key_mac(&key, b"again").await.unwrap());
        let now = store
            .stored_public_keys(PublicKeyTable::RecoveryCodes, None, false, 10)
            .await
            .unwrap();
        assert_eq!(now[0].mac.as_deref(), Some(&b"hsm mac"[..]));
        assert_eq!(now[1].mac.as_deref(), Some(&b"rc mac"[..]));
    }
);
