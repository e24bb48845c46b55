//! The shared Store conformance suite on SQLite, a fresh database file per check (see
//! `keyslot_store_tests::run_suite`; this target has `harness = false`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;
use std::sync::Arc;

use keyslot_store::Schema;
use keyslot_store_tests::Store;

fn main() -> ExitCode {
    keyslot_store_tests::run_suite("sqlite", || async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyslot.db");
        // Keep the directory for the whole test process: the store outlives this closure.
        std::mem::forget(dir);
        let store = keyslot_store::open(&format!("sqlite://{}", path.display()), Schema::Migrate)
            .await
            .unwrap();
        Some(Arc::new(store) as Arc<dyn Store>)
    })
}
