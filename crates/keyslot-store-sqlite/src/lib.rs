//! # keyslot-store-sqlite
//!
//! Keyslot's [`Store`] over SQLite via sqlx: the zero-configuration default. WAL mode,
//! `synchronous = FULL` (an acknowledged write survives a power cut, not just a crash),
//! foreign keys on, and every multi-row change in one `BEGIN IMMEDIATE` transaction
//! (immediate, so two writers queue on the lock instead of failing on upgrade).
#![forbid(unsafe_code)]

mod rows;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use keyslot_core::model::{
    AuditEvent, Backoff, ItemRecord, RecoveryRecord, SessionRecord, Timestamp, TokenRead,
    TokenRecord, TokenVaultSlot, UserRecord, VaultRecord,
};
use keyslot_core::store::{NewAccount, Store, StoreError, StoreResult};
use keyslot_crypto::Id;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use rows::{blob, map_err};

/// Audit events per INSERT statement (7 parameters each, well under both databases' limits).
const AUDIT_CHUNK: usize = 500;

/// The embedded migrations of this backend.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Keyslot's SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Open (creating if missing) the database at `url` (`sqlite://path` or a path) and
    /// apply migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(map_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        Ok(Self { pool })
    }

    /// The underlying pool (for tests and maintenance).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A consistent copy of the live database at `path` (`VACUUM INTO`), safe while
    /// serving. `path` must not exist yet.
    pub async fn backup_into(&self, path: &std::path::Path) -> StoreResult<()> {
        let target = path
            .to_str()
            .ok_or(StoreError::Corrupt("backup path is not UTF-8"))?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)
    }
}

async fn insert_audit(tx: &mut Transaction<'static, Sqlite>, e: &AuditEvent) -> StoreResult<()> {
    sqlx::query("INSERT INTO audit_events (user_id, at, action, actor, outcome, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(e.user_id.map(|id| id.as_bytes().to_vec()))
        .bind(e.at)
        .bind(&e.action)
        .bind(&e.actor)
        .bind(e.outcome.as_str())
        .bind(&e.ip)
        .bind(&e.detail)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

async fn commit(tx: Transaction<'static, Sqlite>) -> StoreResult<()> {
    tx.commit().await.map_err(map_err)
}

/// Fail with `NotFound` when an UPDATE or DELETE touched no row.
fn touched(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)
            .map(|_| ())
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)
    }

    async fn init_meta(&self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let stored = sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        commit(tx).await?;
        Ok(stored)
    }

    async fn create_account(&self, a: NewAccount) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let u = &a.user;
        sqlx::query(
            "INSERT INTO users (id, username, username_key, created_at, password_credential, password_slot, \
             x25519_public, x25519_wrapped) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(blob(&u.id))
        .bind(&u.username)
        .bind(keyslot_core::policy::username_key(&u.username))
        .bind(u.created_at)
        .bind(blob(&u.password_credential))
        .bind(&u.password_slot)
        .bind(&u.x25519_public)
        .bind(&u.x25519_wrapped)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        put_recovery(&mut tx, &a.recovery).await?;
        insert_vault(&mut tx, &a.vault).await?;
        insert_audit(&mut tx, &a.audit).await?;
        commit(tx).await
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(rows::USER_SELECT_BY_NAME)
            .bind(keyslot_core::policy::username_key(username))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn user(&self, id: &Id) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(rows::USER_SELECT_BY_ID)
            .bind(blob(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        let rows = sqlx::query(rows::USER_SELECT_ALL)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(rows::user).collect()
    }

    async fn set_user_disabled(
        &self,
        user: &Id,
        disabled_at: Option<Timestamp>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let updated = sqlx::query("UPDATE users SET disabled_at = ? WHERE id = ?")
            .bind(disabled_at)
            .bind(blob(user))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        touched(updated.rows_affected())?;
        if disabled_at.is_some() {
            sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(blob(user))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn recovery(&self, user: &Id) -> StoreResult<Option<RecoveryRecord>> {
        let row = sqlx::query("SELECT user_id, credential_id, verifier, wrapped_user_key FROM recovery_slots WHERE user_id = ?")
            .bind(blob(user))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::recovery).transpose()
    }

    async fn ip_failures(&self, ip: &str, since: Timestamp) -> StoreResult<u32> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE ip = ? AND at >= ?")
                .bind(ip)
                .bind(since)
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn record_login_failure(
        &self,
        user: Option<&Id>,
        ip: &str,
        backoff: Backoff,
        audit: AuditEvent,
    ) -> StoreResult<Option<Timestamp>> {
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO login_failures (ip, at) VALUES (?, ?)")
            .bind(ip)
            .bind(audit.at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // Keep the table small: only the last hour matters to any budget.
        sqlx::query("DELETE FROM login_failures WHERE at < ?")
            .bind(audit.at - 3600)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let mut locked_until = None;
        if let Some(user) = user {
            let failures: i64 = sqlx::query_scalar("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins")
                .bind(blob(user))
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
            let lock = backoff.lock_secs(u32::try_from(failures).unwrap_or(u32::MAX));
            if lock > 0 {
                let until = audit.at + i64::try_from(lock).unwrap_or(i64::MAX / 2);
                sqlx::query("UPDATE users SET locked_until = ? WHERE id = ?")
                    .bind(until)
                    .bind(blob(user))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                locked_until = Some(until);
            }
        }
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await?;
        Ok(locked_until)
    }

    async fn record_login(
        &self,
        s: SessionRecord,
        upgraded: Option<Vec<u8>>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?")
            .bind(blob(&s.user_id))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if let Some(slot) = upgraded {
            sqlx::query("UPDATE users SET password_slot = ? WHERE id = ?")
                .bind(slot)
                .bind(blob(&s.user_id))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        sqlx::query(
            "INSERT INTO sessions (id, user_id, verifier, wrapped_user_key, created_at, last_seen_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(blob(&s.id))
        .bind(blob(&s.user_id))
        .bind(&s.verifier)
        .bind(&s.wrapped_user_key)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // Expired sessions of this user go while we hold the lock anyway.
        sqlx::query("DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?")
            .bind(blob(&s.user_id))
            .bind(s.created_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn session(&self, id: &Id) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query("SELECT s.id, s.user_id, s.verifier, s.wrapped_user_key, s.created_at, s.last_seen_at, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.disabled_at IS NULL AND s.id = ?")
            .bind(blob(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn touch_session(&self, id: &Id, at: Timestamp) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?")
            .bind(at)
            .bind(blob(id))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_session(&self, id: &Id, audit: AuditEvent) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(blob(id))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn change_password(
        &self,
        user: &Id,
        password_slot: Vec<u8>,
        end_other_sessions: bool,
        keep_session: Option<&Id>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let updated = sqlx::query("UPDATE users SET password_slot = ?, failed_logins = 0, locked_until = NULL WHERE id = ?")
            .bind(password_slot)
            .bind(blob(user))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        touched(updated.rows_affected())?;
        if end_other_sessions {
            sqlx::query("DELETE FROM sessions WHERE user_id = ? AND id IS NOT ?")
                .bind(blob(user))
                .bind(keep_session.map(blob))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn recover(
        &self,
        user: &Id,
        expected_recovery: &Id,
        password_slot: Vec<u8>,
        recovery: RecoveryRecord,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let current: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT credential_id FROM recovery_slots WHERE user_id = ?")
                .bind(blob(user))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        if current.as_deref() != Some(expected_recovery.as_bytes().as_slice()) {
            return Err(StoreError::Conflict);
        }
        sqlx::query("UPDATE users SET password_slot = ?, failed_logins = 0, locked_until = NULL WHERE id = ?")
            .bind(password_slot)
            .bind(blob(user))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        put_recovery(&mut tx, &recovery).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(blob(user))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn create_vault(&self, vault: VaultRecord, audit: AuditEvent) -> StoreResult<()> {
        let mut tx = self.write().await?;
        insert_vault(&mut tx, &vault).await?;
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn vaults(&self, user: &Id) -> StoreResult<Vec<VaultRecord>> {
        let rows = sqlx::query(rows::VAULT_SELECT_BY_USER)
            .bind(blob(user))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(rows::vault).collect()
    }

    async fn vault(&self, user: &Id, vault: &Id) -> StoreResult<Option<VaultRecord>> {
        let row = sqlx::query(rows::VAULT_SELECT_ONE)
            .bind(blob(vault))
            .bind(blob(user))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::vault).transpose()
    }

    async fn items(&self, user: &Id, vault: &Id) -> StoreResult<Vec<ItemRecord>> {
        let rows = sqlx::query(rows::ITEM_SELECT_BY_VAULT)
            .bind(blob(vault))
            .bind(blob(user))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(rows::item).collect()
    }

    async fn item(&self, user: &Id, vault: &Id, item: &Id) -> StoreResult<Option<ItemRecord>> {
        let row = sqlx::query(rows::ITEM_SELECT_ONE)
            .bind(blob(item))
            .bind(blob(vault))
            .bind(blob(user))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::item).transpose()
    }

    async fn item_with_vault_key(
        &self,
        user: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<(u32, Vec<u8>, ItemRecord)>> {
        let row = sqlx::query(
            "SELECT i.id, i.vault_id, i.user_id, i.version, i.key_version, i.wrapped_item_key, i.name, i.value, i.created_at, i.updated_at, v.key_version AS vault_key_version, v.wrapped_vault_key \
             FROM items i JOIN vaults v ON v.id = i.vault_id AND v.user_id = i.user_id \
             WHERE i.id = ? AND i.vault_id = ? AND i.user_id = ?",
        )
        .bind(blob(item))
        .bind(blob(vault))
        .bind(blob(user))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(rows::item_with_vault_key).transpose()
    }

    async fn item_with_token_slot(
        &self,
        token: &Id,
        user: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<(TokenVaultSlot, ItemRecord)>> {
        let row = sqlx::query(
            "SELECT i.id, i.vault_id, i.user_id, i.version, i.key_version, i.wrapped_item_key, i.name, i.value, i.created_at, i.updated_at, s.token_id, s.key_version AS slot_key_version, s.wrapped_vault_key \
             FROM items i JOIN token_vault_slots s ON s.vault_id = i.vault_id AND s.token_id = ? \
             WHERE i.id = ? AND i.vault_id = ? AND i.user_id = ?",
        )
        .bind(blob(token))
        .bind(blob(item))
        .bind(blob(vault))
        .bind(blob(user))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(rows::item_with_token_slot).transpose()
    }

    async fn token_read(
        &self,
        token: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<TokenRead>> {
        let row = sqlx::query(rows::TOKEN_READ)
            .bind(blob(vault))
            .bind(blob(vault))
            .bind(blob(item))
            .bind(blob(vault))
            .bind(blob(token))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(|r| rows::token_read(r, vault)).transpose()
    }

    async fn create_item(&self, i: ItemRecord, audit: AuditEvent) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO items (id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(blob(&i.id))
        .bind(blob(&i.vault_id))
        .bind(blob(&i.user_id))
        .bind(rows::version_to_db(i.version)?)
        .bind(i64::from(i.key_version))
        .bind(&i.wrapped_item_key)
        .bind(&i.name)
        .bind(&i.value)
        .bind(i.created_at)
        .bind(i.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn update_item(&self, i: ItemRecord, audit: AuditEvent) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let previous = rows::version_to_db(i.version.saturating_sub(1))?;
        let updated = sqlx::query(
            "UPDATE items SET version = ?, key_version = ?, wrapped_item_key = ?, name = ?, value = ?, updated_at = ? \
             WHERE id = ? AND vault_id = ? AND user_id = ? AND version = ?",
        )
        .bind(rows::version_to_db(i.version)?)
        .bind(i64::from(i.key_version))
        .bind(&i.wrapped_item_key)
        .bind(&i.name)
        .bind(&i.value)
        .bind(i.updated_at)
        .bind(blob(&i.id))
        .bind(blob(&i.vault_id))
        .bind(blob(&i.user_id))
        .bind(previous)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if updated.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM items WHERE id = ? AND vault_id = ? AND user_id = ?",
            )
            .bind(blob(&i.id))
            .bind(blob(&i.vault_id))
            .bind(blob(&i.user_id))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            return Err(if exists.is_some() {
                StoreError::Conflict
            } else {
                StoreError::NotFound
            });
        }
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn delete_item(
        &self,
        user: &Id,
        vault: &Id,
        item: &Id,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let deleted =
            sqlx::query("DELETE FROM items WHERE id = ? AND vault_id = ? AND user_id = ?")
                .bind(blob(item))
                .bind(blob(vault))
                .bind(blob(user))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        touched(deleted.rows_affected())?;
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn create_token(
        &self,
        t: TokenRecord,
        slots: Vec<TokenVaultSlot>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO tokens (id, user_id, name_key, name, verifier, can_write, wrapped_user_key, x25519_public, \
             created_at, expires_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(blob(&t.id))
        .bind(blob(&t.user_id))
        .bind(&t.name_key)
        .bind(&t.name)
        .bind(&t.verifier)
        .bind(t.can_write)
        .bind(&t.wrapped_user_key)
        .bind(&t.x25519_public)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.last_used_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        for s in &slots {
            sqlx::query("INSERT INTO token_vault_slots (token_id, vault_id, key_version, wrapped_vault_key) VALUES (?, ?, ?, ?)")
                .bind(blob(&s.token_id))
                .bind(blob(&s.vault_id))
                .bind(i64::from(s.key_version))
                .bind(&s.wrapped_vault_key)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn token(&self, id: &Id) -> StoreResult<Option<TokenRecord>> {
        let row = sqlx::query(rows::TOKEN_SELECT_ONE)
            .bind(blob(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::token).transpose()
    }

    async fn token_vault_slot(
        &self,
        token: &Id,
        vault: &Id,
    ) -> StoreResult<Option<TokenVaultSlot>> {
        let row = sqlx::query("SELECT token_id, vault_id, key_version, wrapped_vault_key FROM token_vault_slots WHERE token_id = ? AND vault_id = ?")
            .bind(blob(token))
            .bind(blob(vault))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(rows::token_slot).transpose()
    }

    async fn token_vault_slots(&self, token: &Id) -> StoreResult<Vec<TokenVaultSlot>> {
        let rows = sqlx::query("SELECT token_id, vault_id, key_version, wrapped_vault_key FROM token_vault_slots WHERE token_id = ? ORDER BY rowid")
            .bind(blob(token))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(rows::token_slot).collect()
    }

    async fn tokens(&self, user: &Id) -> StoreResult<Vec<TokenRecord>> {
        let rows = sqlx::query(rows::TOKEN_SELECT_BY_USER)
            .bind(blob(user))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(rows::token).collect()
    }

    async fn delete_token(&self, user: &Id, token: &Id, audit: AuditEvent) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let deleted = sqlx::query("DELETE FROM tokens WHERE id = ? AND user_id = ?")
            .bind(blob(token))
            .bind(blob(user))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        touched(deleted.rows_affected())?;
        insert_audit(&mut tx, &audit).await?;
        commit(tx).await
    }

    async fn mark_tokens_used(&self, uses: &[(Id, Timestamp)]) -> StoreResult<()> {
        let mut tx = self.write().await?;
        for (id, at) in uses {
            sqlx::query(
                "UPDATE tokens SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?",
            )
            .bind(at)
            .bind(blob(id))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        commit(tx).await
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        // One multi-row INSERT per chunk: the read path's audit events arrive in batches of
        // hundreds, and a statement per event costs more CPU than the reads themselves.
        for chunk in events.chunks(AUDIT_CHUNK) {
            let mut query = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO audit_events (user_id, at, action, actor, outcome, ip, detail) ",
            );
            query.push_values(chunk, |mut row, e| {
                row.push_bind(e.user_id.map(|id| id.as_bytes().to_vec()))
                    .push_bind(e.at)
                    .push_bind(e.action.clone())
                    .push_bind(e.actor.clone())
                    .push_bind(e.outcome.as_str())
                    .push_bind(e.ip.clone())
                    .push_bind(e.detail.clone());
            });
            query.build().execute(&self.pool).await.map_err(map_err)?;
        }
        Ok(())
    }

    async fn audit_events(&self, user: &Id, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query("SELECT user_id, at, action, actor, outcome, ip, detail FROM audit_events WHERE user_id = ? ORDER BY seq DESC LIMIT ?")
            .bind(blob(user))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(rows::audit).collect()
    }
}

async fn put_recovery(
    tx: &mut Transaction<'static, Sqlite>,
    r: &RecoveryRecord,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO recovery_slots (user_id, credential_id, verifier, wrapped_user_key) VALUES (?, ?, ?, ?) \
         ON CONFLICT (user_id) DO UPDATE SET credential_id = excluded.credential_id, verifier = excluded.verifier, \
         wrapped_user_key = excluded.wrapped_user_key",
    )
    .bind(blob(&r.user_id))
    .bind(blob(&r.credential_id))
    .bind(&r.verifier)
    .bind(&r.wrapped_user_key)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

async fn insert_vault(tx: &mut Transaction<'static, Sqlite>, v: &VaultRecord) -> StoreResult<()> {
    sqlx::query("INSERT INTO vaults (id, user_id, key_version, wrapped_vault_key, name, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(blob(&v.id))
        .bind(blob(&v.user_id))
        .bind(i64::from(v.key_version))
        .bind(&v.wrapped_vault_key)
        .bind(&v.name)
        .bind(v.created_at)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    Ok(())
}
