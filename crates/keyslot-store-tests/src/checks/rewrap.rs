//! The re-wrap: items under older key versions moved to the newest in batches that
//! commit only under the current version and only over rows unchanged since read; chain
//! links and grants go once nothing older needs them.

use keyslot_core::keystore::Holder;
use keyslot_core::model::ItemRecord;
use keyslot_core::store::StoreError;
use keyslot_crypto::Id;

use super::fixtures::{account, audit, item, mint_scoped};
use super::keys::rotation;

const LIVE: i64 = 50;

/// `record` as the re-wrap would write it under `version`.
fn moved(record: &ItemRecord, version: u32) -> (ItemRecord, u32) {
    let mut new = record.clone();
    new.key_version = version;
    new.wrapped_item_key = format!("ik under vk{version}").into_bytes();
    new.value = b"resealed".to_vec();
    (new, record.key_version)
}

check!(
    rewrap_moves_unchanged_items_and_drops_links_nothing_needs,
    |store| async move {
        let a = account(store.as_ref(), "yara").await;
        let token = mint_scoped(store.as_ref(), &a).await;
        let mut ids = Vec::new();
        for n in 0..3u8 {
            let mut it = item(&a, 1, &[n]);
            it.id = Id::random().unwrap();
            // Written while the token lives (it expires at 100): a write after that
            // finds the vault due and must rotate first.
            (it.created_at, it.updated_at) = (LIVE, LIVE);
            ids.push(it.id);
            store
                .create_item(it, audit(Some(&a.user), "item.create"))
                .await
                .unwrap();
        }
        store
            .rotate_vault(rotation(&a, 1, &[token], LIVE))
            .await
            .unwrap();
        store
            .rotate_vault(rotation(&a, 2, &[token], LIVE))
            .await
            .unwrap();
        assert_eq!(store.chain_links(&a.vault, 3, 1).await.unwrap().len(), 2);
        let batch = store.items_to_rewrap(&a.vault, 3, 2).await.unwrap();
        assert_eq!(batch.len(), 2, "bounded by the limit");
        // Under a version that is not current: refused, nothing moved.
        let stale: Vec<_> = batch.iter().map(|r| moved(r, 2)).collect();
        assert_eq!(
            store.rewrap_items(&a.vault, 2, &stale).await,
            Err(StoreError::KeyVersionMoved)
        );
        // One of the two is updated meanwhile: the re-wrap leaves it to the writer.
        let mut newer = batch[0].clone();
        newer.version = 2;
        newer.key_version = 3;
        store
            .update_item(newer, audit(Some(&a.user), "item.update"))
            .await
            .unwrap();
        let first: Vec<_> = batch.iter().map(|r| moved(r, 3)).collect();
        assert_eq!(store.rewrap_items(&a.vault, 3, &first).await.unwrap(), 1);
        let updated = store
            .item(&a.user, &a.vault, &batch[0].id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (updated.version, updated.value.as_slice()),
            (2, &batch[0].value[..])
        );
        // One item is still under version 1: every link is still needed.
        assert_eq!(store.chain_links(&a.vault, 3, 1).await.unwrap().len(), 2);
        assert!(
            store
                .vault_access(&a.user, &a.vault, Holder::User(a.user))
                .await
                .unwrap()
                .unwrap()
                .state
                .rewrap_pending
        );
        // The rest (resumed from what the data says is left), then nothing is left.
        let rest = store.items_to_rewrap(&a.vault, 3, 10).await.unwrap();
        assert_eq!(rest.len(), 1);
        let rest: Vec<_> = rest.iter().map(|r| moved(r, 3)).collect();
        assert_eq!(store.rewrap_items(&a.vault, 3, &rest).await.unwrap(), 1);
        assert!(
            store
                .items_to_rewrap(&a.vault, 3, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let state = store
            .vault_access(&a.user, &a.vault, Holder::User(a.user))
            .await
            .unwrap()
            .unwrap()
            .state;
        assert!(!state.rewrap_pending);
        assert!(
            store.chain_links(&a.vault, 3, 1).await.unwrap().is_empty(),
            "no item under an older version: its links are gone"
        );
        let grant = store
            .newest_grant(Holder::Token(token), &a.vault)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(grant.key_version, 3, "the current version's grant stays");
        for id in &ids {
            let it = store.item(&a.user, &a.vault, id).await.unwrap().unwrap();
            assert_eq!(it.key_version, 3);
        }
    }
);
