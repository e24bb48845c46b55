//! # keyslot-store-tests
//!
//! One conformance suite for every [`Store`] backend. A backend crate runs it with
//!
//! ```text
//! keyslot_store_tests::conformance!(async { MyStore::open(fresh_database()).await.unwrap() });
//! ```
//!
//! which expands to one `#[tokio::test]` per check, each on a fresh store. With
//! `conformance!(optional …)` the expression yields an `Option`, and `None` (a backend
//! not configured on this machine, never under CI) skips with a message. The checks use
//! opaque bytes for envelopes: a store never interprets them, and must return them intact.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod checks;
pub mod postgres;

pub use keyslot_core::store::Store;

/// Expand to one test per conformance check; `$make` is an async expression yielding a
/// fresh store (or, after `optional`, an `Option` of one).
#[macro_export]
macro_rules! conformance {
    (@tests $mode:ident $make:expr) => {
        $crate::conformance!(@each $mode $make;
            account_round_trip_and_case_insensitive_names,
            duplicate_username_conflicts_and_writes_nothing,
            failed_logins_back_off_and_success_resets,
            ip_failures_are_counted_per_address,
            sessions_live_touch_and_die,
            password_change_ends_other_sessions_only_when_asked,
            recovery_replaces_slots_and_ends_sessions,
            stale_recovery_changes_nothing,
            vaults_and_items_are_isolated_per_user,
            item_update_is_compare_and_swap,
            concurrent_writers_exactly_one_wins,
            tokens_with_slots_round_trip_and_revoke,
            audit_is_per_user_newest_first,
            meta_is_set_once,
            disabled_users_lose_sessions_and_tokens_until_enabled,
            reads_join_an_item_with_the_key_that_opens_it,
            a_token_read_is_one_query_with_exactly_its_keys
        );
    };
    (@each required $make:expr; $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = $make.await;
                $crate::checks::$name(std::sync::Arc::new(store)).await;
            }
        )+
    };
    (@each optional $make:expr; $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(store) = $make.await {
                    $crate::checks::$name(std::sync::Arc::new(store)).await;
                }
            }
        )+
    };
    (optional $make:expr) => {
        $crate::conformance!(@tests optional $make);
    };
    ($make:expr) => {
        $crate::conformance!(@tests required $make);
    };
}
