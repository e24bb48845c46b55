//! Keys as opaque handles: a JavaScript object holds a pointer into wasm memory, never the
//! key's bytes. A [`VaultKey`] handle also carries the context every AAD of its vault binds
//! (owner, vault, key version), so a page cannot use a key under another vault's context
//! by mistake. Dropping a handle (`free()`, or the garbage collector through wasm-bindgen's
//! weak references) zeroizes the key.

use keyslot_crypto::lifecycle::{open_chain, wrap_chain};
use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{
    Aad, ContentKey, CredentialKind, Id, ItemKey, Purpose, RecipientKind, UserKey as CryptoUserKey,
    UserKeyPair as CryptoUserKeyPair, VaultKey as CryptoVaultKey, VaultKeyPair, Wraps, grant_aad,
    open_from, seal_to,
};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::encoding::{Refused, Result, at, b64, envelope, id, public_key, sealed_key};

/// A user key (one per account): wraps the user's vault keys, X25519 and identity private
/// keys, and token names.
#[wasm_bindgen]
#[derive(Debug)]
pub struct UserKey {
    inner: CryptoUserKey,
}

impl UserKey {
    pub(crate) const fn new(inner: CryptoUserKey) -> Self {
        Self { inner }
    }

    pub(crate) const fn inner(&self) -> &CryptoUserKey {
        &self.inner
    }
}

/// A token's name as the server stores it: a fresh name key wrapped under the user key,
/// and the name sealed under it (the same records as a server-mode token's).
#[wasm_bindgen(getter_with_clone)]
#[derive(Debug, Clone)]
pub struct SealedTokenName {
    /// The name key wrapped under the user key (envelope, base64url).
    #[wasm_bindgen(js_name = nameKey)]
    pub name_key: String,
    /// The name sealed under the name key (envelope, base64url).
    pub name: String,
}

fn token_name_aad(purpose: Purpose, user: &Id, token: &Id) -> Aad {
    Aad::new(purpose)
        .user(user)
        .credential(CredentialKind::Token, token)
}

#[wasm_bindgen]
impl UserKey {
    /// A fresh random user key (sign-up).
    pub fn generate() -> Result<Self> {
        CryptoUserKey::generate()
            .map(Self::new)
            .map_err(at("user_key"))
    }

    /// Wrap a vault key into this user's member slot (AAD: owner, vault, key version).
    #[wasm_bindgen(js_name = wrapVaultKey)]
    pub fn wrap_vault_key(&self, vault_key: &VaultKey) -> Result<String> {
        self.inner
            .wrap(
                &vault_key.inner,
                &vault_key_for_user_aad(&vault_key.owner, &vault_key.vault, vault_key.key_version),
            )
            .map(|e| e.to_base64())
            .map_err(at("wrap_vault_key"))
    }

    /// Open a member slot: vault `vault` of `owner`, at `key_version`.
    #[wasm_bindgen(js_name = openVaultKey)]
    pub fn open_vault_key(
        &self,
        owner: &str,
        vault: &str,
        key_version: u32,
        wrapped_vault_key: &str,
    ) -> Result<VaultKey> {
        let (owner, vault) = (id("owner", owner)?, id("vault", vault)?);
        let slot = envelope("wrapped_vault_key", wrapped_vault_key)?;
        self.inner
            .unwrap_key(&slot, &vault_key_for_user_aad(&owner, &vault, key_version))
            .map(|k| VaultKey::new(k, owner, vault, key_version))
            .map_err(at("wrapped_vault_key"))
    }

    /// Seal a token's name for `user`'s token `token` (ids in hex).
    #[wasm_bindgen(js_name = sealTokenName)]
    pub fn seal_token_name(&self, user: &str, token: &str, name: &str) -> Result<SealedTokenName> {
        let (user, token) = (id("user", user)?, id("token", token)?);
        let name_key = ItemKey::generate().map_err(at("name_key"))?;
        Ok(SealedTokenName {
            name_key: self
                .inner
                .wrap(
                    &name_key,
                    &token_name_aad(Purpose::TokenNameKey, &user, &token),
                )
                .map_err(at("name_key"))?
                .to_base64(),
            name: name_key
                .seal_content(
                    &token_name_aad(Purpose::TokenName, &user, &token),
                    name.as_bytes(),
                )
                .map_err(at("name"))?
                .to_base64(),
        })
    }

    /// Open a token's name.
    #[wasm_bindgen(js_name = openTokenName)]
    pub fn open_token_name(
        &self,
        user: &str,
        token: &str,
        name_key: &str,
        name: &str,
    ) -> Result<String> {
        let (user, token) = (id("user", user)?, id("token", token)?);
        let name_key: ItemKey = self
            .inner
            .unwrap_key(
                &envelope("name_key", name_key)?,
                &token_name_aad(Purpose::TokenNameKey, &user, &token),
            )
            .map_err(at("name_key"))?;
        let plain = name_key
            .open_content(
                &token_name_aad(Purpose::TokenName, &user, &token),
                &envelope("name", name)?,
            )
            .map_err(at("name"))?;
        crate::items::utf8("name", &plain)
    }
}

/// A user's X25519 key pair: grants (vault keys shared with the user) are sealed to its
/// public half; its private half is stored wrapped under the user key.
#[wasm_bindgen]
#[derive(Debug)]
pub struct UserKeyPair {
    inner: CryptoUserKeyPair,
}

impl UserKeyPair {
    pub(crate) const fn inner(&self) -> &CryptoUserKeyPair {
        &self.inner
    }
}

#[wasm_bindgen]
impl UserKeyPair {
    /// A fresh pair (sign-up, user-key rotation).
    pub fn generate() -> Result<Self> {
        CryptoUserKeyPair::generate()
            .map(|inner| Self { inner })
            .map_err(at("x25519"))
    }

    /// Open the wrapped private half (`wrapped_x25519`, base64url) with the user key.
    pub fn unwrap(user_key: &UserKey, user: &str, wrapped: &str) -> Result<Self> {
        let user = id("user", user)?;
        CryptoUserKeyPair::unwrap(
            &user_key.inner,
            &user,
            &envelope("wrapped_x25519", wrapped)?,
        )
        .map(|inner| Self { inner })
        .map_err(at("wrapped_x25519"))
    }

    /// The public half, base64url.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> String {
        b64(&self.inner.public())
    }

    /// The private half wrapped under the user key (envelope, base64url).
    pub fn wrap(&self, user_key: &UserKey, user: &str) -> Result<String> {
        let user = id("user", user)?;
        self.inner
            .wrap(&user_key.inner, &user)
            .map(|e| e.to_base64())
            .map_err(at("x25519"))
    }

    /// Open a grant sealed to this user (`me`): vault `vault` of `owner` at `key_version`.
    #[wasm_bindgen(js_name = openGrant)]
    pub fn open_grant(
        &self,
        me: &str,
        owner: &str,
        vault: &str,
        key_version: u32,
        sealed: &str,
    ) -> Result<VaultKey> {
        let (me, owner, vault) = (id("me", me)?, id("owner", owner)?, id("vault", vault)?);
        open_from::<CryptoVaultKey>(
            &self.inner,
            &sealed_key("sealed", sealed)?,
            &grant_aad(&owner, &vault, key_version, RecipientKind::User, &me),
        )
        .map(|k| VaultKey::new(k, owner, vault, key_version))
        .map_err(at("sealed"))
    }
}

/// One version of one vault's key, with the context its AADs bind.
#[wasm_bindgen]
#[derive(Debug)]
pub struct VaultKey {
    inner: CryptoVaultKey,
    owner: Id,
    vault: Id,
    key_version: u32,
}

impl VaultKey {
    pub(crate) const fn new(inner: CryptoVaultKey, owner: Id, vault: Id, key_version: u32) -> Self {
        Self {
            inner,
            owner,
            vault,
            key_version,
        }
    }

    pub(crate) const fn inner(&self) -> &CryptoVaultKey {
        &self.inner
    }

    pub(crate) const fn owner(&self) -> &Id {
        &self.owner
    }

    pub(crate) const fn vault(&self) -> &Id {
        &self.vault
    }

    /// This version's X25519 pair (FORMAT §9.1): deposits are sealed to it.
    pub(crate) fn x25519_pair(&self) -> VaultKeyPair {
        VaultKeyPair::derive(&self.inner, &self.vault, self.key_version)
    }

    /// This version's X25519 public key.
    pub(crate) fn x25519_public(&self) -> keyslot_crypto::PublicKey {
        self.x25519_pair().public_key()
    }
}

#[wasm_bindgen]
impl VaultKey {
    /// A fresh random key for `vault` of `owner` at `key_version` (1 at creation, the next
    /// version at a rotation).
    pub fn generate(owner: &str, vault: &str, key_version: u32) -> Result<Self> {
        let (owner, vault) = (id("owner", owner)?, id("vault", vault)?);
        CryptoVaultKey::generate()
            .map(|k| Self::new(k, owner, vault, key_version))
            .map_err(at("vault_key"))
    }

    /// The vault owner's id (hex).
    #[wasm_bindgen(getter, js_name = ownerId)]
    pub fn owner_id(&self) -> String {
        self.owner.to_string()
    }

    /// The vault's id (hex).
    #[wasm_bindgen(getter, js_name = vaultId)]
    pub fn vault_id(&self) -> String {
        self.vault.to_string()
    }

    /// This key's version.
    #[wasm_bindgen(getter, js_name = keyVersion)]
    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The public half of this version's X25519 pair (base64url): deposits are sealed to
    /// it; the owner signs it.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> String {
        b64(
            VaultKeyPair::derive(&self.inner, &self.vault, self.key_version)
                .public_key()
                .as_bytes(),
        )
    }

    /// Seal this key to a member (`recipient_kind` "user") or a token ("token") whose
    /// X25519 public key the caller has verified (END-TO-END §5): a grant (FORMAT §9).
    #[wasm_bindgen(js_name = sealGrant)]
    pub fn seal_grant(
        &self,
        recipient_kind: &str,
        recipient: &str,
        recipient_public_key: &str,
    ) -> Result<String> {
        let kind = match recipient_kind {
            "user" => RecipientKind::User,
            "token" => RecipientKind::Token,
            _ => {
                return Err(Refused::new(
                    "recipient_kind",
                    "expected \"user\" or \"token\"",
                ));
            }
        };
        let recipient = id("recipient", recipient)?;
        let public = public_key("recipient_public_key", recipient_public_key)?;
        seal_to(
            &public,
            &self.inner,
            &grant_aad(&self.owner, &self.vault, self.key_version, kind, &recipient),
        )
        .map(|s| s.to_base64())
        .map_err(at("seal_grant"))
    }

    /// The chain link (FORMAT §10) that wraps `older` (this version minus one) under this
    /// key, made at a rotation.
    #[wasm_bindgen(js_name = wrapOlder)]
    pub fn wrap_older(&self, older: &Self) -> Result<String> {
        if older.owner != self.owner
            || older.vault != self.vault
            || older.key_version.checked_add(1) != Some(self.key_version)
        {
            return Err(Refused::new(
                "older",
                "not the previous version of the same vault",
            ));
        }
        wrap_chain(
            &self.inner,
            &older.inner,
            &self.owner,
            &self.vault,
            older.key_version,
        )
        .map(|e| e.to_base64())
        .map_err(at("chain_link"))
    }

    /// Open the chain link to the previous version (`key_version - 1`).
    #[wasm_bindgen(js_name = openOlder)]
    pub fn open_older(&self, chain_link: &str) -> Result<Self> {
        let older_version = self
            .key_version
            .checked_sub(1)
            .ok_or_else(|| Refused::new("chain_link", "version 0 has no older version"))?;
        open_chain(
            &self.inner,
            &envelope("chain_link", chain_link)?,
            &self.owner,
            &self.vault,
            older_version,
        )
        .map(|k| Self::new(k, self.owner, self.vault, older_version))
        .map_err(at("chain_link"))
    }
}
