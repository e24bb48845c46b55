//! [`Shipping`] over the sharing methods: adding, re-roling and removing a member ship
//! their audit events once they have committed, like every other change's.

use async_trait::async_trait;
use keyslot_core::keystore::PublicHolder;
use keyslot_core::memberstore::{MemberRow, MemberStore, NewMember, Role};
use keyslot_core::model::AuditEvent;
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use super::Shipping;

#[async_trait]
impl MemberStore for Shipping {
    async fn member_vaults(&self, user: &Id) -> StoreResult<Vec<Id>> {
        self.inner.member_vaults(user).await
    }
    async fn members(&self, vault: &Id) -> StoreResult<Vec<MemberRow>> {
        self.inner.members(vault).await
    }
    async fn add_member(&self, member: NewMember) -> StoreResult<()> {
        let event = member.audit.clone();
        self.inner.add_member(member).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }
    async fn set_member_role(
        &self,
        vault: &Id,
        user: &Id,
        role: Role,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let event = audit.clone();
        self.inner.set_member_role(vault, user, role, audit).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }
    async fn remove_member(
        &self,
        vault: &Id,
        user: &Id,
        key_version: u32,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let event = audit.clone();
        self.inner
            .remove_member(vault, user, key_version, audit)
            .await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }
    async fn user_public_key(&self, user: &Id) -> StoreResult<Option<PublicHolder>> {
        self.inner.user_public_key(user).await
    }
    async fn vault_key_version(&self, vault: &Id) -> StoreResult<Option<u32>> {
        self.inner.vault_key_version(vault).await
    }
}
