//! Tokens of an end-to-end account (END-TO-END.md §7, §9): the `kse_` secret is made
//! here and never sent; the server gets its verifier, its public key signed by the
//! user's identity, and a slot per vault in scope wrapped under the token's wrap key.

use core::fmt;

use keyslot_core::policy;
use keyslot_crypto::{
    Aad, ContentKey, CredentialKind, E2eTokenCredential, Id, ItemKey, Purpose, TokenKeyPair, Wraps,
};
use reqwest::Method;
use zeroize::Zeroizing;

use super::account::{E2eSession, prelogin, to_json};
use super::checks::Refusal;
use super::vaults::{keyring, vault_row};
use super::wire::{self, B64, WireId};
use super::{E2eError, E2eResult, check_input};
use crate::segment;

/// A token just minted. Its `Debug` never shows the secret.
pub struct MintedE2e {
    /// Id.
    pub id: Id,
    /// The `kse_…` secret, made here and shown once; the server never saw it.
    pub token: Zeroizing<String>,
    /// Expiry (RFC 3339).
    pub expires_at: String,
}

impl fmt::Debug for MintedE2e {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MintedE2e {{ id: {}, token: ***, expires_at: {} }}",
            self.id, self.expires_at
        )
    }
}

/// What a minted token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permissions {
    Read,
    ReadWrite,
    /// Write-only deposits, sealed by the token's client (`super::deposits`).
    Deposit,
}

impl Permissions {
    fn names(self) -> &'static [&'static str] {
        match self {
            Self::Read => &["read"],
            Self::ReadWrite => &["read", "write"],
            Self::Deposit => &["deposit"],
        }
    }
}

/// A token as listed, its name opened here.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTokenInfo {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// `"*"` or vault ids.
    pub vaults: serde_json::Value,
    /// Permissions.
    pub permissions: Vec<String>,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// Last use (RFC 3339).
    pub last_used_at: Option<String>,
}

fn name_aad(purpose: Purpose, user: &Id, token: &Id) -> Aad {
    Aad::new(purpose)
        .user(user)
        .credential(CredentialKind::Token, token)
}

impl E2eSession {
    /// Mint a token: `vaults` `None` for every vault (`"*"`), else the listed ones;
    /// `can_write` adds `write` to `read`. The current password is proven by its `auth`
    /// (a token outlives the session that mints it).
    pub async fn mint_token(
        &self,
        current_password: &str,
        name: &str,
        vaults: Option<&[Id]>,
        can_write: bool,
        expires_in_seconds: Option<i64>,
    ) -> E2eResult<MintedE2e> {
        let permissions = if can_write {
            Permissions::ReadWrite
        } else {
            Permissions::Read
        };
        self.mint(
            current_password,
            name,
            vaults,
            permissions,
            expires_in_seconds,
        )
        .await
    }

    /// [`Self::mint_token`] and [`Self::mint_deposit_token`]: a deposit token gets no
    /// slots (it holds no vault key).
    pub(crate) async fn mint(
        &self,
        current_password: &str,
        name: &str,
        vaults: Option<&[Id]>,
        permissions: Permissions,
        expires_in_seconds: Option<i64>,
    ) -> E2eResult<MintedE2e> {
        check_input([policy::name("name", name)])?;
        let scope: Vec<Id> = match vaults {
            Some(ids) => ids.to_vec(),
            None => {
                let all: wire::Vaults = self.client.get("/v1/vaults").await?;
                all.vaults.iter().map(|v| v.id.0).collect()
            }
        };
        // Its id commits to this user's identity, so the token can check the vault keys
        // it is granted later without trusting the server (keyslot_crypto::token_anchor).
        let token: E2eTokenCredential =
            keyslot_crypto::token_anchor::anchored_token(&self.identity.public())?;
        let unlocked = token.unlock();
        let pair = TokenKeyPair::derive(&token);
        let mut slots = Vec::with_capacity(scope.len());
        let slotted: &[Id] = if matches!(permissions, Permissions::Deposit) {
            &[]
        } else {
            &scope
        };
        for vault in slotted {
            let v = vault_row(&self.client, vault).await?;
            let ring = keyring(
                &self.client,
                &self.opener(),
                &v.owner_id.0,
                vault,
                &v.slot,
                &[],
            )
            .await?;
            if ring.newest != v.key_version {
                return Err(E2eError::protocol(format!(
                    "vault {vault}: this user holds key version {}, not the current {}",
                    ring.newest, v.key_version
                )));
            }
            slots.push(wire::TokenSlot {
                vault: WireId(*vault),
                key_version: v.key_version,
                wrapped_vault_key: B64::envelope(&unlocked.wrap_vault_key(
                    &v.owner_id.0,
                    vault,
                    v.key_version,
                    ring.current()?,
                )?),
            });
        }
        let name_key = ItemKey::generate()?;
        let wrapped_name_key = self.user_key.wrap(
            &name_key,
            &name_aad(Purpose::TokenNameKey, &self.user, token.id()),
        )?;
        let sealed_name = name_key.seal_content(
            &name_aad(Purpose::TokenName, &self.user, token.id()),
            name.as_bytes(),
        )?;
        let (pre, params) = prelogin(&self.client, &self.username, &self.params_check()).await?;
        let auth = super::account::password_auth(current_password, &pre, params)?;
        let body = wire::Mint {
            id: WireId(*token.id()),
            sealed_name: B64::envelope(&sealed_name),
            name_key: B64::envelope(&wrapped_name_key),
            verifier: B64::of(unlocked.verifier().as_bytes().to_vec()),
            x25519_public: B64::public(&pair.public_key()),
            public_key_signature: super::sig::b64(&self.identity.sign_token_key(
                &self.user,
                token.id(),
                &pair.public_key(),
            )),
            vaults: match vaults {
                Some(ids) => ids.iter().map(|i| i.to_string()).collect(),
                None => "*".into(),
            },
            permissions: permissions
                .names()
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            expires_in_seconds,
            slots,
            auth: auth.to_string(),
        };
        let minted: wire::Minted = self
            .client
            .send(Method::POST, "/v1/tokens", &to_json(&body)?)
            .await?;
        if minted.id.0 != *token.id() {
            return Err(Refusal::Mismatch {
                what: "the minted token's id".into(),
            }
            .into());
        }
        Ok(MintedE2e {
            id: *token.id(),
            token: token.expose_text(),
            expires_at: minted.expires_at,
        })
    }

    /// `GET /v1/tokens`, names opened here.
    pub async fn tokens(&self) -> E2eResult<Vec<OpenTokenInfo>> {
        let rows: wire::TokenRows = self.client.get("/v1/tokens").await?;
        rows.tokens
            .into_iter()
            .map(|row| {
                let id = row.id.0;
                let name_key: ItemKey = self.user_key.unwrap_key(
                    &row.name_key.to_envelope("name_key")?,
                    &name_aad(Purpose::TokenNameKey, &self.user, &id),
                )?;
                let name = name_key.open_content(
                    &name_aad(Purpose::TokenName, &self.user, &id),
                    &row.sealed_name.to_envelope("sealed_name")?,
                )?;
                Ok(OpenTokenInfo {
                    id,
                    name: String::from_utf8(name.to_vec())
                        .map_err(|_| E2eError::protocol("a token name is not UTF-8"))?,
                    vaults: row.vaults,
                    permissions: row.permissions,
                    expires_at: row.expires_at,
                    last_used_at: row.last_used_at,
                })
            })
            .collect()
    }

    /// `DELETE /v1/tokens/{id}`: its vaults become due; the next write by a member runs
    /// the rotation ([`E2eSession::rotate_vault`]).
    pub async fn revoke_token(&self, id: &Id) -> E2eResult<()> {
        // Remembered first: from now on a server listing it as a holder is refused.
        self.note_revoked_token(*id);
        self.client
            .call::<serde_json::Value>(
                Method::DELETE,
                &format!("/v1/tokens/{}", segment(&id.to_string())),
                None,
                None,
            )
            .await?;
        Ok(())
    }
}
