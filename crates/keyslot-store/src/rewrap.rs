//! The background re-wrap: items under older vault key versions moved to the newest in
//! bounded batches, each batch one transaction that commits only under the current
//! version; then the chain links and grants nothing needs any more are deleted.

use keyslot_core::model::ItemRecord;
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use crate::db::{Pool, query, sql};
use crate::rows;

pub(crate) async fn items_to_rewrap(
    pool: &Pool,
    vault: &Id,
    below: u32,
    limit: u32,
) -> StoreResult<Vec<ItemRecord>> {
    pool.all(
        query(sql!(
            "SELECT id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, name_index, created_at, updated_at \
             FROM items WHERE vault_id = $1 AND key_version < $2 ORDER BY key_version LIMIT $3"
        ))
        .bind(vault)
        .bind(below)
        .bind(limit),
        rows::item,
    )
    .await
}

pub(crate) async fn rewrap_items(
    pool: &Pool,
    vault: &Id,
    to_version: u32,
    items: &[(ItemRecord, u32)],
) -> StoreResult<u64> {
    let mut tx = pool.write().await?;
    crate::keys::require_current(&mut tx, vault, to_version).await?;
    let mut replaced = 0;
    for (i, read_under) in items {
        // Only the row as it was read: a write since then (a new version, or another
        // re-wrap) wins and this one touches nothing.
        replaced += tx
            .execute(
                query(sql!(
                    "UPDATE items SET key_version = $1, wrapped_item_key = $2, name = $3, value = $4, name_index = $9, \
                     signer = NULL, signature = NULL \
                     WHERE id = $5 AND vault_id = $6 AND version = $7 AND key_version = $8"
                ))
                .bind(to_version)
                .bind(&i.wrapped_item_key)
                .bind(&i.name)
                .bind(&i.value)
                .bind(&i.id)
                .bind(vault)
                .bind(rows::version_to_db(i.version)?)
                .bind(*read_under)
                .bind(&i.name_index),
            )
            .await?;
    }
    // Version v's row and grants go once nothing remains under any version <= v; the
    // link to v - 1 as soon as nothing remains under v - 1 or older.
    //
    // One MIN per table, each answered from the (vault_id, key_version) index in a single
    // seek: a MIN over the UNION of both made SQLite read every index entry of the vault
    // on every batch, so re-wrapping n items cost O(n²/batch) (bench/run --scenario
    // rotation measured 7 ms per batch at 100,000 items against 0.7 ms at 10,000).
    let oldest = tx
        .optional(
            query(sql!(
                "SELECT MIN(k) AS oldest FROM (\
                 SELECT (SELECT MIN(key_version) FROM items WHERE vault_id = $1) AS k \
                 UNION ALL SELECT (SELECT MIN(key_version) FROM deposits WHERE vault_id = $1) AS k\
                 ) AS under"
            ))
            .bind(vault),
            |r| r.opt_int("oldest"),
        )
        .await?
        .flatten()
        .unwrap_or(i64::from(to_version))
        .min(i64::from(to_version));
    for statement in [
        sql!("DELETE FROM vault_keys WHERE vault_id = $1 AND key_version < $2"),
        // The oldest version still in use keeps its row (its public key, later), not its
        // link to a version nothing is under any more.
        sql!("UPDATE vault_keys SET chain = NULL WHERE vault_id = $1 AND key_version = $2"),
        sql!("DELETE FROM token_grants WHERE vault_id = $1 AND key_version < $2"),
        sql!("DELETE FROM user_grants WHERE vault_id = $1 AND key_version < $2"),
    ] {
        tx.execute(query(statement).bind(vault).bind(oldest))
            .await?;
    }
    crate::test_pause::pause("rewrap").await;
    tx.commit().await?;
    Ok(replaced)
}
