//! Attempt counters: logins, recoveries, `current_password` checks and signups are counted
//! when they are *admitted*, before any Argon2 runs, so that however many arrive at once,
//! on however many instances, no more are evaluated than the limits allow.
//!
//! Each key's check and increment is one statement, `INSERT … ON CONFLICT … DO UPDATE …
//! WHERE next_allowed_at <= now RETURNING`: a key that is shut returns no row and is not
//! counted. The statement also locks the row until commit (PostgreSQL; SQLite's write
//! transaction holds the database), so the next admission of the same key waits and then
//! sees this one's count and lock. The lock itself, which needs the new count, is written
//! by a second statement in the same short transaction. Keys are taken in the caller's
//! order (username, then username and network, then network), the same for every
//! attempt, so two admissions never wait on each other in a cycle.

use keyslot_core::model::Timestamp;
use keyslot_core::store::{Admission, AttemptLimit, AttemptRule, StoreResult};

use crate::db::{Pool, Tx, query, sql};

/// Admit one attempt against every limit, or count nothing and say how long to wait.
pub(crate) async fn admit(
    pool: &Pool,
    limits: &[AttemptLimit],
    now: Timestamp,
) -> StoreResult<Admission> {
    let mut tx = pool.write().await?;
    for limit in limits {
        if let Some(retry_after) = admit_one(&mut tx, limit, now).await? {
            // Dropping the transaction rolls back the keys already counted: a refused
            // attempt costs no other counter (a blocked source cannot use up a username).
            return Ok(Admission::Refused { retry_after });
        }
    }
    tx.commit().await?;
    Ok(Admission::Admitted)
}

/// Count one attempt on `limit`'s key; `Some(wait)` if the key is shut.
async fn admit_one(tx: &mut Tx, limit: &AttemptLimit, now: Timestamp) -> StoreResult<Option<u64>> {
    // A row past its end counts as fresh: the sweeper's timing never changes an answer.
    let counted = tx
        .optional(
            query(sql!(
                "INSERT INTO attempt_counters (key, count, window_start, next_allowed_at, expires_at) \
                 VALUES ($1, 1, $2, 0, $2) \
                 ON CONFLICT (key) DO UPDATE SET \
                 count = CASE WHEN attempt_counters.expires_at <= $2 THEN 1 ELSE attempt_counters.count + 1 END, \
                 window_start = CASE WHEN attempt_counters.expires_at <= $2 THEN $2 ELSE attempt_counters.window_start END \
                 WHERE attempt_counters.next_allowed_at <= $2 \
                 RETURNING count, window_start"
            ))
            .bind(&limit.key)
            .bind(now),
            |r| Ok((r.int("count")?, r.int("window_start")?)),
        )
        .await?;
    let Some((count, window_start)) = counted else {
        let until = tx
            .one(
                query(sql!(
                    "SELECT next_allowed_at FROM attempt_counters WHERE key = $1"
                ))
                .bind(&limit.key),
                |r| r.int("next_allowed_at"),
            )
            .await?;
        return Ok(Some(wait(until, now)));
    };
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    let (next_allowed_at, expires_at) = match limit.rule {
        AttemptRule::Budget { limit, window_secs } => {
            let end = window_start.saturating_add(window_secs.max(1));
            (if count >= limit { end } else { 0 }, end)
        }
        AttemptRule::Backoff(backoff) => {
            let lock = i64::try_from(backoff.lock_secs(count)).unwrap_or(i64::MAX / 4);
            let keep = i64::try_from(backoff.max_secs).unwrap_or(i64::MAX / 4);
            // Whole seconds: shut through `now + lock`, so a lock of n seconds lasts at
            // least n (the second it started in may be nearly over).
            let next = if lock > 0 {
                now.saturating_add(lock).saturating_add(1)
            } else {
                0
            };
            (next, next.max(now).saturating_add(keep.max(1)))
        }
    };
    tx.execute(
        query(sql!(
            "UPDATE attempt_counters SET next_allowed_at = $1, expires_at = $2 WHERE key = $3"
        ))
        .bind(next_allowed_at)
        .bind(expires_at)
        .bind(&limit.key),
    )
    .await?;
    Ok(None)
}

/// Seconds from `now` until `until`, at least 1. Times are whole seconds: a key shut until
/// `t` opens at `t`, so the wait is `t - now`, and never 0 while it is shut.
fn wait(until: Timestamp, now: Timestamp) -> u64 {
    until.saturating_sub(now).max(1).unsigned_abs()
}

/// A success: forget `clear`, and give one attempt back to the budget `refund`. A budget
/// shuts only at its limit, so one attempt back always reopens it.
pub(crate) async fn succeeded(pool: &Pool, clear: &[&[u8]], refund: &[u8]) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    for key in clear {
        tx.execute(query(sql!("DELETE FROM attempt_counters WHERE key = $1")).bind(*key))
            .await?;
    }
    tx.execute(
        query(sql!(
            "UPDATE attempt_counters SET count = count - 1, next_allowed_at = 0 WHERE key = $1 AND count > 0"
        ))
        .bind(refund),
    )
    .await?;
    tx.commit().await
}

/// Delete every counter (`keyslot seal migrate`, once it has finished: the username keys
/// were MACs under the replaced seal key's MAC key); how many there were.
pub(crate) async fn clear_all(pool: &Pool) -> StoreResult<u64> {
    pool.execute(query(sql!("DELETE FROM attempt_counters")))
        .await
}
