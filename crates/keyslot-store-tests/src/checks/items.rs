//! Items: versioned updates and the reads that join an item with its key.

use keyslot_core::store::StoreError;

use super::fixtures::{account, audit, id, item, mint_scoped, vault_record};

check!(item_update_is_compare_and_swap, |store| async move {
    let a = account(store.as_ref(), "mallory").await;
    store
        .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
        .await
        .unwrap();
    store
        .update_item(item(&a, 2, b"v2"), audit(Some(&a.user), "item.update"))
        .await
        .unwrap();
    assert_eq!(
        store
            .update_item(item(&a, 2, b"stale"), audit(Some(&a.user), "item.update"))
            .await,
        Err(StoreError::Conflict)
    );
    let got = store
        .item(&a.user, &a.vault, &item(&a, 1, b"").id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.version, got.value), (2, b"v2".to_vec()));
    let mut missing = item(&a, 2, b"x");
    missing.id = id();
    assert_eq!(
        store
            .update_item(missing, audit(Some(&a.user), "item.update"))
            .await,
        Err(StoreError::NotFound)
    );
});

check!(
    reads_join_an_item_with_the_key_that_opens_it,
    |store| async move {
        let a = account(store.as_ref(), "victor").await;
        let b = account(store.as_ref(), "wanda").await;
        store
            .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
            .await
            .unwrap();
        let it = item(&a, 1, b"");
        let (kv, wrapped, got) = store
            .item_with_vault_key(&a.user, &a.vault, &it.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (kv, wrapped.as_slice(), got.value.as_slice()),
            (1, b"wrapped vk".as_slice(), b"v1".as_slice())
        );
        assert!(
            store
                .item_with_vault_key(&b.user, &a.vault, &it.id)
                .await
                .unwrap()
                .is_none(),
            "another user's item"
        );
        assert!(
            store
                .item_with_vault_key(&a.user, &b.vault, &it.id)
                .await
                .unwrap()
                .is_none(),
            "wrong vault"
        );

        let t = mint_scoped(store.as_ref(), &a).await;
        let (slot, got) = store
            .item_with_token_slot(&t, &a.user, &a.vault, &it.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (slot.wrapped_vault_key.as_slice(), got.id),
            (b"t slot".as_slice(), it.id)
        );
        let extra = id();
        store
            .create_vault(
                vault_record(&a.user, extra),
                audit(Some(&a.user), "vault.create"),
            )
            .await
            .unwrap();
        let mut other = item(&a, 1, b"elsewhere");
        other.id = id();
        other.vault_id = extra;
        store
            .create_item(other.clone(), audit(Some(&a.user), "item.create"))
            .await
            .unwrap();
        assert!(
            store
                .item_with_token_slot(&t, &a.user, &extra, &other.id)
                .await
                .unwrap()
                .is_none(),
            "no slot, no item"
        );
        assert!(
            store
                .item_with_token_slot(&t, &b.user, &a.vault, &it.id)
                .await
                .unwrap()
                .is_none(),
            "another user"
        );
    }
);
