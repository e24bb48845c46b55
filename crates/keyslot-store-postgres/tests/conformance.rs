//! The shared Store conformance suite on PostgreSQL, a fresh database per test. Runs when
//! `KEYSLOT_TEST_DATABASE_URL` is set (always in CI); see `keyslot_store_tests::postgres`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyslot_store_postgres::PostgresStore;

/// A migrated store on a fresh database, or `None` when PostgreSQL is not configured.
async fn fresh() -> Option<PostgresStore> {
    let url = keyslot_store_tests::postgres::fresh_database_url("postgres conformance").await?;
    let store = PostgresStore::connect_lazy(&url).unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

keyslot_store_tests::conformance!(optional fresh());
