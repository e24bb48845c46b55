//! A graceful stop loses no audit event: reads answered just before SIGTERM (their events
//! still in the buffer, which flushes every 200 ms) are all in the database and in the
//! `--audit-log` file once `keyslot serve` has exited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keyslot_core::store::Store as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{As, Client, Instance, free_port, keyslot_bin, seal_key_file, wait_ready};

const PASSWORD: &str = "correct horse battery staple";
const READS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_writes_every_buffered_read_event_before_exit() {
    let dir = tempfile::tempdir().unwrap();
    let seal = seal_key_file(dir.path());
    let data = dir.path().join("data");
    let log = dir.path().join("audit.jsonl");
    let port = free_port();
    let child = Command::new(keyslot_bin())
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&data)
        .arg("--seal-key-file")
        .arg(&seal)
        .arg("--audit-log")
        .arg(&log)
        .args(["--sweep-interval", "0"])
        .env_remove("KEYSLOT_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let c = Client::new();
    wait_ready(&c.http, &mut server).await;
    let base = server.base.clone();

    let (status, signup) = c
        .send(
            &base,
            Method::POST,
            "/v1/signup",
            As::Nobody,
            Some(json!({"username": "stella", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{signup}");
    let vault = signup["vault_id"].as_str().unwrap().to_owned();
    let session = c.login(&base, "stella", PASSWORD).await.unwrap();
    let (status, item) = c
        .send(
            &base,
            Method::POST,
            &format!("/v1/vaults/{vault}/items"),
            As::Session(&session),
            Some(json!({"name": "k", "value": "v"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
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
    let path = format!("/v1/vaults/{vault}/items/{}", item["id"].as_str().unwrap());

    // Reads as fast as they come, then SIGTERM at once: the last flush interval's events
    // are still in the buffer when the signal arrives.
    for _ in 0..READS {
        let (status, _) = c
            .send(&base, Method::GET, &path, As::Token(&token), None)
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let term = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "keyslot serve did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut server.child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("were not written"), "{stderr}");

    // Every read is in the database…
    let url = format!("sqlite://{}", data.join("keyslot.db").display());
    let store = keyslot_store::open(&url, keyslot_store::Schema::Existing)
        .await
        .unwrap();
    let user = store.user_by_name("stella").await.unwrap().unwrap();
    let events = store.audit_events(&user.id, 10_000).await.unwrap();
    let in_db = events.iter().filter(|e| e.action == "item.read").count();
    assert_eq!(in_db, READS, "item.read events in the database");
    store.close().await;

    // …and in the log file.
    let in_file = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["action"] == "item.read")
        .count();
    assert_eq!(in_file, READS, "item.read lines in --audit-log");
}
