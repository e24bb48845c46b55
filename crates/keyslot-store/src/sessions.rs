//! Sessions and the successful login that creates them.

use keyslot_core::model::{AuditEvent, SessionRecord, Timestamp};
use keyslot_core::store::{NewLogin, StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Pool, query, sql};
use crate::{audit, rows};

/// A successful login. The first statement is conditional on the password slot the login
/// verified (and on the account not having been disabled meanwhile), and locks the user's row until commit (PostgreSQL; SQLite's write lock is
/// already held): a password change that committed first makes it touch nothing, and one
/// that comes later waits for this login and then ends its session as it ends the others.
pub(crate) async fn record_login(pool: &Pool, login: NewLogin) -> StoreResult<()> {
    let NewLogin {
        session: s,
        verified_password_slot,
        upgraded_password_slot,
        max_sessions,
        audit,
    } = login;
    let mut tx = pool.write().await?;
    let current = tx
        .execute(
            query(sql!(
                "UPDATE users SET failed_logins = 0, locked_until = NULL, password_slot = COALESCE($1, password_slot) \
                 WHERE id = $2 AND password_slot = $3 AND disabled_at IS NULL"
            ))
            .bind(&upgraded_password_slot)
            .bind(&s.user_id)
            .bind(&verified_password_slot),
        )
        .await?;
    if current == 0 {
        return Err(StoreError::Conflict);
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
    // Expired sessions of this user go while the transaction is open anyway, and beyond
    // the cap the oldest end: a stolen password cannot pile up sessions unnoticed, and a
    // user's own logins never fail for it.
    tx.execute(
        query(sql!(
            "DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2"
        ))
        .bind(&s.user_id)
        .bind(s.created_at),
    )
    .await?;
    tx.execute(
        query(sql!(
            "DELETE FROM sessions WHERE user_id = $1 AND id NOT IN \
             (SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, " SEQ " DESC LIMIT $2)"
        ))
        .bind(&s.user_id)
        .bind(max_sessions.max(1)),
    )
    .await?;
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await
}

/// A session by id; `None` as well when its user is disabled.
pub(crate) async fn by_id(pool: &Pool, id: &Id) -> StoreResult<Option<SessionRecord>> {
    pool.optional(
        query(sql!("SELECT s.id, s.user_id, s.verifier, s.wrapped_user_key, s.created_at, s.last_seen_at, s.expires_at, u.end_to_end FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.disabled_at IS NULL AND s.id = $1"))
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
