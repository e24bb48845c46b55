//! Vaults.

use keyslot_core::model::{AuditEvent, VaultRecord};
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use crate::db::{Pool, Tx, query, sql};
use crate::rows;

pub(crate) async fn insert(tx: &mut Tx, v: &VaultRecord) -> StoreResult<()> {
    tx.execute(
        query(sql!("INSERT INTO vaults (id, user_id, key_version, wrapped_vault_key, name, created_at) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(&v.id)
            .bind(&v.user_id)
            .bind(v.key_version)
            .bind(&v.wrapped_vault_key)
            .bind(&v.name)
            .bind(v.created_at),
    )
    .await?;
    // The owner is the vault's first member, holding its first key version; that version
    // has no chain link (nothing older).
    tx.execute(
        query(sql!("INSERT INTO vault_members (vault_id, user_id, role, key_version, wrapped_vault_key) VALUES ($1, $2, 'owner', $3, $4)"))
            .bind(&v.id)
            .bind(&v.user_id)
            .bind(v.key_version)
            .bind(&v.wrapped_vault_key),
    )
    .await?;
    tx.execute(
        query(sql!("INSERT INTO vault_keys (vault_id, key_version, chain, created_at) VALUES ($1, $2, NULL, $3)"))
            .bind(&v.id)
            .bind(v.key_version)
            .bind(v.created_at),
    )
    .await?;
    Ok(())
}

/// A vault granted to none of its owner's `"*"` tokens: refused
/// ([`keyslot_core::store::StoreError::KeyVersionMoved`]) if the owner has a live one, so a
/// vault is never created out of a `"*"` token's reach
/// ([`keyslot_core::keystore::KeyStore::create_vault_granted`] grants to them).
pub(crate) async fn create(pool: &Pool, vault: VaultRecord, audit: AuditEvent) -> StoreResult<()> {
    crate::star_tokens::create_vault(pool, vault, Vec::new(), audit).await
}

/// A user's vaults in the order they were made.
pub(crate) async fn of_user(pool: &Pool, user: &Id) -> StoreResult<Vec<VaultRecord>> {
    pool.all(
        query(sql!("SELECT id, user_id, key_version, wrapped_vault_key, name, created_at FROM vaults WHERE user_id = $1 ORDER BY created_at, " SEQ))
            .bind(user),
        rows::vault,
    )
    .await
}

pub(crate) async fn one(pool: &Pool, user: &Id, vault: &Id) -> StoreResult<Option<VaultRecord>> {
    pool.optional(
        query(sql!("SELECT id, user_id, key_version, wrapped_vault_key, name, created_at FROM vaults WHERE id = $1 AND user_id = $2"))
            .bind(vault)
            .bind(user),
        rows::vault,
    )
    .await
}
