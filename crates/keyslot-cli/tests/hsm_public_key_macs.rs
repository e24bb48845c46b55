//! `keyslot seal migrate` and the public-key MACs (issue 15, key-lifecycle review): the
//! migration recomputes every public-key MAC under the HSM's key, so it must first prove
//! each one under the key file. Otherwise a public key put in a victim's row behind the
//! servers' back — the attack the MAC exists to stop — comes out of the migration with a
//! valid MAC, and the next rotation seals the vault key to the attacker.
//!
//! With SoftHSM2, on SQLite and PostgreSQL: an attacker's key put in a token's row (its
//! MAC kept), then the genuine key with its MAC cleared, each stops `keyslot seal migrate`
//! with a non-zero exit that names the token, and nothing changes: every password slot is
//! still the key file's and every stored MAC is as it was. With the row restored, the
//! same migration finishes and the token reads what is written after a rotation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/hsm.rs"]
mod hsm_support;
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use hsm_support::{KEY, PASSWORD, init_key, keyslot, ok, pkcs11_args, serve_on, signup};
use keyslot_crypto::Id;
use keyslot_hsm::testing::{PIN, SoftHsm};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;
use support::{As, Client, wait_ready};

/// Where the rows live, for the attacker's write and for the checks.
enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Every stored public key with its MAC: users', tokens' and vault keys', in one order.
const ALL_KEYS: &str = "SELECT x25519_public AS k, x25519_public_mac AS m FROM users \
     UNION ALL SELECT x25519_public, public_key_mac FROM tokens \
     UNION ALL SELECT public_key, public_key_mac FROM vault_keys WHERE public_key IS NOT NULL \
     ORDER BY 1";

type Key = (Vec<u8>, Option<Vec<u8>>);

impl Db {
    fn url(&self) -> Option<&str> {
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres(url) => Some(url),
        }
    }

    /// Every stored public key and its MAC (see [`ALL_KEYS`]).
    async fn keys(&self) -> Vec<Key> {
        match self {
            Self::Sqlite(path) => {
                let mut c = sqlite(path).await;
                sqlx::query_as(ALL_KEYS).fetch_all(&mut c).await.unwrap()
            }
            Self::Postgres(url) => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query_as(ALL_KEYS).fetch_all(&mut c).await.unwrap()
            }
        }
    }

    /// As one who can write one row: set a token's stored public key and MAC.
    async fn set_token_key(&self, token: &Id, (public, mac): &Key) {
        let sql = "UPDATE tokens SET x25519_public = $1, public_key_mac = $2 WHERE id = $3";
        let touched = match self {
            Self::Sqlite(path) => sqlx::query(sql)
                .bind(public)
                .bind(mac)
                .bind(token.as_bytes().as_slice())
                .execute(&mut sqlite(path).await)
                .await
                .unwrap()
                .rows_affected(),
            Self::Postgres(url) => sqlx::query(sql)
                .bind(public)
                .bind(mac)
                .bind(token.as_bytes().as_slice())
                .execute(&mut sqlx::PgConnection::connect(url).await.unwrap())
                .await
                .unwrap()
                .rows_affected(),
        };
        assert_eq!(touched, 1);
    }

    /// A token's stored public key and MAC.
    async fn token_key(&self, token: &Id) -> Key {
        let sql = "SELECT x25519_public, public_key_mac FROM tokens WHERE id = $1";
        match self {
            Self::Sqlite(path) => sqlx::query_as(sql)
                .bind(token.as_bytes().as_slice())
                .fetch_one(&mut sqlite(path).await)
                .await
                .unwrap(),
            Self::Postgres(url) => sqlx::query_as(sql)
                .bind(token.as_bytes().as_slice())
                .fetch_one(&mut sqlx::PgConnection::connect(url).await.unwrap())
                .await
                .unwrap(),
        }
    }
}

async fn sqlite(path: &Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap()
}

/// `keyslot --json seal migrate` on `data` (and the database, if not SQLite).
fn migrate(hsm: &SoftHsm, data: &Path, db: &Db) -> Output {
    let mut cmd = keyslot(hsm, PIN);
    cmd.args(["--json", "seal", "migrate", "--batch-size", "1"])
        .arg("--data-dir")
        .arg(data);
    if let Some(url) = db.url() {
        cmd.args(["--database-url", url]);
    }
    cmd.args(pkcs11_args(KEY)).output().unwrap()
}

/// The migration refused: a non-zero exit whose message names the token (and carries
/// neither key nor MAC).
fn assert_refused(out: &Output, token: &Id, why: &str, secrets: &[&[u8]]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the migration ran: {stderr}");
    assert!(
        stderr.contains(&format!("token {token}")) && stderr.contains(why),
        "the message names the row and why: {stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    for secret in secrets {
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            !stderr.contains(&hex),
            "a key or MAC in the message: {stderr}"
        );
    }
}

async fn a_tampered_public_key_stops_the_migration_with_nothing_changed(postgres: bool) {
    let name = format!(
        "hsm_tampered_public_key_{}",
        if postgres { "pg" } else { "sqlite" }
    );
    let Some(hsm) = SoftHsm::new(&name) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = if postgres {
        let Some(url) = keyslot_store_tests::postgres::fresh_database_url(&name).await else {
            return;
        };
        Db::Postgres(url)
    } else {
        Db::Sqlite(data.join("keyslot.db"))
    };
    let c = Client::new();

    // On the key file: ann, her vault, a token of it (public keys MAC'd by the key file).
    let mut server = serve_on(&hsm, &data, db.url(), None);
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
    let token_id: Id = minted["id"].as_str().unwrap().parse().unwrap();
    let token = minted["token"].as_str().unwrap().to_owned();
    server.kill();
    init_key(&hsm, KEY);

    let genuine = db.token_key(&token_id).await;
    let genuine_mac = genuine.1.clone().expect("a minted token has its MAC");
    // The attacker's own X25519 public key (any 32 bytes are one), in the token's row.
    let attackers: Vec<u8> = (0..32u8)
        .map(|b| b.wrapping_mul(37).wrapping_add(11))
        .collect();
    let cases: [(Key, &str); 2] = [
        // Their key, the token's MAC kept: the MAC no longer matches the row.
        (
            (attackers.clone(), Some(genuine_mac.clone())),
            "does not carry its MAC",
        ),
        // The genuine key with its MAC cleared (after the backfill, never filled in).
        ((genuine.0.clone(), None), "has no MAC"),
    ];
    for (tampered, why) in &cases {
        db.set_token_key(&token_id, tampered).await;
        let before = db.keys().await;
        let out = migrate(&hsm, &data, &db);
        assert_refused(&out, &token_id, why, &[&attackers, &genuine_mac]);
        assert_eq!(db.keys().await, before, "no MAC was written ({why})");
        // No password slot moved: the key file alone still logs ann in.
        let mut file_only = serve_on(&hsm, &data, db.url(), None);
        wait_ready(&c.http, &mut file_only).await;
        assert!(
            c.login(&file_only.base, "ann", PASSWORD).await.is_ok(),
            "ann's password slot is still the key file's ({why})"
        );
        file_only.kill();
    }

    // The row restored, the same migration runs to its end.
    db.set_token_key(&token_id, &genuine).await;
    let done: Value = serde_json::from_str(&ok(&migrate(&hsm, &data, &db))).unwrap();
    assert_eq!(done["finished"], true, "{done}");
    assert!(
        done["public_key_macs"].as_u64().is_some_and(|n| n >= 2),
        "{done}"
    );
    assert_ne!(
        db.token_key(&token_id).await.1,
        Some(genuine_mac),
        "now the HSM's MAC"
    );

    // With the HSM: a rotation seals to the token, which reads what is written after it.
    let mut server = serve_on(&hsm, &data, db.url(), Some(KEY));
    wait_ready(&c.http, &mut server).await;
    let base = server.base.clone();
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_public_key_stops_the_migration_with_nothing_changed_sqlite() {
    a_tampered_public_key_stops_the_migration_with_nothing_changed(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_public_key_stops_the_migration_with_nothing_changed_postgres() {
    a_tampered_public_key_stops_the_migration_with_nothing_changed(true).await;
}
