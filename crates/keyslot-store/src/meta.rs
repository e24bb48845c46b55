//! Values of the deployment (the seal key's check value), set once.

use keyslot_core::store::StoreResult;

use crate::db::{Pool, query, sql};

pub(crate) async fn get(pool: &Pool, key: &str) -> StoreResult<Option<Vec<u8>>> {
    pool.optional(
        query(sql!("SELECT value FROM meta WHERE key = $1")).bind(key),
        |r| r.bytes("value"),
    )
    .await
}

/// Insert unless present, then read back what is stored: two instances starting at once
/// agree on the first writer's value.
pub(crate) async fn init(pool: &Pool, key: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
    let mut tx = pool.write().await?;
    tx.execute(
        query(sql!(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
        ))
        .bind(key)
        .bind(value),
    )
    .await?;
    let stored = tx
        .one(
            query(sql!("SELECT value FROM meta WHERE key = $1")).bind(key),
            |r| r.bytes("value"),
        )
        .await?;
    tx.commit().await?;
    Ok(stored)
}
