//! The end-to-end part of the store ([`ClientStore`]): items as raw envelopes with their
//! blind name index and signature, and the signatures over public keys.

use async_trait::async_trait;
use keyslot_core::client_store::{ClientStore, ClientTokenRead, RawItem, SignedVaultKey};
use keyslot_core::keystore::Grant;
use keyslot_core::model::{AuditEvent, TokenRecord, TokenVaultSlot, VaultRecord};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Pool, RowRead, query, sql};
use crate::{SqlStore, audit, rows};

fn raw(row: &dyn RowRead) -> StoreResult<RawItem> {
    let signer = match row.opt_bytes("signer")? {
        Some(bytes) => Some(Id::from_slice(&bytes).map_err(|_| StoreError::Corrupt("signer"))?),
        None => None,
    };
    Ok(RawItem {
        record: rows::item(row)?,
        signer,
        signature: row.opt_bytes("signature")?,
    })
}

/// Every item of the vault, or (one query per index: a client asks for a handful, one per
/// key version its items may be under) those whose name index is among `name_indexes`.
async fn items(
    pool: &Pool,
    owner: &Id,
    vault: &Id,
    name_indexes: &[Vec<u8>],
) -> StoreResult<Vec<RawItem>> {
    if name_indexes.is_empty() {
        return pool
            .all(
                query(sql!("SELECT id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, name_index, created_at, updated_at, signer, signature FROM items WHERE vault_id = $1 AND user_id = $2 ORDER BY created_at, " SEQ))
                    .bind(vault)
                    .bind(owner),
                raw,
            )
            .await;
    }
    let mut out: Vec<RawItem> = Vec::new();
    for index in name_indexes {
        for item in pool
            .all(
                query(sql!("SELECT id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, name_index, created_at, updated_at, signer, signature FROM items WHERE vault_id = $1 AND name_index = $2 AND user_id = $3 ORDER BY created_at, " SEQ))
                    .bind(vault)
                    .bind(index)
                    .bind(owner),
                raw,
            )
            .await?
        {
            if !out.iter().any(|i| i.record.id == item.record.id) {
                out.push(item);
            }
        }
    }
    Ok(out)
}

async fn item(pool: &Pool, owner: &Id, vault: &Id, item: &Id) -> StoreResult<Option<RawItem>> {
    pool.optional(
        query(sql!("SELECT id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, name_index, created_at, updated_at, signer, signature FROM items WHERE id = $1 AND vault_id = $2 AND user_id = $3"))
            .bind(item)
            .bind(vault)
            .bind(owner),
        raw,
    )
    .await
}

async fn signed_vault_key(
    pool: &Pool,
    vault: &Id,
    key_version: u32,
) -> StoreResult<Option<SignedVaultKey>> {
    pool.optional(
        query(sql!(
            "SELECT public_key, public_key_signature FROM vault_keys WHERE vault_id = $1 AND key_version = $2"
        ))
        .bind(vault)
        .bind(key_version),
        |r| {
            Ok(SignedVaultKey {
                public_key: r.opt_bytes("public_key")?,
                signature: r.opt_bytes("public_key_signature")?,
            })
        },
    )
    .await
}

/// The vault's creation as `star_tokens::create_vault` does it, with its first version's
/// public key, MAC and signature in the same transaction.
async fn create_vault(
    pool: &Pool,
    vault: VaultRecord,
    grants: Vec<Grant>,
    key: (&[u8], &[u8], &[u8]),
    audit_event: AuditEvent,
) -> StoreResult<()> {
    let (public_key, mac, signature) = key;
    let mut tx = pool.write().await?;
    crate::star_tokens::lock_user(&mut tx, &vault.user_id).await?;
    crate::vaults::insert(&mut tx, &vault).await?;
    crate::star_tokens::grant_to_live(
        &mut tx,
        &vault.user_id,
        &vault.id,
        vault.key_version,
        &grants,
        vault.created_at,
    )
    .await?;
    tx.execute(
        query(sql!(
            "UPDATE vault_keys SET public_key = $1, public_key_mac = $2, public_key_signature = $3 \
             WHERE vault_id = $4 AND key_version = $5"
        ))
        .bind(public_key)
        .bind(mac)
        .bind(signature)
        .bind(&vault.id)
        .bind(vault.key_version),
    )
    .await?;
    audit::insert(&mut tx, &audit_event).await?;
    tx.commit().await
}

/// `tokens::read` with the item's signer and signature: the same joins, one round trip.
async fn token_read(
    pool: &Pool,
    token: &Id,
    vault: &Id,
    item: &Id,
) -> StoreResult<Option<ClientTokenRead>> {
    pool.optional(
        query(sql!(
            "SELECT t.id, t.user_id, t.name_key, t.name, t.verifier, t.can_write, t.deposit, t.all_vaults, t.wrapped_user_key, \
             t.x25519_public, t.public_key_mac, t.created_at, t.expires_at, t.last_used_at, \
             s.key_version AS s_key_version, s.wrapped_vault_key AS s_wrapped, \
             cv.key_version AS cv_key_version, cv.rotation_due AS cv_rotation_due, cv.rotate_due_at AS cv_rotate_due_at, \
             i.id AS i_id, i.vault_id AS i_vault_id, i.user_id AS i_user_id, i.version AS i_version, i.key_version AS i_key_version, \
             i.wrapped_item_key AS i_wrapped_item_key, i.name AS i_name, i.value AS i_value, i.name_index AS i_name_index, i.created_at AS i_created_at, \
             i.updated_at AS i_updated_at, i.signer AS i_signer, i.signature AS i_signature, u.end_to_end AS u_end_to_end \
             FROM tokens t JOIN users u ON u.id = t.user_id AND u.disabled_at IS NULL \
             LEFT JOIN token_vault_slots s ON s.token_id = t.id AND s.vault_id = $1 \
             LEFT JOIN vaults cv ON cv.id = $1 AND cv.user_id = t.user_id \
             LEFT JOIN items i ON i.id = $2 AND i.vault_id = $1 AND i.user_id = t.user_id \
             WHERE t.id = $3"
        ))
        .bind(vault)
        .bind(item)
        .bind(token),
        |r| {
            let signer = match r.opt_bytes("i_signer")? {
                Some(bytes) => {
                    Some(Id::from_slice(&bytes).map_err(|_| StoreError::Corrupt("signer"))?)
                }
                None => None,
            };
            Ok(ClientTokenRead {
                read: rows::token_read(r, vault)?,
                signer,
                signature: r.opt_bytes("i_signature")?,
            })
        },
    )
    .await
}

async fn token_signature(pool: &Pool, token: &Id) -> StoreResult<Option<Vec<u8>>> {
    Ok(pool
        .optional(
            query(sql!(
                "SELECT public_key_signature FROM tokens WHERE id = $1"
            ))
            .bind(token),
            |r| r.opt_bytes("public_key_signature"),
        )
        .await?
        .flatten())
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn raw_items(
        &self,
        owner: &Id,
        vault: &Id,
        name_indexes: &[Vec<u8>],
    ) -> StoreResult<Vec<RawItem>> {
        items(&self.pool, owner, vault, name_indexes).await
    }

    async fn raw_item(&self, owner: &Id, vault: &Id, id: &Id) -> StoreResult<Option<RawItem>> {
        item(&self.pool, owner, vault, id).await
    }

    async fn create_raw_item(&self, item: RawItem, audit: AuditEvent) -> StoreResult<()> {
        crate::items::create_signed(
            &self.pool,
            item.record,
            item.signer.as_ref(),
            &item.signature,
            true,
            audit,
        )
        .await
    }

    async fn update_raw_item(&self, item: RawItem, audit: AuditEvent) -> StoreResult<()> {
        crate::items::update_signed(
            &self.pool,
            item.record,
            item.signer.as_ref(),
            &item.signature,
            true,
            audit,
        )
        .await
    }

    async fn signed_vault_key(
        &self,
        vault: &Id,
        key_version: u32,
    ) -> StoreResult<Option<SignedVaultKey>> {
        signed_vault_key(&self.pool, vault, key_version).await
    }

    async fn create_client_vault(
        &self,
        vault: VaultRecord,
        grants: Vec<Grant>,
        public_key: &[u8],
        mac: &[u8],
        signature: &[u8],
        audit: AuditEvent,
    ) -> StoreResult<()> {
        create_vault(
            &self.pool,
            vault,
            grants,
            (public_key, mac, signature),
            audit,
        )
        .await
    }

    async fn create_client_token(
        &self,
        token: TokenRecord,
        slots: Vec<TokenVaultSlot>,
        deposit_vaults: &[Id],
        signature: &[u8],
        session: &Id,
        expected_user_public_key: &[u8],
        audit: AuditEvent,
    ) -> StoreResult<()> {
        if token.deposit {
            crate::deposits::create_token(
                &self.pool,
                token,
                deposit_vaults,
                Some(session),
                Some(expected_user_public_key),
                Some(signature),
                audit,
            )
            .await
        } else {
            crate::tokens::create_signed(
                &self.pool,
                token,
                slots,
                Some(session),
                Some(expected_user_public_key),
                Some(signature),
                audit,
            )
            .await
        }
    }
    async fn client_token_read(
        &self,
        token: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<ClientTokenRead>> {
        token_read(&self.pool, token, vault, item).await
    }

    async fn token_public_key_signature(&self, token: &Id) -> StoreResult<Option<Vec<u8>>> {
        token_signature(&self.pool, token).await
    }
}
