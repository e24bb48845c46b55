//! Throwaway SoftHSM2 tokens for tests (feature `testing`).
//!
//! [`SoftHsm::new`] writes a SoftHSM2 configuration with its own token directory in a
//! temporary directory and initialises a token there with `softhsm2-util`, so tests never
//! touch the machine's tokens or each other's. SoftHSM2 reads its configuration from
//! `SOFTHSM2_CONF` when the module is initialised: a test passes [`SoftHsm::conf`] to the
//! processes it starts, and runs in-process checks through [`in_child`].
//!
//! When SoftHSM2 is not installed, tests print `SKIPPED` and return — except under CI
//! (`CI` set), where they fail: `.ci/run` installs it, so there they always run.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use secrecy::SecretString;

use crate::Pkcs11Config;

/// Debian's SoftHSM2 module (`apt-get install softhsm2`).
pub const DEBIAN_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of every test token.
pub const PIN: &str = "4711-test-pin";
/// The token label of every test token.
pub const TOKEN: &str = "keyslot-test";

const CHILD: &str = "KEYSLOT_SOFTHSM_CHILD";
const CHILD_DIR: &str = "KEYSLOT_SOFTHSM_DIR";

/// A SoftHSM2 configuration and token of one test's own.
#[derive(Debug)]
pub struct SoftHsm {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

/// The module to test with: `KEYSLOT_TEST_PKCS11_MODULE`, or Debian's SoftHSM2.
pub fn module() -> PathBuf {
    std::env::var_os("KEYSLOT_TEST_PKCS11_MODULE")
        .map_or_else(|| DEBIAN_MODULE.into(), PathBuf::from)
}

impl SoftHsm {
    /// A fresh token, or `None` (after saying so) when SoftHSM2 is not installed.
    /// Panics under CI instead of skipping.
    pub fn new(test: &str) -> Option<Self> {
        let installed = module().exists()
            && Command::new("softhsm2-util")
                .arg("--version")
                .output()
                .is_ok();
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "SoftHSM2 is not installed ({} or softhsm2-util missing), and CI must run the HSM tests (.ci/run installs it)",
                module().display()
            );
            eprintln!(
                "SKIPPED {test}: SoftHSM2 is not installed (apt-get install softhsm2; CI installs it)"
            );
            return None;
        }
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_path_buf();
        let hsm = Self {
            dir,
            _temp: Some(temp),
        };
        std::fs::create_dir(hsm.tokens()).expect("token dir");
        std::fs::write(
            hsm.conf(),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                hsm.tokens().display()
            ),
        )
        .expect("softhsm2.conf");
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", hsm.conf())
            .args([
                "--init-token",
                "--free",
                "--label",
                TOKEN,
                "--pin",
                PIN,
                "--so-pin",
                "0000-so-pin",
            ])
            .output()
            .expect("softhsm2-util");
        assert!(
            out.status.success(),
            "softhsm2-util --init-token: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(hsm)
    }

    /// The configuration file: pass it as `SOFTHSM2_CONF`.
    pub fn conf(&self) -> PathBuf {
        self.dir.join("softhsm2.conf")
    }

    /// The token directory (remove it to take the HSM away).
    pub fn tokens(&self) -> PathBuf {
        self.dir.join("tokens")
    }

    /// The configuration for the key labelled `key` in this token.
    pub fn config(&self, key: &str) -> Pkcs11Config {
        Pkcs11Config {
            module: module(),
            token: TOKEN.into(),
            key: key.into(),
            pin: SecretString::from(PIN),
        }
    }
}

/// Run `body` with a fresh token, in a child process of this test binary that has
/// `SOFTHSM2_CONF` pointing at it (SoftHSM2 reads it once per process; tests may not set
/// environment variables in their own process). `test` is the test function's name.
pub fn in_child(test: &str, body: impl FnOnce(&SoftHsm)) {
    if std::env::var(CHILD).as_deref() == Ok(test) {
        let dir = std::env::var_os(CHILD_DIR).expect("the parent sets the token dir");
        body(&SoftHsm {
            dir: dir.into(),
            _temp: None,
        });
        return;
    }
    let Some(hsm) = SoftHsm::new(test) else {
        return;
    };
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", hsm.conf())
        .env(CHILD, test)
        .env(CHILD_DIR, &hsm.dir)
        .output()
        .expect("running the test in a child process");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{test} failed in its SoftHSM child:\n{log}"
    );
    assert!(
        log.contains("1 passed"),
        "{test} did not run in the child:\n{log}"
    );
}
