//! Row → record mapping, once for both databases. Decoding failures become
//! [`StoreError::Corrupt`] naming the column, never a panic.

use keyslot_core::model::{
    AuditEvent, ItemRecord, Outcome, RecoveryRecord, SessionRecord, TokenRead, TokenRecord,
    TokenVaultSlot, UserRecord, VaultRecord,
};
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::RowRead;

pub(crate) fn id(row: &dyn RowRead, column: &'static str) -> StoreResult<Id> {
    Id::from_slice(&row.bytes(column)?).map_err(|_| StoreError::Corrupt(column))
}

fn u32_col(row: &dyn RowRead, column: &'static str) -> StoreResult<u32> {
    u32::try_from(row.int(column)?).map_err(|_| StoreError::Corrupt(column))
}

/// Item versions are `u64` in the domain and a signed 64-bit integer in both databases.
pub(crate) fn version_to_db(version: u64) -> StoreResult<i64> {
    i64::try_from(version).map_err(|_| StoreError::Corrupt("version"))
}

pub(crate) fn user(row: &dyn RowRead) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: id(row, "id")?,
        username: row.text("username")?,
        created_at: row.int("created_at")?,
        password_credential: id(row, "password_credential")?,
        password_slot: row.bytes("password_slot")?,
        x25519_public: row.bytes("x25519_public")?,
        x25519_wrapped: row.bytes("x25519_wrapped")?,
        failed_logins: u32_col(row, "failed_logins")?,
        locked_until: row.opt_int("locked_until")?,
        disabled_at: row.opt_int("disabled_at")?,
        end_to_end: row.flag("end_to_end")?,
    })
}

pub(crate) fn recovery(row: &dyn RowRead) -> StoreResult<RecoveryRecord> {
    Ok(RecoveryRecord {
        user_id: id(row, "user_id")?,
        credential_id: id(row, "credential_id")?,
        verifier: row.bytes("verifier")?,
        wrapped_user_key: row.bytes("wrapped_user_key")?,
    })
}

pub(crate) fn session(row: &dyn RowRead) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id: id(row, "id")?,
        user_id: id(row, "user_id")?,
        verifier: row.bytes("verifier")?,
        wrapped_user_key: row.bytes("wrapped_user_key")?,
        created_at: row.int("created_at")?,
        last_seen_at: row.int("last_seen_at")?,
        expires_at: row.int("expires_at")?,
        end_to_end: row.flag("end_to_end")?,
    })
}

pub(crate) fn vault(row: &dyn RowRead) -> StoreResult<VaultRecord> {
    Ok(VaultRecord {
        id: id(row, "id")?,
        user_id: id(row, "user_id")?,
        key_version: u32_col(row, "key_version")?,
        wrapped_vault_key: row.bytes("wrapped_vault_key")?,
        name: row.bytes("name")?,
        created_at: row.int("created_at")?,
    })
}

/// The column names an item row is read from: as stored, or aliased in a join.
pub(crate) struct ItemColumns([&'static str; 11]);

pub(crate) const ITEM: ItemColumns = ItemColumns([
    "id",
    "vault_id",
    "user_id",
    "version",
    "key_version",
    "wrapped_item_key",
    "name",
    "value",
    "name_index",
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
    "i_name_index",
    "i_created_at",
    "i_updated_at",
]);

pub(crate) fn item(row: &dyn RowRead) -> StoreResult<ItemRecord> {
    item_from(row, &ITEM)
}

pub(crate) fn item_from(row: &dyn RowRead, c: &ItemColumns) -> StoreResult<ItemRecord> {
    let [
        cid,
        cvault,
        cuser,
        cversion,
        ckv,
        cwrapped,
        cname,
        cvalue,
        cindex,
        ccreated,
        cupdated,
    ] = c.0;
    Ok(ItemRecord {
        id: id(row, cid)?,
        vault_id: id(row, cvault)?,
        user_id: id(row, cuser)?,
        version: u64::try_from(row.int(cversion)?).map_err(|_| StoreError::Corrupt("version"))?,
        key_version: u32_col(row, ckv)?,
        wrapped_item_key: row.bytes(cwrapped)?,
        name: row.bytes(cname)?,
        value: row.bytes(cvalue)?,
        name_index: row.opt_bytes(cindex)?,
        created_at: row.int(ccreated)?,
        updated_at: row.int(cupdated)?,
    })
}

pub(crate) fn token(row: &dyn RowRead) -> StoreResult<TokenRecord> {
    Ok(TokenRecord {
        id: id(row, "id")?,
        user_id: id(row, "user_id")?,
        name_key: row.bytes("name_key")?,
        name: row.bytes("name")?,
        verifier: row.bytes("verifier")?,
        can_write: row.flag("can_write")?,
        deposit: row.flag("deposit")?,
        all_vaults: row.flag("all_vaults")?,
        wrapped_user_key: row.opt_bytes("wrapped_user_key")?,
        x25519_public: row.bytes("x25519_public")?,
        public_key_mac: row.opt_bytes("public_key_mac")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        last_used_at: row.opt_int("last_used_at")?,
        end_to_end: row.flag("u_end_to_end")?,
    })
}

pub(crate) fn token_slot(row: &dyn RowRead) -> StoreResult<TokenVaultSlot> {
    Ok(TokenVaultSlot {
        token_id: id(row, "token_id")?,
        vault_id: id(row, "vault_id")?,
        key_version: u32_col(row, "key_version")?,
        wrapped_vault_key: row.bytes("wrapped_vault_key")?,
    })
}

/// A `TOKEN_READ` row: the token, and whichever of its slot, the vault key and the item
/// the LEFT JOINs found.
pub(crate) fn token_read(row: &dyn RowRead, vault: &Id) -> StoreResult<TokenRead> {
    let token = token(row)?;
    let slot = match row.opt_int("s_key_version")? {
        Some(v) => Some(TokenVaultSlot {
            token_id: token.id,
            vault_id: *vault,
            key_version: u32::try_from(v).map_err(|_| StoreError::Corrupt("key_version"))?,
            wrapped_vault_key: row.bytes("s_wrapped")?,
        }),
        None => None,
    };
    let vault_now = match row.opt_int("cv_key_version")? {
        Some(v) => Some((
            u32::try_from(v).map_err(|_| StoreError::Corrupt("key_version"))?,
            row.flag("cv_rotation_due")?,
            row.opt_int("cv_rotate_due_at")?,
        )),
        None => None,
    };
    let item = match row.opt_bytes("i_id")? {
        Some(_) => Some(item_from(row, &ITEM_ALIASED)?),
        None => None,
    };
    Ok(TokenRead {
        token,
        slot,
        vault_now,
        item,
    })
}

pub(crate) fn audit(row: &dyn RowRead) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        at: row.int("at")?,
        user_id: row
            .opt_bytes("user_id")?
            .map(|b| Id::from_slice(&b))
            .transpose()
            .map_err(|_| StoreError::Corrupt("user_id"))?,
        action: row.text("action")?,
        actor: row.text("actor")?,
        outcome: if row.text("outcome")? == "ok" {
            Outcome::Ok
        } else {
            Outcome::Failed
        },
        ip: row.opt_text("ip")?,
        detail: row.text("detail")?,
    })
}

pub(crate) fn item_with_vault_key(row: &dyn RowRead) -> StoreResult<(u32, Vec<u8>, ItemRecord)> {
    Ok((
        u32_col(row, "vault_key_version")?,
        row.bytes("wrapped_vault_key")?,
        item(row)?,
    ))
}

pub(crate) fn item_with_token_slot(row: &dyn RowRead) -> StoreResult<(TokenVaultSlot, ItemRecord)> {
    let slot = TokenVaultSlot {
        token_id: id(row, "token_id")?,
        vault_id: id(row, "vault_id")?,
        key_version: u32_col(row, "slot_key_version")?,
        wrapped_vault_key: row.bytes("wrapped_vault_key")?,
    };
    Ok((slot, item(row)?))
}
