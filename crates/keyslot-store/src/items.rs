//! Items: reads (alone, or joined with the key that opens them), and writes audited in
//! their own transaction. An update is a compare-and-swap on the version.

use keyslot_core::model::{AuditEvent, ItemRecord, TokenVaultSlot};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Pool, Tx, query, sql, touched};
use crate::{audit, rows};

/// A vault's items in the order they were made.
pub(crate) async fn of_vault(pool: &Pool, user: &Id, vault: &Id) -> StoreResult<Vec<ItemRecord>> {
    pool.all(
        query(sql!("SELECT id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, name_index, created_at, updated_at FROM items WHERE vault_id = $1 AND user_id = $2 ORDER BY created_at, " SEQ))
            .bind(vault)
            .bind(user),
        rows::item,
    )
    .await
}

pub(crate) async fn one(
    pool: &Pool,
    user: &Id,
    vault: &Id,
    item: &Id,
) -> StoreResult<Option<ItemRecord>> {
    pool.optional(
        query(sql!("SELECT id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, name_index, created_at, updated_at FROM items WHERE id = $1 AND vault_id = $2 AND user_id = $3"))
            .bind(item)
            .bind(vault)
            .bind(user),
        rows::item,
    )
    .await
}

pub(crate) async fn with_vault_key(
    pool: &Pool,
    user: &Id,
    vault: &Id,
    item: &Id,
) -> StoreResult<Option<(u32, Vec<u8>, ItemRecord)>> {
    pool.optional(
        query(sql!(
            "SELECT i.id, i.vault_id, i.user_id, i.version, i.key_version, i.wrapped_item_key, i.name, i.value, i.name_index, i.created_at, i.updated_at, m.key_version AS vault_key_version, m.wrapped_vault_key \
             FROM items i JOIN vault_members m ON m.vault_id = i.vault_id AND m.user_id = i.user_id \
             WHERE i.id = $1 AND i.vault_id = $2 AND i.user_id = $3"
        ))
        .bind(item)
        .bind(vault)
        .bind(user),
        rows::item_with_vault_key,
    )
    .await
}

pub(crate) async fn with_token_slot(
    pool: &Pool,
    token: &Id,
    user: &Id,
    vault: &Id,
    item: &Id,
) -> StoreResult<Option<(TokenVaultSlot, ItemRecord)>> {
    pool.optional(
        query(sql!(
            "SELECT i.id, i.vault_id, i.user_id, i.version, i.key_version, i.wrapped_item_key, i.name, i.value, i.name_index, i.created_at, i.updated_at, s.token_id, s.key_version AS slot_key_version, s.wrapped_vault_key \
             FROM items i JOIN token_vault_slots s ON s.vault_id = i.vault_id AND s.token_id = $1 \
             WHERE i.id = $2 AND i.vault_id = $3 AND i.user_id = $4"
        ))
        .bind(token)
        .bind(item)
        .bind(vault)
        .bind(user),
        rows::item_with_token_slot,
    )
    .await
}

/// Inside an item write's transaction: its writer — the user its audit event is for (a
/// token writes as its user) — is still a member whose role may write, read with the
/// vault's row held shared. A role change or a removal takes that row for update, so it
/// either committed before this read or waits for this write's commit: a write that
/// opened its key before a demotion cannot commit after it (a role change leaves the
/// version alone, so the version check alone let it). Otherwise
/// [`StoreError::KeyVersionMoved`]: the caller opens the vault again, which reads the
/// new role (403) or finds no key (404).
async fn require_writer(tx: &mut Tx, vault: &Id, audit: &AuditEvent) -> StoreResult<()> {
    let writer = audit
        .user_id
        .ok_or(StoreError::Corrupt("item write without its writer"))?;
    tx.one(
        query(sql!("SELECT key_version FROM vaults WHERE id = $1" FOR_SHARE)).bind(vault),
        |r| r.int("key_version"),
    )
    .await?;
    let role = tx
        .optional(
            query(sql!(
                "SELECT role FROM vault_members WHERE vault_id = $1 AND user_id = $2"
            ))
            .bind(vault)
            .bind(&writer),
            crate::members::role,
        )
        .await?;
    match role {
        Some(role) if role.can_write() => Ok(()),
        _ => Err(StoreError::KeyVersionMoved),
    }
}

/// Inside a client's item write, before anything else: no other item of the vault has
/// this name's blind index at the same key version, or [`StoreError::NameTaken`] (END-TO-END
/// §6), so a look-up by index finds one item. The vault's row is taken for update first
/// (SQLite's `BEGIN IMMEDIATE` already excludes every other writer), so two clients
/// writing the same new name one after the other cannot both find it free. Server-mode
/// writes keep allowing repeated names (the CLI asks for the id when a name is ambiguous).
async fn require_free_name(tx: &mut Tx, i: &ItemRecord) -> StoreResult<()> {
    let Some(index) = &i.name_index else {
        return Ok(());
    };
    tx.one(
        query(sql!("SELECT key_version FROM vaults WHERE id = $1" FOR_UPDATE)).bind(&i.vault_id),
        |r| r.int("key_version"),
    )
    .await?;
    let taken = tx
        .optional(
            query(sql!(
                "SELECT id FROM items WHERE vault_id = $1 AND key_version = $2 AND name_index = $3 AND id <> $4 LIMIT 1"
            ))
            .bind(&i.vault_id)
            .bind(i.key_version)
            .bind(index)
            .bind(&i.id),
            |r| rows::id(r, "id"),
        )
        .await?;
    match taken {
        Some(_) => Err(StoreError::NameTaken),
        None => Ok(()),
    }
}

pub(crate) async fn create(pool: &Pool, i: ItemRecord, audit: AuditEvent) -> StoreResult<()> {
    create_signed(pool, i, None, &None, false, audit).await
}

/// [`create`], with the writer's identity signature of an end-to-end write; with
/// `unique_name` (a client's write), refused if the name is taken ([`require_free_name`]).
pub(crate) async fn create_signed(
    pool: &Pool,
    i: ItemRecord,
    signer: Option<&Id>,
    signature: &Option<Vec<u8>>,
    unique_name: bool,
    audit: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    if unique_name {
        require_free_name(&mut tx, &i).await?;
    }
    crate::keys::require_writable(&mut tx, &i.vault_id, i.key_version, i.updated_at).await?;
    require_writer(&mut tx, &i.vault_id, &audit).await?;
    tx.execute(
        query(sql!(
            "INSERT INTO items (id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, name_index, created_at, updated_at, signer, signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&i.id)
        .bind(&i.vault_id)
        .bind(&i.user_id)
        .bind(rows::version_to_db(i.version)?)
        .bind(i.key_version)
        .bind(&i.wrapped_item_key)
        .bind(&i.name)
        .bind(&i.value)
        .bind(&i.name_index)
        .bind(i.created_at)
        .bind(i.updated_at)
        .bind(signer)
        .bind(signature),
    )
    .await?;
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}

/// Compare-and-swap: one conditional UPDATE that names the version the writer read. Of
/// concurrent writers with the same `If-Match`, exactly one matches; PostgreSQL re-checks
/// the condition on the row a waiting writer was blocked on, so the others touch nothing.
pub(crate) async fn update(pool: &Pool, i: ItemRecord, audit: AuditEvent) -> StoreResult<()> {
    update_signed(pool, i, None, &None, false, audit).await
}

/// [`update`], with the writer's identity signature of an end-to-end write (a write
/// without one clears the previous version's); `unique_name` as in [`create_signed`].
pub(crate) async fn update_signed(
    pool: &Pool,
    i: ItemRecord,
    signer: Option<&Id>,
    signature: &Option<Vec<u8>>,
    unique_name: bool,
    audit: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    if unique_name {
        require_free_name(&mut tx, &i).await?;
    }
    crate::keys::require_writable(&mut tx, &i.vault_id, i.key_version, i.updated_at).await?;
    require_writer(&mut tx, &i.vault_id, &audit).await?;
    let previous = rows::version_to_db(i.version.saturating_sub(1))?;
    let updated = tx
        .execute(
            query(sql!(
                "UPDATE items SET version = $1, key_version = $2, wrapped_item_key = $3, name = $4, value = $5, updated_at = $6, \
                 name_index = $11, signer = $12, signature = $13 \
                 WHERE id = $7 AND vault_id = $8 AND user_id = $9 AND version = $10"
            ))
            .bind(rows::version_to_db(i.version)?)
            .bind(i.key_version)
            .bind(&i.wrapped_item_key)
            .bind(&i.name)
            .bind(&i.value)
            .bind(i.updated_at)
            .bind(&i.id)
            .bind(&i.vault_id)
            .bind(&i.user_id)
            .bind(previous)
            .bind(&i.name_index)
            .bind(signer)
            .bind(signature),
        )
        .await?;
    if updated == 0 {
        let exists = tx
            .optional(
                query(sql!(
                    "SELECT version FROM items WHERE id = $1 AND vault_id = $2 AND user_id = $3"
                ))
                .bind(&i.id)
                .bind(&i.vault_id)
                .bind(&i.user_id),
                |r| r.int("version"),
            )
            .await?;
        return Err(if exists.is_some() {
            StoreError::Conflict
        } else {
            StoreError::NotFound
        });
    }
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}

pub(crate) async fn delete(
    pool: &Pool,
    user: &Id,
    vault: &Id,
    item: &Id,
    audit: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    touched(
        tx.execute(
            query(sql!(
                "DELETE FROM items WHERE id = $1 AND vault_id = $2 AND user_id = $3"
            ))
            .bind(item)
            .bind(vault)
            .bind(user),
        )
        .await?,
    )?;
    // After the delete (rolled back with the rest on a refusal): an item that is not
    // there stays NotFound whoever asks.
    require_writer(&mut tx, vault, &audit).await?;
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}
