//! Bounded admission for Argon2id (DESIGN.md §4): at most `workers` hashes at once on the
//! blocking pool, at most `queue` more waiting; anything beyond is refused at once with
//! `Unavailable`, so a login flood cannot starve token traffic of CPU or grow a queue
//! without bound. Each worker reuses one Argon2 working buffer ([`Argon2Memory`]), so the
//! memory Argon2 holds is `workers × m_cost`, allocated once.
//!
//! **Cancellation.** A request future can be dropped at any await (the client hung up, a
//! timeout fired), but a job already handed to the blocking pool runs to its end. So the
//! admission and the worker permit are moved *into* the blocking job and released when the
//! job finishes, not when the request future goes away: otherwise every hung-up login
//! would free its slot for another while its hash still runs, and the number of hashes
//! (and 19 MiB buffers) alive at once would grow with the number of clients that hang up.
//! For the same reason the buffer is returned to the pool before the permit is released,
//! and the pool never keeps more than `workers` buffers.
//!
//! The same admission also bounds other CPU-heavy work on user input that must not run on
//! the async runtime (the password strength check: [`Argon2Gate::run_cpu`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use keyslot_crypto::slot::password::Argon2Memory;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Error, Result};

/// The Argon2 admission gate.
#[derive(Debug, Clone)]
pub struct Argon2Gate {
    permits: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
    limit: usize,
    workers: usize,
    /// Idle working buffers, at most one per worker.
    memories: Arc<Mutex<Vec<Argon2Memory>>>,
    /// Argon2 jobs started since start.
    runs: Arc<AtomicU64>,
    /// Admitted requests still waiting for a worker (the queue's depth, for `/metrics`).
    waiting: Arc<AtomicUsize>,
}

impl Argon2Gate {
    /// `workers` concurrent hashes (the cores), `queue` waiting beyond them.
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        Self {
            permits: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(AtomicUsize::new(0)),
            limit: workers + queue,
            workers,
            memories: Arc::default(),
            runs: Arc::default(),
            waiting: Arc::default(),
        }
    }

    /// Run `work` (an Argon2 derivation) on the blocking pool if admitted, with a pooled
    /// working buffer. Cancel-safe: dropping the returned future before the job starts
    /// frees its place in the queue; once the job has started, its permit, admission and
    /// buffer stay taken until it ends (see the module docs).
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut Argon2Memory) -> T + Send + 'static,
        T: Send + 'static,
    {
        let memories = self.memories.clone();
        let workers = self.workers;
        let runs = self.runs.clone();
        self.run_admitted(move || {
            runs.fetch_add(1, Ordering::Relaxed);
            // One buffer per permit: taken while the permit is held, put back before it
            // is released (the caller drops the permit after this returns).
            let mut memory = memories
                .lock()
                .ok()
                .and_then(|mut m| m.pop())
                .unwrap_or_default();
            let out = work(&mut memory);
            // `derive_with` already wiped it; a job that used the buffer otherwise, or
            // failed halfway, must not leave password-derived blocks in the pool either.
            memory.wipe();
            if let Ok(mut m) = memories.lock()
                && m.len() < workers
            {
                m.push(memory);
            }
            out
        })
        .await
    }

    /// Run CPU-heavy `work` that needs no Argon2 buffer (the password strength check)
    /// under the same admission as the hashes, off the async runtime.
    pub async fn run_cpu<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.run_admitted(work).await
    }

    async fn run_admitted<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Unavailable { retry_after: 1 });
        }
        // Released when dropped: here if the wait for a permit is cancelled, or at the end
        // of the blocking job once it owns it.
        let admission = Admission(self.admitted.clone());
        // Counted as waiting until a permit is had, or the wait is cancelled.
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let waiting = Admission(self.waiting.clone());
        let permit: OwnedSemaphorePermit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal("argon2 gate closed".into()))?;
        drop(waiting);
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            drop(admission);
            out
        })
        .await
        .map_err(|_| Error::Internal("argon2 worker failed".into()))
    }

    /// Hashes running or waiting now (for `/metrics`).
    pub fn in_flight(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }

    /// Admitted hashes waiting for a worker now: the queue's depth, without the ones
    /// running (for `/metrics`).
    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Argon2 jobs started since start: what guessers got evaluated (for `/metrics`).
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Working buffers idle in the pool, and whether all of them are zero (tests).
    #[doc(hidden)]
    pub fn pooled_buffers(&self) -> (usize, bool) {
        self.memories
            .lock()
            .map_or((0, true), |m| (m.len(), m.iter().all(|b| b.all_zero().0)))
    }
}

/// Releases an admission (or a place among the waiting) when dropped, even if the request
/// is cancelled or the job panics.
struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use keyslot_crypto::slot::password::derive_with;
    use keyslot_crypto::{Argon2Params, Id, Password};

    use super::*;

    /// Counts jobs running at once and the highest count seen.
    #[derive(Default)]
    struct Peak {
        now: AtomicUsize,
        max: AtomicUsize,
    }

    impl Peak {
        fn enter(&self) {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(n, Ordering::SeqCst);
        }
        fn leave(&self) {
            self.now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Clients that hang up while their hash runs must not let more hashes (and buffers)
    /// run than there are workers: the permit belongs to the job, not to the request.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_dropped_mid_hash_keep_their_permit_until_the_hash_ends() {
        let workers = 2;
        let gate = Argon2Gate::new(workers, 4);
        let peak = Arc::new(Peak::default());
        let buffers = Arc::new(AtomicUsize::new(0));
        let mut dropped = 0;
        for _ in 0..12 {
            let (peak, buffers) = (peak.clone(), buffers.clone());
            let job = gate.run(move |memory| {
                peak.enter();
                // A new buffer has no blocks yet: count the buffers that ever grew.
                if memory.all_zero().1 == 0 {
                    buffers.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(60));
                let _ = derive_with(
                    memory,
                    &Password::new("hung up"),
                    &[7; 16],
                    &Argon2Params {
                        m_cost_kib: 256,
                        t_cost: 1,
                        p_cost: 1,
                    },
                    Id::from_bytes([1; 16]),
                );
                peak.leave();
            });
            // The client hangs up 10 ms in, while its job holds a worker.
            match tokio::time::timeout(Duration::from_millis(10), job).await {
                Err(_) => dropped += 1,
                Ok(Err(Error::Unavailable { .. })) => {}
                Ok(other) => panic!("unexpected {other:?}"),
            }
        }
        assert!(dropped > 0, "no request was dropped mid-hash");
        // Wait for the abandoned jobs to finish on the blocking pool.
        for _ in 0..200 {
            if gate.in_flight() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(gate.in_flight(), 0, "admissions leaked");
        let max = peak.max.load(Ordering::SeqCst);
        assert!(
            max <= workers,
            "{max} hashes ran at once with {workers} workers"
        );
        let made = buffers.load(Ordering::SeqCst);
        assert!(
            made <= workers,
            "{made} buffers allocated for {workers} workers"
        );
        let (pooled, zero) = gate.pooled_buffers();
        assert!(
            pooled <= workers,
            "{pooled} buffers pooled for {workers} workers"
        );
        assert!(zero, "a pooled buffer still holds a hash's blocks");
    }

    /// While every admitted job is abandoned by its client, a new request beyond the
    /// queue is still refused: hanging up does not reopen the door.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hung_up_requests_still_count_against_the_queue() {
        let gate = Argon2Gate::new(1, 1);
        let release = Arc::new(std::sync::Barrier::new(2));
        let hold = release.clone();
        let first = gate.run(move |_| {
            hold.wait();
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(20), first)
                .await
                .is_err()
        );
        // The abandoned job still holds the one worker; one more may wait, no more.
        let waiting = tokio::spawn(second_owned(gate.clone()));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let third = gate.run_cpu(|| ()).await;
        assert!(
            matches!(third, Err(Error::Unavailable { .. })),
            "admitted past the queue: {third:?}"
        );
        release.wait();
        waiting.await.unwrap().unwrap();
    }

    /// The queue depth counts the admitted requests waiting for a worker, not the ones
    /// running, and a waiter that hangs up leaves the queue at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_counts_waiters_only_and_forgets_cancelled_ones() {
        let gate = Argon2Gate::new(1, 2);
        let release = Arc::new(std::sync::Barrier::new(2));
        let hold = release.clone();
        let running = tokio::spawn({
            let gate = gate.clone();
            async move { gate.run_cpu(move || hold.wait()).await }
        });
        let waiter = tokio::spawn(second_owned(gate.clone()));
        let abandoned = tokio::spawn(second_owned(gate.clone()));
        for _ in 0..200 {
            if gate.queued() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!((gate.in_flight(), gate.queued()), (3, 2));
        abandoned.abort();
        let _ = abandoned.await;
        assert_eq!((gate.in_flight(), gate.queued()), (2, 1));
        release.wait();
        running.await.unwrap().unwrap();
        waiter.await.unwrap().unwrap();
        assert_eq!((gate.in_flight(), gate.queued()), (0, 0));
    }

    async fn second_owned(gate: Argon2Gate) -> Result<()> {
        gate.run_cpu(|| ()).await
    }

    /// The blocks a hash leaves are derived from the password: the pooled buffer holds
    /// zeros once the hash is done.
    #[tokio::test]
    async fn the_pooled_buffer_is_zero_after_a_hash() {
        let gate = Argon2Gate::new(1, 0);
        let blocks = gate
            .run(|memory| {
                derive_with(
                    memory,
                    &Password::new("correct horse battery staple"),
                    &[3; 16],
                    &Argon2Params::OWASP,
                    Id::from_bytes([2; 16]),
                )
                .unwrap();
                memory.all_zero()
            })
            .await
            .unwrap();
        assert_eq!(blocks, (true, 19 * 1024), "derive_with left blocks behind");
        let (pooled, zero) = gate.pooled_buffers();
        assert_eq!(pooled, 1);
        assert!(zero, "the pooled buffer holds the last password's blocks");
    }
}
