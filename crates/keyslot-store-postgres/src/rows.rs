//! Row ↔ record mapping and error mapping. Decoding failures become
//! `StoreError::Corrupt` naming the column, never a panic.

use keyslot_core::model::{
    AuditEvent, ItemRecord, Outcome, RecoveryRecord, SessionRecord, TokenRead, TokenRecord,
    TokenVaultSlot, UserRecord, VaultRecord,
};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;
use sqlx::Row;
use sqlx::postgres::PgRow;

pub(crate) const USER_SELECT_BY_NAME: &str = "SELECT id, username, created_at, password_credential, password_slot, x25519_public, x25519_wrapped, failed_logins, locked_until, disabled_at FROM users WHERE username_key = $1";
pub(crate) const USER_SELECT_BY_ID: &str = "SELECT id, username, created_at, password_credential, password_slot, x25519_public, x25519_wrapped, failed_logins, locked_until, disabled_at FROM users WHERE id = $1";
pub(crate) const USER_SELECT_ALL: &str = "SELECT id, username, created_at, password_credential, password_slot, x25519_public, x25519_wrapped, failed_logins, locked_until, disabled_at FROM users ORDER BY created_at, username_key";
pub(crate) const VAULT_SELECT_BY_USER: &str = "SELECT id, user_id, key_version, wrapped_vault_key, name, created_at FROM vaults WHERE user_id = $1 ORDER BY seq";
pub(crate) const VAULT_SELECT_ONE: &str = "SELECT id, user_id, key_version, wrapped_vault_key, name, created_at FROM vaults WHERE id = $1 AND user_id = $2";
pub(crate) const ITEM_SELECT_BY_VAULT: &str = "SELECT id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, created_at, updated_at FROM items WHERE vault_id = $1 AND user_id = $2 ORDER BY seq";
pub(crate) const ITEM_SELECT_ONE: &str = "SELECT id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, created_at, updated_at FROM items WHERE id = $1 AND vault_id = $2 AND user_id = $3";
pub(crate) const TOKEN_SELECT_ONE: &str = "SELECT t.id, t.user_id, t.name_key, t.name, t.verifier, t.can_write, t.wrapped_user_key, t.x25519_public, t.created_at, t.expires_at, t.last_used_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.disabled_at IS NULL AND t.id = $1";
/// Token, slot or vault key, and item in one query (the bearer read path).
pub(crate) const TOKEN_READ: &str = "SELECT t.id, t.user_id, t.name_key, t.name, t.verifier, t.can_write, t.wrapped_user_key, \
    t.x25519_public, t.created_at, t.expires_at, t.last_used_at, \
    s.key_version AS s_key_version, s.wrapped_vault_key AS s_wrapped, \
    v.key_version AS v_key_version, v.wrapped_vault_key AS v_wrapped, \
    i.id AS i_id, i.vault_id AS i_vault_id, i.user_id AS i_user_id, i.version AS i_version, i.key_version AS i_key_version, \
    i.wrapped_item_key AS i_wrapped_item_key, i.name AS i_name, i.value AS i_value, i.created_at AS i_created_at, \
    i.updated_at AS i_updated_at \
    FROM tokens t JOIN users u ON u.id = t.user_id AND u.disabled_at IS NULL \
    LEFT JOIN token_vault_slots s ON s.token_id = t.id AND s.vault_id = $1 \
    LEFT JOIN vaults v ON t.wrapped_user_key IS NOT NULL AND v.id = $2 AND v.user_id = t.user_id \
    LEFT JOIN items i ON i.id = $3 AND i.vault_id = $4 AND i.user_id = t.user_id \
    WHERE t.id = $5";
pub(crate) const TOKEN_SELECT_BY_USER: &str = "SELECT id, user_id, name_key, name, verifier, can_write, wrapped_user_key, x25519_public, created_at, expires_at, last_used_at FROM tokens WHERE user_id = $1 ORDER BY seq";

/// An id as stored.
pub(crate) fn blob(id: &Id) -> Vec<u8> {
    id.as_bytes().to_vec()
}

/// Map sqlx errors: uniqueness → `Conflict`; anything about reaching or talking to the
/// database → `Unavailable` (the caller answers 503 and retries later).
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt("column"),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    column: &'static str,
) -> StoreResult<T> {
    row.try_get(column).map_err(|_| StoreError::Corrupt(column))
}

fn id(row: &PgRow, column: &'static str) -> StoreResult<Id> {
    let bytes: Vec<u8> = get(row, column)?;
    Id::from_slice(&bytes).map_err(|_| StoreError::Corrupt(column))
}

fn u32_col(row: &PgRow, column: &'static str) -> StoreResult<u32> {
    let v: i64 = get(row, column)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(column))
}

/// Item versions are `u64` in the domain and `INTEGER` (i64) in SQLite.
pub(crate) fn version_to_db(version: u64) -> StoreResult<i64> {
    i64::try_from(version).map_err(|_| StoreError::Corrupt("version"))
}

pub(crate) fn user(row: &PgRow) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: id(row, "id")?,
        username: get(row, "username")?,
        created_at: get(row, "created_at")?,
        password_credential: id(row, "password_credential")?,
        password_slot: get(row, "password_slot")?,
        x25519_public: get(row, "x25519_public")?,
        x25519_wrapped: get(row, "x25519_wrapped")?,
        failed_logins: u32_col(row, "failed_logins")?,
        locked_until: get(row, "locked_until")?,
        disabled_at: get(row, "disabled_at")?,
    })
}

pub(crate) fn recovery(row: &PgRow) -> StoreResult<RecoveryRecord> {
    Ok(RecoveryRecord {
        user_id: id(row, "user_id")?,
        credential_id: id(row, "credential_id")?,
        verifier: get(row, "verifier")?,
        wrapped_user_key: get(row, "wrapped_user_key")?,
    })
}

pub(crate) fn session(row: &PgRow) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id: id(row, "id")?,
        user_id: id(row, "user_id")?,
        verifier: get(row, "verifier")?,
        wrapped_user_key: get(row, "wrapped_user_key")?,
        created_at: get(row, "created_at")?,
        last_seen_at: get(row, "last_seen_at")?,
        expires_at: get(row, "expires_at")?,
    })
}

pub(crate) fn vault(row: &PgRow) -> StoreResult<VaultRecord> {
    Ok(VaultRecord {
        id: id(row, "id")?,
        user_id: id(row, "user_id")?,
        key_version: u32_col(row, "key_version")?,
        wrapped_vault_key: get(row, "wrapped_vault_key")?,
        name: get(row, "name")?,
        created_at: get(row, "created_at")?,
    })
}

/// The column names an item row is read from: as stored, or aliased in a join.
pub(crate) struct ItemColumns([&'static str; 10]);

pub(crate) const ITEM: ItemColumns = ItemColumns([
    "id",
    "vault_id",
    "user_id",
    "version",
    "key_version",
    "wrapped_item_key",
    "name",
    "value",
    "created_at",
    "updated_at",
]);
pub(crate) const ITEM_ALIASED: ItemColumns = ItemColumns([
    "i_id",
    "i_vault_id",
    "i_user_id",
    "i_version",
    "i_key_version",
    "i_wrapped_item_key",
    "i_name",
    "i_value",
    "i_created_at",
    "i_updated_at",
]);

pub(crate) fn item(row: &PgRow) -> StoreResult<ItemRecord> {
    item_from(row, &ITEM)
}

pub(crate) fn item_from(row: &PgRow, c: &ItemColumns) -> StoreResult<ItemRecord> {
    let [
        cid,
        cvault,
        cuser,
        cversion,
        ckv,
        cwrapped,
        cname,
        cvalue,
        ccreated,
        cupdated,
    ] = c.0;
    let version: i64 = get(row, cversion)?;
    Ok(ItemRecord {
        id: id(row, cid)?,
        vault_id: id(row, cvault)?,
        user_id: id(row, cuser)?,
        version: u64::try_from(version).map_err(|_| StoreError::Corrupt("version"))?,
        key_version: u32_col(row, ckv)?,
        wrapped_item_key: get(row, cwrapped)?,
        name: get(row, cname)?,
        value: get(row, cvalue)?,
        created_at: get(row, ccreated)?,
        updated_at: get(row, cupdated)?,
    })
}

/// A [`TOKEN_READ`] row.
pub(crate) fn token_read(row: &PgRow, vault: &Id) -> StoreResult<TokenRead> {
    let token = token(row)?;
    let slot_version: Option<i64> = get(row, "s_key_version")?;
    let slot = match slot_version {
        Some(v) => Some(TokenVaultSlot {
            token_id: token.id,
            vault_id: *vault,
            key_version: u32::try_from(v).map_err(|_| StoreError::Corrupt("key_version"))?,
            wrapped_vault_key: get(row, "s_wrapped")?,
        }),
        None => None,
    };
    let vault_version: Option<i64> = get(row, "v_key_version")?;
    let vault_key = match vault_version {
        Some(v) => Some((
            u32::try_from(v).map_err(|_| StoreError::Corrupt("key_version"))?,
            get(row, "v_wrapped")?,
        )),
        None => None,
    };
    let item_id: Option<Vec<u8>> = get(row, "i_id")?;
    let item = match item_id {
        Some(_) => Some(item_from(row, &ITEM_ALIASED)?),
        None => None,
    };
    Ok(TokenRead {
        token,
        slot,
        vault_key,
        item,
    })
}

pub(crate) fn token(row: &PgRow) -> StoreResult<TokenRecord> {
    Ok(TokenRecord {
        id: id(row, "id")?,
        user_id: id(row, "user_id")?,
        name_key: get(row, "name_key")?,
        name: get(row, "name")?,
        verifier: get(row, "verifier")?,
        can_write: get(row, "can_write")?,
        wrapped_user_key: get(row, "wrapped_user_key")?,
        x25519_public: get(row, "x25519_public")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        last_used_at: get(row, "last_used_at")?,
    })
}

pub(crate) fn token_slot(row: &PgRow) -> StoreResult<TokenVaultSlot> {
    Ok(TokenVaultSlot {
        token_id: id(row, "token_id")?,
        vault_id: id(row, "vault_id")?,
        key_version: u32_col(row, "key_version")?,
        wrapped_vault_key: get(row, "wrapped_vault_key")?,
    })
}

pub(crate) fn audit(row: &PgRow) -> StoreResult<AuditEvent> {
    let user: Option<Vec<u8>> = get(row, "user_id")?;
    let outcome: String = get(row, "outcome")?;
    Ok(AuditEvent {
        at: get(row, "at")?,
        user_id: user
            .map(|b| Id::from_slice(&b))
            .transpose()
            .map_err(|_| StoreError::Corrupt("user_id"))?,
        action: get(row, "action")?,
        actor: get(row, "actor")?,
        outcome: if outcome == "ok" {
            Outcome::Ok
        } else {
            Outcome::Failed
        },
        ip: get(row, "ip")?,
        detail: get(row, "detail")?,
    })
}

pub(crate) fn item_with_vault_key(row: &PgRow) -> StoreResult<(u32, Vec<u8>, ItemRecord)> {
    Ok((
        u32_col(row, "vault_key_version")?,
        get(row, "wrapped_vault_key")?,
        item(row)?,
    ))
}

pub(crate) fn item_with_token_slot(row: &PgRow) -> StoreResult<(TokenVaultSlot, ItemRecord)> {
    let slot = TokenVaultSlot {
        token_id: id(row, "token_id")?,
        vault_id: id(row, "vault_id")?,
        key_version: u32_col(row, "slot_key_version")?,
        wrapped_vault_key: get(row, "wrapped_vault_key")?,
    };
    Ok((slot, item(row)?))
}
