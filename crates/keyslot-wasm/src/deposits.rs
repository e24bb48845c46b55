//! Deposits of end-to-end accounts (FORMAT §9.4, §11.5): a deposit token seals a fresh
//! item key in HPKE auth mode to the vault key version's public key (or, while a rotation
//! is due, to each reader's own key), so a reader learns both that only readers can open
//! it and which token sealed it. The page opens them here; the depositor's public key is
//! the caller's to verify first (the owner's signature over the token key,
//! [`crate::IdentityPublicKey::verify_token_key`]).

use keyslot_crypto::item::ItemPlace;
use keyslot_crypto::sealed_key_auth::{AuthSealedKey, open_from_auth};
use keyslot_crypto::{Aad, ItemKey, Opens, RecipientKind, deposit_aad};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::encoding::{Result, at, from_b64, id, public_key};
use crate::items::OpenedItem;
use crate::keys::{UserKeyPair, VaultKey};

/// The sealed parts of one deposited item version, as the server returns them.
struct Deposit<'a> {
    depositor_public: &'a str,
    sealed_item_key: &'a str,
    sealed_name: &'a str,
    sealed_value: &'a str,
}

fn open_deposit(
    identity: &impl Opens<ItemKey>,
    place: &ItemPlace,
    aad: &Aad,
    deposit: &Deposit<'_>,
) -> Result<OpenedItem> {
    let sender = public_key("depositor_public", deposit.depositor_public)?;
    let sealed = AuthSealedKey::from_bytes(&from_b64("sealed_item_key", deposit.sealed_item_key)?)
        .map_err(at("sealed_item_key"))?;
    let item_key: ItemKey =
        open_from_auth(identity, &sender, &sealed, aad).map_err(at("sealed_item_key"))?;
    let name = place
        .open_name(&item_key, &from_b64("sealed_name", deposit.sealed_name)?)
        .map_err(at("sealed_name"))?;
    let value = place
        .open_value(&item_key, &from_b64("sealed_value", deposit.sealed_value)?)
        .map_err(at("sealed_value"))?;
    Ok(OpenedItem::new(name, value))
}

#[wasm_bindgen]
impl VaultKey {
    /// Open a deposit sealed to this key version's public key by the token whose X25519
    /// public key is `depositor_public` (base64url), for item `item` at `version`.
    #[wasm_bindgen(js_name = openDeposit)]
    pub fn open_deposit(
        &self,
        item: &str,
        version: u64,
        depositor_public: &str,
        sealed_item_key: &str,
        sealed_name: &str,
        sealed_value: &str,
    ) -> Result<OpenedItem> {
        let item = id("item", item)?;
        let place = ItemPlace {
            owner: *self.owner(),
            vault: *self.vault(),
            item,
            version,
            key_version: self.key_version(),
        };
        let aad = deposit_aad(
            self.owner(),
            self.vault(),
            &item,
            version,
            self.key_version(),
        );
        open_deposit(
            &self.x25519_pair(),
            &place,
            &aad,
            &Deposit {
                depositor_public,
                sealed_item_key,
                sealed_name,
                sealed_value,
            },
        )
    }
}

#[wasm_bindgen]
impl UserKeyPair {
    /// Open a deposit sealed to this user (`me`) while the vault's rotation was due: vault
    /// `vault` of `owner`, counted under `key_version`, item `item` at `version`.
    #[wasm_bindgen(js_name = openDeposit)]
    #[allow(clippy::too_many_arguments)]
    pub fn open_deposit(
        &self,
        me: &str,
        owner: &str,
        vault: &str,
        key_version: u32,
        item: &str,
        version: u64,
        depositor_public: &str,
        sealed_item_key: &str,
        sealed_name: &str,
        sealed_value: &str,
    ) -> Result<OpenedItem> {
        let (me, owner, vault) = (id("me", me)?, id("owner", owner)?, id("vault", vault)?);
        let item = id("item", item)?;
        let place = ItemPlace {
            owner,
            vault,
            item,
            version,
            key_version,
        };
        let aad = deposit_aad(&owner, &vault, &item, version, key_version)
            .recipient(RecipientKind::User, &me);
        open_deposit(
            self.inner(),
            &place,
            &aad,
            &Deposit {
                depositor_public,
                sealed_item_key,
                sealed_name,
                sealed_value,
            },
        )
    }
}
