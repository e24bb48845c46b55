//! Items, vault names and the blind name index, sealed and opened in the page through
//! keyslot-crypto's `item` and `name_index` (FORMAT §11.3): byte for byte what server
//! mode writes, so data written either way reads either way — a fresh item key per item
//! version wrapped under the vault key, the name and the value each sealed under it.

use keyslot_crypto::Id;
use keyslot_crypto::item::{ItemPlace, open_vault_name, seal_vault_name};
use keyslot_crypto::name_index::NameIndexKey;
use wasm_bindgen::prelude::wasm_bindgen;
use zeroize::Zeroizing;

use crate::encoding::{Refused, Result, at, b64, from_b64, id};
use crate::keys::VaultKey;

/// One item version as the server stores it (envelopes in base64url).
#[wasm_bindgen(getter_with_clone)]
#[derive(Debug, Clone)]
pub struct SealedItem {
    /// The item key wrapped under the vault key.
    #[wasm_bindgen(js_name = wrappedItemKey)]
    pub wrapped_item_key: String,
    /// The name sealed under the item key.
    #[wasm_bindgen(js_name = sealedName)]
    pub sealed_name: String,
    /// The value sealed under the item key.
    #[wasm_bindgen(js_name = sealedValue)]
    pub sealed_value: String,
}

#[wasm_bindgen]
impl SealedItem {
    /// An item version as read from the server (to open or verify it).
    #[wasm_bindgen(constructor)]
    pub fn new(wrapped_item_key: String, sealed_name: String, sealed_value: String) -> Self {
        Self {
            wrapped_item_key,
            sealed_name,
            sealed_value,
        }
    }
}

/// An opened item: its name and value, in wasm memory until read.
#[wasm_bindgen]
pub struct OpenedItem {
    name: String,
    value: Zeroizing<Vec<u8>>,
}

/// Neither the name nor the value: both are the plaintext an end-to-end account keeps
/// from the server, and a Debug line ends up in logs.
impl core::fmt::Debug for OpenedItem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "OpenedItem(<redacted>, {} bytes)", self.value.len())
    }
}

impl OpenedItem {
    pub(crate) const fn new(name: String, value: Zeroizing<Vec<u8>>) -> Self {
        Self { name, value }
    }
}

#[wasm_bindgen]
impl OpenedItem {
    /// The item's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The value's bytes.
    #[wasm_bindgen(getter)]
    pub fn value(&self) -> Vec<u8> {
        self.value.to_vec()
    }

    /// The value as text, refused if it is not UTF-8.
    #[wasm_bindgen(js_name = valueText)]
    pub fn value_text(&self) -> Result<String> {
        utf8("value", &self.value)
    }
}

pub(crate) fn utf8(field: &'static str, bytes: &[u8]) -> Result<String> {
    core::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| Refused::new(field, "not UTF-8"))
}

impl VaultKey {
    /// Where item `item` at `version` sits under this key version.
    fn place(&self, item: Id, version: u64) -> ItemPlace {
        ItemPlace {
            owner: *self.owner(),
            vault: *self.vault(),
            item,
            version,
            key_version: self.key_version(),
        }
    }
}

#[wasm_bindgen]
impl VaultKey {
    /// Seal version `version` of item `item` (hex id) under a fresh item key. The version
    /// is bound into every AAD: an update seals the version it writes (the one read + 1).
    #[wasm_bindgen(js_name = sealItem)]
    pub fn seal_item(
        &self,
        item: &str,
        version: u64,
        name: &str,
        value: &[u8],
    ) -> Result<SealedItem> {
        let sealed = self
            .place(id("item", item)?, version)
            .seal(self.inner(), name, value)
            .map_err(at("seal_item"))?;
        Ok(SealedItem {
            wrapped_item_key: b64(&sealed.wrapped_item_key),
            sealed_name: b64(&sealed.sealed_name),
            sealed_value: b64(&sealed.sealed_value),
        })
    }

    /// Open item `item` at `version`, sealed under this key version (for an item under
    /// an older version, open that version first with [`VaultKey::open_older`]).
    #[wasm_bindgen(js_name = openItem)]
    pub fn open_item(
        &self,
        item: &str,
        version: u64,
        wrapped_item_key: &str,
        sealed_name: &str,
        sealed_value: &str,
    ) -> Result<OpenedItem> {
        let place = self.place(id("item", item)?, version);
        let item_key = place
            .open_item_key(
                self.inner(),
                &from_b64("wrapped_item_key", wrapped_item_key)?,
            )
            .map_err(at("wrapped_item_key"))?;
        let name = place
            .open_name(&item_key, &from_b64("sealed_name", sealed_name)?)
            .map_err(at("sealed_name"))?;
        let value = place
            .open_value(&item_key, &from_b64("sealed_value", sealed_value)?)
            .map_err(at("sealed_value"))?;
        Ok(OpenedItem { name, value })
    }

    /// Open an item's name only (listings).
    #[wasm_bindgen(js_name = openItemName)]
    pub fn open_item_name(
        &self,
        item: &str,
        version: u64,
        wrapped_item_key: &str,
        sealed_name: &str,
    ) -> Result<String> {
        let place = self.place(id("item", item)?, version);
        let item_key = place
            .open_item_key(
                self.inner(),
                &from_b64("wrapped_item_key", wrapped_item_key)?,
            )
            .map_err(at("wrapped_item_key"))?;
        place
            .open_name(&item_key, &from_b64("sealed_name", sealed_name)?)
            .map_err(at("sealed_name"))
    }

    /// Seal the vault's name under this key version.
    #[wasm_bindgen(js_name = sealVaultName)]
    pub fn seal_vault_name(&self, name: &str) -> Result<String> {
        seal_vault_name(
            self.inner(),
            self.owner(),
            self.vault(),
            self.key_version(),
            name,
        )
        .map(|bytes| b64(&bytes))
        .map_err(at("name"))
    }

    /// Open the vault's name (`sealed_name`, always at the vault's current key version).
    #[wasm_bindgen(js_name = openVaultName)]
    pub fn open_vault_name(&self, sealed_name: &str) -> Result<String> {
        open_vault_name(
            self.inner(),
            self.owner(),
            self.vault(),
            self.key_version(),
            &from_b64("sealed_name", sealed_name)?,
        )
        .map_err(at("sealed_name"))
    }

    /// The blind name index of `name` in this vault at this key version (FORMAT §11.3),
    /// base64url: sent with an item so that a lookup by name (`?name_index=`) needs no
    /// listing, without the server learning the name.
    #[wasm_bindgen(js_name = nameIndex)]
    pub fn name_index(&self, name: &str) -> String {
        b64(&NameIndexKey::derive(self.inner(), self.vault(), self.key_version()).index(name))
    }
}
