//! The restore drill, on both backends: make data, tokens and sessions; back up; destroy;
//! restore; every password, recovery code, session and live token still opens what it
//! opened. The seal key is kept apart from the backup, as `keyslot backup --seal-key-out`
//! writes it; a wrong seal key refuses with a message that names the fix; a data directory
//! that a running server holds is never restored over.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;
use support::{As, Client, Session};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a different long passphrase 7";

/// What the drill made before the backup.
struct World {
    vault: String,
    item: String,
    recovery_code: String,
    session: Session,
    token: String,
}

async fn make_world(client: &Client, base: &str) -> World {
    let (status, signup) = client
        .send(
            base,
            Method::POST,
            "/v1/signup",
            As::Nobody,
            Some(json!({"username": "drill", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{signup}");
    let vault = signup["vault_id"].as_str().unwrap().to_owned();
    let session = client.login(base, "drill", PASSWORD).await.unwrap();
    let (status, item) = client
        .send(
            base,
            Method::POST,
            &format!("/v1/vaults/{vault}/items"),
            As::Session(&session),
            Some(json!({"name": "db", "value": {"password": "restored-secret-9"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    let (status, token) = client
        .send(
            base,
            Method::POST,
            "/v1/tokens",
            As::Session(&session),
            Some(json!({"name": "drill", "vaults": [vault], "permissions": ["read"], "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    World {
        vault,
        item: item["id"].as_str().unwrap().to_owned(),
        recovery_code: signup["recovery_code"].as_str().unwrap().to_owned(),
        session,
        token: token["token"].as_str().unwrap().to_owned(),
    }
}

/// Every credential opens what it opened before the backup.
async fn check_world(client: &Client, base: &str, w: &World) {
    let path = format!("/v1/vaults/{}/items/{}", w.vault, w.item);
    let read = async |who: As<'_>| client.send(base, Method::GET, &path, who, None).await;
    let expect = |(status, body): (StatusCode, Value), who: &str| {
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        assert_eq!(body["value"]["password"], "restored-secret-9", "{who}");
    };
    expect(read(As::Token(&w.token)).await, "the token");
    expect(read(As::Session(&w.session)).await, "the session");
    let fresh = client
        .login(base, "drill", PASSWORD)
        .await
        .expect("the password logs in");
    expect(read(As::Session(&fresh)).await, "a new session");
    let (status, body) = client
        .send(
            base,
            Method::POST,
            "/v1/recover",
            As::Nobody,
            Some(json!({"username": "drill", "recovery_code": w.recovery_code, "new_password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the recovery code recovers: {body}");
    let recovered = client.login(base, "drill", NEW_PASSWORD).await.unwrap();
    expect(read(As::Session(&recovered)).await, "the recovered account");
}

fn keyslot(args: &[&str], dir: &Path) -> Output {
    Command::new(support::keyslot_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("KEYSLOT_SEAL_KEY_FILE")
        .env_remove("KEYSLOT_DATABASE_URL")
        .env_remove("KEYSLOT_DATA_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `keyslot serve` with `seal` must refuse to start, saying how to fix it.
fn serve_refuses(data_dir: &Path, url: &str, seal: &Path) {
    let mut child = Command::new(support::keyslot_bin())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", support::free_port()),
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--database-url", url])
        .arg("--seal-key-file")
        .arg(seal)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "serve with the wrong seal key did not refuse"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--seal-key-file"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_destroy_restore_and_everything_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let url = format!("sqlite://{}", data.join("keyslot.db").display());
    let seal = support::seal_key_file(dir);
    let client = Client::new();
    let mut server = support::spawn(dir, "data", &url, &seal, false);
    support::wait_ready(&client.http, &mut server).await;
    let world = make_world(&client, &server.base).await;

    let (backup, kept_apart) = (dir.join("backup"), dir.join("seal-kept-apart.key"));
    let d = data.to_str().unwrap();
    let out = keyslot(
        &[
            "backup",
            backup.to_str().unwrap(),
            "--data-dir",
            d,
            "--seal-key-file",
            seal.to_str().unwrap(),
            "--seal-key-out",
            kept_apart.to_str().unwrap(),
        ],
        dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // A server holds the data directory: the restore refuses and changes nothing.
    let out = keyslot(
        &[
            "restore",
            backup.to_str().unwrap(),
            "--data-dir",
            d,
            "--seal-key-file",
            kept_apart.to_str().unwrap(),
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("running"), "{}", stderr(&out));

    // Destroy.
    server.kill();
    std::fs::remove_dir_all(&data).unwrap();

    // The wrong seal key: refused, with the fix named, and nothing put in place.
    let wrong_dir = dir.join("wrong");
    std::fs::create_dir(&wrong_dir).unwrap();
    let wrong = support::seal_key_file(&wrong_dir);
    let out = keyslot(
        &[
            "restore",
            backup.to_str().unwrap(),
            "--data-dir",
            d,
            "--seal-key-file",
            wrong.to_str().unwrap(),
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--seal-key-file") && stderr(&out).contains("Nothing was replaced"),
        "{}",
        stderr(&out)
    );
    assert!(!data.join("keyslot.db").exists());

    let out = keyslot(
        &[
            "restore",
            backup.to_str().unwrap(),
            "--data-dir",
            d,
            "--seal-key-file",
            kept_apart.to_str().unwrap(),
        ],
        dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut restored = support::spawn(dir, "data", &url, &kept_apart, false);
    support::wait_ready(&client.http, &mut restored).await;
    check_world(&client, &restored.base, &world).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dump_destroy_restore_and_everything_opens() {
    let Some(url) =
        keyslot_store_tests::postgres::fresh_database_url("postgres restore drill").await
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let seal = support::seal_key_file(dir);
    let client = Client::new();
    let mut server = support::spawn(dir, "data", &url, &seal, false);
    support::wait_ready(&client.http, &mut server).await;
    let world = make_world(&client, &server.base).await;

    // keyslot backup is for SQLite, and says what to use instead.
    let out = keyslot(
        &[
            "backup",
            dir.join("b").to_str().unwrap(),
            "--database-url",
            &url,
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("pg_dump"), "{}", stderr(&out));

    let dump = dir.join("keyslot.dump");
    let out = Command::new("pg_dump")
        .args(["-Fc", "-f", dump.to_str().unwrap(), &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_dump: {}", stderr(&out));
    server.kill();

    // Destroy: drop the database and make it anew, empty.
    let name = keyslot_store_tests::postgres::database_name(&url)
        .unwrap()
        .to_owned();
    let base = std::env::var("KEYSLOT_TEST_DATABASE_URL").unwrap();
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    for statement in [
        format!("DROP DATABASE \"{name}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{name}\""),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let out = Command::new("pg_restore")
        .args(["--no-owner", "-d", &url, dump.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_restore: {}", stderr(&out));

    let wrong_dir = dir.join("wrong");
    std::fs::create_dir(&wrong_dir).unwrap();
    serve_refuses(&dir.join("data"), &url, &support::seal_key_file(&wrong_dir));

    let mut restored = support::spawn(dir, "data", &url, &seal, false);
    support::wait_ready(&client.http, &mut restored).await;
    check_world(&client, &restored.base, &world).await;
}
