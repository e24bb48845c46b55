//! [`Gated`] over the key-lifecycle methods: grant conversions and rotations can be held
//! at the barrier like the other gated calls, so races with them meet in the database.

use async_trait::async_trait;
use keyslot_core::keystore::{
    ChainLink, Grant, Holder, KeyStore, PublicHolder, Revoked, Rotation, VaultAccess,
};
use keyslot_core::memberstore::NewMember;
use keyslot_core::model::{AuditEvent, ItemRecord, Timestamp, TokenVaultSlot, VaultRecord};
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use super::{Gate, Gated};

#[async_trait]
impl KeyStore for Gated {
    async fn vault_access(
        &self,
        owner: &Id,
        vault: &Id,
        holder: Holder,
    ) -> StoreResult<Option<VaultAccess>> {
        self.inner.vault_access(owner, vault, holder).await
    }
    async fn chain_links(
        &self,
        vault: &Id,
        from: u32,
        down_to: u32,
    ) -> StoreResult<Vec<ChainLink>> {
        self.hook(Gate::ChainLinks).await?;
        self.inner.chain_links(vault, from, down_to).await
    }
    async fn newest_grant(&self, holder: Holder, vault: &Id) -> StoreResult<Option<Grant>> {
        self.inner.newest_grant(holder, vault).await
    }
    async fn convert_grant(&self, grant: &Grant, wrapped: Vec<u8>) -> StoreResult<bool> {
        self.gate(Gate::ConvertGrant).await;
        self.inner.convert_grant(grant, wrapped).await
    }
    async fn rotation_holders(&self, vault: &Id, now: Timestamp) -> StoreResult<Vec<PublicHolder>> {
        self.inner.rotation_holders(vault, now).await
    }
    async fn rotate_vault(&self, rotation: Rotation) -> StoreResult<()> {
        self.gate(Gate::RotateVault).await;
        self.hook(Gate::RotateVault).await?;
        self.inner.rotate_vault(rotation).await
    }
    async fn revoke_token(&self, user: &Id, token: &Id, audit: AuditEvent) -> StoreResult<Revoked> {
        self.inner.revoke_token(user, token, audit).await
    }
    async fn items_to_rewrap(
        &self,
        vault: &Id,
        below: u32,
        limit: u32,
    ) -> StoreResult<Vec<ItemRecord>> {
        self.inner.items_to_rewrap(vault, below, limit).await
    }
    async fn rewrap_items(
        &self,
        vault: &Id,
        to_version: u32,
        items: &[(ItemRecord, u32)],
    ) -> StoreResult<u64> {
        self.inner.rewrap_items(vault, to_version, items).await
    }
    async fn user_key_rotation_due(&self, user: &Id, now: Timestamp) -> StoreResult<bool> {
        self.inner.user_key_rotation_due(user, now).await
    }
    async fn star_tokens(&self, user: &Id, now: Timestamp) -> StoreResult<Vec<PublicHolder>> {
        self.inner.star_tokens(user, now).await
    }
    async fn create_vault_granted(
        &self,
        vault: VaultRecord,
        grants: Vec<Grant>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.gate(Gate::StarTokens).await;
        self.inner.create_vault_granted(vault, grants, audit).await
    }
    async fn add_member_granted(
        &self,
        member: NewMember,
        token_grants: Vec<Grant>,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.inner
            .add_member_granted(member, token_grants, now)
            .await
    }
    async fn missing_star_slots(
        &self,
        user: &Id,
        now: Timestamp,
    ) -> StoreResult<Vec<(PublicHolder, Id)>> {
        self.inner.missing_star_slots(user, now).await
    }
    async fn grant_missing_star_slots(
        &self,
        user: &Id,
        grants: Vec<Grant>,
        now: Timestamp,
    ) -> StoreResult<u64> {
        self.inner.grant_missing_star_slots(user, grants, now).await
    }
    async fn convert_legacy_token(
        &self,
        token: &Id,
        slots: Vec<TokenVaultSlot>,
    ) -> StoreResult<bool> {
        self.gate(Gate::StarTokens).await;
        self.inner.convert_legacy_token(token, slots).await
    }
}
