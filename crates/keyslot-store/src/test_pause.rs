//! A test-only pause inside a transaction, just before its commit, so a crash test can
//! kill the server with the transaction open and know that it did (the key rotation and
//! the re-wrap batches; see `crates/keyslot-cli/tests/crash/lifecycle.rs`).
//!
//! Only debug builds read `KEYSLOT_TEST_PAUSE_IN` (a comma-separated list of `rotation`,
//! `rewrap`) and `KEYSLOT_TEST_PAUSE_MS` (default 200), once; a release build compiles
//! this to nothing, so no setting of a production server reaches it. While paused the
//! server writes `keyslot-test-pause: enter <at>` to stderr, and `leave <at>` after.

/// Pause at `at` when the environment of a debug build asks for it.
pub(crate) async fn pause(at: &'static str) {
    #[cfg(debug_assertions)]
    {
        use std::sync::OnceLock;
        static PLAN: OnceLock<(Vec<String>, u64)> = OnceLock::new();
        let (places, ms) = PLAN.get_or_init(|| {
            let places = std::env::var("KEYSLOT_TEST_PAUSE_IN")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            let ms = std::env::var("KEYSLOT_TEST_PAUSE_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(200);
            (places, ms)
        });
        if places.iter().any(|p| p == at) {
            eprintln!("keyslot-test-pause: enter {at}");
            tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
            eprintln!("keyslot-test-pause: leave {at}");
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = at;
}
