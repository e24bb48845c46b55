//! The harness: one libtest trial per registered check, each on a fresh store.

use std::future::Future;
use std::process::ExitCode;
use std::sync::{Arc, Once};
use std::time::Duration;

use keyslot_core::store::Store;
use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::Check;

/// A check still running after this has hung, most likely on a deadlock in the store; a
/// failure that says so beats a CI run that stops at its time limit and says nothing.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// Run the conformance suite on the backend `backend` (a name for messages: `"sqlite"`,
/// `"postgres"`), with `fresh` making a fresh, empty, migrated store for each check.
///
/// `fresh` returns `None` when the backend is not configured on this machine: the checks
/// are then reported ignored and `SKIPPED` is printed on stderr, unless `CI` is set, where
/// they fail instead. Each check runs on its own multi-thread tokio runtime (2 workers),
/// on which `fresh` is called too, so a store may spawn tasks or open connections there.
///
/// Call it from the `main` of a `harness = false` test target; it parses libtest's
/// command line (filters, `--exact`, `--skip`, `--list`, `--ignored`, `--test-threads`;
/// `--nocapture` is accepted, output is never captured) and returns the process's exit
/// code:
///
/// ```text
/// fn main() -> std::process::ExitCode {
///     keyslot_store_tests::run_suite("sqlite", || async {
///         let store = SqliteStore::open(&fresh_url()).await.unwrap();
///         Some(Arc::new(store) as Arc<dyn Store>)
///     })
/// }
/// ```
pub fn run_suite<F, Fut>(backend: &'static str, fresh: F) -> ExitCode
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Arc<dyn Store>>>,
{
    let args = Arguments::from_args();
    let fresh = Arc::new(fresh);
    let trials = crate::checks()
        .into_iter()
        .map(|check| {
            let fresh = Arc::clone(&fresh);
            Trial::ignorable_test(check.trial_name(), move || {
                run_check(backend, check, fresh.as_ref())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// One trial: a runtime, a fresh store, the check. A panic (a failed assertion) unwinds
/// out of here and libtest-mimic reports it as the trial's failure.
fn run_check<F, Fut>(backend: &str, check: &Check, fresh: &F) -> Result<Completion, Failed>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Option<Arc<dyn Store>>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    runtime.block_on(async {
        let Some(store) = fresh().await else {
            return not_configured(backend);
        };
        match tokio::time::timeout(CHECK_TIMEOUT, (check.run)(store)).await {
            Ok(()) => Ok(Completion::Completed),
            Err(_) => Err(format!(
                "{backend}: {} still running after {CHECK_TIMEOUT:?} (a deadlock?)",
                check.trial_name()
            )
            .into()),
        }
    })
}

/// The backend is not configured here: skip loudly, or fail under CI, which must run every
/// backend (a suite that skips there would pass while testing nothing).
fn not_configured(backend: &str) -> Result<Completion, Failed> {
    if std::env::var_os("CI").is_some() {
        return Err(format!(
            "the {backend} backend is not configured, and CI must run its conformance checks"
        )
        .into());
    }
    static BANNER: Once = Once::new();
    BANNER.call_once(|| {
        eprintln!(
            "\nSKIPPED: the {backend} conformance checks did not run: the {backend} backend is \
             not configured on this machine (each check is reported ignored)\n"
        );
    });
    Ok(Completion::ignored_with(format!(
        "SKIPPED: {backend} not configured"
    )))
}
