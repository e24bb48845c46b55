//! [`Gated`] over the deposit methods: passed straight through (none is gated yet).

use async_trait::async_trait;
use keyslot_core::deposit_store::{DepositRecord, DepositStore, DepositTarget, ReaderCopy};
use keyslot_core::keystore::Holder;
use keyslot_core::model::{AuditEvent, ItemRecord, Timestamp, TokenRecord};
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use super::Gated;

#[async_trait]
impl DepositStore for Gated {
    async fn create_deposit_token(
        &self,
        token: TokenRecord,
        vaults: &[Id],
        session: Option<&Id>,
        expected_user_public_key: Option<&[u8]>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.hook(super::Gate::CreateToken).await?;
        self.inner
            .create_deposit_token(token, vaults, session, expected_user_public_key, audit)
            .await
    }
    async fn deposit_scope(&self, token: &Id) -> StoreResult<Vec<Id>> {
        self.inner.deposit_scope(token).await
    }
    async fn deposit_target(&self, token: &Id, vault: &Id) -> StoreResult<Option<DepositTarget>> {
        self.inner.deposit_target(token, vault).await
    }
    async fn create_deposit(
        &self,
        deposit: DepositRecord,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.inner.create_deposit(deposit, now, audit).await
    }
    async fn create_deposit_for_readers(
        &self,
        deposit: DepositRecord,
        copies: Vec<ReaderCopy>,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.inner
            .create_deposit_for_readers(deposit, copies, now, audit)
            .await
    }
    async fn vault_public_key(
        &self,
        vault: &Id,
        key_version: u32,
    ) -> StoreResult<Option<(Option<Vec<u8>>, Option<Vec<u8>>)>> {
        self.inner.vault_public_key(vault, key_version).await
    }
    async fn set_vault_public_key(
        &self,
        vault: &Id,
        key_version: u32,
        public_key: &[u8],
        mac: &[u8],
    ) -> StoreResult<()> {
        self.inner
            .set_vault_public_key(vault, key_version, public_key, mac)
            .await
    }
    async fn pending_deposits(
        &self,
        vault: &Id,
        reader: Holder,
        item: Option<&Id>,
        limit: u32,
    ) -> StoreResult<Vec<DepositRecord>> {
        self.inner
            .pending_deposits(vault, reader, item, limit)
            .await
    }
    async fn claim_deposit(&self, deposit: &Id, item: ItemRecord, token: &Id) -> StoreResult<bool> {
        self.inner.claim_deposit(deposit, item, token).await
    }
    async fn depositors(&self, vault: &Id) -> StoreResult<Vec<(Id, Id)>> {
        self.inner.depositors(vault).await
    }
}
