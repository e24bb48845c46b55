//! Failed-login counters: per client address (a budget shared by every instance) and per
//! account (exponential back-off).

use keyslot_core::model::{AuditEvent, Backoff, Timestamp};
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use crate::audit;
use crate::db::{Pool, query, sql};

/// Only the last hour matters to any budget; older rows are pruned as failures arrive.
const KEEP_SECS: i64 = 3600;

pub(crate) async fn ip_failures(pool: &Pool, ip: &str, since: Timestamp) -> StoreResult<u32> {
    let count = pool
        .one(
            query(sql!(
                "SELECT COUNT(*) AS n FROM login_failures WHERE ip = $1 AND at >= $2"
            ))
            .bind(ip)
            .bind(since),
            |r| r.int("n"),
        )
        .await?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// Count a failure. The account's counter is incremented by one `UPDATE … RETURNING`,
/// which locks the row until commit on both databases, so concurrent failures from many
/// instances are each counted and each sees its own count for the back-off.
pub(crate) async fn record_failure(
    pool: &Pool,
    user: Option<&Id>,
    ip: &str,
    backoff: Backoff,
    audit: AuditEvent,
) -> StoreResult<Option<Timestamp>> {
    let mut tx = pool.write().await?;
    tx.execute(
        query(sql!("INSERT INTO login_failures (ip, at) VALUES ($1, $2)"))
            .bind(ip)
            .bind(audit.at),
    )
    .await?;
    tx.execute(query(sql!("DELETE FROM login_failures WHERE at < $1")).bind(audit.at - KEEP_SECS))
        .await?;
    let mut locked_until = None;
    if let Some(user) = user {
        let failures = tx
            .one(
                query(sql!("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins"))
                    .bind(user),
                |r| r.int("failed_logins"),
            )
            .await?;
        let lock = backoff.lock_secs(u32::try_from(failures).unwrap_or(u32::MAX));
        if lock > 0 {
            let until = audit
                .at
                .saturating_add(i64::try_from(lock).unwrap_or(i64::MAX / 2));
            tx.execute(
                query(sql!("UPDATE users SET locked_until = $1 WHERE id = $2"))
                    .bind(until)
                    .bind(user),
            )
            .await?;
            locked_until = Some(until);
        }
    }
    audit::insert(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(locked_until)
}
