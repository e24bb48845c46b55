//! The re-wrap: items under older vault key versions moved to the newest, one bounded
//! batch at a time, by the requests of holders of the current key (after each write, and
//! after an explicit rotation). Resumable by construction: each batch is one transaction
//! that commits only under the current version and only over rows unchanged since they
//! were read, so a crash, a concurrent write or a rotation in between loses nothing and
//! the next batch starts where the data says.
//!
//! An item's name and value are bound (AAD) to the key version that wraps their item key,
//! so moving an item re-seals it under a fresh item key at the same item version: the
//! content key of a version is never used under two contexts.

use keyslot_crypto::{ContentKey, Envelope, Purpose};

use super::Keyslot;
use super::items::{content_aad, open_item_key, open_text, seal_item};
use super::lifecycle::KeyRing;
use crate::store::StoreError;
use crate::{Error, Result};

impl Keyslot {
    /// One batch of the vault's re-wrap, if anything is left under an older version. A
    /// failure is logged and left for the next batch: the write this follows has already
    /// committed, and nothing a batch does is needed for reading.
    pub(super) async fn advance_rewrap(&self, ring: &mut KeyRing) {
        if !ring.state.rewrap_pending || self.config.rewrap_batch == 0 {
            return;
        }
        match self.rewrap_batch(ring).await {
            Ok(moved) => tracing::debug!(vault = %ring.current.id, moved, "re-wrap batch"),
            Err(e) => {
                tracing::warn!(vault = %ring.current.id, error = %e, "re-wrap batch failed; the next one retries")
            }
        }
    }

    async fn rewrap_batch(&self, ring: &mut KeyRing) -> Result<u64> {
        let (vault, owner, top) = (ring.current.id, ring.owner, ring.current.key_version);
        let records = self
            .store
            .items_to_rewrap(&vault, top, self.config.rewrap_batch)
            .await?;
        let mut moved = Vec::with_capacity(records.len());
        for record in records {
            let Some(key) = open_item_key(&owner, ring, self, &record).await? else {
                // Moved meanwhile by another request's batch.
                continue;
            };
            let name = open_text(
                &key,
                &content_aad(Purpose::ItemName, &owner, &record),
                &record.name,
            )?;
            let value = key.open_content(
                &content_aad(Purpose::ItemValue, &owner, &record),
                &Envelope::from_bytes(&record.value)?,
            )?;
            let resealed = seal_item(
                &owner,
                &ring.current,
                record.id,
                record.version,
                &name,
                &value,
                record.created_at,
                record.updated_at,
            )?;
            moved.push((resealed, record.key_version));
        }
        // Even an empty batch commits: it drops the links nothing needs any more (the
        // last old item may have been rewritten by a write instead).
        match self.store.rewrap_items(&vault, top, &moved).await {
            Ok(n) => Ok(n),
            // Rotated meanwhile: the next batch moves them under the newer key.
            Err(StoreError::KeyVersionMoved) => Ok(0),
            Err(e) => Err(Error::from(e)),
        }
    }
}
