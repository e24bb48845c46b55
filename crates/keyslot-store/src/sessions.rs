//! Sessions and the successful login that creates them.

use keyslot_core::model::{AuditEvent, SessionRecord, Timestamp};
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use crate::db::{Pool, query, sql};
use crate::{audit, rows};

/// A successful login: reset the failure count, store the session, optionally replace the
/// password slot (parameter upgrade), audit; one transaction.
pub(crate) async fn record_login(
    pool: &Pool,
    s: SessionRecord,
    upgraded_password_slot: Option<Vec<u8>>,
    audit: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    tx.execute(
        query(sql!(
            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1"
        ))
        .bind(&s.user_id),
    )
    .await?;
    if let Some(slot) = &upgraded_password_slot {
        tx.execute(
            query(sql!("UPDATE users SET password_slot = $1 WHERE id = $2"))
                .bind(slot)
                .bind(&s.user_id),
        )
        .await?;
    }
    tx.execute(
        query(sql!(
            "INSERT INTO sessions (id, user_id, verifier, wrapped_user_key, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&s.id)
        .bind(&s.user_id)
        .bind(&s.verifier)
        .bind(&s.wrapped_user_key)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at),
    )
    .await?;
    // Expired sessions of this user go while the transaction is open anyway.
    tx.execute(
        query(sql!(
            "DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2"
        ))
        .bind(&s.user_id)
        .bind(s.created_at),
    )
    .await?;
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}

/// A session by id; `None` as well when its user is disabled.
pub(crate) async fn by_id(pool: &Pool, id: &Id) -> StoreResult<Option<SessionRecord>> {
    pool.optional(
        query(sql!("SELECT s.id, s.user_id, s.verifier, s.wrapped_user_key, s.created_at, s.last_seen_at, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.disabled_at IS NULL AND s.id = $1"))
            .bind(id),
        rows::session,
    )
    .await
}

/// Activity never moves `last_seen_at` backwards, whatever order instances report it in.
pub(crate) async fn touch(pool: &Pool, id: &Id, at: Timestamp) -> StoreResult<()> {
    pool.execute(
        query(
            sql!("UPDATE sessions SET last_seen_at = " GREATEST "(last_seen_at, $1) WHERE id = $2"),
        )
        .bind(at)
        .bind(id),
    )
    .await?;
    Ok(())
}

pub(crate) async fn delete(pool: &Pool, id: &Id, audit: AuditEvent) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    tx.execute(query(sql!("DELETE FROM sessions WHERE id = $1")).bind(id))
        .await?;
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}
