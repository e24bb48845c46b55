//! Bounded admission for Argon2id (DESIGN.md §4): at most `workers` hashes at once on the
//! blocking pool, at most `queue` more waiting; anything beyond is refused at once with
//! `Unavailable`, so a login flood cannot starve token traffic of CPU or grow a queue
//! without bound. Each worker reuses one Argon2 working buffer ([`Argon2Memory`]), so the
//! memory Argon2 holds is `workers × m_cost`, allocated once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use keyslot_crypto::slot::password::Argon2Memory;
use tokio::sync::Semaphore;

use crate::{Error, Result};

/// The Argon2 admission gate.
#[derive(Debug, Clone)]
pub struct Argon2Gate {
    permits: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
    limit: usize,
    /// Idle working buffers, at most one per worker.
    memories: Arc<std::sync::Mutex<Vec<Argon2Memory>>>,
}

impl Argon2Gate {
    /// `workers` concurrent hashes (the cores), `queue` waiting beyond them.
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        Self {
            permits: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(AtomicUsize::new(0)),
            limit: workers + queue,
            memories: Arc::default(),
        }
    }

    /// Run `work` (an Argon2 derivation) on the blocking pool if admitted.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut Argon2Memory) -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Unavailable { retry_after: 1 });
        }
        let _admission = Admission(&self.admitted);
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Internal("argon2 gate closed".into()))?;
        // One buffer per permit: taken while the permit is held, put back after.
        let mut memory = self
            .memories
            .lock()
            .ok()
            .and_then(|mut m| m.pop())
            .unwrap_or_default();
        let memories = self.memories.clone();
        tokio::task::spawn_blocking(move || {
            let out = work(&mut memory);
            if let Ok(mut m) = memories.lock() {
                m.push(memory);
            }
            out
        })
        .await
        .map_err(|_| Error::Internal("argon2 worker failed".into()))
    }

    /// Hashes running or waiting now (for `/metrics`).
    pub fn in_flight(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }
}

/// Releases an admission when the request ends, even if it is cancelled.
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
