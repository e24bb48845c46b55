//! Deposits sealed to their readers ([`DepositStore::create_deposit_for_readers`]) and the
//! pending deposits a reader can open ([`DepositStore::pending_deposits`]).
//!
//! While a vault's rotation is due, its current key is within reach of a credential that
//! ended, so a deposit seals its item key to each remaining reader's own public key
//! instead: one copy per holder, in `deposit_member_keys` (members) and
//! `deposit_token_keys` (tokens), migration `20261203000002_deposit_readers`. The holders
//! the caller sealed to must be exactly the ones [`crate::keys::rotation_holders_in`]
//! reads under the vault's shared lock, each with the public key the caller MAC-checked:
//! a revocation, removal or mint takes that lock exclusively, so none commits between
//! the check and this commit, and a token whose `expires_at` has passed is not a holder.
//! Each copy references its reader's access (the membership; the token's slot for the
//! vault), so it is deleted with it.
//!
//! [`DepositStore::create_deposit_for_readers`]: keyslot_core::deposit_store::DepositStore::create_deposit_for_readers
//! [`DepositStore::pending_deposits`]: keyslot_core::deposit_store::DepositStore::pending_deposits

use std::collections::BTreeSet;

use keyslot_core::deposit_store::{DepositRecord, ReaderCopy};
use keyslot_core::keystore::Holder;
use keyslot_core::model::{AuditEvent, Timestamp};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::audit;
use crate::db::{Pool, Tx, query, sql};

/// A holder with the public key it was sealed to, comparable as a set.
type Sealed = ([u8; 16], bool, Vec<u8>);

fn key_of(holder: Holder, public_key: &[u8]) -> Sealed {
    match holder {
        Holder::User(id) => (*id.as_bytes(), false, public_key.to_vec()),
        Holder::Token(id) => (*id.as_bytes(), true, public_key.to_vec()),
    }
}

pub(crate) async fn create(
    pool: &Pool,
    d: DepositRecord,
    copies: &[ReaderCopy],
    now: Timestamp,
    audit_event: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    create_in(&mut tx, &d, copies, now, &audit_event).await?;
    tx.commit().await
}

/// [`create`]'s work inside `tx`, left uncommitted: an end-to-end deposit
/// (`crate::e2e_lifecycle`) keeps its sender's public key in the same transaction.
pub(crate) async fn create_in(
    tx: &mut Tx,
    d: &DepositRecord,
    copies: &[ReaderCopy],
    now: Timestamp,
    audit_event: &AuditEvent,
) -> StoreResult<()> {
    if !d.to_readers || !d.sealed_item_key.is_empty() {
        // A deposit sealed to its readers carries no key of its own.
        return Err(StoreError::Conflict);
    }
    // The vault's lock (shared) first: no rotation, revocation, removal or mint of a
    // holder commits until this does.
    crate::keys::require_current(tx, &d.vault_id, d.key_version).await?;
    crate::deposits::require_depositor(tx, &d.token_id, &d.vault_id, now).await?;
    let live: BTreeSet<Sealed> = crate::keys::rotation_holders_in(tx, &d.vault_id, now)
        .await?
        .into_iter()
        .map(|h| key_of(h.holder, &h.public_key))
        .collect();
    let sealed: BTreeSet<Sealed> = copies
        .iter()
        .map(|c| key_of(c.reader, &c.public_key))
        .collect();
    // Never empty here: the depositor's user is a live member who may write.
    if live != sealed || sealed.len() != copies.len() {
        // A holder ended, joined or changed its key since the caller read them.
        return Err(StoreError::KeyVersionMoved);
    }
    crate::deposits::insert(tx, d).await?;
    for c in copies {
        let q = match &c.reader {
            Holder::User(user) => query(sql!(
                "INSERT INTO deposit_member_keys (deposit_id, vault_id, user_id, sealed_item_key) \
                 VALUES ($1, $2, $3, $4)"
            ))
            .bind(&d.id)
            .bind(&d.vault_id)
            .bind(user),
            Holder::Token(token) => query(sql!(
                "INSERT INTO deposit_token_keys (deposit_id, vault_id, token_id, sealed_item_key) \
                 VALUES ($1, $2, $3, $4)"
            ))
            .bind(&d.id)
            .bind(&d.vault_id)
            .bind(token),
        };
        tx.execute(q.bind(&c.sealed_item_key)).await?;
    }
    audit::insert(tx, audit_event).await
}

pub(crate) async fn pending(
    pool: &Pool,
    vault: &Id,
    reader: Holder,
    item: Option<&Id>,
    limit: u32,
) -> StoreResult<Vec<DepositRecord>> {
    // A deposit sealed to a vault key has no copies, so COALESCE gives its own key; one
    // sealed to the readers is listed only with this reader's copy.
    let q = match &reader {
        Holder::User(user) => query(sql!(
            "SELECT d.id, d.vault_id, d.user_id, d.key_version, d.to_readers, \
             COALESCE(c.sealed_item_key, d.sealed_item_key) AS sealed_item_key, d.name, d.value, d.token_id, d.created_at \
             FROM deposits d LEFT JOIN deposit_member_keys c ON c.deposit_id = d.id AND c.user_id = $2 \
             WHERE d.vault_id = $1 AND (NOT d.to_readers OR c.deposit_id IS NOT NULL) AND ($3 IS NULL OR d.id = $3) \
             ORDER BY d.created_at, d.id LIMIT $4"
        ))
        .bind(vault)
        .bind(user),
        Holder::Token(token) => query(sql!(
            "SELECT d.id, d.vault_id, d.user_id, d.key_version, d.to_readers, \
             COALESCE(c.sealed_item_key, d.sealed_item_key) AS sealed_item_key, d.name, d.value, d.token_id, d.created_at \
             FROM deposits d LEFT JOIN deposit_token_keys c ON c.deposit_id = d.id AND c.token_id = $2 \
             WHERE d.vault_id = $1 AND (NOT d.to_readers OR c.deposit_id IS NOT NULL) AND ($3 IS NULL OR d.id = $3) \
             ORDER BY d.created_at, d.id LIMIT $4"
        ))
        .bind(vault)
        .bind(token),
    };
    pool.all(
        q.bind(item).bind(i64::from(limit)),
        crate::deposits::deposit,
    )
    .await
}
