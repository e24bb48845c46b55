//! [`Gated`] over the end-to-end item methods: passed straight through (none is gated).

use async_trait::async_trait;
use keyslot_core::client_store::{ClientStore, ClientTokenRead, RawItem, SignedVaultKey};
use keyslot_core::keystore::Grant;
use keyslot_core::model::{AuditEvent, TokenRecord, TokenVaultSlot, VaultRecord};
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use super::Gated;

#[async_trait]
impl ClientStore for Gated {
    async fn raw_items(
        &self,
        owner: &Id,
        vault: &Id,
        name_indexes: &[Vec<u8>],
    ) -> StoreResult<Vec<RawItem>> {
        self.inner.raw_items(owner, vault, name_indexes).await
    }
    async fn raw_item(&self, owner: &Id, vault: &Id, item: &Id) -> StoreResult<Option<RawItem>> {
        self.inner.raw_item(owner, vault, item).await
    }
    async fn create_raw_item(&self, item: RawItem, audit: AuditEvent) -> StoreResult<()> {
        self.inner.create_raw_item(item, audit).await
    }
    async fn update_raw_item(&self, item: RawItem, audit: AuditEvent) -> StoreResult<()> {
        self.inner.update_raw_item(item, audit).await
    }
    async fn signed_vault_key(
        &self,
        vault: &Id,
        key_version: u32,
    ) -> StoreResult<Option<SignedVaultKey>> {
        self.inner.signed_vault_key(vault, key_version).await
    }
    async fn create_client_vault(
        &self,
        vault: VaultRecord,
        grants: Vec<Grant>,
        public_key: &[u8],
        mac: &[u8],
        signature: &[u8],
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.inner
            .create_client_vault(vault, grants, public_key, mac, signature, audit)
            .await
    }
    async fn create_client_token(
        &self,
        token: TokenRecord,
        slots: Vec<TokenVaultSlot>,
        deposit_vaults: &[Id],
        signature: &[u8],
        session: &Id,
        expected_user_public_key: &[u8],
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.inner
            .create_client_token(
                token,
                slots,
                deposit_vaults,
                signature,
                session,
                expected_user_public_key,
                audit,
            )
            .await
    }
    async fn client_token_read(
        &self,
        token: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<ClientTokenRead>> {
        self.inner.client_token_read(token, vault, item).await
    }
    async fn token_public_key_signature(&self, token: &Id) -> StoreResult<Option<Vec<u8>>> {
        self.inner.token_public_key_signature(token).await
    }
}
