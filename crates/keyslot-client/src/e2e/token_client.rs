//! What a `kse_` secret does (END-TO-END.md §1, §6): it derives its auth proof, wrap key
//! and X25519 pair here and sends only `Authorization: Bearer ksa_…`. It opens its own
//! slots (or a pending grant sealed to its key, converting it) and reads and writes
//! items like a member, without signing (a token has no identity).

use core::fmt;

use keyslot_crypto::token_anchor::TokenAnchorKey;
use keyslot_crypto::{E2eTokenCredential, Id, TokenCredential, TokenKeyPair, UnlockedCredential};
use zeroize::Zeroizing;

use super::items::{self, Actor, OpenItem, OpenItemSummary};
use super::keyring::Opener;
use super::vaults::OpenVault;
use super::wire;
use super::{E2eError, E2eResult};
use crate::{Client, Credential};

/// A client for one `kse_` token. Its `Debug` shows the token id only.
pub struct TokenClient {
    client: Client,
    id: Id,
    unlocked: UnlockedCredential,
    pair: TokenKeyPair,
    /// A `kse_` token's anchor key: vault keys it is granted must be signed by the
    /// identity its id commits to (`keyslot_crypto::token_anchor`).
    anchor: Option<TokenAnchorKey>,
}

impl fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenClient({}, ***)", self.id)
    }
}

impl TokenClient {
    /// A client for `secret` on `base`'s server: a `kse_…` token, or a server-mode
    /// account's `kst_…` token used the same way (the formats are the same, so data
    /// written either way reads either way). The secret is parsed and kept here; requests
    /// carry its `ksa_` proof only.
    pub fn new(base: &Client, secret: &str) -> E2eResult<Self> {
        let secret = secret.trim();
        let (id, unlocked, pair, anchor) = match E2eTokenCredential::parse(secret) {
            Ok(token) => (
                *token.id(),
                token.unlock(),
                TokenKeyPair::derive(&token),
                Some(TokenAnchorKey::derive(token.expose_secret())),
            ),
            Err(e2e_error) => match TokenCredential::parse(secret) {
                Ok(token) => (
                    *token.id(),
                    token.unlock(),
                    TokenKeyPair::derive(&token),
                    None,
                ),
                Err(_) => {
                    return Err(E2eError::Invalid(vec![(
                        "token".into(),
                        format!("is not an API token (kse_… or kst_…): {e2e_error}"),
                    )]));
                }
            },
        };
        let proof = unlocked.auth_proof().to_text();
        Ok(Self {
            client: base.with_credential(Credential::Token(Zeroizing::new(proof.to_string()))),
            id,
            pair,
            unlocked,
            anchor,
        })
    }

    /// The token's id.
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The HTTP client, which authenticates with the `ksa_` proof.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How this token opens keys (its id, pair and anchor), for [`super::deposits`].
    pub(crate) fn opener(&self) -> Opener<'_> {
        self.actor().opener
    }

    fn actor(&self) -> Actor<'_> {
        Actor {
            client: &self.client,
            opener: Opener::Token {
                token: &self.id,
                credential: &self.unlocked,
                pair: &self.pair,
                anchor: self.anchor.as_ref(),
            },
            signer: None,
            known: Vec::new(),
        }
    }

    /// The vaults this token reaches, names opened with its slots.
    pub async fn vaults(&self) -> E2eResult<Vec<OpenVault>> {
        let vaults: wire::Vaults = self.client.get("/v1/vaults").await?;
        let actor = self.actor();
        let mut out = Vec::with_capacity(vaults.vaults.len());
        for v in &vaults.vaults {
            out.push(super::vaults::open_vault(&self.client, &actor.opener, v).await?);
        }
        Ok(out)
    }

    /// Items of `vault`, names opened here.
    pub async fn items(&self, vault: &Id) -> E2eResult<Vec<OpenItemSummary>> {
        items::list(&self.actor(), vault, None, None).await
    }

    /// One item, opened here.
    pub async fn item(&self, vault: &Id, item: &Id) -> E2eResult<OpenItem> {
        items::read(&self.actor(), vault, item).await
    }

    /// The item named `name` (blind index), or `None`.
    pub async fn find_item(&self, vault: &Id, name: &str) -> E2eResult<Option<OpenItem>> {
        items::find(&self.actor(), vault, name).await
    }

    /// Create an item (a token with `write`).
    pub async fn create_item(
        &self,
        vault: &Id,
        name: &str,
        value: &serde_json::Value,
    ) -> E2eResult<(Id, u64)> {
        items::write(&self.actor(), vault, None, name, value).await
    }

    /// Replace an item read at `read_version`.
    pub async fn update_item(
        &self,
        vault: &Id,
        item: &Id,
        read_version: u64,
        name: &str,
        value: &serde_json::Value,
    ) -> E2eResult<u64> {
        items::write(
            &self.actor(),
            vault,
            Some((*item, read_version)),
            name,
            value,
        )
        .await
        .map(|(_, v)| v)
    }

    /// Delete an item.
    pub async fn delete_item(&self, vault: &Id, item: &Id) -> E2eResult<()> {
        items::delete(&self.client, vault, item).await
    }
}
