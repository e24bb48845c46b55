//! User-key rotation ([`UserKeyStore`]): what a rotation reads under the old user key,
//! and the one transaction that swaps it (`keyslot_core::user_key_store` for the rules).
//!
//! The swap starts with the conditional UPDATE of the user's row, which locks it on
//! PostgreSQL (SQLite's `BEGIN IMMEDIATE` already excludes every other writer): a
//! password change, a recovery or a second rotation of the same user queue behind it, and
//! whichever commits second finds the row changed and writes nothing.

use std::collections::HashSet;

use async_trait::async_trait;
use keyslot_core::keystore::{Grant, Holder};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_core::user_key_store::{
    MemberSlot, RecoveryKeys, RecoveryRekey, Swapped, UserKeyHoldings, UserKeyStore, UserKeySwap,
};
use keyslot_crypto::Id;

use crate::db::{Pool, Tx, query, sql};
use crate::{accounts, audit, rows};

fn version(row: &dyn crate::db::RowRead) -> StoreResult<u32> {
    u32::try_from(row.int("key_version")?).map_err(|_| StoreError::Corrupt("key_version"))
}

async fn holdings(pool: &Pool, user: &Id) -> StoreResult<Option<UserKeyHoldings>> {
    let Some(record) = accounts::by_id(pool, user).await? else {
        return Ok(None);
    };
    let members = pool
        .all(
            query(sql!(
                "SELECT m.vault_id, v.user_id AS owner, m.key_version, m.wrapped_vault_key \
                 FROM vault_members m JOIN vaults v ON v.id = m.vault_id WHERE m.user_id = $1"
            ))
            .bind(user),
            |r| {
                Ok(MemberSlot {
                    vault_id: rows::id(r, "vault_id")?,
                    owner: rows::id(r, "owner")?,
                    key_version: version(r)?,
                    wrapped_vault_key: r.bytes("wrapped_vault_key")?,
                })
            },
        )
        .await?;
    let grants = pool
        .all(
            query(sql!(
                "SELECT vault_id, key_version, sealed FROM user_grants WHERE user_id = $1"
            ))
            .bind(user),
            |r| {
                Ok(Grant {
                    holder: Holder::User(*user),
                    vault_id: rows::id(r, "vault_id")?,
                    key_version: version(r)?,
                    sealed: r.bytes("sealed")?,
                })
            },
        )
        .await?;
    let token_name_keys = pool
        .all(
            query(sql!("SELECT id, name_key FROM tokens WHERE user_id = $1")).bind(user),
            |r| Ok((rows::id(r, "id")?, r.bytes("name_key")?)),
        )
        .await?;
    let deposit_copies = crate::user_key_deposits::read(pool, user).await?;
    let recovery = match accounts::recovery(pool, user).await? {
        Some(slot) => recovery_keys(pool, user).await?.map(|keys| (slot, keys)),
        None => None,
    };
    Ok(Some(UserKeyHoldings {
        user: record,
        members,
        grants,
        token_name_keys,
        deposit_copies,
        recovery,
    }))
}

async fn recovery_keys(pool: &Pool, user: &Id) -> StoreResult<Option<RecoveryKeys>> {
    pool.optional(
        query(sql!(
            "SELECT x25519_public, x25519_public_mac, sealed_user_key FROM recovery_slots WHERE user_id = $1"
        ))
        .bind(user),
        |r| {
            Ok(RecoveryKeys {
                public_key: r.opt_bytes("x25519_public")?,
                public_key_mac: r.opt_bytes("x25519_public_mac")?,
                sealed_user_key: r.opt_bytes("sealed_user_key")?,
            })
        },
    )
    .await
}

async fn swap(pool: &Pool, s: UserKeySwap) -> StoreResult<Swapped> {
    let mut tx = pool.write().await?;
    // First, and conditional: the user's row as it was read (password slot and public
    // key). Locks it until commit.
    let updated = tx
        .execute(
            query(sql!(
                "UPDATE users SET password_slot = $1, x25519_public = $2, x25519_public_mac = $3, \
                 x25519_wrapped = $4, user_key_rotation_due_at = NULL, failed_logins = 0, locked_until = NULL \
                 WHERE id = $5 AND password_slot = $6 AND x25519_public = $7"
            ))
            .bind(&s.password_slot)
            .bind(&s.public_key)
            .bind(&s.public_key_mac)
            .bind(&s.wrapped_private_key)
            .bind(&s.user)
            .bind(&s.old_password_slot)
            .bind(&s.old_public_key),
        )
        .await?;
    if updated == 0 {
        // A password change, a recovery or another rotation committed since the read.
        return Err(StoreError::Conflict);
    }
    let sessions_ended = sessions(&mut tx, &s).await?;
    grants(&mut tx, &s).await?;
    members(&mut tx, &s).await?;
    let tokens_revoked = tokens(&mut tx, &s).await?;
    recovery(&mut tx, &s).await?;
    let vaults = tx
        .all(
            query(sql!(
                "SELECT vault_id FROM vault_members WHERE user_id = $1"
            ))
            .bind(&s.user),
            |r| rows::id(r, "vault_id"),
        )
        .await?;
    tx.execute(
        query(sql!(
            "UPDATE vaults SET rotation_due = TRUE WHERE id IN (SELECT vault_id FROM vault_members WHERE user_id = $1)"
        ))
        .bind(&s.user),
    )
    .await?;
    // After the vaults' rows are locked (above): a deposit to the readers holds its
    // vault's lock from its holder check to its commit, so its copy is counted here, or
    // it finds the new public key and seals again.
    crate::user_key_deposits::reseal(&mut tx, &s).await?;
    audit::insert(&mut tx, &s.audit).await?;
    tx.commit().await?;
    Ok(Swapped {
        vaults,
        sessions_ended,
        tokens_revoked,
    })
}

/// Re-key the calling session (gone: `Conflict`, it was ended meanwhile) and end the rest.
async fn sessions(tx: &mut Tx, s: &UserKeySwap) -> StoreResult<u64> {
    let keep = s.keep_session.as_ref().map(|(id, _)| id);
    if let Some((id, wrapped)) = &s.keep_session {
        let kept = tx
            .execute(
                query(sql!(
                    "UPDATE sessions SET wrapped_user_key = $1 WHERE id = $2 AND user_id = $3"
                ))
                .bind(wrapped)
                .bind(id)
                .bind(&s.user),
            )
            .await?;
        if kept == 0 {
            return Err(StoreError::Conflict);
        }
    }
    tx.execute(
        query(sql!(
            "DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2"
        ))
        .bind(&s.user)
        .bind(keep),
    )
    .await
}

/// Every grant pending to the old public key was read and converted; one that was not
/// (sealed after the read) would die with the old pair: `KeyVersionMoved`, read again.
async fn grants(tx: &mut Tx, s: &UserKeySwap) -> StoreResult<()> {
    let now: Vec<(Id, u32)> = tx
        .all(
            query(sql!(
                "SELECT vault_id, key_version FROM user_grants WHERE user_id = $1"
            ))
            .bind(&s.user),
            |r| Ok((rows::id(r, "vault_id")?, version(r)?)),
        )
        .await?;
    let read: HashSet<&(Id, u32)> = s.grants.iter().collect();
    if now.iter().any(|g| !read.contains(g)) {
        return Err(StoreError::KeyVersionMoved);
    }
    tx.execute(query(sql!("DELETE FROM user_grants WHERE user_id = $1")).bind(&s.user))
        .await?;
    Ok(())
}

/// Each member slot, only if still at the version read; and no membership beyond them.
async fn members(tx: &mut Tx, s: &UserKeySwap) -> StoreResult<()> {
    let count = tx
        .one(
            query(sql!(
                "SELECT COUNT(*) AS n FROM vault_members WHERE user_id = $1"
            ))
            .bind(&s.user),
            |r| r.int("n"),
        )
        .await?;
    if usize::try_from(count).ok() != Some(s.members.len()) {
        return Err(StoreError::KeyVersionMoved);
    }
    for (vault, read_version, key_version, wrapped) in &s.members {
        let updated = tx
            .execute(
                query(sql!(
                    "UPDATE vault_members SET key_version = $1, wrapped_vault_key = $2 \
                     WHERE vault_id = $3 AND user_id = $4 AND key_version = $5"
                ))
                .bind(*key_version)
                .bind(wrapped)
                .bind(vault)
                .bind(&s.user)
                .bind(*read_version),
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::KeyVersionMoved);
        }
    }
    Ok(())
}

/// Name keys re-wrapped (or every token deleted); the tokens must be exactly those read.
async fn tokens(tx: &mut Tx, s: &UserKeySwap) -> StoreResult<u64> {
    let now: HashSet<Id> = tx
        .all(
            query(sql!("SELECT id FROM tokens WHERE user_id = $1")).bind(&s.user),
            |r| rows::id(r, "id"),
        )
        .await?
        .into_iter()
        .collect();
    let read: HashSet<Id> = s.token_name_keys.iter().map(|(id, _)| *id).collect();
    if now != read {
        return Err(StoreError::KeyVersionMoved);
    }
    if s.revoke_tokens {
        return tx
            .execute(query(sql!("DELETE FROM tokens WHERE user_id = $1")).bind(&s.user))
            .await;
    }
    // A `"*"` token of the first schema not converted yet wraps the old user key, which
    // opens nothing from now on: it gets the empty slot a `"*"` token has for a vault it
    // has no key of yet (version 0), for each of the user's vaults, so the rotations that
    // follow seal it their new keys, and its wrapped user key goes.
    tx.execute(
        query(sql!(
            "INSERT INTO token_vault_slots (token_id, vault_id, key_version, wrapped_vault_key) \
             SELECT t.id, m.vault_id, 0, $1 FROM tokens t JOIN vault_members m ON m.user_id = t.user_id \
             WHERE t.user_id = $2 AND t.wrapped_user_key IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM token_vault_slots s WHERE s.token_id = t.id AND s.vault_id = m.vault_id)"
        ))
        .bind(b"".as_slice())
        .bind(&s.user),
    )
    .await?;
    // No token holds the new user key, and the one they held (or hold in old copies) is
    // dead: their end no longer makes a user-key rotation due.
    tx.execute(
        query(sql!(
            "UPDATE tokens SET wrapped_user_key = NULL, held_user_key = FALSE WHERE user_id = $1"
        ))
        .bind(&s.user),
    )
    .await?;
    for (token, name_key) in &s.token_name_keys {
        tx.execute(
            query(sql!(
                "UPDATE tokens SET name_key = $1 WHERE id = $2 AND user_id = $3"
            ))
            .bind(name_key)
            .bind(token)
            .bind(&s.user),
        )
        .await?;
    }
    Ok(0)
}

/// The recovery slot becomes a grant, or a fresh code; only if the code read is current.
async fn recovery(tx: &mut Tx, s: &UserKeySwap) -> StoreResult<()> {
    let done = match &s.recovery {
        RecoveryRekey::Sealed {
            credential_id,
            sealed_user_key,
        } => {
            // The old wrapped user key is emptied, not left beside the grant.
            tx.execute(
                query(sql!(
                    "UPDATE recovery_slots SET wrapped_user_key = $1, sealed_user_key = $2 \
                     WHERE user_id = $3 AND credential_id = $4"
                ))
                .bind(b"".as_slice())
                .bind(sealed_user_key)
                .bind(&s.user)
                .bind(credential_id),
            )
            .await?
        }
        RecoveryRekey::Fresh {
            replaces: Some(old),
            record,
            public_key,
            public_key_mac,
        } => {
            tx.execute(
                query(sql!(
                    "UPDATE recovery_slots SET credential_id = $1, verifier = $2, wrapped_user_key = $3, \
                     x25519_public = $4, x25519_public_mac = $5, sealed_user_key = NULL \
                     WHERE user_id = $6 AND credential_id = $7"
                ))
                .bind(&record.credential_id)
                .bind(&record.verifier)
                .bind(&record.wrapped_user_key)
                .bind(public_key)
                .bind(public_key_mac)
                .bind(&s.user)
                .bind(old),
            )
            .await?
        }
        RecoveryRekey::Fresh {
            replaces: None,
            record,
            public_key,
            public_key_mac,
        } => {
            tx.execute(
                query(sql!(
                    "INSERT INTO recovery_slots (user_id, credential_id, verifier, wrapped_user_key, \
                     x25519_public, x25519_public_mac) VALUES ($1, $2, $3, $4, $5, $6)"
                ))
                .bind(&s.user)
                .bind(&record.credential_id)
                .bind(&record.verifier)
                .bind(&record.wrapped_user_key)
                .bind(public_key)
                .bind(public_key_mac),
            )
            .await?
        }
    };
    if done == 0 {
        // A recovery replaced the code meanwhile.
        return Err(StoreError::Conflict);
    }
    Ok(())
}

async fn set_recovery_public_key(
    pool: &Pool,
    user: &Id,
    credential_id: &Id,
    public_key: &[u8],
    public_key_mac: &[u8],
) -> StoreResult<bool> {
    let set = pool
        .execute(
            query(sql!(
                "UPDATE recovery_slots SET x25519_public = $1, x25519_public_mac = $2 \
                 WHERE user_id = $3 AND credential_id = $4"
            ))
            .bind(public_key)
            .bind(public_key_mac)
            .bind(user)
            .bind(credential_id),
        )
        .await?;
    Ok(set > 0)
}

#[async_trait]
impl UserKeyStore for crate::SqlStore {
    async fn user_key_holdings(&self, user: &Id) -> StoreResult<Option<UserKeyHoldings>> {
        holdings(&self.pool, user).await
    }
    async fn swap_user_key(&self, swap: UserKeySwap) -> StoreResult<Swapped> {
        let swapped = self::swap(&self.pool, swap).await?;
        // Every other session and the old slots are deleted: let their bytes go.
        self.release_deleted_bytes().await?;
        Ok(swapped)
    }
    async fn recovery_keys(&self, user: &Id) -> StoreResult<Option<RecoveryKeys>> {
        recovery_keys(&self.pool, user).await
    }
    async fn set_recovery_public_key(
        &self,
        user: &Id,
        credential_id: &Id,
        public_key: &[u8],
        public_key_mac: &[u8],
    ) -> StoreResult<bool> {
        set_recovery_public_key(&self.pool, user, credential_id, public_key, public_key_mac).await
    }
}
