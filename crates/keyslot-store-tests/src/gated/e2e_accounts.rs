//! [`Gated`] over the end-to-end account methods: passed straight through (none is gated).

use async_trait::async_trait;
use keyslot_core::e2e_store::{
    E2eAccountStore, E2eIdentity, E2ePasswordChange, E2eRecoveryRecord, NewE2eAccount, PinRecord,
};
use keyslot_core::model::AuditEvent;
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use super::Gated;

#[async_trait]
impl E2eAccountStore for Gated {
    async fn create_e2e_account(&self, account: NewE2eAccount) -> StoreResult<()> {
        self.inner.create_e2e_account(account).await
    }
    async fn e2e_identity(&self, user: &Id) -> StoreResult<Option<E2eIdentity>> {
        self.inner.e2e_identity(user).await
    }
    async fn set_session_unlock(
        &self,
        session: &Id,
        unlock_id: &Id,
        wrapped_user_key: &[u8],
    ) -> StoreResult<()> {
        self.inner
            .set_session_unlock(session, unlock_id, wrapped_user_key)
            .await
    }
    async fn session_unlock(&self, session: &Id) -> StoreResult<Option<(Id, Vec<u8>)>> {
        self.inner.session_unlock(session).await
    }
    async fn put_pin(&self, pin: PinRecord, audit: AuditEvent) -> StoreResult<()> {
        self.inner.put_pin(pin, audit).await
    }
    async fn pins(&self, user: &Id) -> StoreResult<Vec<PinRecord>> {
        self.inner.pins(user).await
    }
    async fn change_password_e2e(&self, change: E2ePasswordChange) -> StoreResult<()> {
        self.inner.change_password_e2e(change).await
    }
    async fn recover_e2e(&self, recovery: E2eRecoveryRecord) -> StoreResult<()> {
        self.inner.recover_e2e(recovery).await
    }
}
