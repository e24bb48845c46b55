//! The sweeper: credentials that have ended take their wrapped keys with them.
//!
//! An expired token or a timed-out session no longer authenticates, but until its rows go
//! its wrapped keys stay in the database: whoever kept the credential's secret and later
//! gets a copy of the database could still open them. So every instance deletes ended
//! credentials on a timer (30 s by default, so within a minute of their end), and the
//! store lets go of the deleted bytes (SQLite: zeroed and the log truncated). The deletes
//! are idempotent, so many instances sweeping at once is safe.

use std::sync::Arc;
use std::time::Duration;

use crate::model::Timestamp;
use crate::store::{Store, StoreResult, Swept};

/// Sweep once: what ended by `now` goes.
pub async fn sweep(
    store: &dyn Store,
    now: Timestamp,
    session_idle_secs: i64,
) -> StoreResult<Swept> {
    store
        .sweep_expired(now, now.saturating_sub(session_idle_secs))
        .await
}

/// Sweep every `interval` for as long as the runtime runs. A failed sweep (the database
/// away) is logged and retried at the next tick.
pub(crate) fn start(store: Arc<dyn Store>, interval: Duration, session_idle_secs: i64) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(store.as_ref(), crate::service::now(), session_idle_secs).await {
                Ok(swept) if swept != Swept::default() => {
                    tracing::info!(
                        tokens = swept.tokens,
                        sessions = swept.sessions,
                        user_keys_due = swept.user_keys_due,
                        "swept ended credentials"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweep failed; retrying at the next tick"),
            }
        }
    });
}
