//! # keyslot-store-tests
//!
//! One conformance suite for every [`Store`] backend. A backend runs it from a test target
//! declared with `harness = false` in its `Cargo.toml`:
//!
//! ```toml
//! [[test]]
//! name = "conformance"
//! harness = false
//! ```
//!
//! whose `tests/conformance.rs` is just a `main`:
//!
//! ```text
//! use std::process::ExitCode;
//! use std::sync::Arc;
//!
//! use keyslot_store_tests::Store;
//!
//! fn main() -> ExitCode {
//!     keyslot_store_tests::run_suite("sqlite", || async {
//!         let store = MyStore::open(&fresh_database()).await.unwrap();
//!         Some(Arc::new(store) as Arc<dyn Store>)
//!     })
//! }
//! ```
//!
//! [`run_suite`] makes one libtest trial per check, named `subject::check` (for example
//! `items::item_update_is_compare_and_swap`), each on a fresh store from the factory and
//! its own runtime; filters, `--list`, `--exact`, `--skip` and `--test-threads` work as
//! with `cargo test`, and the run ends with libtest's `test result:` line. A factory that
//! returns `None` says the backend is not configured on this machine (PostgreSQL without
//! `KEYSLOT_TEST_DATABASE_URL`): the trials are then reported ignored, with `SKIPPED` on
//! stderr, except under CI (`CI` set), where they fail: CI never skips a backend.
//!
//! ## How checks register
//!
//! A check is written once, as `check!(name, |store| async move { ... })` in
//! `src/checks/<subject>.rs`, and that one macro call both defines it and registers it
//! (through `inventory`): there is no list of checks to keep, so none can be left off one
//! and never run. The subject of a check is the file it is written in. A unit test reads
//! the check files and fails when a `check!` in them is not registered (a file not
//! declared in `checks/mod.rs`), when a name is used twice, or when a function there takes
//! a store the way a check does without being one.
//!
//! The checks use opaque bytes for envelopes: a store never interprets them, and must
//! return them intact. The concurrency checks force their interleaving with [`Gated`],
//! which holds N calls back until all N have arrived and then lets them into the real
//! store at once, so a race in a store fails the check every run or nearly so, instead
//! of passing by the luck of scheduling.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use keyslot_core::store::Store;

pub use crate::gated::{Gate, Gated, HookFuture};
pub use crate::suite::run_suite;

/// Define a conformance check and register it, in one place.
///
/// `check!(name, |store| async move { ... })` defines `fn name(Arc<dyn Store>)` and submits
/// it to the registry under the subject of the module it is written in. The body is a
/// closure rather than a function so that rustfmt still formats it (it leaves macro calls
/// in braces alone).
macro_rules! check {
    ($name:ident, $body:expr) => {
        fn $name(store: std::sync::Arc<dyn $crate::Store>) -> $crate::CheckFuture {
            Box::pin($crate::check_body($body)(store))
        }

        inventory::submit! {
            $crate::Check::new(stringify!($name), module_path!(), $name)
        }
    };
}

mod checks;
mod gated;
pub mod postgres;
mod suite;

/// What a check returns: its whole run on one store, to drive on any runtime.
pub type CheckFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One registered conformance check.
#[derive(Debug)]
pub struct Check {
    /// The check's function name, unique across the suite.
    pub name: &'static str,
    /// What it is about: the name of the file under `src/checks/` that holds it.
    pub subject: &'static str,
    /// Run the check on a fresh store; it panics when the store fails it.
    pub run: fn(Arc<dyn Store>) -> CheckFuture,
}

impl Check {
    /// A check named `name` written in the module `module` (its `module_path!()`).
    const fn new(
        name: &'static str,
        module: &'static str,
        run: fn(Arc<dyn Store>) -> CheckFuture,
    ) -> Self {
        Self {
            name,
            subject: last_segment(module),
            run,
        }
    }

    /// The name of its trial: `subject::name`.
    pub fn trial_name(&self) -> String {
        format!("{}::{}", self.subject, self.name)
    }
}

inventory::collect!(Check);

/// Every registered check, sorted by subject then name (registration order is the
/// linker's, so it is not an order at all).
pub fn checks() -> Vec<&'static Check> {
    let mut all: Vec<&'static Check> = inventory::iter::<Check>.into_iter().collect();
    all.sort_by_key(|c| (c.subject, c.name));
    all
}

/// Gives a check's closure its parameter type, so that its body can call methods on
/// `store` (a closure called in place would have its parameter inferred too late).
pub(crate) fn check_body<F, Fut>(body: F) -> F
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    body
}

/// `c` of `a::b::c`.
const fn last_segment(path: &'static str) -> &'static str {
    let bytes = path.as_bytes();
    let mut start = bytes.len();
    while start > 0 && bytes[start - 1] != b':' {
        start -= 1;
    }
    let (_, tail) = bytes.split_at(start);
    match std::str::from_utf8(tail) {
        Ok(segment) => segment,
        Err(_) => path,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// Every `check!` written in a check file, as (subject, name).
    fn written_checks() -> BTreeSet<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks");
        let mut found = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let subject = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                assert!(
                    !(line.contains("fn ") && line.contains("store: Arc<dyn Store>)")),
                    "{subject}: `{}` looks like a check but is not one: write it with check!",
                    line.trim()
                );
            }
            for (at, _) in text.match_indices("check!(") {
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                if !text[line_start..at].trim().is_empty() {
                    continue; // mentioned in a comment or a string, not a call
                }
                let name: String = text[at + "check!(".len()..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let fresh = found.insert((subject.clone(), name.clone()));
                assert!(fresh, "{subject}: check {name} written twice");
            }
        }
        found
    }

    #[test]
    fn every_written_check_is_registered_once() {
        let written = written_checks();
        let registered: Vec<(String, String)> = checks()
            .iter()
            .map(|c| (c.subject.to_owned(), c.name.to_owned()))
            .collect();
        let registered_set: BTreeSet<_> = registered.iter().cloned().collect();
        assert_eq!(
            registered.len(),
            registered_set.len(),
            "a check registered twice"
        );
        let missing: Vec<_> = written.difference(&registered_set).collect();
        assert!(
            missing.is_empty(),
            "written but never registered (is the file declared in checks/mod.rs?): {missing:?}"
        );
        assert_eq!(registered_set, written);
        // The 17 checks of the hand-kept list this registry replaced, and the concurrency
        // checks added with it: a registry that lost some would be smaller.
        assert!(registered.len() >= 21, "only {} checks", registered.len());
        let names: BTreeSet<&str> = checks().iter().map(|c| c.name).collect();
        assert_eq!(names.len(), registered.len(), "check names are unique");
        for old in [
            "account_round_trip_and_case_insensitive_names",
            "duplicate_username_conflicts_and_writes_nothing",
            // The failed-login counters' two checks were replaced with those of the
            // admission counters (issue 13: counted when admitted, not when failed).
            "backoff_counts_admissions_and_a_success_clears",
            "budgets_hold_for_their_window_and_a_refusal_counts_nothing",
            "sessions_live_touch_and_die",
            "password_change_ends_other_sessions_only_when_asked",
            "recovery_replaces_slots_and_ends_sessions",
            "stale_recovery_changes_nothing",
            "vaults_and_items_are_isolated_per_user",
            "item_update_is_compare_and_swap",
            "concurrent_writers_exactly_one_wins",
            "tokens_with_slots_round_trip_and_revoke",
            "audit_is_per_user_newest_first",
            "meta_is_set_once",
            "disabled_users_lose_sessions_and_tokens_until_enabled",
            "reads_join_an_item_with_the_key_that_opens_it",
            "a_token_read_is_one_query_with_exactly_its_keys",
        ] {
            assert!(names.contains(old), "{old} is gone");
        }
    }

    #[test]
    fn subjects_are_file_names() {
        assert_eq!(last_segment("keyslot_store_tests::checks::items"), "items");
        assert_eq!(last_segment("items"), "items");
        let subjects: BTreeSet<&str> = checks().iter().map(|c| c.subject).collect();
        assert!(subjects.contains("concurrency"), "{subjects:?}");
        assert!(!subjects.contains("checks"), "{subjects:?}");
    }
}
