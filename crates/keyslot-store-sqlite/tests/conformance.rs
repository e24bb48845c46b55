//! The shared Store conformance suite, on a fresh SQLite file per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyslot_store_sqlite::SqliteStore;

async fn fresh() -> SqliteStore {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyslot.db");
    // Keep the directory for the whole test process: the store outlives this function.
    std::mem::forget(dir);
    SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap()
}

keyslot_store_tests::conformance!(fresh());
