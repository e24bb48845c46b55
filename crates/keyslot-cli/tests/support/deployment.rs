//! The deployment the attacker's tests run against: `keyslot serve` on SQLite (one
//! process) or PostgreSQL (two processes on one database), the sweeper off, with the API
//! calls the tests make and the database access the attacker has (copies; one tampered
//! row). The test that includes this file declares `support` and `db_copy` beside it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use keyslot_crypto::Id;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::db_copy::{self, Copy};
use crate::support::{
    As, Client, Instance, Session, free_port, keyslot_bin, seal_key_file, wait_ready,
};

pub const PASSWORD: &str = "correct horse battery staple";

/// Where the rows live, for copies and for the tampering case.
pub enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

/// One deployment: a database and the servers on it (two on PostgreSQL), the sweeper off.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub db: Db,
    pub instances: Vec<Instance>,
    pub client: Client,
    copies: usize,
}

/// `keyslot serve` with the sweeper off (`--sweep-interval 0`): nothing but the lifecycle
/// itself may end a credential's keys here. Its log goes to `dir/name.log`.
fn spawn(dir: &Path, name: &str, url: &str, seal: &Path) -> Instance {
    let port = free_port();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let child = Command::new(keyslot_bin())
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.join(name))
        .args(["--database-url", url])
        .arg("--seal-key-file")
        .arg(seal)
        .args(["--sweep-interval", "0"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

impl Deployment {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let seal = seal_key_file(dir.path());
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let path = dir.path().join("data").join("keyslot.db");
        let url = format!("sqlite://{}", path.display());
        let client = Client::new();
        let mut one = spawn(dir.path(), "data", &url, &seal);
        wait_ready(&client.http, &mut one).await;
        Self {
            dir,
            db: Db::Sqlite(path),
            instances: vec![one],
            client,
            copies: 0,
        }
    }

    pub async fn postgres(test: &str) -> Option<Self> {
        let url = keyslot_store_tests::postgres::fresh_database_url(test).await?;
        let dir = tempfile::tempdir().unwrap();
        let seal = seal_key_file(dir.path());
        let migrate = Command::new(keyslot_bin())
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(
            migrate.status.success(),
            "{}",
            String::from_utf8_lossy(&migrate.stderr)
        );
        let client = Client::new();
        let mut a = spawn(dir.path(), "a", &url, &seal);
        let mut b = spawn(dir.path(), "b", &url, &seal);
        wait_ready(&client.http, &mut a).await;
        wait_ready(&client.http, &mut b).await;
        Some(Self {
            dir,
            db: Db::Postgres(url),
            instances: vec![a, b],
            client,
            copies: 0,
        })
    }

    /// The `n`th instance, round robin (one on SQLite).
    pub fn base(&self, n: usize) -> String {
        self.instances[n % self.instances.len()].base.clone()
    }

    /// A new copy of the database, kept by the attacker.
    pub async fn copy(&mut self) -> Copy {
        self.copies += 1;
        match &self.db {
            Db::Sqlite(live) => {
                let to = self.dir.path().join(format!("copy-{}.db", self.copies));
                db_copy::copy_sqlite(live, &to).await
            }
            Db::Postgres(url) => db_copy::copy_postgres(url).await,
        }
    }

    /// As one who can write one row of the live database: set a token's stored public key
    /// and its MAC.
    pub async fn set_token_public_key(&self, token: &Id, public: &[u8], mac: Option<&[u8]>) {
        let sql = "UPDATE tokens SET x25519_public = $1, public_key_mac = $2 WHERE id = $3";
        let touched = match &self.db {
            Db::Sqlite(live) => {
                let mut conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", live.display()))
                        .await
                        .unwrap();
                sqlx::query(sql)
                    .bind(public)
                    .bind(mac)
                    .bind(token.as_bytes().as_slice())
                    .execute(&mut conn)
                    .await
                    .unwrap()
                    .rows_affected()
            }
            Db::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query(sql)
                    .bind(public)
                    .bind(mac)
                    .bind(token.as_bytes().as_slice())
                    .execute(&mut conn)
                    .await
                    .unwrap()
                    .rows_affected()
            }
        };
        assert_eq!(touched, 1, "the token row to tamper with");
    }

    /// As one who can write the live SQLite database: run one statement.
    pub async fn sqlite_exec(&self, sql: &'static str) {
        let Db::Sqlite(live) = &self.db else {
            panic!("SQLite only")
        };
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", live.display()))
            .await
            .unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }

    /// What a server logged, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["data", "a", "b"] {
            if let Ok(text) = std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))) {
                out.push_str(&format!("--- {name}.log ---\n{text}"));
            }
        }
        out
    }

    pub async fn finish(mut self) {
        for instance in &mut self.instances {
            instance.kill();
        }
        if let Db::Postgres(url) = &self.db {
            keyslot_store_tests::postgres::drop_database(url).await;
        }
    }

    pub async fn send(
        &self,
        n: usize,
        method: Method,
        path: &str,
        who: As<'_>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.client
            .send(&self.base(n), method, path, who, body)
            .await
    }

    /// Sign up `owner`, log in on every instance: its default vault and one session per
    /// instance.
    pub async fn owner(&self) -> (Id, Vec<Session>) {
        let (status, body) = self
            .send(
                0,
                Method::POST,
                "/v1/signup",
                As::Nobody,
                Some(json!({"username": "owner", "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let vault = body["vault_id"].as_str().unwrap().parse().unwrap();
        let mut sessions = Vec::new();
        for n in 0..self.instances.len() {
            sessions.push(
                self.client
                    .login(&self.base(n), "owner", PASSWORD)
                    .await
                    .unwrap(),
            );
        }
        (vault, sessions)
    }

    /// Sign up another user and log in on the first instance: `(user id, session)`.
    pub async fn user(&self, name: &str) -> (Id, Session) {
        let (status, body) = self
            .send(
                0,
                Method::POST,
                "/v1/signup",
                As::Nobody,
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let user = body["user_id"].as_str().unwrap().parse().unwrap();
        let session = self
            .client
            .login(&self.base(0), name, PASSWORD)
            .await
            .unwrap();
        (user, session)
    }

    /// Mint a token scoped to `vault`: `(id, text, expires_at)`.
    pub async fn mint(
        &self,
        session: &Session,
        vault: &Id,
        write: bool,
        lifetime: Option<u64>,
    ) -> (Id, String, u64) {
        self.mint_scope(session, json!([vault.to_string()]), write, lifetime)
            .await
    }

    /// Mint a token for `scope` (a list of vault ids, or `"*"`): `(id, text, expires_at)`.
    pub async fn mint_scope(
        &self,
        session: &Session,
        scope: Value,
        write: bool,
        lifetime: Option<u64>,
    ) -> (Id, String, u64) {
        let permissions = if write {
            json!(["read", "write"])
        } else {
            json!(["read"])
        };
        self.mint_with(session, scope, permissions, lifetime).await
    }

    /// Mint a token for `scope` with `permissions` (e.g. `["deposit"]`):
    /// `(id, text, expires_at)`.
    pub async fn mint_with(
        &self,
        session: &Session,
        scope: Value,
        permissions: Value,
        lifetime: Option<u64>,
    ) -> (Id, String, u64) {
        let mut body = json!({"name": "t", "vaults": scope,
            "permissions": permissions, "current_password": PASSWORD});
        if let Some(secs) = lifetime {
            body["expires_in_seconds"] = json!(secs);
        }
        let (status, minted) = self
            .send(
                0,
                Method::POST,
                "/v1/tokens",
                As::Session(session),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{minted}");
        let expires_at = minted["expires_at"]
            .as_u64()
            .or_else(|| {
                minted["expires_at"].as_str().map(|text| {
                    time::OffsetDateTime::parse(
                        text,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .unwrap()
                    .unix_timestamp()
                    .try_into()
                    .unwrap()
                })
            })
            .unwrap();
        (
            minted["id"].as_str().unwrap().parse().unwrap(),
            minted["token"].as_str().unwrap().to_owned(),
            expires_at,
        )
    }

    /// Write one item on instance `n`: its id.
    pub async fn write(&self, n: usize, who: As<'_>, vault: &Id, name: &str) -> Id {
        let (status, body) = self
            .send(
                n,
                Method::POST,
                &format!("/v1/vaults/{vault}/items"),
                who,
                Some(json!({"name": name, "value": {"secret": format!("{name}-value")}})),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "write {name}: {body}\n{}",
            self.logs()
        );
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Write `per_writer` items from each writer at once — the session and each of `tokens`
    /// (a deposit token deposits), spread over the instances: their ids.
    pub async fn write_concurrently(
        &self,
        session: &[Session],
        tokens: &[&str],
        vault: &Id,
        label: &str,
        per_writer: usize,
    ) -> BTreeSet<Id> {
        let mut tasks = tokio::task::JoinSet::new();
        for k in 0..per_writer {
            for writer in 0..=tokens.len() {
                let base = self.base(writer + k);
                let http = self.client.http.clone();
                let session = session[(writer + k) % session.len()].clone();
                let token = writer
                    .checked_sub(1)
                    .map_or_else(String::new, |t| tokens[t].to_owned());
                let (vault, name) = (*vault, format!("{label}-{writer}-{k}"));
                tasks.spawn(async move {
                    let client = Client { http };
                    let who = if writer == 0 {
                        As::Session(&session)
                    } else {
                        As::Token(&token)
                    };
                    let (status, body) = client
                        .send(
                            &base,
                            Method::POST,
                            &format!("/v1/vaults/{vault}/items"),
                            who,
                            Some(
                                json!({"name": name, "value": {"secret": format!("{name}-value")}}),
                            ),
                        )
                        .await;
                    (name, status, body)
                });
            }
        }
        let mut ids = BTreeSet::new();
        while let Some(done) = tasks.join_next().await {
            let (name, status, body) = done.unwrap();
            assert_eq!(
                status,
                StatusCode::CREATED,
                "write {name}: {body}\n{}",
                self.logs()
            );
            ids.insert(body["id"].as_str().unwrap().parse().unwrap());
        }
        ids
    }

    /// The vault's key version as its owner's session sees it.
    pub async fn key_version(&self, session: &Session, vault: &Id) -> u64 {
        let (status, body) = self
            .send(
                0,
                Method::GET,
                &format!("/v1/vaults/{vault}"),
                As::Session(session),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["key_version"].as_u64().unwrap()
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
