//! End-to-end API tokens: the page generates the `kse_` secret (shown to the user once,
//! never sent), derives what the server stores (verifier, X25519 public key) and the
//! `ksa_` proof a script sends instead of the secret (FORMAT §11.1).

use keyslot_crypto::token_anchor::{TokenAnchorKey, anchored_token};
use keyslot_crypto::{
    E2eTokenCredential, RecipientKind, TokenKeyPair, VaultKey as CryptoVaultKey, grant_aad,
    open_from,
};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::credential::Credential;
use crate::encoding::{Result, at, b64, id, sealed_key};
use crate::identity::IdentityPublicKey;
use crate::keys::VaultKey;

/// A `kse_` token held by the page.
#[wasm_bindgen]
#[derive(Debug)]
pub struct E2eToken {
    inner: E2eTokenCredential,
}

#[wasm_bindgen]
impl E2eToken {
    /// A fresh token whose id commits to `identity`, the minting user's identity public
    /// key (FORMAT §11.5, `keyslot_crypto::token_anchor`): the token can later check the
    /// identity that signs a vault key it is granted without asking the server. A page
    /// mints with this; a token with a random id matches no identity and its grants are
    /// refused.
    #[wasm_bindgen(js_name = generateAnchored)]
    pub fn generate_anchored(identity: &IdentityPublicKey) -> Result<Self> {
        anchored_token(&identity.inner)
            .map(|inner| Self { inner })
            .map_err(at("token"))
    }

    /// Whether this token's id commits to `identity` (constant time): true only for the
    /// identity of the user who minted it with [`E2eToken::generate_anchored`].
    #[wasm_bindgen(js_name = anchoredTo)]
    pub fn anchored_to(&self, identity: &IdentityPublicKey) -> bool {
        TokenAnchorKey::derive(self.inner.expose_secret()).anchors(self.inner.id(), &identity.inner)
    }

    /// Parse a `kse_…` text (prefix, length, alphabet and checksum checked offline).
    pub fn parse(text: &str) -> Result<Self> {
        E2eTokenCredential::parse(text)
            .map(|inner| Self { inner })
            .map_err(at("token"))
    }

    /// The token's id (hex): its row on the server.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }

    /// The full `kse_…` text, to show the user once. Never send it: a server that sees it
    /// revokes the token as disclosed.
    #[wasm_bindgen(js_name = secretText)]
    pub fn secret_text(&self) -> String {
        String::from(self.inner.expose_text().as_str())
    }

    /// The `ksa_…` proof (id ‖ auth) a script sends as its bearer credential.
    #[wasm_bindgen(js_name = authProof)]
    pub fn auth_proof(&self) -> String {
        String::from(self.inner.unlock().auth_proof().to_text().as_str())
    }

    /// The token's X25519 public key (base64url): grants for it are sealed to this.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> String {
        b64(TokenKeyPair::derive(&self.inner).public_key().as_bytes())
    }

    /// The token as a credential: its verifier and its vault-key slots.
    pub fn credential(&self) -> Credential {
        Credential::new(self.inner.unlock())
    }

    /// Open a grant sealed to this token: vault `vault` of `owner` at `key_version`.
    #[wasm_bindgen(js_name = openGrant)]
    pub fn open_grant(
        &self,
        owner: &str,
        vault: &str,
        key_version: u32,
        sealed: &str,
    ) -> Result<VaultKey> {
        let (owner, vault) = (id("owner", owner)?, id("vault", vault)?);
        open_from::<CryptoVaultKey>(
            &TokenKeyPair::derive(&self.inner),
            &sealed_key("sealed", sealed)?,
            &grant_aad(
                &owner,
                &vault,
                key_version,
                RecipientKind::Token,
                self.inner.id(),
            ),
        )
        .map(|k| VaultKey::new(k, owner, vault, key_version))
        .map_err(at("sealed"))
    }
}
