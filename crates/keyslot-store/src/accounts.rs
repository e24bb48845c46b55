//! Accounts: sign-up, users, the recovery slot, password change, recovery, disabling.

use keyslot_core::model::{AuditEvent, RecoveryRecord, Timestamp, UserRecord};
use keyslot_core::policy::username_key;
use keyslot_core::store::{
    NewAccount, PasswordSlotReseal, StoreError, StoreResult, StoredPasswordSlot,
};
use keyslot_crypto::Id;

use crate::db::{Pool, Tx, query, sql, touched};
use crate::{audit, rows, vaults};

/// Sign-up in one transaction; the user's public-key MAC goes in with the user's row.
pub(crate) async fn create(pool: &Pool, a: NewAccount) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    insert(&mut tx, &a).await?;
    tx.commit().await
}

/// Every row of a sign-up, inside the caller's transaction (an end-to-end sign-up adds
/// its keys in the same one).
pub(crate) async fn insert(tx: &mut Tx, a: &NewAccount) -> StoreResult<()> {
    let u = &a.user;
    let name_key = username_key(&u.username);
    tx.execute(
        query(sql!(
            "INSERT INTO users (id, username, username_key, created_at, password_credential, password_slot, \
             x25519_public, x25519_public_mac, x25519_wrapped, end_to_end) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&u.id)
        .bind(&u.username)
        .bind(&name_key)
        .bind(u.created_at)
        .bind(&u.password_credential)
        .bind(&u.password_slot)
        .bind(&u.x25519_public)
        .bind(&a.user_public_key_mac)
        .bind(&u.x25519_wrapped)
        .bind(u.end_to_end),
    )
    .await?;
    tx.execute(
        query(sql!(
            "INSERT INTO recovery_slots (user_id, credential_id, verifier, wrapped_user_key) VALUES ($1, $2, $3, $4)"
        ))
        .bind(&a.recovery.user_id)
        .bind(&a.recovery.credential_id)
        .bind(&a.recovery.verifier)
        .bind(&a.recovery.wrapped_user_key),
    )
    .await?;
    vaults::insert(tx, &a.vault).await?;
    audit::insert(tx, &a.audit).await
}

pub(crate) async fn by_name(pool: &Pool, username: &str) -> StoreResult<Option<UserRecord>> {
    let name_key = username_key(username);
    pool.optional(
        query(sql!("SELECT id, username, created_at, password_credential, password_slot, x25519_public, x25519_wrapped, failed_logins, locked_until, disabled_at, end_to_end FROM users WHERE username_key = $1"))
            .bind(&name_key),
        rows::user,
    )
    .await
}

pub(crate) async fn by_id(pool: &Pool, id: &Id) -> StoreResult<Option<UserRecord>> {
    pool.optional(
        query(sql!("SELECT id, username, created_at, password_credential, password_slot, x25519_public, x25519_wrapped, failed_logins, locked_until, disabled_at, end_to_end FROM users WHERE id = $1"))
            .bind(id),
        rows::user,
    )
    .await
}

pub(crate) async fn all(pool: &Pool) -> StoreResult<Vec<UserRecord>> {
    pool.all(
        query(sql!("SELECT id, username, created_at, password_credential, password_slot, x25519_public, x25519_wrapped, failed_logins, locked_until, disabled_at, end_to_end FROM users ORDER BY created_at, username_key")),
        rows::user,
    )
    .await
}

pub(crate) async fn set_disabled(
    pool: &Pool,
    user: &Id,
    disabled_at: Option<Timestamp>,
    audit: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    touched(
        tx.execute(
            query(sql!("UPDATE users SET disabled_at = $1 WHERE id = $2"))
                .bind(disabled_at)
                .bind(user),
        )
        .await?,
    )?;
    if disabled_at.is_some() {
        end_sessions(&mut tx, user).await?;
    } else {
        due_where_behind(&mut tx, user).await?;
    }
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}

/// Enabling a user: every vault rotated while they were disabled (their member slot or
/// one of their tokens' slots is behind its version) becomes due. A disabled user and
/// their tokens are no rotation holders, so those rotations sealed nothing to them; the
/// next holder's request now rotates again, with them among the holders, and they read
/// the vault again (the user's row is locked first, as everywhere else).
async fn due_where_behind(tx: &mut Tx, user: &Id) -> StoreResult<()> {
    tx.execute(
        query(sql!(
            "UPDATE vaults SET rotation_due = TRUE WHERE id IN (\
             SELECT m.vault_id FROM vault_members m JOIN vaults v ON v.id = m.vault_id \
             WHERE m.user_id = $1 AND m.key_version < v.key_version \
             UNION SELECT s.vault_id FROM token_vault_slots s JOIN tokens t ON t.id = s.token_id \
             JOIN vaults v ON v.id = s.vault_id WHERE t.user_id = $1 AND s.key_version < v.key_version)"
        ))
        .bind(user),
    )
    .await?;
    Ok(())
}

pub(crate) async fn recovery(pool: &Pool, user: &Id) -> StoreResult<Option<RecoveryRecord>> {
    pool.optional(
        query(sql!("SELECT user_id, credential_id, verifier, wrapped_user_key FROM recovery_slots WHERE user_id = $1"))
            .bind(user),
        rows::recovery,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn change_password(
    pool: &Pool,
    user: &Id,
    expected_password_slot: Option<&[u8]>,
    password_slot: Vec<u8>,
    end_other_sessions: bool,
    keep_session: Option<&Id>,
    revoke_tokens: bool,
    audit: AuditEvent,
    new_credential: Option<&Id>,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    // The UPDATE locks the user's row first (a recovery takes it before it ends sessions),
    // then the session is looked for: after a recovery that committed meanwhile, it is gone.
    match expected_password_slot {
        None => touched(set_password_slot(&mut tx, user, &password_slot, new_credential).await?)?,
        // Only over the slot that was opened: a user-key rotation (or a recovery, or
        // another change) that committed meanwhile replaced it, and the new slot would
        // wrap a user key that no longer opens anything.
        Some(expected) => {
            let replaced = tx
                .execute(
                    query(sql!(
                        "UPDATE users SET password_slot = $1, failed_logins = 0, locked_until = NULL, \
                         password_credential = COALESCE($4, password_credential) \
                         WHERE id = $2 AND password_slot = $3"
                    ))
                    .bind(&password_slot)
                    .bind(user)
                    .bind(expected)
                    .bind(new_credential),
                )
                .await?;
            if replaced == 0 {
                return Err(moved_or_gone(&mut tx, user).await);
            }
        }
    }
    if let Some(session) = keep_session {
        require_session(&mut tx, session).await?;
    }
    if revoke_tokens {
        end_tokens(&mut tx, user, audit.at).await?;
    }
    if end_other_sessions {
        tx.execute(
            query(sql!(
                "DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2"
            ))
            .bind(user)
            .bind(keep_session),
        )
        .await?;
    }
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}

/// Recovery. The recovery slot is replaced by one conditional UPDATE that names the code
/// that was used: of two recoveries racing with the same code, on either database, the
/// second finds the slot already changed (PostgreSQL re-checks the condition on the row
/// it waited for) and changes nothing.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn recover(
    pool: &Pool,
    user: &Id,
    expected_recovery: &Id,
    expected_public_key: Option<&[u8]>,
    password_slot: Vec<u8>,
    recovery: RecoveryRecord,
    revoke_tokens: bool,
    audit: AuditEvent,
    new_credential: Option<&Id>,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    // The user's row first (as a user-key rotation takes it), and only while it holds the
    // public key that was read with the user key the recovery slot gave: a rotation that
    // committed meanwhile made that key dead, and a password slot for it would brick the
    // account.
    let locked = match expected_public_key {
        None => touched(set_password_slot(&mut tx, user, &password_slot, new_credential).await?),
        Some(expected) => {
            let set = tx
                .execute(
                    query(sql!(
                        "UPDATE users SET password_slot = $1, failed_logins = 0, locked_until = NULL, \
                         password_credential = COALESCE($4, password_credential) \
                         WHERE id = $2 AND x25519_public = $3"
                    ))
                    .bind(&password_slot)
                    .bind(user)
                    .bind(expected)
                    .bind(new_credential),
                )
                .await?;
            if set == 0 {
                Err(moved_or_gone(&mut tx, user).await)
            } else {
                Ok(())
            }
        }
    };
    locked?;
    let replaced = tx
        .execute(
            query(sql!(
                "UPDATE recovery_slots SET credential_id = $1, verifier = $2, wrapped_user_key = $3, \
                 x25519_public = NULL, x25519_public_mac = NULL, sealed_user_key = NULL \
                 WHERE user_id = $4 AND credential_id = $5"
            ))
            .bind(&recovery.credential_id)
            .bind(&recovery.verifier)
            .bind(&recovery.wrapped_user_key)
            .bind(user)
            .bind(expected_recovery),
        )
        .await?;
    if replaced == 0 {
        return Err(StoreError::Conflict);
    }
    end_sessions(&mut tx, user).await?;
    if revoke_tokens {
        end_tokens(&mut tx, user, audit.at).await?;
    }
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}

/// Why a conditional UPDATE of the user's row matched nothing: the user is gone
/// ([`StoreError::NotFound`]), or their keys or password slot moved since the read
/// ([`StoreError::KeyVersionMoved`]: read again and retry).
async fn moved_or_gone(tx: &mut Tx, user: &Id) -> StoreError {
    let exists = tx
        .optional(
            query(sql!("SELECT id FROM users WHERE id = $1")).bind(user),
            |r| r.bytes("id"),
        )
        .await;
    match exists {
        Ok(Some(_)) => StoreError::KeyVersionMoved,
        Ok(None) => StoreError::NotFound,
        Err(e) => e,
    }
}

/// A new password slot clears the failed-login count and any lock. An end-to-end
/// client's new slot may come with a new credential id (bound into the slot's seal).
async fn set_password_slot(
    tx: &mut Tx,
    user: &Id,
    slot: &[u8],
    credential: Option<&Id>,
) -> StoreResult<u64> {
    tx.execute(
        query(sql!(
            "UPDATE users SET password_slot = $1, failed_logins = 0, locked_until = NULL, \
                    password_credential = COALESCE($3, password_credential) WHERE id = $2"
        ))
        .bind(slot)
        .bind(user)
        .bind(credential),
    )
    .await
}

/// [`StoreError::Conflict`] unless `session` still exists: the credential that made a
/// request was ended (recovery, password change, logout) while the request ran.
pub(crate) async fn require_session(tx: &mut Tx, session: &Id) -> StoreResult<()> {
    let alive = tx
        .optional(
            query(sql!("SELECT id FROM sessions WHERE id = $1")).bind(session),
            |r| r.bytes("id"),
        )
        .await?;
    alive.map(|_| ()).ok_or(StoreError::Conflict)
}

/// Every token of the user goes, with its vault slots (`ON DELETE CASCADE`): the keys they
/// held die in the same transaction as the credential change that asked for it. As a
/// revocation does, every vault they held a slot or grant for becomes due (their secrets
/// and an old copy of the database still open its current key), locked in id order; and a
/// token that ever held the user key makes the user key due from `at`.
async fn end_tokens(tx: &mut Tx, user: &Id, at: Timestamp) -> StoreResult<()> {
    tx.execute(
        query(sql!(
            "UPDATE users SET user_key_rotation_due_at = COALESCE(user_key_rotation_due_at, $1) \
             WHERE id = $2 AND EXISTS (SELECT 1 FROM tokens t WHERE t.user_id = $2 AND t.held_user_key)"
        ))
        .bind(at)
        .bind(user),
    )
    .await?;
    let mut vaults = tx
        .all(
            query(sql!(
                "SELECT s.vault_id AS id FROM token_vault_slots s JOIN tokens t ON t.id = s.token_id WHERE t.user_id = $1 \
                 UNION SELECT g.vault_id AS id FROM token_grants g JOIN tokens t ON t.id = g.token_id WHERE t.user_id = $1"
            ))
            .bind(user),
            |r| rows::id(r, "id"),
        )
        .await?;
    vaults.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    vaults.dedup();
    for vault in &vaults {
        tx.execute(query(sql!("UPDATE vaults SET rotation_due = TRUE WHERE id = $1")).bind(vault))
            .await?;
    }
    tx.execute(query(sql!("DELETE FROM tokens WHERE user_id = $1")).bind(user))
        .await?;
    Ok(())
}

async fn end_sessions(tx: &mut Tx, user: &Id) -> StoreResult<()> {
    tx.execute(query(sql!("DELETE FROM sessions WHERE user_id = $1")).bind(user))
        .await?;
    Ok(())
}

/// A page of sealed password slots, in user id order (ids compare as bytes on both
/// databases), for `keyslot seal migrate`.
pub(crate) async fn password_slots(
    pool: &Pool,
    after: Option<&Id>,
    limit: u32,
) -> StoreResult<Vec<StoredPasswordSlot>> {
    pool.all(
        query(sql!(
            "SELECT id, password_credential, password_slot FROM users \
             WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(limit),
        |row| {
            Ok(StoredPasswordSlot {
                user_id: rows::id(row, "id")?,
                credential_id: rows::id(row, "password_credential")?,
                slot: row.bytes("password_slot")?,
            })
        },
    )
    .await
}

/// Re-seal slots in one transaction, each conditional on the bytes it was read with, so a
/// slot rewritten meanwhile (a password change, a recovery, an upgrade at login) is left
/// as its writer made it.
pub(crate) async fn reseal_password_slots(
    pool: &Pool,
    reseals: &[PasswordSlotReseal],
) -> StoreResult<u64> {
    let mut tx = pool.write().await?;
    let mut replaced = 0;
    for r in reseals {
        replaced += tx
            .execute(
                query(sql!(
                    "UPDATE users SET password_slot = $1 WHERE id = $2 AND password_slot = $3"
                ))
                .bind(&r.new)
                .bind(&r.user_id)
                .bind(&r.old),
            )
            .await?;
    }
    tx.commit().await?;
    Ok(replaced)
}
