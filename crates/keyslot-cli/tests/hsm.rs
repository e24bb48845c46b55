//! The seal key in an HSM (PKCS#11), end to end with Debian's SoftHSM2: `keyslot seal
//! init-hsm`, `keyslot serve --seal-pkcs11-*` refusing a wrong PIN or key label, password
//! logins answering 503 while the HSM is away (tokens keep working), and `keyslot seal
//! migrate` moving every password slot from the key file while logins keep working.
//! Each test makes its own token (`keyslot_hsm::testing::SoftHsm`); without SoftHSM2 they
//! print SKIPPED, and under CI they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/hsm.rs"]
mod hsm_support;
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hsm_support::{KEY, PASSWORD, init_key, keyslot, ok, pkcs11_args, serve_cmd_on, signup};
use keyslot_hsm::testing::{PIN, SoftHsm};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{As, Client, Instance, free_port, wait_ready};

fn init_hsm(hsm: &SoftHsm) {
    init_key(hsm, KEY);
}

/// `keyslot serve` on `data`, with the HSM when `with_hsm`, else with the key file only.
fn serve(hsm: &SoftHsm, data: &Path, with_hsm: bool) -> Instance {
    hsm_support::serve_on(hsm, data, None, with_hsm.then_some(KEY))
}

/// `keyslot serve` on `data`, with the HSM key labelled `key`, if any.
fn serve_cmd(hsm: &SoftHsm, data: &Path, key: Option<&str>) -> (Command, String) {
    serve_cmd_on(hsm, data, None, key)
}

/// `keyslot serve` that must refuse to start: its exit status and stderr.
fn refused(mut cmd: Command) -> String {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("keyslot serve started although it should have refused");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_or_key_label_refuses_to_start() {
    let Some(hsm) = SoftHsm::new("a_wrong_pin_or_key_label_refuses_to_start") else {
        return;
    };
    init_hsm(&hsm);
    let dir = tempfile::tempdir().unwrap();
    let serve_with = |pin: &str, key: &str| {
        let mut cmd = keyslot(&hsm, pin);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(pkcs11_args(key));
        cmd
    };
    let stderr = refused(serve_with("9999-wrong-pin", KEY));
    assert!(stderr.contains("refused the PIN"), "{stderr}");
    assert!(
        !stderr.contains("9999-wrong-pin"),
        "the PIN is in the message: {stderr}"
    );
    let stderr = refused(serve_with(PIN, "no-such-key"));
    assert!(
        stderr.contains("\"no-such-key\"") && stderr.contains("keyslot seal init-hsm"),
        "{stderr}"
    );
    // The PIN cannot be given as an argument at all.
    let mut with_pin_arg = serve_with(PIN, KEY);
    with_pin_arg.args(["--seal-pkcs11-pin", PIN]);
    let stderr = refused(with_pin_arg);
    assert!(stderr.contains("unexpected argument"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_hsm_gone_logins_answer_503_while_tokens_keep_working() {
    let Some(hsm) = SoftHsm::new("with_the_hsm_gone_logins_answer_503_while_tokens_keep_working")
    else {
        return;
    };
    init_hsm(&hsm);
    let dir = tempfile::tempdir().unwrap();
    let c = Client::new();
    let mut server = serve(&hsm, &dir.path().join("data"), true);
    wait_ready(&c.http, &mut server).await;
    let base = server.base.clone();
    assert!(
        !dir.path().join("data/seal.key").exists(),
        "with an HSM no key file is made"
    );
    let vault = signup(&c, &base, "alice").await["vault_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = c.login(&base, "alice", PASSWORD).await.unwrap();
    let (status, item) = c
        .send(
            &base,
            Method::POST,
            &format!("/v1/vaults/{vault}/items"),
            As::Session(&session),
            Some(json!({"name": "k", "value": "still here"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let item_path = format!("/v1/vaults/{vault}/items/{}", item["id"].as_str().unwrap());
    let (status, minted) = c
        .send(
            &base,
            Method::POST,
            "/v1/tokens",
            As::Session(&session),
            Some(json!({"name": "t", "vaults": [vault], "permissions": ["read"], "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    let token = minted["token"].as_str().unwrap().to_owned();

    // The HSM goes away.
    let away = hsm.tokens().with_extension("away");
    std::fs::rename(hsm.tokens(), &away).unwrap();
    assert_eq!(
        c.login(&base, "alice", PASSWORD).await.err(),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    let (status, read) = c
        .send(&base, Method::GET, &item_path, As::Token(&token), None)
        .await;
    assert_eq!(
        (status, read["value"].as_str()),
        (StatusCode::OK, Some("still here"))
    );

    // It comes back: the server reopens its session, logins work again.
    std::fs::rename(&away, hsm.tokens()).unwrap();
    assert!(c.login(&base, "alice", PASSWORD).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_every_slot_and_logins_work_before_during_and_after() {
    let Some(hsm) =
        SoftHsm::new("migrate_moves_every_slot_and_logins_work_before_during_and_after")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let c = Client::new();
    let users = ["ann", "bob", "cat", "dan"];

    // A deployment on a key file, with users.
    let mut server = serve(&hsm, &data, false);
    wait_ready(&c.http, &mut server).await;
    for user in users {
        signup(&c, &server.base, user).await;
    }
    server.kill();

    // Before: the HSM-configured server opens the key-file slots.
    init_hsm(&hsm);
    let mut server = serve(&hsm, &data, true);
    wait_ready(&c.http, &mut server).await;
    let base = server.base.clone();
    for user in users {
        assert!(
            c.login(&base, user, PASSWORD).await.is_ok(),
            "{user} before"
        );
    }
    let migrate = |max_batches: &str| {
        let out = keyslot(&hsm, PIN)
            .args([
                "--json",
                "seal",
                "migrate",
                "--batch-size",
                "1",
                "--max-batches",
                max_batches,
            ])
            .arg("--data-dir")
            .arg(&data)
            .args(pkcs11_args(KEY))
            .output()
            .unwrap();
        serde_json::from_str::<Value>(&ok(&out)).unwrap()
    };

    // During: one batch of one slot moved, the server running; everyone logs in.
    let first = migrate("1");
    assert_eq!(
        (first["moved"].as_u64(), first["finished"].as_bool()),
        (Some(1), Some(false)),
        "{first}"
    );
    for user in users {
        assert!(
            c.login(&base, user, PASSWORD).await.is_ok(),
            "{user} during"
        );
    }
    // The rest, resumed where it stopped.
    let rest = migrate("0");
    assert_eq!(rest["moved"].as_u64(), Some(3), "{rest}");
    assert_eq!(rest["already_in_hsm"].as_u64(), Some(1), "{rest}");
    assert_eq!(rest["finished"].as_bool(), Some(true), "{rest}");
    let again = migrate("0");
    assert_eq!(
        (again["moved"].as_u64(), again["already_in_hsm"].as_u64()),
        (Some(0), Some(4)),
        "{again}"
    );

    // After: every user logs in through the HSM…
    for user in users {
        assert!(c.login(&base, user, PASSWORD).await.is_ok(), "{user} after");
    }
    server.kill();
    // …and the key file alone opens none of them any more.
    let mut file_only = serve(&hsm, &data, false);
    wait_ready(&c.http, &mut file_only).await;
    for user in users {
        assert!(
            c.login(&file_only.base, user, PASSWORD).await.is_err(),
            "{user} with the key file alone"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_hsm_key_than_the_one_slots_were_sealed_with_refuses_to_start() {
    let Some(hsm) =
        SoftHsm::new("another_hsm_key_than_the_one_slots_were_sealed_with_refuses_to_start")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let c = Client::new();
    // A key-file deployment that then runs with the HSM: its first seal check is the key
    // file's, so only the HSM's own check value can tell HSM keys apart.
    let mut server = serve(&hsm, &data, false);
    wait_ready(&c.http, &mut server).await;
    server.kill();
    init_hsm(&hsm);
    init_key(&hsm, "another-key");
    let mut server = serve(&hsm, &data, true);
    wait_ready(&c.http, &mut server).await;
    signup(&c, &server.base, "ann").await;
    server.kill();
    let (cmd, _) = serve_cmd(&hsm, &data, Some("another-key"));
    let stderr = refused(cmd);
    assert!(
        stderr.contains("is not the one this database's password slots were sealed with"),
        "{stderr}"
    );
    // The original key still starts, and ann logs in.
    let mut server = serve(&hsm, &data, true);
    wait_ready(&c.http, &mut server).await;
    assert!(c.login(&server.base, "ann", PASSWORD).await.is_ok());
}

/// A password login presenting `device` as the known-device cookie: the status, and the
/// device cookie the answer sets.
async fn login_from_device(
    c: &Client,
    base: &str,
    user: &str,
    password: &str,
    device: Option<&str>,
) -> (StatusCode, Option<String>) {
    let mut req = c
        .http
        .post(format!("{base}/v1/login"))
        .json(&json!({"username": user, "password": password}));
    if let Some(device) = device {
        req = req.header("cookie", format!("__Host-keyslot-device={device}"));
    }
    let r = req.send().await.unwrap();
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("__Host-keyslot-device="))
        .map(|v| v.split(';').next().unwrap().to_owned());
    (r.status(), set)
}

/// Rows in the attempt counters table of the SQLite database in `data`.
async fn attempt_counters(data: &Path) -> i64 {
    use sqlx::Connection as _;
    let url = format!("sqlite://{}", data.join("keyslot.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let n = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM attempt_counters")
        .fetch_one(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_migration_clears_the_attempt_counters_and_old_device_cookies_are_a_new_device()
{
    let Some(hsm) = SoftHsm::new("a_finished_migration_clears_the_attempt_counters") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let c = Client::new();

    // On the key file: ann's browser gets a device cookie; bob's name is guessed at.
    let mut server = serve(&hsm, &data, false);
    wait_ready(&c.http, &mut server).await;
    signup(&c, &server.base, "ann").await;
    signup(&c, &server.base, "bob").await;
    let (status, file_cookie) = login_from_device(&c, &server.base, "ann", PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    let file_cookie = file_cookie.expect("a login sets a device cookie");
    // Presented again to the same key, it logs in.
    let (status, _) =
        login_from_device(&c, &server.base, "ann", PASSWORD, Some(&file_cookie)).await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..3 {
        let (status, _) = login_from_device(&c, &server.base, "bob", "wrong guess 1", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    server.kill();

    // With the HSM: the MAC keys are the HSM's, so the key file's cookie no longer
    // verifies; it is an unknown device, which logs in (never an error) and gets a new one.
    init_hsm(&hsm);
    let mut server = serve(&hsm, &data, true);
    wait_ready(&c.http, &mut server).await;
    let base = server.base.clone();
    let (status, hsm_cookie) =
        login_from_device(&c, &base, "ann", PASSWORD, Some(&file_cookie)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an old device cookie is not an error"
    );
    let hsm_cookie = hsm_cookie.unwrap();
    assert_ne!(hsm_cookie, file_cookie);
    for _ in 0..2 {
        let (status, _) = login_from_device(&c, &base, "bob", "wrong guess 2", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let counted = attempt_counters(&data).await;
    assert!(counted > 0);

    let migrate = |max_batches: &str| {
        let out = keyslot(&hsm, PIN)
            .args(["--json", "seal", "migrate", "--batch-size", "1"])
            .args(["--max-batches", max_batches])
            .arg("--data-dir")
            .arg(&data)
            .args(pkcs11_args(KEY))
            .output()
            .unwrap();
        serde_json::from_str::<Value>(&ok(&out)).unwrap()
    };
    // A migration stopped half-way clears nothing: slots remain under the key file.
    let part = migrate("1");
    assert_eq!(part["finished"], false, "{part}");
    assert_eq!(part["attempt_counters_cleared"], 0, "{part}");
    assert_eq!(attempt_counters(&data).await, counted);
    // Finished: every counter is gone, and said so.
    let done = migrate("0");
    assert_eq!(done["finished"], true, "{done}");
    assert_eq!(
        done["attempt_counters_cleared"].as_i64(),
        Some(counted),
        "{done}"
    );
    assert_eq!(attempt_counters(&data).await, 0);

    // Everyone logs in; the cookie the HSM made is still ann's known device.
    let (status, _) = login_from_device(&c, &base, "ann", PASSWORD, Some(&hsm_cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(c.login(&base, "bob", PASSWORD).await.is_ok());
}

/// Public-key MACs made under the key file are recomputed under the HSM's key when the
/// migration finishes: a vault with a token rotates (200) afterwards, and the token
/// reads what is written after the rotation through its grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_migration_recomputes_public_key_macs_and_rotations_work() {
    let Some(hsm) = SoftHsm::new("a_finished_migration_recomputes_public_key_macs") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let c = Client::new();

    // On the key file: a user, a token of her vault (its public key MAC'd by the key file).
    let mut server = serve(&hsm, &data, false);
    wait_ready(&c.http, &mut server).await;
    let vault = signup(&c, &server.base, "ann").await["vault_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = c.login(&server.base, "ann", PASSWORD).await.unwrap();
    let (status, minted) = c
        .send(
            &server.base,
            Method::POST,
            "/v1/tokens",
            As::Session(&session),
            Some(json!({"name": "t", "vaults": [vault], "permissions": ["read"], "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    let token = minted["token"].as_str().unwrap().to_owned();
    server.kill();

    // Moved to the HSM, the migration run to its end.
    init_hsm(&hsm);
    let mut server = serve(&hsm, &data, true);
    wait_ready(&c.http, &mut server).await;
    let base = server.base.clone();
    let out = keyslot(&hsm, PIN)
        .args(["--json", "seal", "migrate"])
        .arg("--data-dir")
        .arg(&data)
        .args(pkcs11_args(KEY))
        .output()
        .unwrap();
    let done: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(done["finished"], true, "{done}");
    // ann's key, the token's and the vault key's (published at the mint).
    assert!(
        done["public_key_macs"].as_u64().is_some_and(|n| n >= 2),
        "{done}"
    );

    let session = c.login(&base, "ann", PASSWORD).await.unwrap();
    let (status, rotated) = c
        .send(
            &base,
            Method::POST,
            &format!("/v1/vaults/{vault}/rotate"),
            As::Session(&session),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (status, item) = c
        .send(
            &base,
            Method::POST,
            &format!("/v1/vaults/{vault}/items"),
            As::Session(&session),
            Some(json!({"name": "after", "value": "written after the rotation"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    let (status, read) = c
        .send(
            &base,
            Method::GET,
            &format!("/v1/vaults/{vault}/items/{}", item["id"].as_str().unwrap()),
            As::Token(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["value"], "written after the rotation", "{read}");

    // Run again, it finds nothing to change.
    let again: Value = serde_json::from_str(&ok(&keyslot(&hsm, PIN)
        .args(["--json", "seal", "migrate"])
        .arg("--data-dir")
        .arg(&data)
        .args(pkcs11_args(KEY))
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(again["public_key_macs"], 0, "{again}");
}
