//! A copy of the database as an attacker keeps it: the rows that hold keys and items, taken
//! from a SQLite file made with `VACUUM INTO` or from PostgreSQL in one repeatable-read
//! transaction (what a backup, a replica or `pg_dump` gives). Read with plain SQL, no
//! server code: one query text for both backends (`CAST(… AS BIGINT)` reads as `i64` on
//! both).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use keyslot_crypto::Id;
use sqlx::{Connection as _, Row as _};

/// A token's row, as far as the attacker cares.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: Id,
    pub user_id: Id,
    pub x25519_public: Vec<u8>,
    pub public_key_mac: Option<Vec<u8>>,
    /// The user key under the token's wrap key: `"*"` tokens of the first schema.
    pub wrapped_user_key: Option<Vec<u8>>,
}

/// A session's row: the user key under the session's wrap key.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: Id,
    pub user_id: Id,
    pub wrapped_user_key: Vec<u8>,
}

/// A key held for one holder: a token's slot (`token_vault_slots`), a pending grant
/// (`token_grants`, `user_grants`) or a member's slot (`vault_members`). `holder` is the
/// token id or the user id.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub holder: Id,
    pub vault_id: Id,
    pub key_version: u32,
    pub bytes: Vec<u8>,
}

/// One vault key version and its link down the chain (`vault_keys`).
#[derive(Debug, Clone)]
pub struct ChainRow {
    pub vault_id: Id,
    pub key_version: u32,
    pub chain: Option<Vec<u8>>,
}

/// A vault: its owner (bound into every AAD of the vault), current key version, and the
/// first schema's copy of its key under the owner's user key.
#[derive(Debug, Clone)]
pub struct VaultRow {
    pub id: Id,
    pub owner: Id,
    pub key_version: u32,
    pub wrapped_vault_key: Vec<u8>,
}

/// A user's X25519 private key under the user key.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: Id,
    pub x25519_wrapped: Vec<u8>,
}

/// One item's current version.
#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: Id,
    pub vault_id: Id,
    pub user_id: Id,
    pub version: u64,
    pub key_version: u32,
    pub wrapped_item_key: Vec<u8>,
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

/// A deposit not yet moved into `items`: its item key sealed to the public key of vault key
/// version `key_version`, its name and value (item version 1) under that item key.
#[derive(Debug, Clone)]
pub struct DepositRow {
    pub id: Id,
    pub vault_id: Id,
    pub user_id: Id,
    pub key_version: u32,
    pub sealed_item_key: Vec<u8>,
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

/// A copy of the database, as far as keys and items go.
#[derive(Debug, Clone, Default)]
pub struct Copy {
    pub tokens: Vec<TokenRow>,
    pub sessions: Vec<SessionRow>,
    pub users: Vec<UserRow>,
    pub token_slots: Vec<KeyRow>,
    pub token_grants: Vec<KeyRow>,
    pub member_slots: Vec<KeyRow>,
    pub user_grants: Vec<KeyRow>,
    pub chain: Vec<ChainRow>,
    pub vaults: Vec<VaultRow>,
    pub items: Vec<ItemRow>,
    pub deposits: Vec<DepositRow>,
}

impl Copy {
    /// The vault's current key version in this copy.
    pub fn key_version(&self, vault: &Id) -> Option<u32> {
        self.vaults
            .iter()
            .find(|v| v.id == *vault)
            .map(|v| v.key_version)
    }

    /// Pending grants in this copy for `token`.
    pub fn grants_for(&self, token: &Id) -> usize {
        self.token_grants
            .iter()
            .filter(|g| g.holder == *token)
            .count()
    }

    /// Slots in this copy for `token`.
    pub fn slots_for(&self, token: &Id) -> usize {
        self.token_slots
            .iter()
            .filter(|g| g.holder == *token)
            .count()
    }

    /// The row of `token`, if this copy has it.
    pub fn token(&self, token: &Id) -> Option<&TokenRow> {
        self.tokens.iter().find(|t| t.id == *token)
    }
}

pub fn id(bytes: &[u8]) -> Id {
    Id::from_slice(bytes).unwrap()
}

fn version(n: i64) -> u32 {
    u32::try_from(n).unwrap()
}

/// Read every table the attacker uses, through one connection or transaction.
macro_rules! read_copy {
    ($conn:expr) => {{
        let conn = $conn;
        let tokens = sqlx::query(
            "SELECT id, user_id, x25519_public, public_key_mac, wrapped_user_key FROM tokens",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| TokenRow {
            id: id(&r.get::<Vec<u8>, _>("id")),
            user_id: id(&r.get::<Vec<u8>, _>("user_id")),
            x25519_public: r.get("x25519_public"),
            public_key_mac: r.get("public_key_mac"),
            wrapped_user_key: r.get("wrapped_user_key"),
        })
        .collect();
        let sessions = sqlx::query("SELECT id, user_id, wrapped_user_key FROM sessions")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| SessionRow {
                id: id(&r.get::<Vec<u8>, _>("id")),
                user_id: id(&r.get::<Vec<u8>, _>("user_id")),
                wrapped_user_key: r.get("wrapped_user_key"),
            })
            .collect();
        let users = sqlx::query("SELECT id, x25519_wrapped FROM users")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| UserRow {
                id: id(&r.get::<Vec<u8>, _>("id")),
                x25519_wrapped: r.get("x25519_wrapped"),
            })
            .collect();
        let mut key_rows = Vec::new();
        for (table, holder, column) in [
            ("token_vault_slots", "token_id", "wrapped_vault_key"),
            ("token_grants", "token_id", "sealed"),
            ("vault_members", "user_id", "wrapped_vault_key"),
            ("user_grants", "user_id", "sealed"),
        ] {
            let sql = format!(
                "SELECT {holder} AS holder, vault_id, CAST(key_version AS BIGINT) AS kv, \
                 {column} AS bytes FROM {table}"
            );
            key_rows.push(
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| KeyRow {
                        holder: id(&r.get::<Vec<u8>, _>("holder")),
                        vault_id: id(&r.get::<Vec<u8>, _>("vault_id")),
                        key_version: version(r.get("kv")),
                        bytes: r.get("bytes"),
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let user_grants = key_rows.pop().unwrap();
        let member_slots = key_rows.pop().unwrap();
        let token_grants = key_rows.pop().unwrap();
        let token_slots = key_rows.pop().unwrap();
        let chain = sqlx::query(
            "SELECT vault_id, CAST(key_version AS BIGINT) AS kv, chain FROM vault_keys",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| ChainRow {
            vault_id: id(&r.get::<Vec<u8>, _>("vault_id")),
            key_version: version(r.get("kv")),
            chain: r.get("chain"),
        })
        .collect();
        let vaults = sqlx::query(
            "SELECT id, user_id, CAST(key_version AS BIGINT) AS kv, wrapped_vault_key FROM vaults",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| VaultRow {
            id: id(&r.get::<Vec<u8>, _>("id")),
            owner: id(&r.get::<Vec<u8>, _>("user_id")),
            key_version: version(r.get("kv")),
            wrapped_vault_key: r.get("wrapped_vault_key"),
        })
        .collect();
        let items = sqlx::query(
            "SELECT id, vault_id, user_id, CAST(version AS BIGINT) AS v, \
             CAST(key_version AS BIGINT) AS kv, wrapped_item_key, name, value FROM items",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| ItemRow {
            id: id(&r.get::<Vec<u8>, _>("id")),
            vault_id: id(&r.get::<Vec<u8>, _>("vault_id")),
            user_id: id(&r.get::<Vec<u8>, _>("user_id")),
            version: u64::try_from(r.get::<i64, _>("v")).unwrap(),
            key_version: version(r.get("kv")),
            wrapped_item_key: r.get("wrapped_item_key"),
            name: r.get("name"),
            value: r.get("value"),
        })
        .collect();
        let deposits = sqlx::query(
            "SELECT id, vault_id, user_id, CAST(key_version AS BIGINT) AS kv, sealed_item_key, \
             name, value FROM deposits",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| DepositRow {
            id: id(&r.get::<Vec<u8>, _>("id")),
            vault_id: id(&r.get::<Vec<u8>, _>("vault_id")),
            user_id: id(&r.get::<Vec<u8>, _>("user_id")),
            key_version: version(r.get("kv")),
            sealed_item_key: r.get("sealed_item_key"),
            name: r.get("name"),
            value: r.get("value"),
        })
        .collect();
        Copy {
            tokens,
            sessions,
            users,
            token_slots,
            token_grants,
            member_slots,
            user_grants,
            chain,
            vaults,
            items,
            deposits,
        }
    }};
}

/// Copy a live SQLite database the way a backup or a thief with read access would
/// (`VACUUM INTO` a new file, consistent while the server writes), then read the copy.
pub async fn copy_sqlite(live: &Path, to: &Path) -> Copy {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", live.display()))
        .await
        .unwrap();
    sqlx::query("VACUUM INTO $1")
        .bind(to.display().to_string())
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let mut copy = sqlx::SqliteConnection::connect(&format!("sqlite://{}", to.display()))
        .await
        .unwrap();
    read_copy!(&mut copy)
}

/// Copy a live PostgreSQL database: every row read in one repeatable-read transaction.
pub async fn copy_postgres(url: &str) -> Copy {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await
        .unwrap();
    let copy = read_copy!(&mut *tx);
    tx.commit().await.unwrap();
    copy
}
