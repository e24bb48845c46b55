//! `"*"` tokens hold a slot per vault, never the user key (DESIGN §3.1).
//!
//! The rule every function here keeps: a live `"*"` token has a row in
//! `token_vault_slots` for every vault its user is a member of — its key, or an empty slot
//! at version 0 beside a pending grant of the current key. So a `"*"` token is a holder of
//! each of those vaults exactly like a scoped token (rotation, revocation, removal and the
//! hot read path find it by its slot rows), and nothing it holds opens a vault its user
//! is not a member of.
//!
//! Locking: everything that changes which vaults a user is a member of *and* which
//! `"*"` tokens they have takes the user's row first (`FOR UPDATE`; SQLite's write
//! transaction already excludes others), then vault rows in id order: a mint of a `"*"`
//! token, a vault's creation, a member's addition, a legacy token's conversion, and
//! [`grant_missing`]. So of a mint and a creation (or an addition) racing on two
//! instances, the later one sees the earlier, and neither misses the other.

use std::collections::BTreeSet;

use keyslot_core::keystore::{Grant, Holder, PublicHolder};
use keyslot_core::memberstore::NewMember;
use keyslot_core::model::{AuditEvent, Timestamp, TokenVaultSlot, VaultRecord};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Pool, RowRead, Tx, query, sql};
use crate::{audit, rows};

fn star_token(row: &dyn RowRead) -> StoreResult<PublicHolder> {
    Ok(PublicHolder {
        holder: Holder::Token(rows::id(row, "id")?),
        user_id: rows::id(row, "user_id")?,
        public_key: row.bytes("public_key")?,
        public_key_mac: row.opt_bytes("public_key_mac")?,
    })
}

/// The `"*"` tokens of a user that still work at `now`, by id.
fn live_star_tokens_query(user: &Id, now: Timestamp) -> crate::db::Query<'_> {
    query(sql!(
        "SELECT t.id, t.user_id, t.x25519_public AS public_key, t.public_key_mac FROM tokens t \
         WHERE t.user_id = $1 AND t.all_vaults AND NOT t.deposit AND t.expires_at > $2 ORDER BY t.id"
    ))
    .bind(user)
    .bind(now)
}

pub(crate) async fn live(pool: &Pool, user: &Id, now: Timestamp) -> StoreResult<Vec<PublicHolder>> {
    pool.all(live_star_tokens_query(user, now), star_token)
        .await
}

/// Lock a user's row until commit (`NotFound`: no such user).
///
/// `FOR NO KEY UPDATE` on PostgreSQL, not `FOR UPDATE`: it serialises every caller of this
/// and every update of the row (a user-key swap) just the same, but does not block the
/// `FOR KEY SHARE` lock a foreign key takes when another transaction inserts a row that
/// references the user (a rotation sealing a grant to them while holding a vault lock).
/// With `FOR UPDATE`, a revocation (user, then vaults) and such a rotation (vault, then the
/// user's key-share lock) could deadlock.
pub(crate) async fn lock_user(tx: &mut Tx, user: &Id) -> StoreResult<()> {
    tx.optional(
        query(sql!("SELECT id FROM users WHERE id = $1" FOR_NO_KEY_UPDATE)).bind(user),
        |r| r.bytes("id"),
    )
    .await?
    .ok_or(StoreError::NotFound)
    .map(|_| ())
}

fn id_set<'a>(ids: impl Iterator<Item = &'a Id>) -> BTreeSet<[u8; 16]> {
    ids.map(|id| *id.as_bytes()).collect()
}

/// The vaults `user` is a member of, read inside `tx`.
async fn member_vaults(tx: &mut Tx, user: &Id) -> StoreResult<BTreeSet<[u8; 16]>> {
    let ids = tx
        .all(
            query(sql!(
                "SELECT vault_id AS id FROM vault_members WHERE user_id = $1"
            ))
            .bind(user),
            |r| rows::id(r, "id"),
        )
        .await?;
    Ok(id_set(ids.iter()))
}

/// Inside a `"*"` token's mint or conversion, with the user's row locked: `slots` are one
/// per vault the user is a member of, exactly ([`StoreError::KeyVersionMoved`] otherwise:
/// a vault was created, shared or left meanwhile, and the caller opens the keys again).
pub(crate) async fn require_every_member_vault(
    tx: &mut Tx,
    user: &Id,
    slots: &[TokenVaultSlot],
) -> StoreResult<()> {
    let held = id_set(slots.iter().map(|s| &s.vault_id));
    if held.len() != slots.len() || held != member_vaults(tx, user).await? {
        return Err(StoreError::KeyVersionMoved);
    }
    Ok(())
}

/// Grants of `vault` at `key_version` to `user`'s live `"*"` tokens, inside a transaction
/// that holds the user's row and the vault's: `grants` must be to exactly those tokens
/// ([`StoreError::KeyVersionMoved`] otherwise). Each token gets an empty slot at version 0
/// (its first use converts the grant into it) and the grant; the vault is due at the
/// earliest of their expiries.
pub(crate) async fn grant_to_live(
    tx: &mut Tx,
    user: &Id,
    vault: &Id,
    key_version: u32,
    grants: &[Grant],
    now: Timestamp,
) -> StoreResult<()> {
    let live = tx
        .all(live_star_tokens_query(user, now), star_token)
        .await?;
    let mut sealed = BTreeSet::new();
    for g in grants {
        let Holder::Token(token) = g.holder else {
            return Err(StoreError::Corrupt("grant holder"));
        };
        if g.vault_id != *vault || g.key_version != key_version {
            return Err(StoreError::KeyVersionMoved);
        }
        sealed.insert(*token.as_bytes());
    }
    let live_ids = live
        .iter()
        .filter_map(|h| match h.holder {
            Holder::Token(id) => Some(*id.as_bytes()),
            Holder::User(_) => None,
        })
        .collect::<BTreeSet<_>>();
    if sealed.len() != grants.len() || sealed != live_ids {
        return Err(StoreError::KeyVersionMoved);
    }
    for g in grants {
        insert_pending(tx, g, now).await?;
    }
    Ok(())
}

/// An empty slot at version 0 (kept if the token already has one) and the grant beside
/// it; the vault due no later than the token's expiry.
async fn insert_pending(tx: &mut Tx, g: &Grant, now: Timestamp) -> StoreResult<()> {
    let Holder::Token(token) = g.holder else {
        return Err(StoreError::Corrupt("grant holder"));
    };
    tx.execute(
        query(sql!(
            "INSERT INTO token_vault_slots (token_id, vault_id, key_version, wrapped_vault_key) \
             VALUES ($1, $2, 0, $3) ON CONFLICT (token_id, vault_id) DO NOTHING"
        ))
        .bind(&token)
        .bind(&g.vault_id)
        .bind(&[][..]),
    )
    .await?;
    tx.execute(
        query(sql!(
            "INSERT INTO token_grants (token_id, vault_id, key_version, sealed, created_at) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(&token)
        .bind(&g.vault_id)
        .bind(g.key_version)
        .bind(&g.sealed)
        .bind(now),
    )
    .await?;
    tx.execute(
        query(sql!(
            "UPDATE vaults SET rotate_due_at = " LEAST "(COALESCE(rotate_due_at, \
             (SELECT expires_at FROM tokens WHERE id = $1)), (SELECT expires_at FROM tokens WHERE id = $1)) \
             WHERE id = $2"
        ))
        .bind(&token)
        .bind(&g.vault_id),
    )
    .await?;
    Ok(())
}

/// A vault's creation with a grant of its first key to each of its owner's live `"*"`
/// tokens, alive at the vault's `created_at`.
pub(crate) async fn create_vault(
    pool: &Pool,
    vault: VaultRecord,
    grants: Vec<Grant>,
    audit_event: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    lock_user(&mut tx, &vault.user_id).await?;
    crate::vaults::insert(&mut tx, &vault).await?;
    grant_to_live(
        &mut tx,
        &vault.user_id,
        &vault.id,
        vault.key_version,
        &grants,
        vault.created_at,
    )
    .await?;
    audit::insert(&mut tx, &audit_event).await?;
    tx.commit().await
}

/// A member's addition ([`crate::members`]), with grants of the vault's current key to the
/// member's live `"*"` tokens at `now`, in the same transaction; the member's row locked
/// first.
pub(crate) async fn add_member(
    pool: &Pool,
    member: NewMember,
    token_grants: Vec<Grant>,
    now: Timestamp,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    lock_user(&mut tx, &member.user).await?;
    let (user, vault, version) = (member.user, member.vault, member.grant.key_version);
    crate::members::add_member_in(&mut tx, &member).await?;
    grant_to_live(&mut tx, &user, &vault, version, &token_grants, now).await?;
    tx.commit().await
}

/// Each live `"*"` token of `user` at `now` paired with each vault of the user it has no
/// slot row for: what [`grant_missing`] is to fill.
pub(crate) async fn missing(
    pool: &Pool,
    user: &Id,
    now: Timestamp,
) -> StoreResult<Vec<(PublicHolder, Id)>> {
    pool.all(
        query(sql!(
            "SELECT t.id, t.user_id, t.x25519_public AS public_key, t.public_key_mac, m.vault_id \
             FROM tokens t JOIN vault_members m ON m.user_id = t.user_id \
             WHERE t.user_id = $1 AND t.all_vaults AND NOT t.deposit AND t.expires_at > $2 \
             AND NOT EXISTS (SELECT 1 FROM token_vault_slots s WHERE s.token_id = t.id AND s.vault_id = m.vault_id) \
             ORDER BY m.vault_id, t.id"
        ))
        .bind(user)
        .bind(now),
        |r| Ok((star_token(r)?, rows::id(r, "vault_id")?)),
    )
    .await
}

/// Fill missing `"*"` slots with grants, in one transaction: each only if its token is
/// still a live `"*"` token of `user`, the user still a member of the vault, and the
/// token still without a slot row for it (otherwise skipped); [`StoreError::KeyVersionMoved`]
/// if a grant is not at its vault's current version. Returns how many were written.
pub(crate) async fn grant_missing(
    pool: &Pool,
    user: &Id,
    grants: Vec<Grant>,
    now: Timestamp,
) -> StoreResult<u64> {
    let mut grants = grants;
    grants.sort_by(|a, b| a.vault_id.as_bytes().cmp(b.vault_id.as_bytes()));
    let mut tx = pool.write().await?;
    lock_user(&mut tx, user).await?;
    let members = member_vaults(&mut tx, user).await?;
    let live = tx
        .all(live_star_tokens_query(user, now), star_token)
        .await?;
    let mut written = 0;
    for g in &grants {
        let Holder::Token(token) = g.holder else {
            return Err(StoreError::Corrupt("grant holder"));
        };
        if !members.contains(g.vault_id.as_bytes()) || !live.iter().any(|h| h.holder == g.holder) {
            continue;
        }
        if crate::keys::lock_vault_version(&mut tx, &g.vault_id).await? != g.key_version {
            return Err(StoreError::KeyVersionMoved);
        }
        let has_slot = tx
            .optional(
                query(sql!(
                    "SELECT key_version FROM token_vault_slots WHERE token_id = $1 AND vault_id = $2"
                ))
                .bind(&token)
                .bind(&g.vault_id),
                |r| r.int("key_version"),
            )
            .await?
            .is_some();
        if has_slot {
            continue;
        }
        insert_pending(&mut tx, g, now).await?;
        written += 1;
    }
    tx.commit().await?;
    Ok(written)
}

/// A `"*"` token of the first schema converted to per-vault slots, exactly once across
/// instances: its wrapped user key cleared (only if still there: otherwise another
/// request converted it and this writes nothing, `false`), one slot per vault of its user
/// at each vault's current version (a slot already as new is kept), its grants at or
/// below those versions deleted, each vault due no later than its expiry; one
/// transaction under the user's lock. [`StoreError::KeyVersionMoved`] if `slots` are not
/// exactly the user's vaults at their current versions.
pub(crate) async fn convert_legacy(
    pool: &Pool,
    token: &Id,
    slots: Vec<TokenVaultSlot>,
) -> StoreResult<bool> {
    let mut slots = slots;
    slots.sort_by(|a, b| a.vault_id.as_bytes().cmp(b.vault_id.as_bytes()));
    let mut tx = pool.write().await?;
    let Some((user, expires_at)) = tx
        .optional(
            query(sql!("SELECT user_id, expires_at FROM tokens WHERE id = $1")).bind(token),
            |r| Ok((rows::id(r, "user_id")?, r.int("expires_at")?)),
        )
        .await?
    else {
        return Ok(false);
    };
    lock_user(&mut tx, &user).await?;
    let cleared = tx
        .execute(
            query(sql!(
                "UPDATE tokens SET wrapped_user_key = NULL WHERE id = $1 AND wrapped_user_key IS NOT NULL"
            ))
            .bind(token),
        )
        .await?;
    if cleared == 0 {
        return Ok(false);
    }
    require_every_member_vault(&mut tx, &user, &slots).await?;
    if slots.iter().any(|s| s.token_id != *token) {
        return Err(StoreError::Corrupt("slot token"));
    }
    crate::keys::after_mint(&mut tx, &user, expires_at, &slots).await?;
    for s in &slots {
        tx.execute(
            query(sql!(
                "INSERT INTO token_vault_slots (token_id, vault_id, key_version, wrapped_vault_key) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (token_id, vault_id) DO UPDATE SET key_version = excluded.key_version, \
                 wrapped_vault_key = excluded.wrapped_vault_key WHERE token_vault_slots.key_version < excluded.key_version"
            ))
            .bind(token)
            .bind(&s.vault_id)
            .bind(s.key_version)
            .bind(&s.wrapped_vault_key),
        )
        .await?;
        tx.execute(
            query(sql!(
                "DELETE FROM token_grants WHERE token_id = $1 AND vault_id = $2 AND key_version <= $3"
            ))
            .bind(token)
            .bind(&s.vault_id)
            .bind(s.key_version),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}
