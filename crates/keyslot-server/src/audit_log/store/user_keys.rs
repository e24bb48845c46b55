//! [`Shipping`] over the user-key methods: a user-key rotation's audit event is shipped
//! once its swap has committed, like every other change's.

use async_trait::async_trait;
use keyslot_core::store::StoreResult;
use keyslot_core::user_key_store::{
    RecoveryKeys, Swapped, UserKeyHoldings, UserKeyStore, UserKeySwap,
};
use keyslot_crypto::Id;

use super::Shipping;

#[async_trait]
impl UserKeyStore for Shipping {
    async fn user_key_holdings(&self, user: &Id) -> StoreResult<Option<UserKeyHoldings>> {
        self.inner.user_key_holdings(user).await
    }
    async fn swap_user_key(&self, swap: UserKeySwap) -> StoreResult<Swapped> {
        let event = swap.audit.clone();
        let swapped = self.inner.swap_user_key(swap).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(swapped)
    }
    async fn recovery_keys(&self, user: &Id) -> StoreResult<Option<RecoveryKeys>> {
        self.inner.recovery_keys(user).await
    }
    async fn set_recovery_public_key(
        &self,
        user: &Id,
        credential_id: &Id,
        public_key: &[u8],
        public_key_mac: &[u8],
    ) -> StoreResult<bool> {
        self.inner
            .set_recovery_public_key(user, credential_id, public_key, public_key_mac)
            .await
    }
}
