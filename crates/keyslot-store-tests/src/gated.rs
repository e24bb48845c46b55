//! A store wrapper that forces concurrent calls to overlap.
//!
//! Spawning N tasks does not make them meet in the database: the first may well finish
//! its transaction before the last has started, and a store with a read-then-write race
//! passes. [`Gated`] holds each call of the gated methods at a barrier until all N have
//! arrived, then lets them into the real store together, so every check that races N
//! calls runs them side by side, every time.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use keyslot_core::model::{
    AuditEvent, ItemRecord, RecoveryRecord, SessionRecord, Timestamp, TokenRead, TokenRecord,
    TokenVaultSlot, UserRecord, VaultRecord,
};
use keyslot_core::store::{
    Admission, AttemptLimit, AuditFilter, NewAccount, NewLogin, Store, StoreResult, Swept,
};
use keyslot_crypto::Id;
use tokio::sync::{Barrier, Semaphore};

mod client_items;
mod deposits;
mod e2e_accounts;
mod e2e_lifecycle;
mod hooks;
mod keys;
mod members;
mod public_keys;
mod user_keys;

pub use hooks::HookFuture;

/// How long a gated call waits for the others. A check that makes fewer calls than the
/// gate's size would otherwise hang; this turns that mistake into a failure that says so.
const GATE_WAIT: Duration = Duration::from_secs(20);

/// A [`Store`] method a [`Gated`] store can hold back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// [`Store::ping`]: racing N pings makes a pooled store open N connections, so that
    /// the calls raced next meet in the database rather than queue for connections.
    Ping,
    /// [`Store::recover`] (also hooks).
    Recover,
    /// [`Store::change_password`] (hooks only).
    ChangePassword,
    /// [`Store::create_token`] and
    /// [`keyslot_core::deposit_store::DepositStore::create_deposit_token`] (hooks only;
    /// the former's barrier is [`Gate::StarTokens`]).
    CreateToken,
    /// [`keyslot_core::user_key_store::UserKeyStore::set_recovery_public_key`] (hooks
    /// only).
    RecoveryPublicKey,
    /// [`Store::update_item`].
    UpdateItem,
    /// [`Store::mark_tokens_used`].
    MarkTokensUsed,
    /// [`Store::admit_attempt`].
    AdmitAttempt,
    /// [`keyslot_core::keystore::KeyStore::convert_grant`].
    ConvertGrant,
    /// [`keyslot_core::keystore::KeyStore::rotate_vault`].
    RotateVault,
    /// [`Store::create_item`] (hooks only, see [`Gated::before`]).
    CreateItem,
    /// [`Store::delete_item`] (hooks only).
    DeleteItem,
    /// [`keyslot_core::keystore::KeyStore::chain_links`] (hooks only).
    ChainLinks,
    /// [`Store::user_by_name`] (hooks only: tests count the look-ups a request makes).
    UserByName,
    /// [`Store::recovery`] (hooks only, as [`Gate::UserByName`]).
    Recovery,
    /// What changes a user's `"*"` tokens or vaults: [`Store::create_token`],
    /// [`keyslot_core::keystore::KeyStore::create_vault_granted`] and
    /// [`keyslot_core::keystore::KeyStore::convert_legacy_token`].
    StarTokens,
}

/// A [`Store`] that delegates every call to `inner`, and holds calls of its gated methods
/// until `parties` of them are waiting, then releases them all at once (then the next
/// `parties`, and so on). Calls of other methods pass straight through.
///
/// Armed with [`Gated::hold_logins_until_password_change`], it also holds every
/// [`Store::record_login`] until a [`Store::change_password`] has committed: the
/// interleaving of a login that verified the old password and commits after the change.
#[derive(Debug)]
pub struct Gated {
    inner: Arc<dyn Store>,
    gates: Vec<Gate>,
    parties: usize,
    barrier: Barrier,
    logins: LoginHold,
    hooks: hooks::Hooks,
}

/// Logins held until a password change commits.
#[derive(Debug)]
struct LoginHold {
    armed: std::sync::atomic::AtomicBool,
    released: Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
}

impl Gated {
    /// Gate `gates` of `inner` in groups of `parties` calls.
    pub fn new(inner: Arc<dyn Store>, parties: usize, gates: &[Gate]) -> Self {
        Self {
            inner,
            gates: gates.to_vec(),
            parties,
            barrier: Barrier::new(parties),
            logins: LoginHold {
                armed: std::sync::atomic::AtomicBool::new(false),
                released: Semaphore::new(0),
                waiting: std::sync::atomic::AtomicUsize::new(0),
            },
            hooks: hooks::Hooks::default(),
        }
    }

    /// From now on, hold each `record_login` until a `change_password` has committed.
    pub fn hold_logins_until_password_change(&self) {
        self.logins.armed.store(true, Ordering::SeqCst);
    }

    /// How many logins are held now.
    pub fn held_logins(&self) -> usize {
        self.logins.waiting.load(Ordering::SeqCst)
    }

    async fn gate(&self, gate: Gate) {
        if !self.gates.contains(&gate) {
            return;
        }
        if tokio::time::timeout(GATE_WAIT, self.barrier.wait())
            .await
            .is_err()
        {
            panic!(
                "a gated {gate:?} call waited {GATE_WAIT:?} for the rest of its group of {}: \
                 the check made fewer calls than its gate's size",
                self.parties
            );
        }
    }
}

#[async_trait]
impl Store for Gated {
    async fn ping(&self) -> StoreResult<()> {
        self.gate(Gate::Ping).await;
        self.inner.ping().await
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.inner.meta(key).await
    }

    async fn init_meta(&self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
        self.inner.init_meta(key, value).await
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<()> {
        self.inner.create_account(account).await
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        self.hook(Gate::UserByName).await?;
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
        self.inner.set_user_disabled(user, disabled_at, audit).await
    }

    async fn recovery(&self, user: &Id) -> StoreResult<Option<RecoveryRecord>> {
        self.hook(Gate::Recovery).await?;
        self.inner.recovery(user).await
    }

    async fn admit_attempt(
        &self,
        limits: &[AttemptLimit],
        now: Timestamp,
    ) -> StoreResult<Admission> {
        self.gate(Gate::AdmitAttempt).await;
        self.hook(Gate::AdmitAttempt).await?;
        self.inner.admit_attempt(limits, now).await
    }

    async fn attempt_succeeded(&self, clear: &[&[u8]], refund: &[u8]) -> StoreResult<()> {
        self.inner.attempt_succeeded(clear, refund).await
    }

    async fn clear_attempt_counters(&self) -> StoreResult<u64> {
        self.inner.clear_attempt_counters().await
    }

    async fn record_login(&self, login: NewLogin) -> StoreResult<()> {
        if self.logins.armed.load(Ordering::SeqCst) {
            self.logins.waiting.fetch_add(1, Ordering::SeqCst);
            let permit = tokio::time::timeout(GATE_WAIT, self.logins.released.acquire()).await;
            self.logins.waiting.fetch_sub(1, Ordering::SeqCst);
            assert!(
                permit.is_ok(),
                "a held login waited {GATE_WAIT:?} for a password change that never came"
            );
        }
        self.inner.record_login(login).await
    }

    async fn session(&self, id: &Id) -> StoreResult<Option<SessionRecord>> {
        self.inner.session(id).await
    }

    async fn touch_session(&self, id: &Id, at: Timestamp) -> StoreResult<()> {
        self.inner.touch_session(id, at).await
    }

    async fn delete_session(&self, id: &Id, audit: AuditEvent) -> StoreResult<()> {
        self.inner.delete_session(id, audit).await
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
        self.hook(Gate::ChangePassword).await?;
        let changed = self
            .inner
            .change_password(
                user,
                expected_password_slot,
                password_slot,
                end_other_sessions,
                keep_session,
                revoke_tokens,
                audit,
            )
            .await;
        if self.logins.armed.load(Ordering::SeqCst) {
            // Release every held login, and any that come later.
            self.logins.released.add_permits(Semaphore::MAX_PERMITS / 2);
        }
        changed
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
        self.gate(Gate::Recover).await;
        self.hook(Gate::Recover).await?;
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
            .await
    }

    async fn create_vault(&self, vault: VaultRecord, audit: AuditEvent) -> StoreResult<()> {
        self.inner.create_vault(vault, audit).await
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
        self.hook(Gate::CreateItem).await?;
        self.inner.create_item(item, audit).await
    }

    async fn update_item(&self, item: ItemRecord, audit: AuditEvent) -> StoreResult<()> {
        self.gate(Gate::UpdateItem).await;
        self.hook(Gate::UpdateItem).await?;
        self.inner.update_item(item, audit).await
    }

    async fn delete_item(
        &self,
        user: &Id,
        vault: &Id,
        item: &Id,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.hook(Gate::DeleteItem).await?;
        self.inner.delete_item(user, vault, item, audit).await
    }

    async fn create_token(
        &self,
        token: TokenRecord,
        slots: Vec<TokenVaultSlot>,
        session: Option<&Id>,
        expected_user_public_key: Option<&[u8]>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        self.gate(Gate::StarTokens).await;
        self.hook(Gate::CreateToken).await?;
        self.inner
            .create_token(token, slots, session, expected_user_public_key, audit)
            .await
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
        self.inner.delete_token(user, token, audit).await
    }

    async fn mark_tokens_used(&self, uses: &[(Id, Timestamp)]) -> StoreResult<()> {
        self.gate(Gate::MarkTokensUsed).await;
        self.inner.mark_tokens_used(uses).await
    }

    async fn count_tokens_expiring(&self, now: Timestamp, until: Timestamp) -> StoreResult<u64> {
        self.inner.count_tokens_expiring(now, until).await
    }

    async fn sweep_expired(&self, now: Timestamp, idle_before: Timestamp) -> StoreResult<Swept> {
        self.inner.sweep_expired(now, idle_before).await
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        self.inner.append_audit(events).await
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
    ) -> StoreResult<Vec<keyslot_core::store::StoredPasswordSlot>> {
        self.inner.password_slots(after, limit).await
    }

    async fn reseal_password_slots(
        &self,
        reseals: &[keyslot_core::store::PasswordSlotReseal],
    ) -> StoreResult<u64> {
        self.inner.reseal_password_slots(reseals).await
    }
}
