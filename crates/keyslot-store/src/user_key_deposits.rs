//! Deposit copies sealed to a user's own public key, across a user-key rotation
//! (`keyslot_core::user_key_store::DepositCopy`).
//!
//! A deposit made while its vault's rotation was due is sealed to each reader's own key
//! (`deposit_member_keys`, see `deposit_readers`). The swap deletes the user's old pair,
//! so a copy still sealed to it would be lost: the rotation reads every copy, seals it to
//! the new pair, and the swap writes them in its transaction — refusing
//! (`KeyVersionMoved`, read again) if the user has a copy it did not read.

use keyslot_core::store::{StoreError, StoreResult};
use keyslot_core::user_key_store::{DepositCopy, UserKeySwap};
use keyslot_crypto::Id;

use crate::db::{Pool, Tx, query, sql};
use crate::rows;

/// Every copy sealed to `user`'s public key, with what its AAD binds.
pub(crate) async fn read(pool: &Pool, user: &Id) -> StoreResult<Vec<DepositCopy>> {
    pool.all(
        query(sql!(
            "SELECT c.deposit_id, c.vault_id, d.user_id AS owner, d.key_version, c.sealed_item_key \
             FROM deposit_member_keys c JOIN deposits d ON d.id = c.deposit_id WHERE c.user_id = $1"
        ))
        .bind(user),
        |r| {
            Ok(DepositCopy {
                deposit_id: rows::id(r, "deposit_id")?,
                vault_id: rows::id(r, "vault_id")?,
                owner: rows::id(r, "owner")?,
                key_version: u32::try_from(r.int("key_version")?)
                    .map_err(|_| StoreError::Corrupt("key_version"))?,
                sealed_item_key: r.bytes("sealed_item_key")?,
            })
        },
    )
    .await
}

/// Write each re-sealed copy; a copy claimed meanwhile is gone and stays gone, but one
/// that was not read (sealed to the old key after the read) is `KeyVersionMoved`.
pub(crate) async fn reseal(tx: &mut Tx, s: &UserKeySwap) -> StoreResult<()> {
    let mut written: i64 = 0;
    for (deposit, sealed) in &s.deposit_copies {
        let n = tx
            .execute(
                query(sql!(
                    "UPDATE deposit_member_keys SET sealed_item_key = $1 \
                     WHERE deposit_id = $2 AND user_id = $3"
                ))
                .bind(sealed)
                .bind(deposit)
                .bind(&s.user),
            )
            .await?;
        written += i64::try_from(n).map_err(|_| StoreError::Corrupt("row count"))?;
    }
    let held = tx
        .one(
            query(sql!(
                "SELECT COUNT(*) AS n FROM deposit_member_keys WHERE user_id = $1"
            ))
            .bind(&s.user),
            |r| r.int("n"),
        )
        .await?;
    if held != written {
        return Err(StoreError::KeyVersionMoved);
    }
    Ok(())
}
