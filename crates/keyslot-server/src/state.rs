//! What every handler shares.

use std::sync::Arc;

use keyslot_core::Keyslot;

use crate::metrics::Metrics;

/// Shared state: the use cases and the metrics registry. Holds no per-user state: every
/// instance behind a load balancer is interchangeable.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases.
    pub keyslot: Keyslot,
    /// The `/metrics` registry.
    pub metrics: Arc<Metrics>,
    /// The data directory held while serving (released when the last clone drops).
    pub serving: Arc<crate::serving_lock::ServingLock>,
    /// The `--audit-log` file, when one is written.
    pub audit_log: Option<Arc<crate::audit_log::AuditLog>>,
}
