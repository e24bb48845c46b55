//! Stored public keys and their MACs in bulk ([`PublicKeyStore`]): read a page of one
//! table in key order, and write one MAC as a compare-and-set on the row's public key
//! and MAC as read, so a row changed between the read and the write keeps its change.

use keyslot_core::public_key_store::{PublicKeyStore, PublicKeyTable, StoredPublicKey};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Pool, RowRead, query, sql};
use crate::rows;

fn stored(table: PublicKeyTable) -> impl Fn(&dyn RowRead) -> StoreResult<StoredPublicKey> {
    move |r| {
        Ok(StoredPublicKey {
            table,
            holder: rows::id(r, "holder")?,
            user: rows::id(r, "user_id")?,
            key_version: u32::try_from(r.int("key_version")?)
                .map_err(|_| StoreError::Corrupt("key_version"))?,
            public_key: r.bytes("public_key")?,
            mac: r.opt_bytes("mac")?,
        })
    }
}

async fn page(
    pool: &Pool,
    table: PublicKeyTable,
    after: Option<(Id, u32)>,
    missing_only: bool,
    limit: u32,
) -> StoreResult<Vec<StoredPublicKey>> {
    // The first page starts after the smallest id there is.
    let (after_id, after_version) = after.unwrap_or((Id::from_bytes([0; 16]), 0));
    let limit = i64::from(limit);
    let q = match (table, missing_only) {
        (PublicKeyTable::Users, false) => query(sql!(
            "SELECT id AS holder, id AS user_id, CAST(0 AS BIGINT) AS key_version, x25519_public AS public_key, \
             x25519_public_mac AS mac FROM users WHERE id > $1 ORDER BY id LIMIT $2"
        )),
        (PublicKeyTable::Users, true) => query(sql!(
            "SELECT id AS holder, id AS user_id, CAST(0 AS BIGINT) AS key_version, x25519_public AS public_key, \
             x25519_public_mac AS mac FROM users WHERE id > $1 AND x25519_public_mac IS NULL \
             ORDER BY id LIMIT $2"
        )),
        (PublicKeyTable::Tokens, false) => query(sql!(
            "SELECT id AS holder, user_id, CAST(0 AS BIGINT) AS key_version, x25519_public AS public_key, \
             public_key_mac AS mac FROM tokens WHERE id > $1 ORDER BY id LIMIT $2"
        )),
        (PublicKeyTable::Tokens, true) => query(sql!(
            "SELECT id AS holder, user_id, CAST(0 AS BIGINT) AS key_version, x25519_public AS public_key, \
             public_key_mac AS mac FROM tokens WHERE id > $1 AND public_key_mac IS NULL \
             ORDER BY id LIMIT $2"
        )),
        (PublicKeyTable::VaultKeys, false) => query(sql!(
            "SELECT k.vault_id AS holder, v.user_id, k.key_version, k.public_key, \
             k.public_key_mac AS mac FROM vault_keys k JOIN vaults v ON v.id = k.vault_id \
             WHERE k.public_key IS NOT NULL \
             AND (k.vault_id > $1 OR (k.vault_id = $1 AND k.key_version > $3)) \
             ORDER BY k.vault_id, k.key_version LIMIT $2"
        )),
        (PublicKeyTable::VaultKeys, true) => query(sql!(
            "SELECT k.vault_id AS holder, v.user_id, k.key_version, k.public_key, \
             k.public_key_mac AS mac FROM vault_keys k JOIN vaults v ON v.id = k.vault_id \
             WHERE k.public_key IS NOT NULL AND k.public_key_mac IS NULL \
             AND (k.vault_id > $1 OR (k.vault_id = $1 AND k.key_version > $3)) \
             ORDER BY k.vault_id, k.key_version LIMIT $2"
        )),
        // Paged by credential id, the id the MAC binds (a fresh random id per slot).
        (PublicKeyTable::RecoveryCodes, false) => query(sql!(
            "SELECT credential_id AS holder, user_id, CAST(0 AS BIGINT) AS key_version, \
             x25519_public AS public_key, x25519_public_mac AS mac FROM recovery_slots \
             WHERE x25519_public IS NOT NULL AND credential_id > $1 \
             ORDER BY credential_id LIMIT $2"
        )),
        (PublicKeyTable::RecoveryCodes, true) => query(sql!(
            "SELECT credential_id AS holder, user_id, CAST(0 AS BIGINT) AS key_version, \
             x25519_public AS public_key, x25519_public_mac AS mac FROM recovery_slots \
             WHERE x25519_public IS NOT NULL AND x25519_public_mac IS NULL \
             AND credential_id > $1 ORDER BY credential_id LIMIT $2"
        )),
    };
    let q = q.bind(&after_id).bind(limit);
    let q = if table == PublicKeyTable::VaultKeys {
        q.bind(after_version)
    } else {
        q
    };
    pool.all(q, stored(table)).await
}

async fn replace(pool: &Pool, key: &StoredPublicKey, mac: &[u8]) -> StoreResult<bool> {
    let q = match (key.table, key.mac.is_some()) {
        (PublicKeyTable::Users, false) => query(sql!(
            "UPDATE users SET x25519_public_mac = $1 WHERE id = $2 AND x25519_public = $3 \
             AND x25519_public_mac IS NULL"
        )),
        (PublicKeyTable::Users, true) => query(sql!(
            "UPDATE users SET x25519_public_mac = $1 WHERE id = $2 AND x25519_public = $3 \
             AND x25519_public_mac = $4"
        )),
        (PublicKeyTable::Tokens, false) => query(sql!(
            "UPDATE tokens SET public_key_mac = $1 WHERE id = $2 AND x25519_public = $3 \
             AND public_key_mac IS NULL"
        )),
        (PublicKeyTable::Tokens, true) => query(sql!(
            "UPDATE tokens SET public_key_mac = $1 WHERE id = $2 AND x25519_public = $3 \
             AND public_key_mac = $4"
        )),
        (PublicKeyTable::VaultKeys, false) => query(sql!(
            "UPDATE vault_keys SET public_key_mac = $1 WHERE vault_id = $2 AND public_key = $3 \
             AND public_key_mac IS NULL AND key_version = $4"
        )),
        (PublicKeyTable::VaultKeys, true) => query(sql!(
            "UPDATE vault_keys SET public_key_mac = $1 WHERE vault_id = $2 AND public_key = $3 \
             AND public_key_mac = $4 AND key_version = $5"
        )),
        (PublicKeyTable::RecoveryCodes, false) => query(sql!(
            "UPDATE recovery_slots SET x25519_public_mac = $1 WHERE credential_id = $2 \
             AND x25519_public = $3 AND x25519_public_mac IS NULL AND user_id = $4"
        )),
        (PublicKeyTable::RecoveryCodes, true) => query(sql!(
            "UPDATE recovery_slots SET x25519_public_mac = $1 WHERE credential_id = $2 \
             AND x25519_public = $3 AND x25519_public_mac = $4 AND user_id = $5"
        )),
    };
    let mut q = q.bind(mac).bind(&key.holder).bind(&key.public_key);
    if let Some(old) = &key.mac {
        q = q.bind(old);
    }
    match key.table {
        PublicKeyTable::VaultKeys => q = q.bind(key.key_version),
        PublicKeyTable::RecoveryCodes => q = q.bind(&key.user),
        PublicKeyTable::Users | PublicKeyTable::Tokens => {}
    }
    Ok(pool.execute(q).await? == 1)
}

#[async_trait::async_trait]
impl PublicKeyStore for crate::SqlStore {
    async fn stored_public_keys(
        &self,
        table: PublicKeyTable,
        after: Option<(Id, u32)>,
        missing_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<StoredPublicKey>> {
        page(&self.pool, table, after, missing_only, limit).await
    }
    async fn replace_public_key_mac(&self, key: &StoredPublicKey, mac: &[u8]) -> StoreResult<bool> {
        replace(&self.pool, key, mac).await
    }
}
