//! The attacker of DESIGN §3.1's guarantee: someone who kept an API token's text and one or
//! more copies of the database, and nothing else — no server, no seal key, no password.
//!
//! [`Copy`] is a copy of the rows that hold keys and items, taken from a SQLite file made
//! with `VACUUM INTO` or from PostgreSQL in one repeatable-read transaction. [`attack`]
//! then tries, with `keyslot-crypto` alone, every way those rows let the token's secret
//! reach a vault key — every token slot (its wrap key), every pending grant whoever it
//! names (its X25519 key: a grant sealed to a public key it controls opens, whatever row
//! it sits in), the backward chain down from every key found, across all copies at once —
//! and then every item of every copy. What it returns is exactly what the attacker reads.
//!
//! Written from the design and the byte formats, not from the server's code: the only
//! shared code is the crypto crate that any client of the formats would use.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use keyslot_crypto::slot::item_key_aad;
use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, ItemKey, Purpose, RecipientKind, SealedKey, TokenCredential,
    TokenKeyPair, VaultKey, Wraps, grant_aad, open_chain, open_from,
};
use serde_json::Value;
use sqlx::{Connection as _, Row as _};

/// A token's row, as far as the attacker cares.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: Id,
    pub user_id: Id,
    pub x25519_public: Vec<u8>,
    pub public_key_mac: Option<Vec<u8>>,
}

/// A vault key wrapped for one token (`token_vault_slots`) or sealed to one
/// (`token_grants`).
#[derive(Debug, Clone)]
pub struct TokenKeyRow {
    pub token_id: Id,
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

/// A vault: its owner (bound into every AAD of the vault) and current key version.
#[derive(Debug, Clone)]
pub struct VaultRow {
    pub id: Id,
    pub owner: Id,
    pub key_version: u32,
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

/// A copy of the database, as far as keys and items go.
#[derive(Debug, Clone, Default)]
pub struct Copy {
    pub tokens: Vec<TokenRow>,
    pub slots: Vec<TokenKeyRow>,
    pub grants: Vec<TokenKeyRow>,
    pub chain: Vec<ChainRow>,
    pub vaults: Vec<VaultRow>,
    pub items: Vec<ItemRow>,
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
        self.grants.iter().filter(|g| g.token_id == *token).count()
    }
}

fn id(bytes: &[u8]) -> Id {
    Id::from_slice(bytes).unwrap()
}

fn version(n: i64) -> u32 {
    u32::try_from(n).unwrap()
}

/// The same queries on either backend (one text: `CAST(… AS BIGINT)` reads as `i64` on both).
macro_rules! read_copy {
    ($conn:expr) => {{
        let conn = $conn;
        let tokens = sqlx::query("SELECT id, user_id, x25519_public, public_key_mac FROM tokens")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| TokenRow {
                id: id(&r.get::<Vec<u8>, _>("id")),
                user_id: id(&r.get::<Vec<u8>, _>("user_id")),
                x25519_public: r.get("x25519_public"),
                public_key_mac: r.get("public_key_mac"),
            })
            .collect();
        let mut key_rows = Vec::new();
        for (table, column) in [
            ("token_vault_slots", "wrapped_vault_key"),
            ("token_grants", "sealed"),
        ] {
            let sql = format!(
                "SELECT token_id, vault_id, CAST(key_version AS BIGINT) AS kv, {column} AS bytes FROM {table}"
            );
            key_rows.push(
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| TokenKeyRow {
                        token_id: id(&r.get::<Vec<u8>, _>("token_id")),
                        vault_id: id(&r.get::<Vec<u8>, _>("vault_id")),
                        key_version: version(r.get("kv")),
                        bytes: r.get("bytes"),
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let grants = key_rows.pop().unwrap();
        let slots = key_rows.pop().unwrap();
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
        let vaults = sqlx::query("SELECT id, user_id, CAST(key_version AS BIGINT) AS kv FROM vaults")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .iter()
            .map(|r| VaultRow {
                id: id(&r.get::<Vec<u8>, _>("id")),
                owner: id(&r.get::<Vec<u8>, _>("user_id")),
                key_version: version(r.get("kv")),
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
        Copy {
            tokens,
            slots,
            grants,
            chain,
            vaults,
            items,
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

/// Copy a live PostgreSQL database: every row read in one repeatable-read transaction
/// (what `pg_dump` sees).
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

/// What the attacker got.
#[derive(Debug, Default)]
pub struct Opened {
    /// Vault keys reached: (vault, key version).
    pub vault_keys: BTreeSet<(Id, u32)>,
    /// Vault keys reached through a pending grant (the X25519 path), a subset of the above.
    pub through_grants: BTreeSet<(Id, u32)>,
    /// Items opened: id → (name, value).
    pub items: BTreeMap<Id, (String, Value)>,
}

impl Opened {
    /// The ids of the items opened.
    pub fn item_ids(&self) -> BTreeSet<Id> {
        self.items.keys().copied().collect()
    }

    /// Whether any key of `vault` was reached.
    pub fn reached_vault(&self, vault: &Id) -> bool {
        self.vault_keys.iter().any(|(v, _)| v == vault)
    }
}

/// Everything `token_text` opens in `copies`, with the crypto crate and the rows only.
pub fn attack(token_text: &str, copies: &[&Copy]) -> Opened {
    let token = TokenCredential::parse(token_text).expect("a token text the attacker kept");
    let credential = token.unlock();
    let pair = TokenKeyPair::derive(&token);
    let owners: HashMap<Id, Id> = copies
        .iter()
        .flat_map(|c| c.vaults.iter().map(|v| (v.id, v.owner)))
        .collect();
    let mut keys: HashMap<(Id, u32), VaultKey> = HashMap::new();
    let mut out = Opened::default();

    // Keys lead to keys (a grant to a newer version, the chain to older ones): repeat until
    // a pass over every copy finds nothing new.
    loop {
        let before = keys.len();
        for copy in copies {
            for slot in &copy.slots {
                let Some(owner) = owners.get(&slot.vault_id) else {
                    continue;
                };
                let Ok(envelope) = Envelope::from_bytes(&slot.bytes) else {
                    continue;
                };
                if let Ok(key) =
                    credential.open_vault_key(owner, &slot.vault_id, slot.key_version, &envelope)
                {
                    keys.entry((slot.vault_id, slot.key_version)).or_insert(key);
                }
            }
            for grant in &copy.grants {
                let Some(owner) = owners.get(&grant.vault_id) else {
                    continue;
                };
                let Ok(sealed) = SealedKey::from_bytes(&grant.bytes) else {
                    continue;
                };
                // Whichever holder the row names: a grant sealed to a public key this
                // token's secret controls opens under that holder's context.
                let aad = grant_aad(
                    owner,
                    &grant.vault_id,
                    grant.key_version,
                    RecipientKind::Token,
                    &grant.token_id,
                );
                if let Ok(key) = open_from::<VaultKey>(&pair, &sealed, &aad) {
                    out.through_grants
                        .insert((grant.vault_id, grant.key_version));
                    keys.entry((grant.vault_id, grant.key_version))
                        .or_insert(key);
                }
            }
            let mut older_keys = Vec::new();
            for link in &copy.chain {
                let (Some(owner), Some(chain)) = (owners.get(&link.vault_id), &link.chain) else {
                    continue;
                };
                let Some(newer) = keys.get(&(link.vault_id, link.key_version)) else {
                    continue;
                };
                let Some(older_version) = link.key_version.checked_sub(1) else {
                    continue;
                };
                let Ok(envelope) = Envelope::from_bytes(chain) else {
                    continue;
                };
                if let Ok(older) =
                    open_chain(newer, &envelope, owner, &link.vault_id, older_version)
                {
                    older_keys.push(((link.vault_id, older_version), older));
                }
            }
            for (at, key) in older_keys {
                keys.entry(at).or_insert(key);
            }
        }
        if keys.len() == before {
            break;
        }
    }
    out.vault_keys = keys.keys().copied().collect();

    for copy in copies {
        for item in &copy.items {
            let Some(vault_key) = keys.get(&(item.vault_id, item.key_version)) else {
                continue;
            };
            if let Some(opened) = open_item(vault_key, item) {
                out.items.insert(item.id, opened);
            }
        }
    }
    out
}

fn content_aad(purpose: Purpose, item: &ItemRow) -> Aad {
    Aad::new(purpose)
        .user(&item.user_id)
        .vault(&item.vault_id)
        .item(&item.id)
        .item_version(item.version)
        .key_version(item.key_version)
}

fn open_item(vault_key: &VaultKey, item: &ItemRow) -> Option<(String, Value)> {
    let aad = item_key_aad(
        &item.user_id,
        &item.vault_id,
        &item.id,
        item.version,
        item.key_version,
    );
    let item_key: ItemKey = Wraps::<ItemKey>::unwrap_key(
        vault_key,
        &Envelope::from_bytes(&item.wrapped_item_key).ok()?,
        &aad,
    )
    .ok()?;
    let name = item_key
        .open_content(
            &content_aad(Purpose::ItemName, item),
            &Envelope::from_bytes(&item.name).ok()?,
        )
        .ok()?;
    let value = item_key
        .open_content(
            &content_aad(Purpose::ItemValue, item),
            &Envelope::from_bytes(&item.value).ok()?,
        )
        .ok()?;
    Some((
        String::from_utf8(name.to_vec()).ok()?,
        serde_json::from_slice(&value).ok()?,
    ))
}
