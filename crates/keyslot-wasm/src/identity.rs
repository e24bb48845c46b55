//! Identity keys, signatures, fingerprints and pins (END-TO-END §5, FORMAT §11.4): the
//! page signs what its user vouches for and verifies what it is about to seal to, rooted
//! in identities the user confirmed out of band and pinned.

use keyslot_crypto::Id;
use keyslot_crypto::identity::{IdentityKeyPair, IdentityPublic, Signature, role};
use keyslot_crypto::item::SealedItem as CryptoSealedItem;
use keyslot_crypto::pins::PinKey;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::encoding::{Refused, Result, at, b64, envelope, from_b64, id, public_key};
use crate::items::SealedItem;
use crate::keys::{UserKey, VaultKey};

/// The user's Ed25519 identity key pair; its private half never leaves wasm memory.
#[wasm_bindgen]
#[derive(Debug)]
pub struct IdentityKey {
    inner: IdentityKeyPair,
}

/// Someone's identity public key, parsed (a valid point of large order).
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct IdentityPublicKey {
    pub(crate) inner: IdentityPublic,
}

/// A vault's member list at one key version, as the owner signs it.
#[wasm_bindgen]
#[derive(Debug, Clone, Default)]
pub struct MemberList {
    members: Vec<(Id, u8, IdentityPublic)>,
}

fn signature(text: &str) -> Result<Signature> {
    Signature::from_base64(text).map_err(at("signature"))
}

fn sealed_item(item: &SealedItem) -> Result<CryptoSealedItem> {
    Ok(CryptoSealedItem {
        wrapped_item_key: from_b64("wrapped_item_key", &item.wrapped_item_key)?,
        sealed_name: from_b64("sealed_name", &item.sealed_name)?,
        sealed_value: from_b64("sealed_value", &item.sealed_value)?,
    })
}

#[wasm_bindgen]
impl IdentityKey {
    /// A fresh identity (sign-up).
    pub fn generate() -> Result<Self> {
        IdentityKeyPair::generate()
            .map(|inner| Self { inner })
            .map_err(at("identity"))
    }

    /// Open the wrapped private half (`identity_wrapped`) with the user key.
    pub fn open(user_key: &UserKey, user: &str, wrapped: &str) -> Result<Self> {
        let user = id("user", user)?;
        IdentityKeyPair::open(
            user_key.inner(),
            &user,
            &envelope("identity_wrapped", wrapped)?,
        )
        .map(|inner| Self { inner })
        .map_err(at("identity_wrapped"))
    }

    /// The private half wrapped under the user key (envelope, base64url).
    pub fn wrap(&self, user_key: &UserKey, user: &str) -> Result<String> {
        let user = id("user", user)?;
        self.inner
            .wrap(user_key.inner(), &user)
            .map(|e| e.to_base64())
            .map_err(at("identity"))
    }

    /// The public half.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> IdentityPublicKey {
        IdentityPublicKey {
            inner: self.inner.public(),
        }
    }

    /// Sign the user's own X25519 public key (`x25519_signature`).
    #[wasm_bindgen(js_name = signUserX25519)]
    pub fn sign_user_x25519(&self, user: &str, x25519_public: &str) -> Result<String> {
        let (user, key) = (
            id("user", user)?,
            public_key("x25519_public", x25519_public)?,
        );
        Ok(self.inner.sign_user_x25519(&user, &key).to_base64())
    }

    /// Sign one of the user's tokens' X25519 public key (`public_key_signature` at mint).
    #[wasm_bindgen(js_name = signTokenKey)]
    pub fn sign_token_key(&self, user: &str, token: &str, token_public: &str) -> Result<String> {
        let (user, token) = (id("user", user)?, id("token", token)?);
        let key = public_key("x25519_public", token_public)?;
        Ok(self.inner.sign_token_key(&user, &token, &key).to_base64())
    }

    /// Sign a vault key version's public key (the owner, at creation and rotation).
    #[wasm_bindgen(js_name = signVaultKey)]
    pub fn sign_vault_key(&self, vault_key: &VaultKey) -> Result<String> {
        Ok(self
            .inner
            .sign_vault_key(
                vault_key.vault(),
                vault_key.key_version(),
                &vault_key.x25519_public(),
            )
            .to_base64())
    }

    /// Sign a vault's member list at `key_version` (the owner).
    #[wasm_bindgen(js_name = signMembers)]
    pub fn sign_members(
        &self,
        vault: &str,
        key_version: u32,
        members: &MemberList,
    ) -> Result<String> {
        let vault = id("vault", vault)?;
        self.inner
            .sign_members(&vault, key_version, &members.members)
            .map(|s| s.to_base64())
            .map_err(at("members"))
    }

    /// Sign an item version as written (`signature`, its writer).
    #[wasm_bindgen(js_name = signItem)]
    pub fn sign_item(
        &self,
        vault: &str,
        item: &str,
        version: u64,
        sealed: &SealedItem,
    ) -> Result<String> {
        let (vault, item) = (id("vault", vault)?, id("item", item)?);
        Ok(self
            .inner
            .sign_item(&vault, &item, version, &sealed_item(sealed)?)
            .to_base64())
    }
}

#[wasm_bindgen]
impl IdentityPublicKey {
    /// Parse `identity_public` (base64url); refuses non-points and small-order keys.
    pub fn parse(identity_public: &str) -> Result<Self> {
        IdentityPublic::from_slice(&from_b64("identity_public", identity_public)?)
            .map(|inner| Self { inner })
            .map_err(at("identity_public"))
    }

    /// The key in base64url, as sent.
    #[wasm_bindgen(js_name = toBase64url)]
    pub fn to_base64url(&self) -> String {
        b64(self.inner.as_bytes())
    }

    /// Five groups of eight hex digits, for people to compare out of band.
    pub fn fingerprint(&self) -> String {
        self.inner.fingerprint()
    }

    /// Throws unless `signature` is this identity's over `user`'s X25519 key.
    #[wasm_bindgen(js_name = verifyUserX25519)]
    pub fn verify_user_x25519(
        &self,
        user: &str,
        x25519_public: &str,
        signature_b64: &str,
    ) -> Result<()> {
        let (user, key) = (
            id("user", user)?,
            public_key("x25519_public", x25519_public)?,
        );
        self.inner
            .verify_user_x25519(&user, &key, &signature(signature_b64)?)
            .map_err(at("signature"))
    }

    /// Throws unless `signature` is this identity's over `user`'s token key.
    #[wasm_bindgen(js_name = verifyTokenKey)]
    pub fn verify_token_key(
        &self,
        user: &str,
        token: &str,
        token_public: &str,
        signature_b64: &str,
    ) -> Result<()> {
        let (user, token) = (id("user", user)?, id("token", token)?);
        let key = public_key("x25519_public", token_public)?;
        self.inner
            .verify_token_key(&user, &token, &key, &signature(signature_b64)?)
            .map_err(at("signature"))
    }

    /// Throws unless `signature` is this identity's over vault `vault`'s public key at
    /// `key_version` (check it before sealing a deposit to that key).
    #[wasm_bindgen(js_name = verifyVaultKey)]
    pub fn verify_vault_key(
        &self,
        vault: &str,
        key_version: u32,
        vault_public: &str,
        signature_b64: &str,
    ) -> Result<()> {
        let vault = id("vault", vault)?;
        let key = public_key("public_key", vault_public)?;
        self.inner
            .verify_vault_key(&vault, key_version, &key, &signature(signature_b64)?)
            .map_err(at("signature"))
    }

    /// Throws unless `signature` is this identity's over the member list.
    #[wasm_bindgen(js_name = verifyMembers)]
    pub fn verify_members(
        &self,
        vault: &str,
        key_version: u32,
        members: &MemberList,
        signature_b64: &str,
    ) -> Result<()> {
        let vault = id("vault", vault)?;
        self.inner
            .verify_members(
                &vault,
                key_version,
                &members.members,
                &signature(signature_b64)?,
            )
            .map_err(at("signature"))
    }

    /// Throws unless `signature` is this identity's over the item version.
    #[wasm_bindgen(js_name = verifyItem)]
    pub fn verify_item(
        &self,
        vault: &str,
        item: &str,
        version: u64,
        sealed: &SealedItem,
        signature_b64: &str,
    ) -> Result<()> {
        let (vault, item) = (id("vault", vault)?, id("item", item)?);
        self.inner
            .verify_item(
                &vault,
                &item,
                version,
                &sealed_item(sealed)?,
                &signature(signature_b64)?,
            )
            .map_err(at("signature"))
    }
}

#[wasm_bindgen]
impl MemberList {
    /// An empty list.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a member: user id, role ("read", "write" or "owner") and identity.
    pub fn add(&mut self, user: &str, role_name: &str, identity: &IdentityPublicKey) -> Result<()> {
        let role = match role_name {
            "read" => role::READ,
            "write" => role::WRITE,
            "owner" => role::OWNER,
            _ => {
                return Err(Refused::new(
                    "role",
                    "expected \"read\", \"write\" or \"owner\"",
                ));
            }
        };
        self.members.push((id("user", user)?, role, identity.inner));
        Ok(())
    }
}

#[wasm_bindgen]
impl UserKey {
    /// The pin (base64url) that user `me` keeps for `pinned_user`'s identity, once
    /// its fingerprint is confirmed (`PUT /v1/pins/{user_id}`).
    pub fn pin(&self, me: &str, pinned_user: &str, identity: &IdentityPublicKey) -> Result<String> {
        let (me, pinned) = (id("me", me)?, id("pinned_user", pinned_user)?);
        Ok(b64(
            &PinKey::derive(self.inner(), &me).pin(&pinned, &identity.inner)
        ))
    }

    /// Throws unless `stored_pin` is `me`'s pin of `pinned_user`'s identity as the server
    /// answers it now (constant-time comparison): a changed identity fails here.
    #[wasm_bindgen(js_name = checkPin)]
    pub fn check_pin(
        &self,
        me: &str,
        pinned_user: &str,
        identity: &IdentityPublicKey,
        stored_pin: &str,
    ) -> Result<()> {
        let (me, pinned) = (id("me", me)?, id("pinned_user", pinned_user)?);
        PinKey::derive(self.inner(), &me)
            .check(&pinned, &identity.inner, &from_b64("pin", stored_pin)?)
            .map_err(at("pin"))
    }
}
