//! The read-path audit buffer (DESIGN.md §6.1): `item.read` events and token
//! `last_used_at` go into a bounded channel that a background task flushes in batches at
//! least once a second, so a read never waits on a write. When the buffer is full the
//! event is dropped and counted (visible in `/metrics`), rather than slowing reads down.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keyslot_crypto::Id;
use tokio::sync::mpsc;

use crate::model::{AuditEvent, Timestamp};
use crate::store::Store;

enum Entry {
    Event(AuditEvent),
    TokenUse(Id, Timestamp),
}

/// Sender side of the buffer; cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditBuffer {
    tx: mpsc::Sender<Entry>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Entry")
    }
}

const CAPACITY: usize = 16 * 1024;
/// How long entries gather before a flush (well within the promised second).
const FLUSH_INTERVAL: Duration = Duration::from_millis(200);

impl AuditBuffer {
    /// Start the buffer and its flusher on the current tokio runtime.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel(CAPACITY);
        tokio::spawn(flush_loop(store, rx));
        Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queue a read event without waiting.
    pub fn event(&self, event: AuditEvent) {
        self.push(Entry::Event(event));
    }

    /// Queue a token use without waiting.
    pub fn token_used(&self, token: Id, at: Timestamp) {
        self.push(Entry::TokenUse(token, at));
    }

    /// Events dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn push(&self, entry: Entry) {
        if self.tx.try_send(entry).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn flush_loop(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Entry>) {
    let mut events = Vec::new();
    let mut uses: Vec<(Id, Timestamp)> = Vec::new();
    // Wake for the first entry, then sleep out the interval and drain what came meanwhile:
    // one wake-up per interval, not one per read (a per-entry wake-up was a cross-thread
    // wake on every request, visible in the profile of a token read).
    while let Some(first) = rx.recv().await {
        let mut entry = Some(first);
        tokio::time::sleep(FLUSH_INTERVAL).await;
        while let Some(e) = entry.take() {
            match e {
                Entry::Event(e) => events.push(e),
                Entry::TokenUse(id, at) => match uses.iter_mut().find(|(t, _)| *t == id) {
                    Some(slot) => slot.1 = slot.1.max(at),
                    None => uses.push((id, at)),
                },
            }
            entry = rx.try_recv().ok();
        }
        if !events.is_empty() {
            if let Err(e) = store.append_audit(&events).await {
                tracing::warn!(lost = events.len(), error = %e, "audit flush failed");
            }
            events.clear();
        }
        if !uses.is_empty() {
            if let Err(e) = store.mark_tokens_used(&uses).await {
                tracing::warn!(error = %e, "token last-use flush failed");
            }
            uses.clear();
        }
    }
}
