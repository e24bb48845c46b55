//! End-to-end accounts ([`E2eAccountStore`]): sign-up with the client's keys, the
//! identity key, the session unlock slot and pins.

use async_trait::async_trait;
use keyslot_core::e2e_store::{
    E2eAccountStore, E2eIdentity, E2ePasswordChange, E2eRecoveryRecord, NewE2eAccount, PinRecord,
};
use keyslot_core::model::AuditEvent;
use keyslot_core::store::{NewAccount, StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Pool, query, sql, touched};
use crate::{accounts, audit, rows};

/// Sign-up in one transaction: the rows a server-mode sign-up writes, then the identity,
/// the recovery code's public key and the first vault key's signed public key, so no
/// end-to-end account exists without its identity.
async fn create(pool: &Pool, a: NewE2eAccount) -> StoreResult<()> {
    let NewE2eAccount {
        user,
        user_public_key_mac,
        identity,
        recovery,
        recovery_public_key: (recovery_public, recovery_mac),
        vault,
        vault_public_key: (vault_public, vault_signature, vault_mac),
        audit,
    } = a;
    let (user_id, credential_id, vault_id, key_version) =
        (user.id, recovery.credential_id, vault.id, vault.key_version);
    let account = NewAccount {
        user,
        user_public_key_mac: Some(user_public_key_mac),
        recovery,
        vault,
        audit,
    };
    let mut tx = pool.write().await?;
    accounts::insert(&mut tx, &account).await?;
    touched(
        tx.execute(
            query(sql!(
                "UPDATE users SET identity_public = $1, identity_wrapped = $2, x25519_signature = $3 \
                 WHERE id = $4"
            ))
            .bind(&identity.identity_public)
            .bind(&identity.identity_wrapped)
            .bind(&identity.x25519_signature)
            .bind(&user_id),
        )
        .await?,
    )?;
    touched(
        tx.execute(
            query(sql!(
                "UPDATE recovery_slots SET x25519_public = $1, x25519_public_mac = $2 \
                 WHERE user_id = $3 AND credential_id = $4"
            ))
            .bind(&recovery_public)
            .bind(&recovery_mac)
            .bind(&user_id)
            .bind(&credential_id),
        )
        .await?,
    )?;
    touched(
        tx.execute(
            query(sql!(
                "UPDATE vault_keys SET public_key = $1, public_key_signature = $2, public_key_mac = $5 \
                 WHERE vault_id = $3 AND key_version = $4"
            ))
            .bind(&vault_public)
            .bind(&vault_signature)
            .bind(&vault_id)
            .bind(key_version)
            .bind(&vault_mac),
        )
        .await?,
    )?;
    tx.commit().await
}

async fn identity(pool: &Pool, user: &Id) -> StoreResult<Option<E2eIdentity>> {
    let row = pool
        .optional(
            query(sql!(
                "SELECT identity_public, identity_wrapped, x25519_signature FROM users \
                 WHERE id = $1 AND end_to_end"
            ))
            .bind(user),
            |r| {
                Ok((
                    r.opt_bytes("identity_public")?,
                    r.opt_bytes("identity_wrapped")?,
                    r.opt_bytes("x25519_signature")?,
                ))
            },
        )
        .await?;
    match row {
        None => Ok(None),
        Some((Some(identity_public), Some(identity_wrapped), Some(x25519_signature))) => {
            Ok(Some(E2eIdentity {
                identity_public,
                identity_wrapped,
                x25519_signature,
            }))
        }
        // Sign-up writes all three with the row, in one transaction.
        Some(_) => Err(StoreError::Corrupt("identity_public")),
    }
}

/// Once per session: the UPDATE only matches a session without a slot, so of two racing
/// writes one wins and the other learns it.
async fn set_unlock(
    pool: &Pool,
    session: &Id,
    unlock_id: &Id,
    wrapped_user_key: &[u8],
) -> StoreResult<()> {
    let set = pool
        .execute(
            query(sql!(
                "UPDATE sessions SET unlock_id = $1, wrapped_user_key = $2 \
                 WHERE id = $3 AND unlock_id IS NULL"
            ))
            .bind(unlock_id)
            .bind(wrapped_user_key)
            .bind(session),
        )
        .await?;
    if set == 1 {
        return Ok(());
    }
    let exists = pool
        .optional(
            query(sql!("SELECT id FROM sessions WHERE id = $1")).bind(session),
            |r| r.bytes("id"),
        )
        .await?;
    Err(match exists {
        Some(_) => StoreError::Conflict,
        None => StoreError::NotFound,
    })
}

async fn unlock(pool: &Pool, session: &Id) -> StoreResult<Option<(Id, Vec<u8>)>> {
    pool.optional(
        query(sql!(
            "SELECT unlock_id, wrapped_user_key FROM sessions WHERE id = $1 AND unlock_id IS NOT NULL"
        ))
        .bind(session),
        |r| Ok((rows::id(r, "unlock_id")?, r.bytes("wrapped_user_key")?)),
    )
    .await
}

async fn put_pin(pool: &Pool, pin: PinRecord, audit: AuditEvent) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    let known = tx
        .optional(
            query(sql!("SELECT id FROM users WHERE id = $1")).bind(&pin.pinned_user_id),
            |r| r.bytes("id"),
        )
        .await?;
    if known.is_none() {
        return Err(StoreError::NotFound);
    }
    tx.execute(
        query(sql!(
            "INSERT INTO pins (user_id, pinned_user_id, identity_public, pin, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, pinned_user_id) DO UPDATE \
             SET identity_public = excluded.identity_public, pin = excluded.pin, updated_at = excluded.updated_at"
        ))
        .bind(&pin.user_id)
        .bind(&pin.pinned_user_id)
        .bind(&pin.identity_public)
        .bind(&pin.pin)
        .bind(pin.updated_at),
    )
    .await?;
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}

async fn pins(pool: &Pool, user: &Id) -> StoreResult<Vec<PinRecord>> {
    pool.all(
        query(sql!(
            "SELECT user_id, pinned_user_id, identity_public, pin, updated_at FROM pins \
             WHERE user_id = $1 ORDER BY pinned_user_id"
        ))
        .bind(user),
        |r| {
            Ok(PinRecord {
                user_id: rows::id(r, "user_id")?,
                pinned_user_id: rows::id(r, "pinned_user_id")?,
                identity_public: r.bytes("identity_public")?,
                pin: r.bytes("pin")?,
                updated_at: r.int("updated_at")?,
            })
        },
    )
    .await
}

#[async_trait]
impl E2eAccountStore for crate::SqlStore {
    async fn create_e2e_account(&self, account: NewE2eAccount) -> StoreResult<()> {
        create(&self.pool, account).await
    }
    async fn e2e_identity(&self, user: &Id) -> StoreResult<Option<E2eIdentity>> {
        identity(&self.pool, user).await
    }
    async fn set_session_unlock(
        &self,
        session: &Id,
        unlock_id: &Id,
        wrapped_user_key: &[u8],
    ) -> StoreResult<()> {
        set_unlock(&self.pool, session, unlock_id, wrapped_user_key).await
    }
    async fn session_unlock(&self, session: &Id) -> StoreResult<Option<(Id, Vec<u8>)>> {
        unlock(&self.pool, session).await
    }
    async fn put_pin(&self, pin: PinRecord, audit: AuditEvent) -> StoreResult<()> {
        put_pin(&self.pool, pin, audit).await
    }
    async fn pins(&self, user: &Id) -> StoreResult<Vec<PinRecord>> {
        pins(&self.pool, user).await
    }
    async fn change_password_e2e(&self, c: E2ePasswordChange) -> StoreResult<()> {
        accounts::change_password(
            &self.pool,
            &c.user,
            Some(&c.expected_password_slot),
            c.password_slot,
            c.end_other_sessions,
            Some(&c.session),
            c.revoke_tokens,
            c.audit,
            Some(&c.credential_id),
        )
        .await
    }
    async fn recover_e2e(&self, r: E2eRecoveryRecord) -> StoreResult<()> {
        accounts::recover(
            &self.pool,
            &r.user,
            &r.expected_recovery,
            Some(&r.expected_public_key),
            r.password_slot,
            r.recovery,
            r.revoke_tokens,
            r.audit,
            Some(&r.credential_id),
        )
        .await
    }
}
