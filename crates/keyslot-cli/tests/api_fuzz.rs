//! schemathesis (from PyPI) against `/v1/openapi.json` of a running `keyslot serve`, once
//! authenticated with an API token and once with a browser session (cookie + CSRF token):
//! no 5xx, no status code, content type or body the document does not promise, no
//! operation that answers without the credential it declares, invalid data rejected.
//!
//! `KEYSLOT_ST_EXAMPLES` sets the examples per operation (default 30; see
//! docs/RELIABILITY.md for a longer run). Installed by `.ci/run`; elsewhere the test says
//! it did not run, and fails under CI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{As, Client, seal_key_file, spawn, wait_ready};

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,ignored_auth,negative_data_rejection,use_after_free,unsupported_method,\
ensure_resource_availability";

fn schemathesis() -> Option<&'static str> {
    ["st", "schemathesis"].into_iter().find(|bin| {
        Command::new(bin)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Run schemathesis with `config` (TOML naming the credential: written to a 0600 file,
/// never to arguments). Returns its report.
fn run(st: &str, dir: &Path, base: &str, label: &str, config: &str) -> String {
    let path = dir.join(format!("{label}.toml"));
    std::fs::write(&path, config).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let examples = std::env::var("KEYSLOT_ST_EXAMPLES").unwrap_or_else(|_| "30".into());
    let out = Command::new(st)
        .current_dir(dir)
        .arg("--no-color")
        .arg("--config-file")
        .arg(&path)
        .args(["run", &format!("{base}/v1/openapi.json")])
        .args([
            "--checks",
            CHECKS,
            "--max-examples",
            &examples,
            "--workers",
            "2",
        ])
        // Logging out would end the session under test halfway through.
        .args(["--exclude-path", "/v1/logout"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let cases = report
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(" generated"))
        .unwrap_or_default();
    let summary = report.lines().last().unwrap_or_default();
    eprintln!("schemathesis ({label}): {cases}; {summary}");
    assert!(
        out.status.success(),
        "schemathesis ({label}) found failures:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every selected operation (all but logout) was tested: the count comes from the
    // document, so a new route is fuzzed without touching this file.
    let figure = |key: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.trim().split('/').next())
            .and_then(|n| n.trim().parse::<usize>().ok())
    };
    let (selected, tested) = (figure("Selected:"), figure("Tested:"));
    assert!(
        selected.is_some_and(|n| n >= 20) && tested == selected,
        "schemathesis ({label}) did not test every operation ({tested:?} of {selected:?}):\n{report}"
    );
    report.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_5xx_and_no_response_outside_the_schema() {
    let Some(st) = schemathesis() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "schemathesis is not installed, and CI must run this check (pip install schemathesis)"
        );
        eprintln!(
            "SKIPPED: schemathesis is not installed (pip install schemathesis); the API fuzzing did NOT run"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keyslot.db").display());
    let seal = seal_key_file(dir.path());
    let client = Client::new();
    let mut server = spawn(dir.path(), "data", &url, &seal, false);
    wait_ready(&client.http, &mut server).await;
    let base = server.base.clone();

    let password = "correct horse battery staple";
    let (status, _) = client
        .send(
            &base,
            Method::POST,
            "/v1/signup",
            As::Nobody,
            Some(json!({"username": "fuzz", "password": password})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let session = client.login(&base, "fuzz", password).await.unwrap();
    let (status, minted) = client
        .send(
            &base,
            Method::POST,
            "/v1/tokens",
            As::Session(&session),
            Some(json!({"name": "fuzz", "vaults": "*", "permissions": ["read", "write"], "current_password": password})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = minted["token"].as_str().unwrap().to_owned();

    // schemathesis fills each operation's declared security scheme itself: name the
    // credential per scheme, so it is not replaced by a generated one.
    run(
        st,
        dir.path(),
        &base,
        "token",
        &format!("[auth.openapi.bearer]\nbearer = {}\n", json!(token)),
    );
    let by_session = run(
        st,
        dir.path(),
        &base,
        "session",
        &format!(
            "[headers]\nX-CSRF-Token = {}\n\n[auth.openapi.session]\napi_key = {}\n",
            json!(session.csrf),
            json!(session.cookie)
        ),
    );
    // The session reaches every operation but logout; a token only the item operations
    // (the rest answer 403, as documented).
    assert!(
        !by_session.contains("Authentication failed"),
        "the session did not authenticate somewhere:\n{by_session}"
    );
}
