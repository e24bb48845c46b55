//! [`Gated`] over the sharing methods: plain pass-through (no gate yet), so the
//! conformance checks run against the wrapped store as against the bare one.

use async_trait::async_trait;
use keyslot_core::keystore::PublicHolder;
use keyslot_core::memberstore::{MemberRow, MemberStore, NewMember, Role};
use keyslot_core::model::AuditEvent;
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use super::Gated;

#[async_trait]
impl MemberStore for Gated {
    async fn member_vaults(&self, user: &Id) -> StoreResult<Vec<Id>> {
        self.inner.member_vaults(user).await
    }
    async fn members(&self, vault: &Id) -> StoreResult<Vec<MemberRow>> {
        self.inner.members(vault).await
    }
    async fn add_member(&self, member: NewMember) -> StoreResult<()> {
        self.inner.add_member(member).await
    }
    async fn set_member_role(
        &self,
        vault: &Id,
        user: &Id,
        role: Role,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.inner.set_member_role(vault, user, role, audit).await
    }
    async fn remove_member(
        &self,
        vault: &Id,
        user: &Id,
        key_version: u32,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.inner
            .remove_member(vault, user, key_version, audit)
            .await
    }
    async fn user_public_key(&self, user: &Id) -> StoreResult<Option<PublicHolder>> {
        self.inner.user_public_key(user).await
    }
    async fn vault_key_version(&self, vault: &Id) -> StoreResult<Option<u32>> {
        self.inner.vault_key_version(vault).await
    }
}
