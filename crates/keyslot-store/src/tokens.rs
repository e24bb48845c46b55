//! API tokens, their vault slots, and the bearer read path.

use keyslot_core::model::{AuditEvent, Timestamp, TokenRead, TokenRecord, TokenVaultSlot};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Pool, query, sql, touched};
use crate::{audit, rows};

/// Token, its slot, the vault's state and the item in one query: the hot path, where each
/// query costs more CPU than the crypto of a whole request. The LEFT JOINs say what is
/// missing: no slot (out of scope), no vault of the token's user, no item. Every token,
/// `"*"` included, reads its own slot: none reads a member's slot (the user key's).
pub(crate) async fn read(
    pool: &Pool,
    token: &Id,
    vault: &Id,
    item: &Id,
) -> StoreResult<Option<TokenRead>> {
    pool.optional(
        query(sql!(
            "SELECT t.id, t.user_id, t.name_key, t.name, t.verifier, t.can_write, t.deposit, t.all_vaults, t.wrapped_user_key, \
             t.x25519_public, t.public_key_mac, t.created_at, t.expires_at, t.last_used_at, \
             s.key_version AS s_key_version, s.wrapped_vault_key AS s_wrapped, \
             cv.key_version AS cv_key_version, cv.rotation_due AS cv_rotation_due, cv.rotate_due_at AS cv_rotate_due_at, \
             i.id AS i_id, i.vault_id AS i_vault_id, i.user_id AS i_user_id, i.version AS i_version, i.key_version AS i_key_version, \
             i.wrapped_item_key AS i_wrapped_item_key, i.name AS i_name, i.value AS i_value, i.name_index AS i_name_index, i.created_at AS i_created_at, \
             i.updated_at AS i_updated_at, u.end_to_end AS u_end_to_end \
             FROM tokens t JOIN users u ON u.id = t.user_id AND u.disabled_at IS NULL \
             LEFT JOIN token_vault_slots s ON s.token_id = t.id AND s.vault_id = $1 \
             LEFT JOIN vaults cv ON cv.id = $1 AND cv.user_id = t.user_id \
             LEFT JOIN items i ON i.id = $2 AND i.vault_id = $1 AND i.user_id = t.user_id \
             WHERE t.id = $3"
        ))
        .bind(vault)
        .bind(item)
        .bind(token),
        |r| rows::token_read(r, vault),
    )
    .await
}

/// A mint in one transaction: the token's row with its public-key MAC (one INSERT), its
/// slots and the audit event.
pub(crate) async fn create(
    pool: &Pool,
    t: TokenRecord,
    slots: Vec<TokenVaultSlot>,
    session: Option<&Id>,
    expected_user_public_key: Option<&[u8]>,
    audit: AuditEvent,
) -> StoreResult<()> {
    create_signed(
        pool,
        t,
        slots,
        session,
        expected_user_public_key,
        None,
        audit,
    )
    .await
}

/// [`create`], with the identity signature over the token's public key that an
/// end-to-end client sends, stored in the same INSERT.
pub(crate) async fn create_signed(
    pool: &Pool,
    t: TokenRecord,
    slots: Vec<TokenVaultSlot>,
    session: Option<&Id>,
    expected_user_public_key: Option<&[u8]>,
    signature: Option<&[u8]>,
    audit: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    // Lock the user's row first, as a recovery does before it ends sessions and a
    // vault's creation does before it grants to the user's "*" tokens.
    crate::star_tokens::lock_user(&mut tx, &t.user_id).await?;
    if let Some(expected) = expected_user_public_key {
        // The name key is wrapped under the user key that goes with this public key: a
        // user-key rotation that committed meanwhile made it dead.
        let current = tx
            .one(
                query(sql!("SELECT x25519_public FROM users WHERE id = $1")).bind(&t.user_id),
                |r| r.bytes("x25519_public"),
            )
            .await?;
        if current != expected {
            return Err(StoreError::KeyVersionMoved);
        }
    }
    if let Some(session) = session {
        // The minting session must still be there.
        crate::accounts::require_session(&mut tx, session).await?;
    }
    tx.execute(
        query(sql!(
            "INSERT INTO tokens (id, user_id, name_key, name, verifier, can_write, wrapped_user_key, x25519_public, \
             public_key_mac, created_at, expires_at, last_used_at, held_user_key, all_vaults, public_key_signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&t.id)
        .bind(&t.user_id)
        .bind(&t.name_key)
        .bind(&t.name)
        .bind(&t.verifier)
        .bind(t.can_write)
        .bind(&t.wrapped_user_key)
        .bind(&t.x25519_public)
        .bind(&t.public_key_mac)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.last_used_at)
        .bind(t.wrapped_user_key.is_some())
        .bind(t.all_vaults)
        .bind(crate::db::Arg::Bytes(signature)),
    )
    .await?;
    if t.all_vaults && t.wrapped_user_key.is_none() {
        // Under the user's lock (a vault's creation takes it too): one slot for each of
        // its vaults, none missed, none extra.
        crate::star_tokens::require_every_member_vault(&mut tx, &t.user_id, &slots).await?;
    }
    crate::keys::after_mint(&mut tx, &t.user_id, t.expires_at, &slots).await?;
    for s in &slots {
        tx.execute(
            query(sql!("INSERT INTO token_vault_slots (token_id, vault_id, key_version, wrapped_vault_key) VALUES ($1, $2, $3, $4)"))
                .bind(&s.token_id)
                .bind(&s.vault_id)
                .bind(s.key_version)
                .bind(&s.wrapped_vault_key),
        )
        .await?;
    }
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}

/// A token by id; `None` as well when its user is disabled. The account's mode comes from
/// the users row this query joins anyway (no second round trip on the `kst_` path).
pub(crate) async fn by_id(pool: &Pool, id: &Id) -> StoreResult<Option<TokenRecord>> {
    pool.optional(
        query(sql!("SELECT t.id, t.user_id, t.name_key, t.name, t.verifier, t.can_write, t.deposit, t.all_vaults, t.wrapped_user_key, t.x25519_public, t.public_key_mac, t.created_at, t.expires_at, t.last_used_at, u.end_to_end AS u_end_to_end FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.disabled_at IS NULL AND t.id = $1"))
            .bind(id),
        rows::token,
    )
    .await
}

pub(crate) async fn slot(
    pool: &Pool,
    token: &Id,
    vault: &Id,
) -> StoreResult<Option<TokenVaultSlot>> {
    pool.optional(
        query(sql!("SELECT token_id, vault_id, key_version, wrapped_vault_key FROM token_vault_slots WHERE token_id = $1 AND vault_id = $2"))
            .bind(token)
            .bind(vault),
        rows::token_slot,
    )
    .await
}

/// A token's slots in the order they were made (its scope as the user gave it).
pub(crate) async fn slots(pool: &Pool, token: &Id) -> StoreResult<Vec<TokenVaultSlot>> {
    pool.all(
        query(sql!("SELECT token_id, vault_id, key_version, wrapped_vault_key FROM token_vault_slots WHERE token_id = $1 ORDER BY " SEQ))
            .bind(token),
        rows::token_slot,
    )
    .await
}

/// A user's tokens in the order they were minted.
pub(crate) async fn of_user(pool: &Pool, user: &Id) -> StoreResult<Vec<TokenRecord>> {
    pool.all(
        query(sql!("SELECT id, user_id, name_key, name, verifier, can_write, deposit, all_vaults, wrapped_user_key, x25519_public, public_key_mac, created_at, expires_at, last_used_at, (SELECT u.end_to_end FROM users u WHERE u.id = tokens.user_id) AS u_end_to_end FROM tokens WHERE user_id = $1 ORDER BY created_at, " SEQ))
            .bind(user),
        rows::token,
    )
    .await
}

/// Revoke: the token's row goes, and its slots with it (`ON DELETE CASCADE`).
pub(crate) async fn delete(
    pool: &Pool,
    user: &Id,
    token: &Id,
    audit: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    touched(
        tx.execute(
            query(sql!("DELETE FROM tokens WHERE id = $1 AND user_id = $2"))
                .bind(token)
                .bind(user),
        )
        .await?,
    )?;
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}

/// Batched last-use times. Each is one conditional statement that never moves
/// `last_used_at` backwards, so batches from many instances may land in any order; and
/// each batch locks its rows in one order (by id, each token once), so two batches on
/// PostgreSQL never wait on each other in a cycle (a deadlock the database would break by
/// failing one of them).
pub(crate) async fn mark_used(pool: &Pool, uses: &[(Id, Timestamp)]) -> StoreResult<()> {
    let mut latest: Vec<(Id, Timestamp)> = uses.to_vec();
    latest.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(b.1.cmp(&a.1)));
    latest.dedup_by(|later, first| later.0 == first.0);
    let mut tx = pool.write().await?;
    for (id, at) in &latest {
        tx.execute(
            query(sql!("UPDATE tokens SET last_used_at = " GREATEST "(COALESCE(last_used_at, 0), $1) WHERE id = $2"))
                .bind(*at)
                .bind(id),
        )
        .await?;
    }
    tx.commit().await
}

/// Tokens that still work and end in `(now, until]`. One indexed range count
/// (`tokens_expires`), run by the metrics refresher on a timer, not per request.
pub(crate) async fn count_expiring(
    pool: &Pool,
    now: Timestamp,
    until: Timestamp,
) -> StoreResult<u64> {
    let n = pool
        .optional(
            query(sql!(
                "SELECT COUNT(*) AS n FROM tokens t JOIN users u ON u.id = t.user_id \
                 WHERE u.disabled_at IS NULL AND t.expires_at > $1 AND t.expires_at <= $2"
            ))
            .bind(now)
            .bind(until),
            |r| r.int("n"),
        )
        .await?
        .unwrap_or(0);
    u64::try_from(n).map_err(|_| StoreError::Corrupt("n"))
}
