//! # keyslot-store
//!
//! Keyslot's [`Store`], one implementation for both databases: SQLite (the
//! zero-configuration default) and PostgreSQL (many stateless instances on one database).
//! Every query and every row mapping is written once; what truly differs lives in
//! [`db`] (placeholders are `$1` in both; a handful of dialect words, the way a write
//! transaction begins, error codes) and in [`backend`] (connecting, migrations — each
//! backend has its own — and backups).
//!
//! Concurrency is made explicit in the statements themselves, the same on both: an item
//! update, a recovery and a token's last use are each one conditional statement, and a
//! failed-login count is an `UPDATE … RETURNING` that holds the row until commit. SQLite
//! serialises writers with `BEGIN IMMEDIATE`; PostgreSQL re-checks a conditional UPDATE's
//! `WHERE` on the row it waited for, so the loser of a race touches nothing.
//!
//! Every multi-row change is one transaction, together with the audit event that records
//! it: no crash leaves data that no credential can open, and no change goes unrecorded.
#![forbid(unsafe_code)]

mod accounts;
mod audit;
pub mod backend;
mod db;
mod deposit_readers;
mod deposits;
mod e2e_accounts;
mod e2e_items;
mod e2e_lifecycle;
mod items;
mod keys;
mod limits;
mod members;
mod meta;
mod public_keys;
mod rewrap;
mod rows;
mod sessions;
mod sqlite_read;
mod star_tokens;
mod sweep;
mod test_pause;
mod tokens;
mod user_key_deposits;
mod user_keys;
mod vaults;

use async_trait::async_trait;
use keyslot_core::model::{
    AuditEvent, ItemRecord, RecoveryRecord, SessionRecord, Timestamp, TokenRead, TokenRecord,
    TokenVaultSlot, UserRecord, VaultRecord,
};
use keyslot_core::store::{
    Admission, AttemptLimit, AuditFilter, NewAccount, NewLogin, Store, StoreResult, Swept,
};
use keyslot_crypto::Id;

pub use backend::{Backend, BackupError, Schema, open};

use db::{Pool, query, sql};

/// Keyslot's store over SQLite or PostgreSQL; made by [`open`], the one place that
/// chooses the backend from the database URL.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: Pool,
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        self.pool.execute(query(sql!("SELECT 1"))).await.map(|_| ())
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        meta::get(&self.pool, key).await
    }
    async fn init_meta(&self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
        meta::init(&self.pool, key, value).await
    }

    async fn create_account(&self, account: NewAccount) -> StoreResult<()> {
        accounts::create(&self.pool, account).await
    }
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        accounts::by_name(&self.pool, username).await
    }
    async fn user(&self, id: &Id) -> StoreResult<Option<UserRecord>> {
        accounts::by_id(&self.pool, id).await
    }
    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        accounts::all(&self.pool).await
    }
    async fn set_user_disabled(
        &self,
        user: &Id,
        disabled_at: Option<Timestamp>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        accounts::set_disabled(&self.pool, user, disabled_at, audit).await
    }
    async fn recovery(&self, user: &Id) -> StoreResult<Option<RecoveryRecord>> {
        accounts::recovery(&self.pool, user).await
    }

    async fn admit_attempt(
        &self,
        limits: &[AttemptLimit],
        now: Timestamp,
    ) -> StoreResult<Admission> {
        limits::admit(&self.pool, limits, now).await
    }
    async fn attempt_succeeded(&self, clear: &[&[u8]], refund: &[u8]) -> StoreResult<()> {
        limits::succeeded(&self.pool, clear, refund).await
    }
    async fn clear_attempt_counters(&self) -> StoreResult<u64> {
        limits::clear_all(&self.pool).await
    }
    async fn record_login(&self, login: NewLogin) -> StoreResult<()> {
        sessions::record_login(&self.pool, login).await
    }

    async fn session(&self, id: &Id) -> StoreResult<Option<SessionRecord>> {
        sessions::by_id(&self.pool, id).await
    }
    async fn touch_session(&self, id: &Id, at: Timestamp) -> StoreResult<()> {
        sessions::touch(&self.pool, id, at).await
    }
    async fn delete_session(&self, id: &Id, audit: AuditEvent) -> StoreResult<()> {
        sessions::delete(&self.pool, id, audit).await
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
        accounts::change_password(
            &self.pool,
            user,
            expected_password_slot,
            password_slot,
            end_other_sessions,
            keep_session,
            revoke_tokens,
            audit,
            None,
        )
        .await
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
        accounts::recover(
            &self.pool,
            user,
            expected_recovery,
            expected_public_key,
            password_slot,
            recovery,
            revoke_tokens,
            audit,
            None,
        )
        .await
    }

    async fn create_vault(&self, vault: VaultRecord, audit: AuditEvent) -> StoreResult<()> {
        vaults::create(&self.pool, vault, audit).await
    }
    async fn vaults(&self, user: &Id) -> StoreResult<Vec<VaultRecord>> {
        vaults::of_user(&self.pool, user).await
    }
    async fn vault(&self, user: &Id, vault: &Id) -> StoreResult<Option<VaultRecord>> {
        vaults::one(&self.pool, user, vault).await
    }

    async fn items(&self, user: &Id, vault: &Id) -> StoreResult<Vec<ItemRecord>> {
        items::of_vault(&self.pool, user, vault).await
    }
    async fn item(&self, user: &Id, vault: &Id, item: &Id) -> StoreResult<Option<ItemRecord>> {
        items::one(&self.pool, user, vault, item).await
    }
    async fn item_with_vault_key(
        &self,
        user: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<(u32, Vec<u8>, ItemRecord)>> {
        items::with_vault_key(&self.pool, user, vault, item).await
    }
    async fn item_with_token_slot(
        &self,
        token: &Id,
        user: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<(TokenVaultSlot, ItemRecord)>> {
        items::with_token_slot(&self.pool, token, user, vault, item).await
    }
    async fn token_read(
        &self,
        token: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<TokenRead>> {
        tokens::read(&self.pool, token, vault, item).await
    }
    async fn create_item(&self, item: ItemRecord, audit: AuditEvent) -> StoreResult<()> {
        items::create(&self.pool, item, audit).await
    }
    async fn update_item(&self, item: ItemRecord, audit: AuditEvent) -> StoreResult<()> {
        items::update(&self.pool, item, audit).await
    }
    async fn delete_item(
        &self,
        user: &Id,
        vault: &Id,
        item: &Id,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        items::delete(&self.pool, user, vault, item, audit).await
    }

    async fn create_token(
        &self,
        token: TokenRecord,
        slots: Vec<TokenVaultSlot>,
        session: Option<&Id>,
        expected_user_public_key: Option<&[u8]>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        tokens::create(
            &self.pool,
            token,
            slots,
            session,
            expected_user_public_key,
            audit,
        )
        .await
    }
    async fn token(&self, id: &Id) -> StoreResult<Option<TokenRecord>> {
        tokens::by_id(&self.pool, id).await
    }
    async fn token_vault_slot(
        &self,
        token: &Id,
        vault: &Id,
    ) -> StoreResult<Option<TokenVaultSlot>> {
        tokens::slot(&self.pool, token, vault).await
    }
    async fn token_vault_slots(&self, token: &Id) -> StoreResult<Vec<TokenVaultSlot>> {
        tokens::slots(&self.pool, token).await
    }
    async fn tokens(&self, user: &Id) -> StoreResult<Vec<TokenRecord>> {
        tokens::of_user(&self.pool, user).await
    }
    async fn delete_token(&self, user: &Id, token: &Id, audit: AuditEvent) -> StoreResult<()> {
        tokens::delete(&self.pool, user, token, audit).await
    }
    async fn mark_tokens_used(&self, uses: &[(Id, Timestamp)]) -> StoreResult<()> {
        tokens::mark_used(&self.pool, uses).await
    }
    async fn count_tokens_expiring(&self, now: Timestamp, until: Timestamp) -> StoreResult<u64> {
        tokens::count_expiring(&self.pool, now, until).await
    }

    async fn sweep_expired(&self, now: Timestamp, idle_before: Timestamp) -> StoreResult<Swept> {
        let swept = sweep::expired(&self.pool, now, idle_before).await?;
        if swept != Swept::default() {
            self.release_deleted_bytes().await?;
        }
        Ok(swept)
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        audit::append(&self.pool, events).await
    }
    async fn audit_events(&self, user: &Id, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        audit::events(&self.pool, user, limit).await
    }
    async fn audit_page(
        &self,
        user: &Id,
        filter: &AuditFilter,
    ) -> StoreResult<Vec<(i64, AuditEvent)>> {
        audit::page(&self.pool, user, filter).await
    }

    async fn password_slots(
        &self,
        after: Option<&Id>,
        limit: u32,
    ) -> StoreResult<Vec<keyslot_core::store::StoredPasswordSlot>> {
        accounts::password_slots(&self.pool, after, limit).await
    }
    async fn reseal_password_slots(
        &self,
        reseals: &[keyslot_core::store::PasswordSlotReseal],
    ) -> StoreResult<u64> {
        accounts::reseal_password_slots(&self.pool, reseals).await
    }
}
