//! An end-to-end account's web pages in Debian's Chromium, driven by
//! `tests/browser/e2e_flows.mjs` (playwright-core): the crypto runs in the page (wasm), and
//! a recording of every request and response holds no password, token secret, item name or
//! value — while the same recording of a server-mode sign-up holds its password (the
//! control). Needs `node`, `tests/browser/node_modules` (`npm ci` there) and
//! `/usr/bin/chromium`; without them the test says so and does nothing — except under CI,
//! where it fails. The story runs on SQLite and on PostgreSQL (`KEYSLOT_TEST_DATABASE_URL`,
//! which CI sets; a fresh database per run).
//!
//! `tests/browser/e2e_refusals.mjs` runs the same way: the pages facing a server that lies
//! (a user key sealed to the recovery code, an unverifiable vault key, another username,
//! a revoked token listed again), on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the story needs on this machine, or `None` when something is missing outside CI
/// (where the test says so and does nothing; under CI it fails).
fn browser() -> Option<(PathBuf, String)> {
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
        eprintln!("SKIPPED the end-to-end browser story: missing {missing:?}");
        return None;
    }
    Some((root, chromium))
}

/// Run `tests/browser/e2e_flows.mjs` against a `keyslot serve` on SQLite, or on the
/// PostgreSQL database at `database_url`; screenshots go to `target/{shots}`.
fn story(root: &Path, chromium: &str, shots: &str, database_url: Option<&str>) {
    let shots = root.join("target").join(shots);
    let mut node = Command::new("node");
    node.arg(root.join("tests/browser/e2e_flows.mjs"))
        .arg(env!("CARGO_BIN_EXE_keyslot"))
        .arg(&shots)
        .env("CHROMIUM", chromium)
        .env_remove("KEYSLOT_DATABASE_URL");
    if let Some(url) = database_url {
        node.env("KEYSLOT_DATABASE_URL", url);
    }
    let out = node.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser e2e flows failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("browser e2e flows: 1 passed, 0 failed"),
        "{stdout}"
    );
    let backend = if database_url.is_some() {
        "backend: postgresql"
    } else {
        "backend: sqlite"
    };
    assert!(stdout.contains(backend), "{stdout}");
    for page in [
        "e2e-signup-recovery-code",
        "e2e-login",
        "e2e-item",
        "e2e-vault",
        "e2e-token-created",
        "e2e-password",
        "e2e-recovered",
        "e2e-rotated",
    ] {
        assert!(
            shots.join(format!("{page}.png")).is_file(),
            "screenshot of {page}"
        );
    }
}

#[test]
fn an_end_to_end_account_works_in_a_real_browser_and_sends_no_secret() {
    if let Some((root, chromium)) = browser() {
        story(&root, &chromium, "browser-screenshots", None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_story_on_postgresql() {
    let Some((root, chromium)) = browser() else {
        return;
    };
    let Some(url) = keyslot_store_tests::postgres::fresh_database_url(
        "browser_e2e::the_same_story_on_postgresql",
    )
    .await
    else {
        return;
    };
    tokio::task::spawn_blocking(move || {
        story(&root, &chromium, "browser-screenshots-postgres", Some(&url));
    })
    .await
    .unwrap();
}

/// What a compromised server would answer `POST /v1/recover/begin` with, made here with
/// keyslot-crypto (the pages have no way to seal a user key): a user key of its own sealed
/// to the recovery code's public key, which anyone can compute. JSON for
/// `e2e_refusals.mjs`: the account's user id and recovery code (the script signs up with
/// them, as the seal is bound to both) and the seal.
fn planted_recovery_seal() -> String {
    use keyslot_crypto::x25519::RecoveryKeyPair;
    use keyslot_crypto::{Id, RecoveryCode, UserKey, seal_to, user_key_grant_aad};

    let code = RecoveryCode::generate().unwrap();
    let credential = Id::random().unwrap();
    let user = Id::random().unwrap();
    let servers_key = UserKey::generate().unwrap();
    let public = RecoveryKeyPair::derive(&code, &credential).public_key();
    let sealed = seal_to(
        &public,
        &servers_key,
        &user_key_grant_aad(&user, &credential),
    )
    .unwrap();
    serde_json::json!({
        "user_id": user.to_string(),
        "recovery_code": code.expose_text().as_str(),
        "recovery_credential_id": credential.to_string(),
        "sealed_user_key": sealed.to_base64(),
    })
    .to_string()
}

/// Run `tests/browser/e2e_refusals.mjs` against a `keyslot serve` on SQLite, or on the
/// PostgreSQL database at `database_url`.
fn refusals(root: &Path, chromium: &str, shots: &str, database_url: Option<&str>) {
    let shots = root.join("target").join(shots);
    let mut node = Command::new("node");
    node.arg(root.join("tests/browser/e2e_refusals.mjs"))
        .arg(env!("CARGO_BIN_EXE_keyslot"))
        .arg(&shots)
        .env("CHROMIUM", chromium)
        .env("KEYSLOT_TEST_PLANT", planted_recovery_seal())
        .env_remove("KEYSLOT_DATABASE_URL");
    if let Some(url) = database_url {
        node.env("KEYSLOT_DATABASE_URL", url);
    }
    let out = node.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser e2e refusals failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("browser e2e refusals: 1 passed, 0 failed"),
        "{stdout}"
    );
    let backend = if database_url.is_some() {
        "backend: postgresql"
    } else {
        "backend: sqlite"
    };
    assert!(stdout.contains(backend), "{stdout}");
}

#[test]
fn the_pages_refuse_what_a_lying_server_plants() {
    if let Some((root, chromium)) = browser() {
        refusals(&root, &chromium, "browser-refusals", None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_refusals_on_postgresql() {
    let Some((root, chromium)) = browser() else {
        return;
    };
    let Some(url) = keyslot_store_tests::postgres::fresh_database_url(
        "browser_e2e::the_same_refusals_on_postgresql",
    )
    .await
    else {
        return;
    };
    tokio::task::spawn_blocking(move || {
        refusals(&root, &chromium, "browser-refusals-postgres", Some(&url));
    })
    .await
    .unwrap();
}
