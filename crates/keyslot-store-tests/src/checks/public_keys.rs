//! Stored public keys in bulk: pages in key order (only those without a MAC, when asked),
//! and a MAC written only over the public key and MAC as they were read.

use keyslot_core::public_key_store::{PublicKeyTable, StoredPublicKey};

use super::fixtures::{account, mint_scoped};

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
