//! Hooks: a [`Gated`] store runs a test's action just before a chosen call reaches the
//! real store, so a check can place a concurrent request exactly between two steps of
//! another (a demotion between a write's key opening and its commit; a re-wrap between
//! a read's item fetch and its chain walk), every time, on either backend. The action
//! may also answer in the store's place (a failpoint: a rotation that always loses).
//!
//! The action usually drives a second use-case instance over the *inner* store (another
//! server on the same database), so its own calls are not hooked.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use keyslot_core::store::{StoreError, StoreResult};

use super::{Gate, Gated};

/// What a hook's action returns: `Some(error)` to answer the call with it, without
/// reaching the store; `None` to let the call through afterwards.
pub type HookFuture = Pin<Box<dyn Future<Output = Option<StoreError>> + Send>>;

type Action = Arc<dyn Fn() -> HookFuture + Send + Sync>;

/// The hooks armed on one [`Gated`] store.
#[derive(Default)]
pub(super) struct Hooks(Mutex<Vec<Armed>>);

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hooks")
    }
}

struct Armed {
    gate: Gate,
    left: usize,
    ran: usize,
    action: Action,
}

impl Gated {
    /// Before each of the next `times` calls of `gate`, run `action` (see the module
    /// docs). Replaces a hook already armed on `gate`.
    pub fn before(
        &self,
        gate: Gate,
        times: usize,
        action: impl Fn() -> HookFuture + Send + Sync + 'static,
    ) {
        let mut hooks = self.hooks.0.lock().unwrap_or_else(|e| e.into_inner());
        hooks.retain(|h| h.gate != gate);
        hooks.push(Armed {
            gate,
            left: times,
            ran: 0,
            action: Arc::new(action),
        });
    }

    /// Stop running the hook on `gate`; how many times it ran.
    pub fn disarm(&self, gate: Gate) -> usize {
        let mut hooks = self.hooks.0.lock().unwrap_or_else(|e| e.into_inner());
        let ran = hooks.iter().filter(|h| h.gate == gate).map(|h| h.ran).sum();
        hooks.retain(|h| h.gate != gate);
        ran
    }

    /// How many times the hook on `gate` ran so far.
    pub fn hook_runs(&self, gate: Gate) -> usize {
        let hooks = self.hooks.0.lock().unwrap_or_else(|e| e.into_inner());
        hooks.iter().filter(|h| h.gate == gate).map(|h| h.ran).sum()
    }

    /// Run the hook armed on `gate`, if any is left: its error, or `Ok` to go on.
    pub(super) async fn hook(&self, gate: Gate) -> StoreResult<()> {
        let action = {
            let mut hooks = self.hooks.0.lock().unwrap_or_else(|e| e.into_inner());
            hooks
                .iter_mut()
                .find(|h| h.gate == gate && h.left > 0)
                .map(|h| {
                    h.left -= 1;
                    h.ran += 1;
                    h.action.clone()
                })
        };
        match action {
            Some(action) => action().await.map_or(Ok(()), Err),
            None => Ok(()),
        }
    }
}
