//! [`Shipping`]: a [`Store`] that passes every call through and appends the audit events
//! of the calls that succeeded to the [`AuditLog`]. Generated from the `Store` trait's
//! signatures: a method that takes an `AuditEvent` (or a `NewAccount`/`NewLogin`, which
//! carry one) ships it after the call returns `Ok`; `append_audit` ships its batch; every
//! other method only passes through.

use std::sync::Arc;

use async_trait::async_trait;
use keyslot_core::model::{
    AuditEvent, ItemRecord, RecoveryRecord, SessionRecord, Timestamp, TokenRead, TokenRecord,
    TokenVaultSlot, UserRecord, VaultRecord,
};
use keyslot_core::store::{
    Admission, AttemptLimit, AuditFilter, NewAccount, NewLogin, PasswordSlotReseal, Store,
    StoreResult, StoredPasswordSlot, Swept,
};
use keyslot_crypto::Id;

use super::AuditLog;

mod client_items;
mod deposits;
mod e2e_accounts;
mod e2e_lifecycle;
mod keys;
mod members;
mod public_keys;
mod user_keys;

/// A store whose committed audit events are also appended to an [`AuditLog`].
#[derive(Debug)]
pub struct Shipping {
    inner: Arc<dyn Store>,
    log: Arc<AuditLog>,
}

impl Shipping {
    /// Wrap `inner`, shipping to `log`.
    pub fn new(inner: Arc<dyn Store>, log: Arc<AuditLog>) -> Self {
        Self { inner, log }
    }
}

#[async_trait]
impl Store for Shipping {
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.inner.meta(key).await
    }

    async fn init_meta(&self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
        self.inner.init_meta(key, value).await
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<()> {
        let event = account.audit.clone();
        self.inner.create_account(account).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        self.inner.user_by_name(username).await
    }

    async fn user(&self, id: &Id) -> StoreResult<Option<UserRecord>> {
        self.inner.user(id).await
    }

    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        self.inner.users().await
    }

    async fn set_user_disabled(
        &self,
        user: &Id,
        disabled_at: Option<Timestamp>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let event = audit.clone();
        self.inner
            .set_user_disabled(user, disabled_at, audit)
            .await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn recovery(&self, user: &Id) -> StoreResult<Option<RecoveryRecord>> {
        self.inner.recovery(user).await
    }

    async fn admit_attempt(
        &self,
        limits: &[AttemptLimit],
        now: Timestamp,
    ) -> StoreResult<Admission> {
        self.inner.admit_attempt(limits, now).await
    }

    async fn attempt_succeeded(&self, clear: &[&[u8]], refund: &[u8]) -> StoreResult<()> {
        self.inner.attempt_succeeded(clear, refund).await
    }

    async fn clear_attempt_counters(&self) -> StoreResult<u64> {
        self.inner.clear_attempt_counters().await
    }

    async fn record_login(&self, login: NewLogin) -> StoreResult<()> {
        let event = login.audit.clone();
        self.inner.record_login(login).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn session(&self, id: &Id) -> StoreResult<Option<SessionRecord>> {
        self.inner.session(id).await
    }

    async fn touch_session(&self, id: &Id, at: Timestamp) -> StoreResult<()> {
        self.inner.touch_session(id, at).await
    }

    async fn delete_session(&self, id: &Id, audit: AuditEvent) -> StoreResult<()> {
        let event = audit.clone();
        self.inner.delete_session(id, audit).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn change_password(
        &self,
        user: &Id,
        expected_password_slot: Option<&[u8]>,
        password_slot: Vec<u8>,
        end_other_sessions: bool,
        keep_session: Option<&Id>,
        revoke_tokens: bool,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let event = audit.clone();
        self.inner
            .change_password(
                user,
                expected_password_slot,
                password_slot,
                end_other_sessions,
                keep_session,
                revoke_tokens,
                audit,
            )
            .await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn recover(
        &self,
        user: &Id,
        expected_recovery: &Id,
        expected_public_key: Option<&[u8]>,
        password_slot: Vec<u8>,
        recovery: RecoveryRecord,
        revoke_tokens: bool,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let event = audit.clone();
        self.inner
            .recover(
                user,
                expected_recovery,
                expected_public_key,
                password_slot,
                recovery,
                revoke_tokens,
                audit,
            )
            .await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn create_vault(&self, vault: VaultRecord, audit: AuditEvent) -> StoreResult<()> {
        let event = audit.clone();
        self.inner.create_vault(vault, audit).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn vaults(&self, user: &Id) -> StoreResult<Vec<VaultRecord>> {
        self.inner.vaults(user).await
    }

    async fn vault(&self, user: &Id, vault: &Id) -> StoreResult<Option<VaultRecord>> {
        self.inner.vault(user, vault).await
    }

    async fn items(&self, user: &Id, vault: &Id) -> StoreResult<Vec<ItemRecord>> {
        self.inner.items(user, vault).await
    }

    async fn item(&self, user: &Id, vault: &Id, item: &Id) -> StoreResult<Option<ItemRecord>> {
        self.inner.item(user, vault, item).await
    }

    async fn item_with_vault_key(
        &self,
        user: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<(u32, Vec<u8>, ItemRecord)>> {
        self.inner.item_with_vault_key(user, vault, item).await
    }

    async fn item_with_token_slot(
        &self,
        token: &Id,
        user: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<(TokenVaultSlot, ItemRecord)>> {
        self.inner
            .item_with_token_slot(token, user, vault, item)
            .await
    }

    async fn token_read(
        &self,
        token: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<TokenRead>> {
        self.inner.token_read(token, vault, item).await
    }

    async fn create_item(&self, item: ItemRecord, audit: AuditEvent) -> StoreResult<()> {
        let event = audit.clone();
        self.inner.create_item(item, audit).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn update_item(&self, item: ItemRecord, audit: AuditEvent) -> StoreResult<()> {
        let event = audit.clone();
        self.inner.update_item(item, audit).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn delete_item(
        &self,
        user: &Id,
        vault: &Id,
        item: &Id,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let event = audit.clone();
        self.inner.delete_item(user, vault, item, audit).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn create_token(
        &self,
        token: TokenRecord,
        slots: Vec<TokenVaultSlot>,
        session: Option<&Id>,
        expected_user_public_key: Option<&[u8]>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let event = audit.clone();
        self.inner
            .create_token(token, slots, session, expected_user_public_key, audit)
            .await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn token(&self, id: &Id) -> StoreResult<Option<TokenRecord>> {
        self.inner.token(id).await
    }

    async fn token_vault_slot(
        &self,
        token: &Id,
        vault: &Id,
    ) -> StoreResult<Option<TokenVaultSlot>> {
        self.inner.token_vault_slot(token, vault).await
    }

    async fn token_vault_slots(&self, token: &Id) -> StoreResult<Vec<TokenVaultSlot>> {
        self.inner.token_vault_slots(token).await
    }

    async fn tokens(&self, user: &Id) -> StoreResult<Vec<TokenRecord>> {
        self.inner.tokens(user).await
    }

    async fn delete_token(&self, user: &Id, token: &Id, audit: AuditEvent) -> StoreResult<()> {
        let event = audit.clone();
        self.inner.delete_token(user, token, audit).await?;
        self.log.write(std::slice::from_ref(&event));
        Ok(())
    }

    async fn mark_tokens_used(&self, uses: &[(Id, Timestamp)]) -> StoreResult<()> {
        self.inner.mark_tokens_used(uses).await
    }

    async fn count_tokens_expiring(&self, now: Timestamp, until: Timestamp) -> StoreResult<u64> {
        self.inner.count_tokens_expiring(now, until).await
    }

    async fn sweep_expired(&self, now: Timestamp, idle_before: Timestamp) -> StoreResult<Swept> {
        self.inner.sweep_expired(now, idle_before).await
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        self.inner.append_audit(events).await?;
        self.log.write(events);
        Ok(())
    }

    async fn audit_events(&self, user: &Id, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        self.inner.audit_events(user, limit).await
    }

    async fn audit_page(
        &self,
        user: &Id,
        filter: &AuditFilter,
    ) -> StoreResult<Vec<(i64, AuditEvent)>> {
        self.inner.audit_page(user, filter).await
    }

    async fn password_slots(
        &self,
        after: Option<&Id>,
        limit: u32,
    ) -> StoreResult<Vec<StoredPasswordSlot>> {
        self.inner.password_slots(after, limit).await
    }

    async fn reseal_password_slots(&self, reseals: &[PasswordSlotReseal]) -> StoreResult<u64> {
        self.inner.reseal_password_slots(reseals).await
    }
}
