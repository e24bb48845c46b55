//! The shared Store conformance suite on PostgreSQL, a fresh database per check (see
//! `keyslot_store_tests::run_suite`; this target has `harness = false`). Runs when
//! `KEYSLOT_TEST_DATABASE_URL` is set (always in CI); see `keyslot_store_tests::postgres`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;
use std::sync::Arc;

use keyslot_store::Schema;
use keyslot_store_tests::Store;

fn main() -> ExitCode {
    keyslot_store_tests::run_suite("postgres", || async {
        let url = keyslot_store_tests::postgres::fresh_database_url("postgres conformance").await?;
        let store = keyslot_store::open(&url, Schema::Migrate).await.unwrap();
        Some(Arc::new(store) as Arc<dyn Store>)
    })
}
