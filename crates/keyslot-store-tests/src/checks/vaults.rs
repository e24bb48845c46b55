//! Vaults: each user sees only their own, and the items in them.

use keyslot_core::store::StoreError;

use super::fixtures::{account, audit, id, item, vault_record};

check!(vaults_and_items_are_isolated_per_user, |store| async move {
    let a = account(store.as_ref(), "ivan").await;
    let b = account(store.as_ref(), "judy").await;
    let extra = id();
    store
        .create_vault(
            vault_record(&a.user, extra),
            audit(Some(&a.user), "vault.create"),
        )
        .await
        .unwrap();
    assert_eq!(store.vaults(&a.user).await.unwrap().len(), 2);
    assert!(
        store.vault(&b.user, &extra).await.unwrap().is_none(),
        "another user's vault is invisible"
    );
    store
        .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
        .await
        .unwrap();
    let it = item(&a, 1, b"v1");
    assert_eq!(
        store
            .item(&a.user, &a.vault, &it.id)
            .await
            .unwrap()
            .unwrap()
            .value,
        b"v1"
    );
    assert!(
        store
            .item(&b.user, &a.vault, &it.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.items(&b.user, &a.vault).await.unwrap().is_empty());
    assert_eq!(store.items(&a.user, &a.vault).await.unwrap().len(), 1);
    assert_eq!(
        store
            .delete_item(
                &b.user,
                &a.vault,
                &it.id,
                audit(Some(&b.user), "item.delete")
            )
            .await,
        Err(StoreError::NotFound)
    );
    store
        .delete_item(
            &a.user,
            &a.vault,
            &it.id,
            audit(Some(&a.user), "item.delete"),
        )
        .await
        .unwrap();
    assert!(
        store
            .item(&a.user, &a.vault, &it.id)
            .await
            .unwrap()
            .is_none()
    );
});
