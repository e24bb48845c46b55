//! The rows an attacker with a copy of the database sees, on either backend: deposits and
//! their readers' copies read straight from the tables (no store, no server), and raw
//! statements to tamper with rows.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyslot_crypto::Id;
use keyslot_server::ServerConfig;
use sqlx::Row as _;

use crate::common::TestServer;

/// A server on SQLite, or on a fresh PostgreSQL database, tuned; and its database beside
/// it. `None` when PostgreSQL tests are not configured (never in CI).
pub async fn server(
    postgres: bool,
    tune: impl FnOnce(&mut ServerConfig),
) -> Option<(TestServer, Raw)> {
    let url = if postgres {
        Some(keyslot_store_tests::postgres::fresh_database_url("deposit").await?)
    } else {
        None
    };
    let s = TestServer::start_with(|c| {
        c.database_url = url.clone();
        tune(c);
    })
    .await;
    let raw = Raw::connect(url.as_deref(), &s.data_dir.join("keyslot.db")).await;
    Some((s, raw))
}

/// A direct connection to the server's database.
pub enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// One reader's copy of a deposit's item key, as stored.
#[derive(Debug, Clone)]
pub struct Copy {
    pub deposit: Id,
    /// A token's copy (otherwise a member's).
    pub token: bool,
    pub holder: Id,
    pub sealed: Vec<u8>,
}

/// A deposit row, as stored.
#[derive(Debug, Clone)]
pub struct Deposit {
    pub id: Id,
    pub key_version: u32,
    pub to_readers: bool,
    pub sealed_item_key: Vec<u8>,
    pub value: Vec<u8>,
}

fn id(bytes: Vec<u8>) -> Id {
    Id::from_bytes(bytes.try_into().unwrap())
}

/// Run `$sql` (with `$1`… placeholders, the same text on both) on either pool, mapping
/// each row with `$map`.
macro_rules! rows {
    ($raw:expr, $sql:expr, [$($arg:expr),*], |$r:ident| $map:expr) => {
        match $raw {
            Raw::Sqlite(p) => sqlx::query($sql)$(.bind($arg))*.fetch_all(p).await.unwrap()
                .iter().map(|$r| $map).collect::<Vec<_>>(),
            Raw::Postgres(p) => sqlx::query($sql)$(.bind($arg))*.fetch_all(p).await.unwrap()
                .iter().map(|$r| $map).collect::<Vec<_>>(),
        }
    };
}

impl Raw {
    pub async fn connect(postgres_url: Option<&str>, sqlite_file: &std::path::Path) -> Self {
        match postgres_url {
            Some(url) => Self::Postgres(sqlx::PgPool::connect(url).await.unwrap()),
            None => Self::Sqlite(
                sqlx::SqlitePool::connect(&format!("sqlite://{}", sqlite_file.display()))
                    .await
                    .unwrap(),
            ),
        }
    }

    /// Every reader's copy of every deposit waiting in `vault`.
    pub async fn copies(&self, vault: &Id) -> Vec<Copy> {
        let v = vault.as_bytes().to_vec();
        let mut all = rows!(
            self,
            "SELECT deposit_id, user_id AS holder, sealed_item_key FROM deposit_member_keys WHERE vault_id = $1",
            [v.clone()],
            |r| Copy {
                deposit: id(r.get("deposit_id")),
                token: false,
                holder: id(r.get("holder")),
                sealed: r.get("sealed_item_key"),
            }
        );
        all.extend(rows!(
            self,
            "SELECT deposit_id, token_id AS holder, sealed_item_key FROM deposit_token_keys WHERE vault_id = $1",
            [v],
            |r| Copy {
                deposit: id(r.get("deposit_id")),
                token: true,
                holder: id(r.get("holder")),
                sealed: r.get("sealed_item_key"),
            }
        ));
        all
    }

    /// Every deposit waiting in `vault`.
    pub async fn deposits(&self, vault: &Id) -> Vec<Deposit> {
        rows!(
            self,
            "SELECT id, key_version, to_readers, sealed_item_key, value FROM deposits WHERE vault_id = $1",
            [vault.as_bytes().to_vec()],
            |r| Deposit {
                id: id(r.get("id")),
                key_version: u32::try_from(r.get::<i64, _>("key_version")).unwrap(),
                to_readers: r.get("to_readers"),
                sealed_item_key: r.get("sealed_item_key"),
                value: r.get("value"),
            }
        )
    }

    /// A token's slot for `vault`: its key version and wrapped vault key.
    pub async fn token_slot(&self, token: &Id, vault: &Id) -> Option<(u32, Vec<u8>)> {
        rows!(
            self,
            "SELECT key_version, wrapped_vault_key FROM token_vault_slots WHERE token_id = $1 AND vault_id = $2",
            [token.as_bytes().to_vec(), vault.as_bytes().to_vec()],
            |r| (
                u32::try_from(r.get::<i64, _>("key_version")).unwrap(),
                r.get::<Vec<u8>, _>("wrapped_vault_key")
            )
        )
        .pop()
    }

    /// Run one statement with byte-string arguments (`$1`…).
    pub async fn execute(&self, sql: &'static str, args: &[&[u8]]) {
        match self {
            Self::Sqlite(p) => {
                let mut q = sqlx::query(sql);
                for a in args {
                    q = q.bind(a.to_vec());
                }
                q.execute(p).await.unwrap();
            }
            Self::Postgres(p) => {
                let mut q = sqlx::query(sql);
                for a in args {
                    q = q.bind(a.to_vec());
                }
                q.execute(p).await.unwrap();
            }
        }
    }
}
