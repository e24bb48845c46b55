//! Items and vault names as a client seals and opens them: the pure form of what the
//! server does for a server-mode account (`keyslot-core`'s item service), byte for byte.
//!
//! An item version is three envelopes (FORMAT §3, §4):
//!
//! ```text
//! wrapped_item_key = wrap(VK_v, fresh ItemKey, AAD keyslot/v1/vault/item-key)
//! sealed_name      = AEAD(ItemKey, name UTF-8, AAD keyslot/v1/item/name)
//! sealed_value     = AEAD(ItemKey, value,      AAD keyslot/v1/item/value)
//! ```
//!
//! each AAD naming the vault's owner, the vault, the item, the item version and the key
//! version `v`. The formats and AADs are those of server mode, so an item written by an
//! end-to-end client reads through the server (for a server-mode account) and the
//! reverse. A fresh item key per version means an item key is never reused across
//! versions, and a wrapped item key copied to another item, version or vault fails to
//! open.

use zeroize::Zeroizing;

use crate::aad::{Aad, Purpose};
use crate::envelope::Envelope;
use crate::keys::{ContentKey, ItemKey, VaultKey, Wraps};
use crate::slot::item_key_aad;
use crate::{Error, Id, Result};

/// One item version's three envelopes, as stored (each the bytes of FORMAT §4).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedItem {
    /// The item key wrapped under the vault key.
    pub wrapped_item_key: Vec<u8>,
    /// The name under the item key.
    pub sealed_name: Vec<u8>,
    /// The value under the item key.
    pub sealed_value: Vec<u8>,
}

impl core::fmt::Debug for SealedItem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "SealedItem({} + {} + {} bytes)",
            self.wrapped_item_key.len(),
            self.sealed_name.len(),
            self.sealed_value.len()
        )
    }
}

/// Where an item version sits: what every one of its envelopes is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemPlace {
    /// The vault's owner (every AAD of a vault names its owner, whoever writes).
    pub owner: Id,
    /// The vault.
    pub vault: Id,
    /// The item.
    pub item: Id,
    /// The item version (1 for a new item, +1 at each update).
    pub version: u64,
    /// The vault key version the item key is wrapped under.
    pub key_version: u32,
}

impl ItemPlace {
    /// The AAD of the item's name or value (`purpose` [`Purpose::ItemName`] or
    /// [`Purpose::ItemValue`]).
    pub fn content_aad(&self, purpose: Purpose) -> Aad {
        Aad::new(purpose)
            .user(&self.owner)
            .vault(&self.vault)
            .item(&self.item)
            .item_version(self.version)
            .key_version(self.key_version)
    }

    /// The AAD of the item key under the vault key.
    pub fn item_key_aad(&self) -> Aad {
        item_key_aad(
            &self.owner,
            &self.vault,
            &self.item,
            self.version,
            self.key_version,
        )
    }

    /// Seal one version under a fresh item key wrapped by `vault_key`.
    pub fn seal(&self, vault_key: &VaultKey, name: &str, value: &[u8]) -> Result<SealedItem> {
        let item_key = ItemKey::generate()?;
        let (sealed_name, sealed_value) = self.seal_content(&item_key, name, value)?;
        Ok(SealedItem {
            wrapped_item_key: vault_key.wrap(&item_key, &self.item_key_aad())?.to_bytes(),
            sealed_name,
            sealed_value,
        })
    }

    /// Seal a name and a value under a given item key (a deposit's, whose key is sealed
    /// to a public key instead of wrapped, FORMAT §9.4).
    pub fn seal_content(
        &self,
        item_key: &ItemKey,
        name: &str,
        value: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let name = item_key.seal_content(&self.content_aad(Purpose::ItemName), name.as_bytes())?;
        let value = item_key.seal_content(&self.content_aad(Purpose::ItemValue), value)?;
        Ok((name.to_bytes(), value.to_bytes()))
    }

    /// Open the item key (to read, or to re-seal it in a rotation).
    pub fn open_item_key(&self, vault_key: &VaultKey, wrapped_item_key: &[u8]) -> Result<ItemKey> {
        vault_key.unwrap_key(
            &Envelope::from_bytes(wrapped_item_key)?,
            &self.item_key_aad(),
        )
    }

    /// Open the name under an item key.
    pub fn open_name(&self, item_key: &ItemKey, sealed_name: &[u8]) -> Result<String> {
        open_text(
            item_key,
            &self.content_aad(Purpose::ItemName),
            sealed_name,
            "item name",
        )
    }

    /// Open the value under an item key; zeroized when dropped.
    pub fn open_value(
        &self,
        item_key: &ItemKey,
        sealed_value: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        item_key.open_content(
            &self.content_aad(Purpose::ItemValue),
            &Envelope::from_bytes(sealed_value)?,
        )
    }

    /// Open a whole version: its name and value.
    pub fn open(
        &self,
        vault_key: &VaultKey,
        sealed: &SealedItem,
    ) -> Result<(String, Zeroizing<Vec<u8>>)> {
        let item_key = self.open_item_key(vault_key, &sealed.wrapped_item_key)?;
        Ok((
            self.open_name(&item_key, &sealed.sealed_name)?,
            self.open_value(&item_key, &sealed.sealed_value)?,
        ))
    }
}

/// [`ItemPlace::seal`] with the place spelled out.
#[allow(clippy::too_many_arguments)]
pub fn seal_item(
    vault_key: &VaultKey,
    owner: &Id,
    vault: &Id,
    item: &Id,
    version: u64,
    key_version: u32,
    name: &str,
    value: &[u8],
) -> Result<SealedItem> {
    place(owner, vault, item, version, key_version).seal(vault_key, name, value)
}

/// [`ItemPlace::open`] with the place spelled out.
pub fn open_item(
    vault_key: &VaultKey,
    owner: &Id,
    vault: &Id,
    item: &Id,
    version: u64,
    key_version: u32,
    sealed: &SealedItem,
) -> Result<(String, Zeroizing<Vec<u8>>)> {
    place(owner, vault, item, version, key_version).open(vault_key, sealed)
}

/// The name alone, for a listing (which carries no values): opens the item key, then the
/// name.
#[allow(clippy::too_many_arguments)]
pub fn open_item_name(
    vault_key: &VaultKey,
    owner: &Id,
    vault: &Id,
    item: &Id,
    version: u64,
    key_version: u32,
    wrapped_item_key: &[u8],
    sealed_name: &[u8],
) -> Result<String> {
    let place = place(owner, vault, item, version, key_version);
    let item_key = place.open_item_key(vault_key, wrapped_item_key)?;
    place.open_name(&item_key, sealed_name)
}

const fn place(owner: &Id, vault: &Id, item: &Id, version: u64, key_version: u32) -> ItemPlace {
    ItemPlace {
        owner: *owner,
        vault: *vault,
        item: *item,
        version,
        key_version,
    }
}

/// The AAD of a vault's name at `key_version` (FORMAT §3: owner, vault, key version).
pub fn vault_name_aad(owner: &Id, vault: &Id, key_version: u32) -> Aad {
    Aad::new(Purpose::VaultName)
        .user(owner)
        .vault(vault)
        .key_version(key_version)
}

/// A vault's name sealed under its vault key at `key_version` (re-sealed at each
/// rotation, as the server does).
pub fn seal_vault_name(
    vault_key: &VaultKey,
    owner: &Id,
    vault: &Id,
    key_version: u32,
    name: &str,
) -> Result<Vec<u8>> {
    Ok(vault_key
        .seal_content(&vault_name_aad(owner, vault, key_version), name.as_bytes())?
        .to_bytes())
}

/// Open a vault's name.
pub fn open_vault_name(
    vault_key: &VaultKey,
    owner: &Id,
    vault: &Id,
    key_version: u32,
    sealed_name: &[u8],
) -> Result<String> {
    open_text(
        vault_key,
        &vault_name_aad(owner, vault, key_version),
        sealed_name,
        "vault name",
    )
}

fn open_text<K: ContentKey>(
    key: &K,
    aad: &Aad,
    sealed: &[u8],
    what: &'static str,
) -> Result<String> {
    let plain = key.open_content(aad, &Envelope::from_bytes(sealed)?)?;
    // The bytes authenticated, so a non-UTF-8 name was written so by a holder of the key;
    // refused rather than shown altered.
    core::str::from_utf8(&plain)
        .map(str::to_owned)
        .map_err(|_| Error::Malformed {
            what,
            reason: "not UTF-8",
        })
}
