//! [`Gated`] over the user-key methods: plain pass-through (no gate), so the
//! conformance checks run against the wrapped store as against the bare one; storing a
//! recovery code's public key can be hooked ([`super::Gate::RecoveryPublicKey`]).

use async_trait::async_trait;
use keyslot_core::store::StoreResult;
use keyslot_core::user_key_store::{
    RecoveryKeys, Swapped, UserKeyHoldings, UserKeyStore, UserKeySwap,
};
use keyslot_crypto::Id;

use super::{Gate, Gated};

#[async_trait]
impl UserKeyStore for Gated {
    async fn user_key_holdings(&self, user: &Id) -> StoreResult<Option<UserKeyHoldings>> {
        self.inner.user_key_holdings(user).await
    }
    async fn swap_user_key(&self, swap: UserKeySwap) -> StoreResult<Swapped> {
        self.inner.swap_user_key(swap).await
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
        self.hook(Gate::RecoveryPublicKey).await?;
        self.inner
            .set_recovery_public_key(user, credential_id, public_key, public_key_mac)
            .await
    }
}
