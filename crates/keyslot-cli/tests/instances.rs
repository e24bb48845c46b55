//! Many stateless instances on one PostgreSQL database: two `keyslot serve` processes
//! behind no load balancer at all, the test talking to each in turn. Whatever one instance
//! does, the other sees at its next request. Runs when `KEYSLOT_TEST_DATABASE_URL` is set
//! (always in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection as _;
use support::{As, Client, Instance, free_port, seal_key_file, spawn, wait_ready};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a different long passphrase 7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_everything_through_the_database() {
    let Some(url) = keyslot_store_tests::postgres::fresh_database_url("two instances").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let seal = seal_key_file(dir.path());
    let migrate = Command::new(env!("CARGO_BIN_EXE_keyslot"))
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );

    let c = Client::new();
    let mut a = spawn(dir.path(), "a", &url, &seal, false);
    let mut b = spawn(dir.path(), "b", &url, &seal, false);
    wait_ready(&c.http, &mut a).await;
    wait_ready(&c.http, &mut b).await;
    let (a, b) = (a.base.clone(), b.base.clone());
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;

    // Sign up on A, log in on B.
    let (status, signup) = c
        .send(
            &a,
            post.clone(),
            "/v1/signup",
            As::Nobody,
            Some(json!({"username": "alice", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let vault = signup["vault_id"].as_str().unwrap().to_owned();
    let on_b = c.login(&b, "alice", PASSWORD).await.unwrap();
    let on_a = c.login(&a, "alice", PASSWORD).await.unwrap();
    let (status, item) = c
        .send(
            &b,
            post.clone(),
            &format!("/v1/vaults/{vault}/items"),
            As::Session(&on_b),
            Some(json!({"name": "k", "value": "shared"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let item_path = format!("/v1/vaults/{vault}/items/{}", item["id"].as_str().unwrap());

    // A token minted on A reads on B; revoked on B, it fails on A at the very next request.
    let (status, minted) = c
        .send(
            &a,
            post.clone(),
            "/v1/tokens",
            As::Session(&on_a),
            Some(json!({"name": "t", "vaults": [vault], "permissions": ["read"], "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = minted["token"].as_str().unwrap().to_owned();
    let (status, read) = c
        .send(&b, get.clone(), &item_path, As::Token(&token), None)
        .await;
    assert_eq!(
        (status, read["value"].as_str()),
        (StatusCode::OK, Some("shared"))
    );
    assert_eq!(
        c.send(&a, get.clone(), &item_path, As::Token(&token), None)
            .await
            .0,
        StatusCode::OK
    );
    let (status, _) = c
        .send(
            &b,
            reqwest::Method::DELETE,
            &format!("/v1/tokens/{}", minted["id"].as_str().unwrap()),
            As::Session(&on_b),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        c.send(&a, get.clone(), &item_path, As::Token(&token), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // A password changed on A is the only one that works on B.
    let (status, _) = c
        .send(
            &a,
            post.clone(),
            "/v1/password",
            As::Session(&on_a),
            Some(json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        c.login(&b, "alice", PASSWORD).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert!(c.login(&b, "alice", NEW_PASSWORD).await.is_ok());
    // …and the other sessions it ended are gone on B too.
    assert_eq!(
        c.send(&b, get.clone(), "/v1/me", As::Session(&on_b), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // Failed logins spread over A and B reach the back-off as if on one instance.
    c.send(
        &a,
        post.clone(),
        "/v1/signup",
        As::Nobody,
        Some(json!({"username": "bob", "password": PASSWORD})),
    )
    .await;
    for i in 0..5 {
        let base = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            c.login(base, "bob", "wrong password, quite long")
                .await
                .err(),
            Some(StatusCode::UNAUTHORIZED)
        );
    }
    assert_eq!(
        c.login(&a, "bob", PASSWORD).await.err(),
        Some(StatusCode::TOO_MANY_REQUESTS)
    );
    assert_eq!(
        c.login(&b, "bob", PASSWORD).await.err(),
        Some(StatusCode::TOO_MANY_REQUESTS)
    );
    keyslot_store_tests::postgres::drop_database(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_started_together_with_migrate_do_not_race() {
    let Some(url) = keyslot_store_tests::postgres::fresh_database_url("concurrent migrate").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let seal = seal_key_file(dir.path());
    let http = support::http().build().unwrap();
    // Started together, so their migrations race.
    let starting: Vec<_> = (0..3)
        .map(|i| support::start(dir.path(), &format!("i{i}"), &url, &seal, true))
        .collect();
    let mut instances: Vec<Instance> = starting
        .into_iter()
        .map(support::Starting::instance)
        .collect();
    for instance in &mut instances {
        wait_ready(&http, instance).await;
    }
    // Without --migrate, an instance on an up-to-date database starts.
    let mut plain = spawn(dir.path(), "plain", &url, &seal, false);
    wait_ready(&http, &mut plain).await;
    drop(instances);
    drop(plain);
    keyslot_store_tests::postgres::drop_database(&url).await;

    // On an empty database, `serve` alone initialises it and serves.
    let Some(empty) = keyslot_store_tests::postgres::fresh_database_url("unmigrated").await else {
        return;
    };
    let mut fresh = spawn(dir.path(), "fresh", &empty, &seal, false);
    wait_ready(&http, &mut fresh).await;
    drop(fresh);

    // A database behind this build (one migration missing) is refused, saying what to do.
    let mut admin = sqlx::PgConnection::connect(&empty).await.unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    drop(admin);
    let out = Command::new(env!("CARGO_BIN_EXE_keyslot"))
        .arg("serve")
        .args([
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--database-url",
            &empty,
        ])
        .arg("--data-dir")
        .arg(dir.path().join("x"))
        .arg("--seal-key-file")
        .arg(&seal)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keyslot migrate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    keyslot_store_tests::postgres::drop_database(&empty).await;
}
