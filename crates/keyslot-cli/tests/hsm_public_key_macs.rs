//! `keyslot seal migrate` and the public-key MACs (issue 15, key-lifecycle review): the
//! migration recomputes every public-key MAC under the HSM's key, so it must first prove
//! each one under the key file. Otherwise a public key put in a victim's row behind the
//! servers' back — the attack the MAC exists to stop — comes out of the migration with a
//! valid MAC, and the next rotation seals the vault key (or the user key) to the attacker.
//!
//! With SoftHSM2, on SQLite and PostgreSQL: an attacker's key put in a token's row (its
//! MAC kept), the genuine key with its MAC cleared, and an attacker's key put in the
//! user's recovery slot (the recovery code's public key, its MAC kept), each stops
//! `keyslot seal migrate` with a non-zero exit that names the row, and nothing changes:
//! every password slot is still the key file's and every stored MAC is as it was. With
//! the row restored, the same migration finishes; the token reads what is written after
//! a rotation, and a user-key rotation seals the new user key to the recovery code the
//! user already holds (no new code, no MAC mismatch audited), which still recovers.
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

/// Every stored public key with its MAC: users', tokens', vault keys' and recovery
/// codes', in one order.
const ALL_KEYS: &str = "SELECT x25519_public AS k, x25519_public_mac AS m FROM users \
     UNION ALL SELECT x25519_public, public_key_mac FROM tokens \
     UNION ALL SELECT public_key, public_key_mac FROM vault_keys WHERE public_key IS NOT NULL \
     UNION ALL SELECT x25519_public, x25519_public_mac FROM recovery_slots \
     WHERE x25519_public IS NOT NULL \
     ORDER BY 1";

type Key = (Vec<u8>, Option<Vec<u8>>);

/// A row holding a public key: a token's (by token id) or a recovery code's (by user id).
#[derive(Clone, Copy)]
enum Row {
    Token(Id),
    Recovery(Id),
}

impl Row {
    fn id(self) -> Id {
        match self {
            Self::Token(id) | Self::Recovery(id) => id,
        }
    }

    /// How the migration's message names the row.
    fn named(self) -> String {
        match self {
            Self::Token(id) => format!("token {id}"),
            Self::Recovery(user) => format!("recovery code of user {user}"),
        }
    }

    fn select(self) -> &'static str {
        match self {
            Self::Token(_) => "SELECT x25519_public, public_key_mac FROM tokens WHERE id = $1",
            Self::Recovery(_) => {
                "SELECT x25519_public, x25519_public_mac FROM recovery_slots WHERE user_id = $1"
            }
        }
    }

    fn update(self) -> &'static str {
        match self {
            Self::Token(_) => {
                "UPDATE tokens SET x25519_public = $1, public_key_mac = $2 WHERE id = $3"
            }
            Self::Recovery(_) => {
                "UPDATE recovery_slots SET x25519_public = $1, x25519_public_mac = $2 \
                 WHERE user_id = $3"
            }
        }
    }
}

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

    /// As one who can write one row: set a row's stored public key and MAC.
    async fn set_key(&self, row: Row, (public, mac): &Key) {
        let id = row.id();
        let touched = match self {
            Self::Sqlite(path) => sqlx::query(row.update())
                .bind(public)
                .bind(mac)
                .bind(id.as_bytes().as_slice())
                .execute(&mut sqlite(path).await)
                .await
                .unwrap()
                .rows_affected(),
            Self::Postgres(url) => sqlx::query(row.update())
                .bind(public)
                .bind(mac)
                .bind(id.as_bytes().as_slice())
                .execute(&mut sqlx::PgConnection::connect(url).await.unwrap())
                .await
                .unwrap()
                .rows_affected(),
        };
        assert_eq!(touched, 1);
    }

    /// A row's stored public key and MAC.
    async fn key(&self, row: Row) -> Key {
        let id = row.id();
        let key: (Option<Vec<u8>>, Option<Vec<u8>>) = match self {
            Self::Sqlite(path) => sqlx::query_as(row.select())
                .bind(id.as_bytes().as_slice())
                .fetch_one(&mut sqlite(path).await)
                .await
                .unwrap(),
            Self::Postgres(url) => sqlx::query_as(row.select())
                .bind(id.as_bytes().as_slice())
                .fetch_one(&mut sqlx::PgConnection::connect(url).await.unwrap())
                .await
                .unwrap(),
        };
        (key.0.expect("the row has a public key"), key.1)
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

/// The migration refused: a non-zero exit whose message names the row (and carries
/// neither key nor MAC).
fn assert_refused(out: &Output, row: Row, why: &str, secrets: &[&[u8]]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the migration ran: {stderr}");
    assert!(
        stderr.contains(&row.named()) && stderr.contains(why),
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

    // On the key file: ann, her vault, a token of it, her recovery code (public keys
    // MAC'd by the key file).
    let mut server = serve_on(&hsm, &data, db.url(), None);
    wait_ready(&c.http, &mut server).await;
    let ann = signup(&c, &server.base, "ann").await;
    let vault = ann["vault_id"].as_str().unwrap().to_owned();
    let recovery_code = ann["recovery_code"].as_str().unwrap().to_owned();
    let recovery = Row::Recovery(ann["user_id"].as_str().unwrap().parse().unwrap());
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
    let token_row = Row::Token(minted["id"].as_str().unwrap().parse().unwrap());
    let token = minted["token"].as_str().unwrap().to_owned();
    server.kill();
    init_key(&hsm, KEY);

    let genuine = db.key(token_row).await;
    let genuine_mac = genuine.1.clone().expect("a minted token has its MAC");
    let genuine_recovery = db.key(recovery).await;
    let recovery_mac = (genuine_recovery.1.clone()).expect("sign-up stores the code's MAC");
    // The attacker's own X25519 public key (any 32 bytes are one), in a victim's row.
    let attackers: Vec<u8> = (0..32u8)
        .map(|b| b.wrapping_mul(37).wrapping_add(11))
        .collect();
    let cases: [(Row, Key, &str); 3] = [
        // Their key, the token's MAC kept: the MAC no longer matches the row.
        (
            token_row,
            (attackers.clone(), Some(genuine_mac.clone())),
            "does not carry its MAC",
        ),
        // The genuine key with its MAC cleared (after the backfill, never filled in).
        (token_row, (genuine.0.clone(), None), "has no MAC"),
        // Their key as the recovery code's, its MAC kept: a rotation would seal ann's
        // new user key to them.
        (
            recovery,
            (attackers.clone(), Some(recovery_mac.clone())),
            "does not carry its MAC",
        ),
    ];
    for (row, tampered, why) in &cases {
        let restored = db.key(*row).await;
        db.set_key(*row, tampered).await;
        let before = db.keys().await;
        let out = migrate(&hsm, &data, &db);
        let secrets: [&[u8]; 3] = [&attackers, &genuine_mac, &recovery_mac];
        assert_refused(&out, *row, why, &secrets);
        assert_eq!(db.keys().await, before, "no MAC was written ({why})");
        // No password slot moved: the key file alone still logs ann in.
        let mut file_only = serve_on(&hsm, &data, db.url(), None);
        wait_ready(&c.http, &mut file_only).await;
        assert!(
            c.login(&file_only.base, "ann", PASSWORD).await.is_ok(),
            "ann's password slot is still the key file's ({why})"
        );
        file_only.kill();
        db.set_key(*row, &restored).await;
    }

    // The rows restored, the same migration runs to its end.
    let done: Value = serde_json::from_str(&ok(&migrate(&hsm, &data, &db))).unwrap();
    assert_eq!(done["finished"], true, "{done}");
    assert!(
        done["public_key_macs"].as_u64() == Some(3),
        "ann's, her token's and her recovery code's (her vault's key is not published yet): {done}"
    );
    assert_ne!(
        db.key(token_row).await.1,
        Some(genuine_mac),
        "now the HSM's"
    );
    assert_ne!(
        db.key(recovery).await.1,
        Some(recovery_mac),
        "now the HSM's"
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

    // A user-key rotation seals the new user key to the code ann holds: no new code, no
    // MAC mismatch audited, and that code still recovers the account.
    let (status, rotated) = c
        .send(
            &base,
            Method::POST,
            "/v1/keys/rotate",
            As::Session(&session),
            Some(json!({"current_password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert!(
        rotated.get("recovery_code").is_none(),
        "the code from sign-up lost its MAC in the migration: {rotated}"
    );
    let (status, audit) = c
        .send(
            &base,
            Method::GET,
            "/v1/audit?action=key.public_key_mac",
            As::Session(&session),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert_eq!(audit["events"], json!([]), "a MAC mismatch was audited");
    let new_password = "a new password after the rotation";
    let (status, recovered) = c
        .send(
            &base,
            Method::POST,
            "/v1/recover",
            As::Nobody,
            Some(json!({"username": "ann", "recovery_code": recovery_code, "new_password": new_password})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the code from sign-up recovers: {recovered}"
    );
    let session = c.login(&base, "ann", new_password).await.unwrap();
    let (status, read) = c
        .send(
            &base,
            Method::GET,
            &format!("/v1/vaults/{vault}/items/{}", item["id"].as_str().unwrap()),
            As::Session(&session),
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
