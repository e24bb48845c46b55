//! The audit log: events written inside the transaction of the change they record, and
//! batches of read events appended by the read path's flusher.

use keyslot_core::model::AuditEvent;
use keyslot_core::store::{AuditFilter, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Arg, Pool, Tx, built, query, sql};
use crate::rows;

/// Audit events per INSERT statement (7 parameters each, well under both databases'
/// limits: SQLite 32,766, PostgreSQL 65,535).
const CHUNK: usize = 500;
const COLUMNS: usize = 7;

/// Record `e` in the transaction of the change it describes.
pub(crate) async fn insert(tx: &mut Tx, e: &AuditEvent) -> StoreResult<()> {
    tx.execute(bind_event(
        query(sql!("INSERT INTO audit_events (user_id, at, action, actor, outcome, ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")),
        e,
    ))
    .await?;
    Ok(())
}

fn bind_event<'q>(q: crate::db::Query<'q>, e: &'q AuditEvent) -> crate::db::Query<'q> {
    q.bind(e.user_id.as_ref())
        .bind(e.at)
        .bind(&e.action)
        .bind(&e.actor)
        .bind(e.outcome.as_str())
        .bind(&e.ip)
        .bind(&e.detail)
}

/// Append a batch: one multi-row INSERT per chunk. The read path's events arrive in
/// batches of hundreds, and a statement per event costs more CPU than the reads
/// themselves.
pub(crate) async fn append(pool: &Pool, events: &[AuditEvent]) -> StoreResult<()> {
    const INSERT: &str =
        "INSERT INTO audit_events (user_id, at, action, actor, outcome, ip, detail) VALUES ";
    for chunk in events.chunks(CHUNK) {
        // SQLite gets anonymous `?` placeholders: sqlx looks a named one (`$N`) up by name
        // for every argument, a scan of all of them, which made a 3,500-argument batch cost
        // a sixth of the server's CPU under read load (perf). PostgreSQL needs `$N`.
        let mut sqlite = String::from(INSERT);
        let mut postgres = String::from(INSERT);
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * COLUMNS);
        for (row, e) in chunk.iter().enumerate() {
            let separator = if row > 0 { ", " } else { "" };
            sqlite.push_str(separator);
            sqlite.push_str("(?, ?, ?, ?, ?, ?, ?)");
            postgres.push_str(separator);
            postgres.push('(');
            for column in 0..COLUMNS {
                if column > 0 {
                    postgres.push_str(", ");
                }
                postgres.push('$');
                postgres.push_str(&(row * COLUMNS + column + 1).to_string());
            }
            postgres.push(')');
            args.extend([
                Arg::from(e.user_id.as_ref()),
                Arg::from(e.at),
                Arg::from(&e.action),
                Arg::from(&e.actor),
                Arg::from(e.outcome.as_str()),
                Arg::from(&e.ip),
                Arg::from(&e.detail),
            ]);
        }
        pool.execute(built(sqlite, postgres, args)).await?;
    }
    Ok(())
}

/// The newest `limit` events of a user, newest first.
pub(crate) async fn events(pool: &Pool, user: &Id, limit: u32) -> StoreResult<Vec<AuditEvent>> {
    pool.all(
        query(sql!("SELECT user_id, at, action, actor, outcome, ip, detail FROM audit_events WHERE user_id = $1 ORDER BY seq DESC LIMIT $2"))
            .bind(user)
            .bind(limit),
        rows::audit,
    )
    .await
}

/// A page of a user's events matching `filter`, newest first, with their positions. One
/// statement for every combination of filters (an absent one is a NULL that matches
/// all), walking the `(user_id, seq)` index backwards from the cursor.
pub(crate) async fn page(
    pool: &Pool,
    user: &Id,
    filter: &AuditFilter,
) -> StoreResult<Vec<(i64, AuditEvent)>> {
    pool.all(
        query(sql!("SELECT " SEQ " AS position, user_id, at, action, actor, outcome, ip, detail FROM audit_events WHERE user_id = $1 AND ($2 IS NULL OR at >= $2) AND ($3 IS NULL OR at < $3) AND ($4 IS NULL OR action = $4) AND ($5 IS NULL OR actor = $5) AND ($6 IS NULL OR " SEQ " < $6) ORDER BY " SEQ " DESC LIMIT $7"))
            .bind(user)
            .bind(filter.since)
            .bind(filter.until)
            .bind(&filter.action)
            .bind(&filter.actor)
            .bind(filter.before)
            .bind(filter.limit),
        |row| Ok((row.int("position")?, rows::audit(row)?)),
    )
    .await
}
