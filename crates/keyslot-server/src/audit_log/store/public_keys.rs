//! [`Shipping`] over the bulk public-key methods: passed straight through (a MAC write is
//! no audited change).

use async_trait::async_trait;
use keyslot_core::public_key_store::{PublicKeyStore, PublicKeyTable, StoredPublicKey};
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use super::Shipping;

#[async_trait]
impl PublicKeyStore for Shipping {
    async fn stored_public_keys(
        &self,
        table: PublicKeyTable,
        after: Option<(Id, u32)>,
        missing_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<StoredPublicKey>> {
        self.inner
            .stored_public_keys(table, after, missing_only, limit)
            .await
    }
    async fn replace_public_key_mac(&self, key: &StoredPublicKey, mac: &[u8]) -> StoreResult<bool> {
        self.inner.replace_public_key_mac(key, mac).await
    }
}
