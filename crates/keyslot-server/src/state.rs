//! What every handler shares.

use std::sync::Arc;

use keyslot_core::Keyslot;

use crate::metrics::Metrics;

/// Shared state: the use cases and the metrics registry. Holds no per-user state: every
/// instance behind a load balancer is interchangeable.
///
/// One `Arc`: axum clones the state for every extractor that takes it, and a clone of the
/// fields themselves was a dozen reference counts (the use cases' store, keys, gate, audit
/// buffer…), shared between the runtime's threads, touched and dropped per request: 6% of
/// a token read's CPU in a perf profile (docs/PERFORMANCE.md). Fields read through
/// `Deref`, as before.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state handlers share.
    pub(crate) fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Shared {
    /// The use cases.
    pub keyslot: Keyslot,
    /// The `/metrics` registry.
    pub metrics: Arc<Metrics>,
    /// The data directory held while serving (released when the last clone drops).
    pub serving: Arc<crate::serving_lock::ServingLock>,
    /// The `--audit-log` file, when one is written.
    pub audit_log: Option<Arc<crate::audit_log::AuditLog>>,
}
