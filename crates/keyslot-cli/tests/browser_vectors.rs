//! The browser crypto module (crates/keyslot-wasm) in Debian's Chromium, driven by
//! `tests/browser/vectors.mjs` (playwright-core): loaded by a page of `keyslot serve` under
//! the server's real CSP, it computes every FORMAT.md vector (the same function and the
//! same vector files as keyslot-wasm's native `tests/vectors.rs`), its bindings reproduce
//! the documented values, and without `'wasm-unsafe-eval'` it does not compile.
//! Needs `node`, `tests/browser/node_modules` (`npm ci` there) and `/usr/bin/chromium`;
//! `.ci/run` installs them. Without them the test says so and does nothing — except under
//! CI, where it fails: in CI the browser tests always run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_wasm_module_computes_the_format_vectors_in_chromium_under_the_csp() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let browser_dir = root.join("tests/browser");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing: Vec<&str> = [
        (
            !browser_dir.join("node_modules/playwright-core").is_dir(),
            "tests/browser/node_modules (run `npm ci` there)",
        ),
        (
            !Path::new(&chromium).exists(),
            "Chromium (apt-get install chromium)",
        ),
        (
            Command::new("node").arg("--version").output().is_err(),
            "node",
        ),
    ]
    .into_iter()
    .filter_map(|(gone, what)| gone.then_some(what))
    .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser tests, but these are missing: {missing:?}"
        );
        eprintln!(
            "SKIPPED the_wasm_module_computes_the_format_vectors_in_chromium_under_the_csp: missing {missing:?}"
        );
        return;
    }
    let out = Command::new("node")
        .arg(browser_dir.join("vectors.mjs"))
        .arg(env!("CARGO_BIN_EXE_keyslot"))
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser vectors failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("browser vectors: 1 passed, 0 failed"),
        "{stdout}"
    );
    eprintln!("{stdout}");
}
