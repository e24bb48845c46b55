//! The key lifecycle ([`KeyStore`]): versioned vault keys, holders' slots, pending grants,
//! rotation serialized with writes per vault, revocation that makes vaults due.
//!
//! Locking, the same on both backends: a rotation or a revocation takes the vault row
//! `FOR UPDATE` (SQLite's `BEGIN IMMEDIATE` already excludes every other writer); a write
//! that wrapped under a key version checks it under `FOR SHARE` ([`require_current`]), so
//! it commits before a rotation or after it, never across it.

use std::collections::BTreeSet;

use keyslot_core::keystore::{
    ChainLink, Grant, Holder, HolderSlot, PublicHolder, Revoked, Rotation, VaultAccess, VaultState,
};
use keyslot_core::memberstore::NewMember;
use keyslot_core::model::{AuditEvent, Timestamp, TokenVaultSlot, VaultRecord};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Pool, RowRead, Tx, query, sql, touched};
use crate::{audit, rows};

fn version(row: &dyn RowRead, column: &'static str) -> StoreResult<u32> {
    u32::try_from(row.int(column)?).map_err(|_| StoreError::Corrupt(column))
}

fn state(row: &dyn RowRead) -> StoreResult<VaultState> {
    Ok(VaultState {
        id: rows::id(row, "id")?,
        owner: rows::id(row, "user_id")?,
        key_version: version(row, "key_version")?,
        name: row.bytes("name")?,
        rotation_due: row.flag("rotation_due")?,
        rotate_due_at: row.opt_int("rotate_due_at")?,
        rewrap_pending: row.flag("rewrap_pending")?,
    })
}

fn access(row: &dyn RowRead) -> StoreResult<VaultAccess> {
    let slot = match row.opt_int("slot_version")? {
        Some(v) => Some(HolderSlot {
            key_version: u32::try_from(v).map_err(|_| StoreError::Corrupt("slot_version"))?,
            wrapped_vault_key: row.bytes("slot_wrapped")?,
        }),
        None => None,
    };
    Ok(VaultAccess {
        state: state(row)?,
        slot,
        role: crate::members::role(row)?,
    })
}

/// Found only through `user`'s membership (owned or shared): its role bounds what the
/// holder (the user, or one of its tokens) may do.
pub(crate) async fn vault_access(
    pool: &Pool,
    user: &Id,
    vault: &Id,
    holder: Holder,
) -> StoreResult<Option<VaultAccess>> {
    let q = match &holder {
        Holder::User(holder_user) => query(sql!(
            "SELECT v.id, v.user_id, v.key_version, v.name, v.rotation_due, v.rotate_due_at, \
             EXISTS (SELECT 1 FROM items i WHERE i.vault_id = v.id AND i.key_version < v.key_version) AS rewrap_pending, \
             m.role, m.key_version AS slot_version, m.wrapped_vault_key AS slot_wrapped \
             FROM vaults v JOIN vault_members m ON m.vault_id = v.id AND m.user_id = $2 \
             WHERE v.id = $1 AND m.user_id = $3"
        ))
        .bind(vault)
        .bind(user)
        .bind(holder_user),
        Holder::Token(token) => query(sql!(
            "SELECT v.id, v.user_id, v.key_version, v.name, v.rotation_due, v.rotate_due_at, \
             EXISTS (SELECT 1 FROM items i WHERE i.vault_id = v.id AND i.key_version < v.key_version) AS rewrap_pending, \
             m.role, s.key_version AS slot_version, s.wrapped_vault_key AS slot_wrapped \
             FROM vaults v JOIN vault_members m ON m.vault_id = v.id AND m.user_id = $2 \
             LEFT JOIN token_vault_slots s ON s.vault_id = v.id AND s.token_id = $3 \
             WHERE v.id = $1"
        ))
        .bind(vault)
        .bind(user)
        .bind(token),
    };
    pool.optional(q, access).await
}

pub(crate) async fn chain_links(
    pool: &Pool,
    vault: &Id,
    from: u32,
    down_to: u32,
) -> StoreResult<Vec<ChainLink>> {
    pool.all(
        query(sql!(
            "SELECT key_version, chain FROM vault_keys \
             WHERE vault_id = $1 AND key_version <= $2 AND key_version > $3 AND chain IS NOT NULL \
             ORDER BY key_version DESC"
        ))
        .bind(vault)
        .bind(from)
        .bind(down_to),
        |r| {
            Ok(ChainLink {
                key_version: version(r, "key_version")?,
                chain: r.opt_bytes("chain")?.ok_or(StoreError::Corrupt("chain"))?,
            })
        },
    )
    .await
}

pub(crate) async fn newest_grant(
    pool: &Pool,
    holder: Holder,
    vault: &Id,
) -> StoreResult<Option<Grant>> {
    let (q, id) = match holder {
        Holder::User(id) => (
            query(sql!(
                "SELECT key_version, sealed FROM user_grants WHERE user_id = $1 AND vault_id = $2 \
                 ORDER BY key_version DESC LIMIT 1"
            )),
            id,
        ),
        Holder::Token(id) => (
            query(sql!(
                "SELECT key_version, sealed FROM token_grants WHERE token_id = $1 AND vault_id = $2 \
                 ORDER BY key_version DESC LIMIT 1"
            )),
            id,
        ),
    };
    pool.optional(q.bind(&id).bind(vault), |r| {
        Ok(Grant {
            holder,
            vault_id: *vault,
            key_version: version(r, "key_version")?,
            sealed: r.bytes("sealed")?,
        })
    })
    .await
}

/// Delete the grant; only if that touched it, write the slot and drop older grants.
pub(crate) async fn convert_grant(
    pool: &Pool,
    grant: &Grant,
    wrapped: Vec<u8>,
) -> StoreResult<bool> {
    let mut tx = pool.write().await?;
    let deleted = match grant.holder {
        Holder::User(id) => {
            tx.execute(
                query(sql!(
                    "DELETE FROM user_grants WHERE user_id = $1 AND vault_id = $2 AND key_version = $3"
                ))
                .bind(&id)
                .bind(&grant.vault_id)
                .bind(grant.key_version),
            )
            .await?
        }
        Holder::Token(id) => {
            tx.execute(
                query(sql!(
                    "DELETE FROM token_grants WHERE token_id = $1 AND vault_id = $2 AND key_version = $3"
                ))
                .bind(&id)
                .bind(&grant.vault_id)
                .bind(grant.key_version),
            )
            .await?
        }
    };
    if deleted == 0 {
        // Another conversion won, or the holder lost access: write nothing.
        return Ok(false);
    }
    write_slot(
        &mut tx,
        grant.holder,
        &grant.vault_id,
        grant.key_version,
        &wrapped,
    )
    .await?;
    delete_older_grants(&mut tx, grant.holder, &grant.vault_id, grant.key_version).await?;
    tx.commit().await?;
    Ok(true)
}

/// Move a holder's slot up to `key_version` (never down: a slot already newer stays).
async fn write_slot(
    tx: &mut Tx,
    holder: Holder,
    vault: &Id,
    key_version: u32,
    wrapped: &[u8],
) -> StoreResult<()> {
    match holder {
        Holder::User(id) => {
            tx.execute(
                query(sql!(
                    "UPDATE vault_members SET key_version = $1, wrapped_vault_key = $2 \
                     WHERE vault_id = $3 AND user_id = $4 AND key_version < $1"
                ))
                .bind(key_version)
                .bind(wrapped)
                .bind(vault)
                .bind(&id),
            )
            .await?;
        }
        Holder::Token(id) => {
            tx.execute(
                query(sql!(
                    "UPDATE token_vault_slots SET key_version = $1, wrapped_vault_key = $2 \
                     WHERE vault_id = $3 AND token_id = $4 AND key_version < $1"
                ))
                .bind(key_version)
                .bind(wrapped)
                .bind(vault)
                .bind(&id),
            )
            .await?;
        }
    }
    Ok(())
}

/// Grants at or below a version the holder now holds are of no further use.
async fn delete_older_grants(
    tx: &mut Tx,
    holder: Holder,
    vault: &Id,
    key_version: u32,
) -> StoreResult<()> {
    match &holder {
        Holder::User(id) => tx.execute(
            query(sql!(
                "DELETE FROM user_grants WHERE user_id = $1 AND vault_id = $2 AND key_version <= $3"
            ))
            .bind(id)
            .bind(vault)
            .bind(key_version),
        ),
        Holder::Token(id) => tx.execute(
            query(sql!(
                "DELETE FROM token_grants WHERE token_id = $1 AND vault_id = $2 AND key_version <= $3"
            ))
            .bind(id)
            .bind(vault)
            .bind(key_version),
        ),
    }
    .await?;
    Ok(())
}

fn public_holder(holder: fn(Id) -> Holder) -> impl Fn(&dyn RowRead) -> StoreResult<PublicHolder> {
    move |r| {
        Ok(PublicHolder {
            holder: holder(rows::id(r, "id")?),
            user_id: rows::id(r, "user_id")?,
            public_key: r.bytes("public_key")?,
            public_key_mac: r.opt_bytes("public_key_mac")?,
        })
    }
}

/// A query of holders, and which kind of holder its `id` column names.
type HolderQuery<'q> = (crate::db::Query<'q>, fn(Id) -> Holder);

/// The two queries of a vault's holder set: its members, then their live tokens that hold
/// a slot of it — neither of a disabled user (their sessions ended and their tokens stop
/// while disabled, so nothing new is sealed to them; enabled again, they are holders at
/// the next rotation). Read by [`rotation_holders`] and, under the vault's lock, by
/// [`rotation_holders_in`], so there is one definition of who holds a vault's keys.
fn holder_queries(vault: &Id, now: Timestamp) -> [HolderQuery<'_>; 2] {
    [
        (
            query(sql!(
                "SELECT u.id, u.id AS user_id, u.x25519_public AS public_key, u.x25519_public_mac AS public_key_mac \
                 FROM vault_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.vault_id = $1 AND u.disabled_at IS NULL ORDER BY u.id"
            ))
            .bind(vault),
            Holder::User,
        ),
        (
            query(sql!(
                "SELECT t.id, t.user_id, t.x25519_public AS public_key, t.public_key_mac \
                 FROM token_vault_slots s JOIN tokens t ON t.id = s.token_id \
                 JOIN vault_members m ON m.vault_id = s.vault_id AND m.user_id = t.user_id \
                 JOIN users u ON u.id = t.user_id \
                 WHERE s.vault_id = $1 AND t.expires_at > $2 AND u.disabled_at IS NULL ORDER BY t.id"
            ))
            .bind(vault)
            .bind(now),
            Holder::Token,
        ),
    ]
}

pub(crate) async fn rotation_holders(
    pool: &Pool,
    vault: &Id,
    now: Timestamp,
) -> StoreResult<Vec<PublicHolder>> {
    let mut holders = Vec::new();
    for (q, holder) in holder_queries(vault, now) {
        holders.extend(pool.all(q, public_holder(holder)).await?);
    }
    Ok(holders)
}

/// [`rotation_holders`] inside `tx`, which holds the vault's row lock: the set no
/// revocation, removal or mint can change before `tx` commits.
pub(crate) async fn rotation_holders_in(
    tx: &mut Tx,
    vault: &Id,
    now: Timestamp,
) -> StoreResult<Vec<PublicHolder>> {
    let mut holders = Vec::new();
    for (q, holder) in holder_queries(vault, now) {
        holders.extend(tx.all(q, public_holder(holder)).await?);
    }
    Ok(holders)
}

/// The vault's current key version, its row locked for the rest of the transaction
/// (`exclusive`: a rotation; otherwise shared: a write that wrapped under it).
async fn locked_version(tx: &mut Tx, vault: &Id, exclusive: bool) -> StoreResult<u32> {
    let q = if exclusive {
        query(sql!("SELECT key_version FROM vaults WHERE id = $1" FOR_UPDATE))
    } else {
        query(sql!("SELECT key_version FROM vaults WHERE id = $1" FOR_SHARE))
    };
    tx.one(q.bind(vault), |r| version(r, "key_version")).await
}

/// The vault's current key version, its row locked for update until commit.
pub(crate) async fn lock_vault_version(tx: &mut Tx, vault: &Id) -> StoreResult<u32> {
    locked_version(tx, vault, true).await
}

/// Inside a write's transaction: the vault is still at `key_version` (its row now held
/// shared until commit, so no rotation commits in between), or
/// [`StoreError::KeyVersionMoved`].
pub(crate) async fn require_current(tx: &mut Tx, vault: &Id, key_version: u32) -> StoreResult<()> {
    if locked_version(tx, vault, false).await? == key_version {
        Ok(())
    } else {
        Err(StoreError::KeyVersionMoved)
    }
}

/// Inside an item write's transaction: the vault is still at `key_version` and no
/// rotation is due at `now`, or [`StoreError::KeyVersionMoved`] (the caller re-opens,
/// which runs the due rotation first). A revocation, removal or expiry leaves the version
/// alone and only makes the vault due, so without the second check a write that opened
/// the key just before the end would commit just after it under the key the ended
/// credential holds.
pub(crate) async fn require_writable(
    tx: &mut Tx,
    vault: &Id,
    key_version: u32,
    now: Timestamp,
) -> StoreResult<()> {
    let (current, due, due_at) = tx
        .one(
            query(sql!(
                "SELECT key_version, rotation_due, rotate_due_at FROM vaults WHERE id = $1" FOR_SHARE
            ))
            .bind(vault),
            |r| {
                Ok((
                    version(r, "key_version")?,
                    r.flag("rotation_due")?,
                    r.opt_int("rotate_due_at")?,
                ))
            },
        )
        .await?;
    if current != key_version || due || due_at.is_some_and(|at| at <= now) {
        return Err(StoreError::KeyVersionMoved);
    }
    Ok(())
}

/// Inside a mint's transaction: every slot is under its vault's current version, its
/// user is still a member of the vault (a removal that committed while the mint opened
/// its keys leaves the version alone, so the version check alone would let the removed
/// member's new token in), and each vault's `rotate_due_at` is brought forward to the
/// token's expiry.
pub(crate) async fn after_mint(
    tx: &mut Tx,
    user: &Id,
    expires_at: Timestamp,
    slots: &[TokenVaultSlot],
) -> StoreResult<()> {
    // Vault rows locked in id order, as a revocation does: a "*" mint locks many, and two
    // of them must not wait on each other in a cycle.
    let mut ordered: Vec<&TokenVaultSlot> = slots.iter().collect();
    ordered.sort_by(|a, b| a.vault_id.as_bytes().cmp(b.vault_id.as_bytes()));
    for s in ordered {
        if locked_version(tx, &s.vault_id, true).await? != s.key_version {
            return Err(StoreError::KeyVersionMoved);
        }
        let member = tx
            .optional(
                query(sql!(
                    "SELECT user_id FROM vault_members WHERE vault_id = $1 AND user_id = $2"
                ))
                .bind(&s.vault_id)
                .bind(user),
                |r| r.bytes("user_id"),
            )
            .await?;
        if member.is_none() {
            return Err(StoreError::KeyVersionMoved);
        }
        tx.execute(
            query(sql!(
                "UPDATE vaults SET rotate_due_at = " LEAST "(COALESCE(rotate_due_at, $1), $1) WHERE id = $2"
            ))
            .bind(expires_at)
            .bind(&s.vault_id),
        )
        .await?;
    }
    Ok(())
}

/// Ids of a query's `id` column, as a set.
async fn id_set(tx: &mut Tx, q: crate::db::Query<'_>) -> StoreResult<BTreeSet<[u8; 16]>> {
    Ok(tx
        .all(q, |r| rows::id(r, "id"))
        .await?
        .into_iter()
        .map(|id| *id.as_bytes())
        .collect())
}

pub(crate) async fn rotate(pool: &Pool, r: Rotation) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    rotate_in(&mut tx, &r).await?;
    crate::test_pause::pause("rotation").await;
    tx.commit().await
}

/// [`rotate`]'s work inside `tx`, which it leaves uncommitted: an end-to-end client's
/// rotation (`crate::e2e_lifecycle`) stores the new version's public key and signatures
/// in the same transaction.
pub(crate) async fn rotate_in(tx: &mut Tx, r: &Rotation) -> StoreResult<()> {
    if locked_version(tx, &r.vault, true).await? != r.from_version {
        return Err(StoreError::KeyVersionMoved);
    }
    // The holders the caller sealed for must be exactly the live ones, read under the lock
    // (no disabled user, none of their tokens: nothing new is sealed to them).
    let live_tokens = id_set(
        tx,
        query(sql!(
            "SELECT t.id FROM token_vault_slots s JOIN tokens t ON t.id = s.token_id \
             JOIN vault_members m ON m.vault_id = s.vault_id AND m.user_id = t.user_id \
             JOIN users u ON u.id = t.user_id \
             WHERE s.vault_id = $1 AND t.expires_at > $2 AND u.disabled_at IS NULL"
        ))
        .bind(&r.vault)
        .bind(r.now),
    )
    .await?;
    let members = id_set(
        tx,
        query(sql!(
            "SELECT m.user_id AS id FROM vault_members m JOIN users u ON u.id = m.user_id \
             WHERE m.vault_id = $1 AND u.disabled_at IS NULL"
        ))
        .bind(&r.vault),
    )
    .await?;
    let (mut sealed_tokens, mut sealed_users) = (BTreeSet::new(), BTreeSet::new());
    for holder in r
        .grants
        .iter()
        .map(|g| g.holder)
        .chain(r.own_slot.iter().map(|(h, _)| *h))
    {
        match holder {
            Holder::User(id) => sealed_users.insert(*id.as_bytes()),
            Holder::Token(id) => sealed_tokens.insert(*id.as_bytes()),
        };
    }
    if sealed_tokens != live_tokens || sealed_users != members {
        return Err(StoreError::KeyVersionMoved);
    }
    // Expired tokens take their keys for this vault with them, now.
    tx.execute(
        query(sql!(
            "DELETE FROM token_grants WHERE vault_id = $1 AND token_id IN (SELECT id FROM tokens WHERE expires_at <= $2)"
        ))
        .bind(&r.vault)
        .bind(r.now),
    )
    .await?;
    tx.execute(
        query(sql!(
            "DELETE FROM token_vault_slots WHERE vault_id = $1 AND token_id IN (SELECT id FROM tokens WHERE expires_at <= $2)"
        ))
        .bind(&r.vault)
        .bind(r.now),
    )
    .await?;
    let to = r.from_version + 1;
    tx.execute(
        query(sql!(
            "INSERT INTO vault_keys (vault_id, key_version, chain, created_at) VALUES ($1, $2, $3, $4)"
        ))
        .bind(&r.vault)
        .bind(to)
        .bind(&r.chain)
        .bind(r.now),
    )
    .await?;
    tx.execute(
        query(sql!(
            "UPDATE vaults SET key_version = $1, name = $2, rotation_due = FALSE, rotate_due_at = \
             (SELECT MIN(t.expires_at) FROM token_vault_slots s JOIN tokens t ON t.id = s.token_id WHERE s.vault_id = $3) \
             WHERE id = $3"
        ))
        .bind(to)
        .bind(&r.name)
        .bind(&r.vault),
    )
    .await?;
    if let Some((holder, wrapped)) = &r.own_slot {
        write_slot(tx, *holder, &r.vault, to, wrapped).await?;
        delete_older_grants(tx, *holder, &r.vault, to).await?;
    }
    for g in &r.grants {
        insert_grant(tx, g, r.now).await?;
    }
    audit::insert(tx, &r.audit).await?;
    Ok(())
}

async fn insert_grant(tx: &mut Tx, g: &Grant, at: Timestamp) -> StoreResult<()> {
    match &g.holder {
        Holder::User(id) => tx.execute(
            query(sql!(
                "INSERT INTO user_grants (user_id, vault_id, key_version, sealed, created_at) VALUES ($1, $2, $3, $4, $5)"
            ))
            .bind(id)
            .bind(&g.vault_id)
            .bind(g.key_version)
            .bind(&g.sealed)
            .bind(at),
        ),
        Holder::Token(id) => tx.execute(
            query(sql!(
                "INSERT INTO token_grants (token_id, vault_id, key_version, sealed, created_at) VALUES ($1, $2, $3, $4, $5)"
            ))
            .bind(id)
            .bind(&g.vault_id)
            .bind(g.key_version)
            .bind(&g.sealed)
            .bind(at),
        ),
    }
    .await?;
    Ok(())
}

pub(crate) async fn revoke_token(
    pool: &Pool,
    user: &Id,
    token: &Id,
    audit_event: AuditEvent,
) -> StoreResult<Revoked> {
    let mut tx = pool.write().await?;
    // The user's row first, whatever the token: the lock order of a mint, a vault's
    // creation, a share and a conversion, which lock the user before any vault. Without it
    // a vault created (or shared) while this runs could seal a grant to this "*" token
    // after the vaults below are read: the grant goes with the token, but that vault would
    // never be marked due, and a copy of the database from that moment opens its first key.
    crate::star_tokens::lock_user(&mut tx, user).await?;
    // A token that ever held the user key leaves it in old copies of the database: only a
    // new user key ends that, due from now.
    tx.execute(
        query(sql!(
            "UPDATE users SET user_key_rotation_due_at = COALESCE(user_key_rotation_due_at, $1) \
             WHERE id = $2 AND EXISTS (SELECT 1 FROM tokens t WHERE t.id = $3 AND t.user_id = $2 AND t.held_user_key)"
        ))
        .bind(audit_event.at)
        .bind(user)
        .bind(token),
    )
    .await?;
    let mut vaults = tx
        .all(
            query(sql!(
                "SELECT s.vault_id AS id FROM token_vault_slots s JOIN tokens t ON t.id = s.token_id \
                 WHERE t.id = $1 AND t.user_id = $2 \
                 UNION SELECT g.vault_id AS id FROM token_grants g JOIN tokens t ON t.id = g.token_id \
                 WHERE t.id = $1 AND t.user_id = $2"
            ))
            .bind(token)
            .bind(user),
            |r| rows::id(r, "id"),
        )
        .await?;
    // One lock order for every transaction that locks several vaults: no deadlock cycle.
    vaults.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    vaults.dedup();
    for vault in &vaults {
        locked_version(&mut tx, vault, true).await?;
        tx.execute(query(sql!("UPDATE vaults SET rotation_due = TRUE WHERE id = $1")).bind(vault))
            .await?;
    }
    touched(
        tx.execute(
            query(sql!("DELETE FROM tokens WHERE id = $1 AND user_id = $2"))
                .bind(token)
                .bind(user),
        )
        .await?,
    )?;
    audit::insert(&mut tx, &audit_event).await?;
    tx.commit().await?;
    Ok(Revoked { vaults })
}

/// The mark, or an ended-but-unswept token that once held the user key; `false` for an
/// unknown user.
pub(crate) async fn user_key_rotation_due(
    pool: &Pool,
    user: &Id,
    now: Timestamp,
) -> StoreResult<bool> {
    Ok(pool
        .optional(
            query(sql!(
                "SELECT (u.user_key_rotation_due_at IS NOT NULL OR EXISTS (SELECT 1 FROM tokens t \
                 WHERE t.user_id = u.id AND t.held_user_key AND t.expires_at <= $2)) AS due \
                 FROM users u WHERE u.id = $1"
            ))
            .bind(user)
            .bind(now),
            |r| r.flag("due"),
        )
        .await?
        .unwrap_or(false))
}

#[async_trait::async_trait]
impl keyslot_core::keystore::KeyStore for crate::SqlStore {
    async fn vault_access(
        &self,
        user: &Id,
        vault: &Id,
        holder: Holder,
    ) -> StoreResult<Option<VaultAccess>> {
        vault_access(&self.pool, user, vault, holder).await
    }
    async fn chain_links(
        &self,
        vault: &Id,
        from: u32,
        down_to: u32,
    ) -> StoreResult<Vec<ChainLink>> {
        chain_links(&self.pool, vault, from, down_to).await
    }
    async fn newest_grant(&self, holder: Holder, vault: &Id) -> StoreResult<Option<Grant>> {
        newest_grant(&self.pool, holder, vault).await
    }
    async fn convert_grant(&self, grant: &Grant, wrapped: Vec<u8>) -> StoreResult<bool> {
        convert_grant(&self.pool, grant, wrapped).await
    }
    async fn rotation_holders(&self, vault: &Id, now: Timestamp) -> StoreResult<Vec<PublicHolder>> {
        rotation_holders(&self.pool, vault, now).await
    }
    async fn rotate_vault(&self, rotation: Rotation) -> StoreResult<()> {
        rotate(&self.pool, rotation).await
    }
    async fn revoke_token(&self, user: &Id, token: &Id, audit: AuditEvent) -> StoreResult<Revoked> {
        let revoked = revoke_token(&self.pool, user, token, audit).await?;
        self.release_deleted_bytes().await?;
        Ok(revoked)
    }
    async fn items_to_rewrap(
        &self,
        vault: &Id,
        below: u32,
        limit: u32,
    ) -> StoreResult<Vec<keyslot_core::model::ItemRecord>> {
        crate::rewrap::items_to_rewrap(&self.pool, vault, below, limit).await
    }
    async fn rewrap_items(
        &self,
        vault: &Id,
        to_version: u32,
        items: &[(keyslot_core::model::ItemRecord, u32)],
    ) -> StoreResult<u64> {
        crate::rewrap::rewrap_items(&self.pool, vault, to_version, items).await
    }
    async fn user_key_rotation_due(&self, user: &Id, now: Timestamp) -> StoreResult<bool> {
        user_key_rotation_due(&self.pool, user, now).await
    }
    async fn star_tokens(&self, user: &Id, now: Timestamp) -> StoreResult<Vec<PublicHolder>> {
        crate::star_tokens::live(&self.pool, user, now).await
    }
    async fn create_vault_granted(
        &self,
        vault: VaultRecord,
        grants: Vec<Grant>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        crate::star_tokens::create_vault(&self.pool, vault, grants, audit).await
    }
    async fn add_member_granted(
        &self,
        member: NewMember,
        token_grants: Vec<Grant>,
        now: Timestamp,
    ) -> StoreResult<()> {
        crate::star_tokens::add_member(&self.pool, member, token_grants, now).await
    }
    async fn missing_star_slots(
        &self,
        user: &Id,
        now: Timestamp,
    ) -> StoreResult<Vec<(PublicHolder, Id)>> {
        crate::star_tokens::missing(&self.pool, user, now).await
    }
    async fn grant_missing_star_slots(
        &self,
        user: &Id,
        grants: Vec<Grant>,
        now: Timestamp,
    ) -> StoreResult<u64> {
        crate::star_tokens::grant_missing(&self.pool, user, grants, now).await
    }
    async fn convert_legacy_token(
        &self,
        token: &Id,
        slots: Vec<TokenVaultSlot>,
    ) -> StoreResult<bool> {
        crate::star_tokens::convert_legacy(&self.pool, token, slots).await
    }
}
