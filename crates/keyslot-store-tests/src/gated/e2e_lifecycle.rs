//! [`Gated`] over the end-to-end sharing and rotation methods: passed straight through
//! (none is gated).

use async_trait::async_trait;
use keyslot_core::deposit_store::{DepositRecord, ReaderCopy};
use keyslot_core::e2e_lifecycle_store::{
    ClientRotation, DepositSender, E2eLifecycleStore, HolderSignature,
};
use keyslot_core::keystore::Grant;
use keyslot_core::memberstore::{NewMember, Role};
use keyslot_core::model::{AuditEvent, Timestamp};
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use super::Gated;

#[async_trait]
impl E2eLifecycleStore for Gated {
    async fn add_member_signed(
        &self,
        member: NewMember,
        token_grants: Vec<Grant>,
        members_signature: Vec<u8>,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.inner
            .add_member_signed(member, token_grants, members_signature, now)
            .await
    }
    async fn set_member_role_signed(
        &self,
        vault: &Id,
        user: &Id,
        role: Role,
        members_signature: Option<Vec<u8>>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.inner
            .set_member_role_signed(vault, user, role, members_signature, audit)
            .await
    }
    async fn members_signature(&self, vault: &Id) -> StoreResult<Option<Vec<u8>>> {
        self.inner.members_signature(vault).await
    }
    async fn holder_signatures(&self, vault: &Id) -> StoreResult<Vec<HolderSignature>> {
        self.inner.holder_signatures(vault).await
    }
    async fn rotate_vault_client(&self, rotation: ClientRotation) -> StoreResult<()> {
        self.inner.rotate_vault_client(rotation).await
    }
    async fn create_client_deposit(
        &self,
        deposit: DepositRecord,
        copies: Vec<ReaderCopy>,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.inner
            .create_client_deposit(deposit, copies, now, audit)
            .await
    }
    async fn deposit_sender(&self, deposit: &Id) -> StoreResult<Option<DepositSender>> {
        self.inner.deposit_sender(deposit).await
    }
}
