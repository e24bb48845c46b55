//! The sweeper's deletes: credentials that have ended take their wrapped keys with them.

use keyslot_core::model::Timestamp;
use keyslot_core::store::{StoreResult, Swept};

use crate::db::{Pool, query, sql};

/// Delete expired tokens (their vault slots go with them, `ON DELETE CASCADE`) and ended
/// sessions, and ended attempt counters, in one transaction. A token that ever wrapped the user key (`held_user_key`,
/// kept after its conversion to per-vault slots) marks its user's key as
/// due to rotate, in the same transaction, before its row goes. Many instances may sweep
/// at once: a row already deleted is simply not there for the next.
pub(crate) async fn expired(
    pool: &Pool,
    now: Timestamp,
    idle_before: Timestamp,
) -> StoreResult<Swept> {
    let mut tx = pool.write().await?;
    let user_keys_due = tx
        .execute(
            query(sql!(
                "UPDATE users SET user_key_rotation_due_at = COALESCE(user_key_rotation_due_at, $1) \
                 WHERE id IN (SELECT user_id FROM tokens WHERE expires_at <= $1 AND held_user_key)"
            ))
            .bind(now),
        )
        .await?;
    let tokens = tx
        .execute(query(sql!("DELETE FROM tokens WHERE expires_at <= $1")).bind(now))
        .await?;
    let sessions = tx
        .execute(
            query(sql!(
                "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2"
            ))
            .bind(now)
            .bind(idle_before),
        )
        .await?;
    // Attempt counters past their end: they hold usernames' MACs, kept no longer than
    // the longest back-off needs them.
    let attempt_counters = tx
        .execute(query(sql!("DELETE FROM attempt_counters WHERE expires_at <= $1")).bind(now))
        .await?;
    tx.commit().await?;
    Ok(Swept {
        tokens,
        sessions,
        user_keys_due,
        attempt_counters,
    })
}
