//! What the HSM tests share (`hsm.rs`, `hsm_public_key_macs.rs`): `keyslot` with a
//! SoftHSM2 token's configuration and PIN, the `--seal-pkcs11-*` arguments, `keyslot seal
//! init-hsm`, and `keyslot serve` on a data directory with or without the HSM. A test
//! declares `support` and includes this file beside it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use keyslot_hsm::testing::{PIN, SoftHsm, TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{As, Client, Instance, free_port, keyslot_bin};

pub const PASSWORD: &str = "correct horse battery staple";
/// The label of the seal key the tests make in the token.
pub const KEY: &str = "keyslot-seal";

/// `keyslot ARGS` with the token's configuration and PIN in the environment.
pub fn keyslot(hsm: &SoftHsm, pin: &str) -> Command {
    let mut cmd = Command::new(keyslot_bin());
    cmd.env("SOFTHSM2_CONF", hsm.conf())
        .env("KEYSLOT_SEAL_PKCS11_PIN", pin)
        .env_remove("KEYSLOT_SEAL_KEY_FILE")
        .env_remove("KEYSLOT_DATABASE_URL");
    cmd
}

pub fn pkcs11_args(key: &str) -> Vec<String> {
    vec![
        "--seal-pkcs11-module".into(),
        keyslot_hsm::testing::module().display().to_string(),
        "--seal-pkcs11-token".into(),
        TOKEN.into(),
        "--seal-pkcs11-key".into(),
        key.into(),
    ]
}

/// The command's stdout, once it succeeded (its output in the failure otherwise).
pub fn ok(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `keyslot --json seal init-hsm`: the key's label and fingerprint, for scripts.
pub fn init_key(hsm: &SoftHsm, key: &str) {
    let made: Value = serde_json::from_str(&ok(&keyslot(hsm, PIN)
        .args(["--json", "seal", "init-hsm"])
        .args(pkcs11_args(key))
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(made["key"], key, "{made}");
    assert!(
        made["fingerprint"].as_str().is_some_and(|f| !f.is_empty()),
        "{made}"
    );
}

/// `keyslot serve` on `data` (and `database_url`, if given; the key file stays in
/// `data`), with the HSM key labelled `key`, if any; and its base URL.
pub fn serve_cmd_on(
    hsm: &SoftHsm,
    data: &Path,
    database_url: Option<&str>,
    key: Option<&str>,
) -> (Command, String) {
    let port = free_port();
    let mut cmd = keyslot(hsm, PIN);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .args(["--sweep-interval", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    if let Some(key) = key {
        cmd.args(pkcs11_args(key));
    }
    (cmd, format!("http://127.0.0.1:{port}"))
}

/// [`serve_cmd_on`], started.
pub fn serve_on(
    hsm: &SoftHsm,
    data: &Path,
    database_url: Option<&str>,
    key: Option<&str>,
) -> Instance {
    let (mut cmd, base) = serve_cmd_on(hsm, data, database_url, key);
    Instance {
        child: cmd.spawn().unwrap(),
        base,
    }
}

/// Sign up `user` (password [`PASSWORD`]); the answer (`user_id`, `vault_id`, …).
pub async fn signup(c: &Client, base: &str, user: &str) -> Value {
    let (status, body) = c
        .send(
            base,
            Method::POST,
            "/v1/signup",
            As::Nobody,
            Some(json!({"username": user, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}
