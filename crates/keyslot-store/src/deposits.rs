//! Write-only deposit tokens and deposits ([`DepositStore`]): the token's scope, the vault
//! public keys deposits are sealed to, deposits waiting for a reader, and the mark of who
//! deposited an item.
//!
//! A deposit is checked against the vault under its row lock, shared (`FOR SHARE`; on
//! SQLite the write transaction excludes every other writer), like any write: it commits
//! before a rotation or after it, never across it, and never sealed to the vault's key
//! while the rotation is due (then it is sealed to the readers: `deposit_readers`).

use keyslot_core::deposit_store::{DepositRecord, DepositStore, DepositTarget, ReaderCopy};
use keyslot_core::keystore::Holder;
use keyslot_core::model::{AuditEvent, ItemRecord, Timestamp, TokenRecord};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Pool, RowRead, Tx, query, sql, touched};
use crate::{audit, rows};

pub(crate) fn u32_of(row: &dyn RowRead, column: &'static str) -> StoreResult<u32> {
    u32::try_from(row.int(column)?).map_err(|_| StoreError::Corrupt(column))
}

pub(crate) fn deposit(row: &dyn RowRead) -> StoreResult<DepositRecord> {
    Ok(DepositRecord {
        id: rows::id(row, "id")?,
        vault_id: rows::id(row, "vault_id")?,
        user_id: rows::id(row, "user_id")?,
        key_version: u32_of(row, "key_version")?,
        to_readers: row.flag("to_readers")?,
        sealed_item_key: row.bytes("sealed_item_key")?,
        name: row.bytes("name")?,
        value: row.bytes("value")?,
        token_id: rows::id(row, "token_id")?,
        created_at: row.int("created_at")?,
    })
}

/// A deposit token's mint; `signature` is the identity signature over its public key that
/// an end-to-end client sends (`None` in server mode), stored with the row.
pub(crate) async fn create_token(
    pool: &Pool,
    t: TokenRecord,
    vaults: &[Id],
    session: Option<&Id>,
    expected_user_public_key: Option<&[u8]>,
    signature: Option<&[u8]>,
    audit_event: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    if session.is_some() || expected_user_public_key.is_some() {
        // As every mint: the user's row first, then the minting session must still exist,
        // and the user key that wrapped the name key must still be the user's.
        let public_key = tx
            .optional(
                query(sql!("SELECT x25519_public FROM users WHERE id = $1" FOR_UPDATE))
                    .bind(&t.user_id),
                |r| r.bytes("x25519_public"),
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some(session) = session {
            crate::accounts::require_session(&mut tx, session).await?;
        }
        if expected_user_public_key.is_some_and(|expected| expected != public_key) {
            return Err(StoreError::KeyVersionMoved);
        }
    }
    tx.execute(
        query(sql!(
            "INSERT INTO tokens (id, user_id, name_key, name, verifier, can_write, deposit, wrapped_user_key, \
             x25519_public, public_key_mac, created_at, expires_at, last_used_at, public_key_signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, NULL, $12)"
        ))
        .bind(&t.id)
        .bind(&t.user_id)
        .bind(&t.name_key)
        .bind(&t.name)
        .bind(&t.verifier)
        .bind(false)
        .bind(true)
        .bind(&t.x25519_public)
        .bind(&t.public_key_mac)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(crate::db::Arg::Bytes(signature)),
    )
    .await?;
    for vault in vaults {
        // Only the user's own vaults; an id that names none writes nothing (NotFound).
        touched(
            tx.execute(
                query(sql!(
                    "INSERT INTO token_deposit_vaults (token_id, vault_id) \
                     SELECT $1, id FROM vaults WHERE id = $2 AND user_id = $3"
                ))
                .bind(&t.id)
                .bind(vault)
                .bind(&t.user_id),
            )
            .await?,
        )?;
    }
    audit::insert(&mut tx, &audit_event).await?;
    tx.commit().await
}

async fn scope(pool: &Pool, token: &Id) -> StoreResult<Vec<Id>> {
    pool.all(
        query(sql!(
            "SELECT vault_id FROM token_deposit_vaults WHERE token_id = $1 ORDER BY vault_id"
        ))
        .bind(token),
        |r| rows::id(r, "vault_id"),
    )
    .await
}

async fn target(pool: &Pool, token: &Id, vault: &Id) -> StoreResult<Option<DepositTarget>> {
    pool.optional(
        query(sql!(
            "SELECT v.user_id, v.key_version, v.rotation_due, v.rotate_due_at, k.public_key, k.public_key_mac \
             FROM token_deposit_vaults d JOIN vaults v ON v.id = d.vault_id \
             LEFT JOIN vault_keys k ON k.vault_id = v.id AND k.key_version = v.key_version \
             WHERE d.token_id = $1 AND d.vault_id = $2"
        ))
        .bind(token)
        .bind(vault),
        |r| {
            Ok(DepositTarget {
                owner: rows::id(r, "user_id")?,
                key_version: u32_of(r, "key_version")?,
                rotation_due: r.flag("rotation_due")?,
                rotate_due_at: r.opt_int("rotate_due_at")?,
                public_key: r.opt_bytes("public_key")?,
                public_key_mac: r.opt_bytes("public_key_mac")?,
            })
        },
    )
    .await
}

/// Under the vault's shared lock: still at `key_version`, not due at `now`, and that
/// version's public key is published.
async fn require_sealable(
    tx: &mut Tx,
    vault: &Id,
    key_version: u32,
    now: Timestamp,
) -> StoreResult<()> {
    let state = tx
        .optional(
            query(sql!(
                "SELECT key_version, rotation_due, rotate_due_at FROM vaults WHERE id = $1" FOR_SHARE
            ))
            .bind(vault),
            |r| {
                Ok((
                    u32_of(r, "key_version")?,
                    r.flag("rotation_due")?,
                    r.opt_int("rotate_due_at")?,
                ))
            },
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    let published = tx
        .optional(
            query(sql!(
                "SELECT public_key FROM vault_keys WHERE vault_id = $1 AND key_version = $2"
            ))
            .bind(vault)
            .bind(key_version),
            |r| Ok(r.opt_bytes("public_key")?.is_some()),
        )
        .await?
        .unwrap_or(false);
    let (current, due, due_at) = state;
    if current != key_version {
        return Err(StoreError::KeyVersionMoved);
    }
    if due || due_at.is_some_and(|at| at <= now) || !published {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

/// The deposit token is still live and the vault still in its scope (and its user still a
/// member who may write).
pub(crate) async fn require_depositor(
    tx: &mut Tx,
    token: &Id,
    vault: &Id,
    now: Timestamp,
) -> StoreResult<()> {
    tx.optional(
        query(sql!(
            "SELECT t.id FROM tokens t JOIN token_deposit_vaults d ON d.token_id = t.id \
             JOIN users u ON u.id = t.user_id \
             JOIN vault_members m ON m.vault_id = d.vault_id AND m.user_id = t.user_id \
             WHERE t.id = $1 AND d.vault_id = $2 AND t.deposit AND t.expires_at > $3 AND u.disabled_at IS NULL \
             AND m.role IN ('write', 'owner')"
        ))
        .bind(token)
        .bind(vault)
        .bind(now),
        |r| r.bytes("id"),
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(())
}

/// The deposit row itself (its copies, if sealed to readers, are written by the caller).
pub(crate) async fn insert(tx: &mut Tx, d: &DepositRecord) -> StoreResult<()> {
    tx.execute(
        query(sql!(
            "INSERT INTO deposits (id, vault_id, user_id, key_version, to_readers, sealed_item_key, name, value, token_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&d.id)
        .bind(&d.vault_id)
        .bind(&d.user_id)
        .bind(d.key_version)
        .bind(d.to_readers)
        .bind(&d.sealed_item_key)
        .bind(&d.name)
        .bind(&d.value)
        .bind(&d.token_id)
        .bind(d.created_at),
    )
    .await?;
    Ok(())
}

async fn create(
    pool: &Pool,
    d: DepositRecord,
    now: Timestamp,
    audit_event: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    create_in(&mut tx, &d, now, &audit_event).await?;
    tx.commit().await
}

/// [`create`]'s work inside `tx`, left uncommitted: an end-to-end deposit
/// (`crate::e2e_lifecycle`) keeps its sender's public key in the same transaction.
pub(crate) async fn create_in(
    tx: &mut Tx,
    d: &DepositRecord,
    now: Timestamp,
    audit_event: &AuditEvent,
) -> StoreResult<()> {
    if d.to_readers {
        // Sealed to no vault key: only `create_deposit_for_readers` stores those.
        return Err(StoreError::Conflict);
    }
    // The vault's lock first, so no removal of the depositor commits between the checks;
    // then a gone token is NotFound whatever the vault's state.
    tx.optional(
        query(sql!("SELECT id FROM vaults WHERE id = $1" FOR_SHARE)).bind(&d.vault_id),
        |r| r.bytes("id"),
    )
    .await?;
    require_depositor(tx, &d.token_id, &d.vault_id, now).await?;
    require_sealable(tx, &d.vault_id, d.key_version, now).await?;
    insert(tx, d).await?;
    audit::insert(tx, audit_event).await
}

async fn public_key(
    pool: &Pool,
    vault: &Id,
    key_version: u32,
) -> StoreResult<Option<(Option<Vec<u8>>, Option<Vec<u8>>)>> {
    pool.optional(
        query(sql!(
            "SELECT public_key, public_key_mac FROM vault_keys WHERE vault_id = $1 AND key_version = $2"
        ))
        .bind(vault)
        .bind(key_version),
        |r| Ok((r.opt_bytes("public_key")?, r.opt_bytes("public_key_mac")?)),
    )
    .await
}

async fn set_public_key(
    pool: &Pool,
    vault: &Id,
    key_version: u32,
    public_key: &[u8],
    mac: &[u8],
) -> StoreResult<()> {
    pool.execute(
        query(sql!(
            "UPDATE vault_keys SET public_key = $1, public_key_mac = $2 \
             WHERE vault_id = $3 AND key_version = $4 AND public_key IS NULL"
        ))
        .bind(public_key)
        .bind(mac)
        .bind(vault)
        .bind(key_version),
    )
    .await?;
    Ok(())
}

async fn claim(pool: &Pool, deposit_id: &Id, i: ItemRecord, token: &Id) -> StoreResult<bool> {
    let mut tx = pool.write().await?;
    crate::keys::require_current(&mut tx, &i.vault_id, i.key_version).await?;
    let deleted = tx
        .execute(
            query(sql!("DELETE FROM deposits WHERE id = $1 AND vault_id = $2"))
                .bind(deposit_id)
                .bind(&i.vault_id),
        )
        .await?;
    if deleted == 0 {
        // Another reader moved it (or the vault went): nothing to write. A deposit sealed
        // to its readers took every reader's copy with it (ON DELETE CASCADE).
        return Ok(false);
    }
    tx.execute(
        query(sql!(
            "INSERT INTO items (id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, created_at, updated_at, name_index) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&i.id)
        .bind(&i.vault_id)
        .bind(&i.user_id)
        .bind(rows::version_to_db(i.version)?)
        .bind(i.key_version)
        .bind(&i.wrapped_item_key)
        .bind(&i.name)
        .bind(&i.value)
        .bind(i.created_at)
        .bind(i.updated_at)
        .bind(&i.name_index),
    )
    .await?;
    tx.execute(
        query(sql!(
            "INSERT INTO item_depositors (item_id, vault_id, token_id) VALUES ($1, $2, $3)"
        ))
        .bind(&i.id)
        .bind(&i.vault_id)
        .bind(token),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

async fn depositors(pool: &Pool, vault: &Id) -> StoreResult<Vec<(Id, Id)>> {
    pool.all(
        query(sql!(
            "SELECT item_id, token_id FROM item_depositors WHERE vault_id = $1"
        ))
        .bind(vault),
        |r| Ok((rows::id(r, "item_id")?, rows::id(r, "token_id")?)),
    )
    .await
}

#[async_trait::async_trait]
impl DepositStore for crate::SqlStore {
    async fn create_deposit_token(
        &self,
        token: TokenRecord,
        vaults: &[Id],
        session: Option<&Id>,
        expected_user_public_key: Option<&[u8]>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        create_token(
            &self.pool,
            token,
            vaults,
            session,
            expected_user_public_key,
            None,
            audit,
        )
        .await
    }
    async fn deposit_scope(&self, token: &Id) -> StoreResult<Vec<Id>> {
        scope(&self.pool, token).await
    }
    async fn deposit_target(&self, token: &Id, vault: &Id) -> StoreResult<Option<DepositTarget>> {
        target(&self.pool, token, vault).await
    }
    async fn create_deposit(
        &self,
        deposit: DepositRecord,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        create(&self.pool, deposit, now, audit).await
    }
    async fn vault_public_key(
        &self,
        vault: &Id,
        key_version: u32,
    ) -> StoreResult<Option<(Option<Vec<u8>>, Option<Vec<u8>>)>> {
        public_key(&self.pool, vault, key_version).await
    }
    async fn set_vault_public_key(
        &self,
        vault: &Id,
        key_version: u32,
        public_key: &[u8],
        mac: &[u8],
    ) -> StoreResult<()> {
        set_public_key(&self.pool, vault, key_version, public_key, mac).await
    }
    async fn create_deposit_for_readers(
        &self,
        deposit: DepositRecord,
        copies: Vec<ReaderCopy>,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        crate::deposit_readers::create(&self.pool, deposit, &copies, now, audit).await
    }
    async fn pending_deposits(
        &self,
        vault: &Id,
        reader: Holder,
        item: Option<&Id>,
        limit: u32,
    ) -> StoreResult<Vec<DepositRecord>> {
        crate::deposit_readers::pending(&self.pool, vault, reader, item, limit).await
    }
    async fn claim_deposit(&self, deposit: &Id, item: ItemRecord, token: &Id) -> StoreResult<bool> {
        claim(&self.pool, deposit, item, token).await
    }
    async fn depositors(&self, vault: &Id) -> StoreResult<Vec<(Id, Id)>> {
        depositors(&self.pool, vault).await
    }
}
