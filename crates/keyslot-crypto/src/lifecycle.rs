//! The joints of the key lifecycle (DESIGN §3.1, `docs/FORMAT.md` §10): the contexts that
//! grants and deposits are sealed under, and the backward chain of a rotated vault.
//!
//! In every vault context below, `user` is the vault's **owner** id — the id that every
//! other AAD of the vault binds ([`crate::slot::vault_key_for_user_aad`],
//! [`crate::slot::item_key_aad`]) — not the id of the member or token that holds the key;
//! the holder is the *recipient*.

use crate::aad::{Aad, Purpose, RecipientKind};
use crate::envelope::{self, Envelope};
use crate::keys::{SymmetricKey, VaultKey};
use crate::{Error, Id, Result};

/// The context of a pending grant: vault `vault`'s key at `key_version`, sealed to one
/// token's or member's public key (`recipient_kind` [`RecipientKind::Token`] or
/// [`RecipientKind::User`], `recipient` its token id or user id).
pub fn grant_aad(
    user: &Id,
    vault: &Id,
    key_version: u32,
    recipient_kind: RecipientKind,
    recipient: &Id,
) -> Aad {
    Aad::new(Purpose::VaultKeyGrant)
        .user(user)
        .vault(vault)
        .key_version(key_version)
        .recipient(recipient_kind, recipient)
}

/// The context of a new user key sealed to the recovery code's public key after a
/// user-key rotation: bound to the user and to the recovery credential's id.
pub fn user_key_grant_aad(user: &Id, recovery_credential: &Id) -> Aad {
    Aad::new(Purpose::UserKeyGrant)
        .user(user)
        .recipient(RecipientKind::RecoveryCode, recovery_credential)
}

/// The context of a deposited item key sealed to the vault's public key at `key_version`
/// (recipient kind [`RecipientKind::Vault`], recipient id = `vault`).
///
/// While a rotation is due a deposit is sealed to each reader's own public key instead:
/// chain `.recipient(RecipientKind::User, &member)` (or `Token`) onto this AAD, which
/// replaces the vault as recipient; `key_version` stays the version the deposit counts
/// under.
pub fn deposit_aad(user: &Id, vault: &Id, item: &Id, item_version: u64, key_version: u32) -> Aad {
    Aad::new(Purpose::DepositItemKey)
        .user(user)
        .vault(vault)
        .item(item)
        .item_version(item_version)
        .key_version(key_version)
        .recipient(RecipientKind::Vault, vault)
}

/// The context of the chain link that holds vault key version `older_version` wrapped
/// under version `older_version + 1`.
pub fn chain_aad(user: &Id, vault: &Id, older_version: u32) -> Aad {
    Aad::new(Purpose::VaultKeyChain)
        .user(user)
        .vault(vault)
        .key_version(older_version)
}

fn newer_version(older_version: u32) -> Result<u32> {
    older_version.checked_add(1).ok_or(Error::Malformed {
        what: "vault key version",
        reason: "no version follows u32::MAX",
    })
}

/// Wrap `older` (version `older_version`) under `newer` (version `older_version + 1`): one
/// link of the backward chain. Holders of the newer key then read items still under the
/// older one; holders of the older key never get the newer one.
///
/// Both keys have the same type, so the compiler cannot tell which is newer: the versions
/// are what orders them. The link is an envelope whose header key version is the
/// *wrapping* key's (`older_version + 1`) and whose AAD ([`chain_aad`]) binds the owner,
/// the vault and `older_version`; [`open_chain`] checks both, so a link cannot be read as
/// another version's or skip a version.
pub fn wrap_chain(
    newer: &VaultKey,
    older: &VaultKey,
    user: &Id,
    vault: &Id,
    older_version: u32,
) -> Result<Envelope> {
    envelope::seal_versioned(
        newer,
        newer_version(older_version)?,
        &chain_aad(user, vault, older_version),
        older.key_bytes(),
    )
}

/// Open the chain link that [`wrap_chain`] made for `older_version`, with the key of
/// version `older_version + 1`. Fails with [`Error::Decrypt`] on the wrong key, another
/// vault, owner or version, or tampered bytes.
pub fn open_chain(
    newer: &VaultKey,
    wrapped: &Envelope,
    user: &Id,
    vault: &Id,
    older_version: u32,
) -> Result<VaultKey> {
    if wrapped.key_version() != newer_version(older_version)? {
        return Err(Error::Decrypt);
    }
    let plain = envelope::open(newer, &chain_aad(user, vault, older_version), wrapped)?;
    let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| Error::Malformed {
        what: "vault key chain link",
        reason: "not 32 bytes",
    })?;
    Ok(VaultKey::from_bytes(bytes))
}
