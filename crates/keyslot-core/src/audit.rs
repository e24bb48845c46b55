//! The read-path audit buffer (DESIGN.md §6.1): read events (`item.read`, `item.list`,
//! `vault.list`, `token.list`) and token `last_used_at` go into a bounded channel that a
//! background task flushes in batches, so a read does not wait on a write.
//!
//! Keyslot does not serve what it cannot record. A read queues its event *before* it
//! answers; when the buffer is full it waits up to [`WAIT`] for room, and otherwise the
//! read fails with [`Error::Unavailable`] (503 + `Retry-After`) and is counted. A batch
//! the database refuses is retried, not dropped: while the database is away the buffer
//! fills and reads are refused, which is the point. Only token last-use marks, which are
//! advisory and coalesced, are skipped (and counted) when the buffer is full.
//!
//! At a graceful shutdown [`AuditBuffer::close`] stops new entries, writes every one
//! still queued and waits for it, for a bounded time. What a buffer cannot promise:
//! events queued but not yet written when the process is killed (at most one flush
//! interval's worth, plus the buffer), or still unwritten when that time is up (the
//! database away at shutdown), are lost with it; the latter are counted in an error log.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use keyslot_crypto::Id;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::{OwnedRwLockWriteGuard, RwLock, watch};

use crate::model::{AuditEvent, Timestamp};
use crate::store::Store;
use crate::{Error, Result};

enum Entry {
    Event(AuditEvent),
    TokenUse(Id, Timestamp),
}

/// By hand: nothing of an entry is worth a log line.
impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Entry")
    }
}

/// Sender side of the buffer; cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditBuffer {
    tx: mpsc::Sender<Entry>,
    refused_reads: Arc<AtomicU64>,
    skipped_uses: Arc<AtomicU64>,
    hold: Arc<RwLock<()>>,
    /// Set to `true` to make the flusher close the buffer and write all it holds.
    stop: Arc<watch::Sender<bool>>,
    /// Becomes `true` when the flusher has written everything and ended.
    drained: watch::Receiver<bool>,
    /// Events the flusher has taken from the buffer and not yet written.
    in_hand: Arc<AtomicUsize>,
}

/// What the buffer turned away because it was full, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusals {
    /// Reads answered 503 because their event found no room within [`WAIT`].
    pub reads: u64,
    /// Token last-use marks not queued (the token's next use marks it).
    pub token_uses: u64,
}

/// Holds the flusher before its next write while alive (a test hook: see
/// [`crate::Keyslot::hold_audit_flush`]).
#[derive(Debug)]
pub struct FlushHold(#[allow(dead_code)] OwnedRwLockWriteGuard<()>);

/// How long entries gather before a flush (well within the promised second).
const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// How long a read waits for room in a full buffer before it is refused.
pub const WAIT: Duration = Duration::from_millis(100);
/// Pause between attempts to write a batch the database refused.
const RETRY: Duration = Duration::from_secs(1);

impl AuditBuffer {
    /// Start a buffer of `capacity` entries (at least 1) and its flusher on the current
    /// tokio runtime.
    pub fn start(store: Arc<dyn Store>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        let hold = Arc::new(RwLock::new(()));
        let (stop, stop_rx) = watch::channel(false);
        let (drained_tx, drained) = watch::channel(false);
        let in_hand = Arc::new(AtomicUsize::new(0));
        let flusher = Flusher {
            store,
            rx,
            capacity,
            hold: hold.clone(),
            stop: stop_rx,
            in_hand: in_hand.clone(),
        };
        tokio::spawn(async move {
            flusher.run().await;
            let _ = drained_tx.send(true);
        });
        Self {
            tx,
            refused_reads: Arc::default(),
            skipped_uses: Arc::default(),
            hold,
            stop: Arc::new(stop),
            drained,
            in_hand,
        }
    }

    /// At shutdown, once no request can record anything more: close the buffer (a read
    /// recording after this is refused) and wait up to `within` until every entry queued
    /// has been written. Returns how many events were not written in time (0: all were);
    /// queued token last-use marks count too, since the buffer does not tell them apart
    /// from events until the flusher takes them.
    pub async fn close(&self, within: Duration) -> usize {
        let _ = self.stop.send(true);
        let mut drained = self.drained.clone();
        // `Ok(Ok(_))` only: a flusher that ended without draining (it panicked) has not
        // written what it held.
        if let Ok(Ok(_)) = tokio::time::timeout(within, drained.wait_for(|done| *done)).await {
            return 0;
        }
        let queued = self.tx.max_capacity() - self.tx.capacity();
        self.in_hand.load(Ordering::Relaxed) + queued
    }

    /// Queue a read's event; call before answering the read. Waits up to [`WAIT`] for
    /// room, then refuses with [`Error::Unavailable`]: the read must not be served.
    pub async fn record(&self, event: AuditEvent) -> Result<()> {
        // The common case costs what it always did: one non-blocking send, no timer.
        let entry = match self.tx.try_send(Entry::Event(event)) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(entry)) => entry,
            Err(TrySendError::Closed(_)) => return Err(self.refuse()),
        };
        match tokio::time::timeout(WAIT, self.tx.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(entry);
                Ok(())
            }
            Ok(Err(_)) | Err(_) => Err(self.refuse()),
        }
    }

    /// Queue a token use without waiting; skipped (and counted) when the buffer is full.
    pub fn token_used(&self, token: Id, at: Timestamp) {
        if self.tx.try_send(Entry::TokenUse(token, at)).is_err() {
            self.skipped_uses.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Entries waiting in the buffer now, and how many it holds at most (for `/metrics`:
    /// a buffer that stays near full means the flusher is behind and reads will be
    /// refused soon). Two atomic loads, no lock.
    pub fn fill(&self) -> (usize, usize) {
        let max = self.tx.max_capacity();
        (max.saturating_sub(self.tx.capacity()), max)
    }

    /// What was turned away so far.
    pub fn refusals(&self) -> Refusals {
        Refusals {
            reads: self.refused_reads.load(Ordering::Relaxed),
            token_uses: self.skipped_uses.load(Ordering::Relaxed),
        }
    }

    /// Hold the flusher before its next write until the guard drops.
    pub async fn hold(&self) -> FlushHold {
        FlushHold(self.hold.clone().write_owned().await)
    }

    fn refuse(&self) -> Error {
        self.refused_reads.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("audit buffer full: read refused with 503");
        Error::Unavailable { retry_after: 1 }
    }
}

/// The task that writes the buffer's entries.
struct Flusher {
    store: Arc<dyn Store>,
    rx: mpsc::Receiver<Entry>,
    capacity: usize,
    hold: Arc<RwLock<()>>,
    stop: watch::Receiver<bool>,
    in_hand: Arc<AtomicUsize>,
}

impl Flusher {
    /// Until the buffer is closed and empty.
    async fn run(mut self) {
        let mut events = Vec::new();
        let mut uses: Vec<(Id, Timestamp)> = Vec::new();
        // Wake for the first entry, then sleep out the interval and drain what came
        // meanwhile: one wake-up per interval, not one per read (a per-entry wake-up was a
        // cross-thread wake on every request, visible in the profile of a token read). A
        // drain takes at most one buffer's worth, so readers refilling the room it makes
        // cannot keep it from writing. Once stopped, nothing waits: what is queued is
        // written at once, and the loop ends when the closed buffer is empty.
        while let Some(first) = self.next().await {
            let mut entry = Some(first);
            // A buffer already half full (a burst, or the backlog of a stall) is drained
            // now: readers are about to wait for its room.
            if self.rx.len() < self.capacity / 2 && !self.stopping() {
                let stop = self.stop.clone();
                tokio::select! {
                    () = tokio::time::sleep(FLUSH_INTERVAL) => {}
                    () = stopped(stop) => self.rx.close(),
                }
            }
            let mut taken = 0;
            while let Some(e) = entry.take() {
                match e {
                    Entry::Event(e) => events.push(e),
                    Entry::TokenUse(id, at) => match uses.iter_mut().find(|(t, _)| *t == id) {
                        Some(slot) => slot.1 = slot.1.max(at),
                        None => uses.push((id, at)),
                    },
                }
                taken += 1;
                if taken < self.capacity {
                    entry = self.rx.try_recv().ok();
                }
            }
            if !events.is_empty() {
                self.in_hand.store(events.len(), Ordering::Relaxed);
                let _held = self.hold.read().await;
                // Every event queued belongs to a read that was answered: retry until it
                // is written. Meanwhile the buffer fills and new reads are refused.
                while let Err(e) = self.store.append_audit(&events).await {
                    tracing::warn!(pending = events.len(), error = %e, "audit flush failed; retrying");
                    tokio::time::sleep(RETRY).await;
                }
                events.clear();
                self.in_hand.store(0, Ordering::Relaxed);
            }
            if !uses.is_empty() {
                if let Err(e) = self.store.mark_tokens_used(&uses).await {
                    tracing::warn!(error = %e, "token last-use flush failed");
                }
                uses.clear();
            }
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// The next entry: waits for one while open; once stopped, closes the buffer and
    /// takes what is left in it, then `None`.
    async fn next(&mut self) -> Option<Entry> {
        if !self.stopping() {
            let stop = self.stop.clone();
            tokio::select! {
                entry = self.rx.recv() => return entry,
                () = stopped(stop) => {}
            }
        }
        self.rx.close();
        self.rx.recv().await
    }
}

/// Resolves once `stop` says `true` (or its sender is gone: nothing can stop it then,
/// so it never resolves).
async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}
