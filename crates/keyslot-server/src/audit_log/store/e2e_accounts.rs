//! [`Shipping`] over the end-to-end account methods: an end-to-end sign-up's and a pin's
//! audit events are shipped once they committed, like every other change's.

use async_trait::async_trait;
use keyslot_core::e2e_store::{
    E2eAccountStore, E2eIdentity, E2ePasswordChange, E2eRecoveryRecord, NewE2eAccount, PinRecord,
};
use keyslot_core::model::AuditEvent;
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use super::Shipping;

#[async_trait]
impl E2eAccountStore for Shipping {
    async fn create_e2e_account(&self, account: NewE2eAccount) -> StoreResult<()> {
        let event = account.audit.clone();
        self.inner.create_e2e_account(account).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
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
        let event = audit.clone();
        self.inner.put_pin(pin, audit).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }
    async fn pins(&self, user: &Id) -> StoreResult<Vec<PinRecord>> {
        self.inner.pins(user).await
    }
    async fn change_password_e2e(&self, change: E2ePasswordChange) -> StoreResult<()> {
        let event = change.audit.clone();
        self.inner.change_password_e2e(change).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }
    async fn recover_e2e(&self, recovery: E2eRecoveryRecord) -> StoreResult<()> {
        let event = recovery.audit.clone();
        self.inner.recover_e2e(recovery).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }
}
