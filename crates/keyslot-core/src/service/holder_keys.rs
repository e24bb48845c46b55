//! The keys a holder opens its own slots and pending grants with (DESIGN §3.1): a user's
//! (member slots under the user key, grants to the user's key pair) or a token's (slots
//! under its wrap key, grants to its key pair). Every token is the second kind, `"*"`
//! tokens included: no token holds the user key.
//!
//! Kept apart from the principal so a request can act with keys it is not authenticated
//! as: converting a `"*"` token minted before per-vault slots opens its user's member
//! slots with the user key that token wrapped, once, to wrap them for the token.

use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{
    Envelope, Id, RecipientKind, SealedKey, TokenCredential, TokenKeyPair, UnlockedCredential,
    UserKey, UserKeyPair, VaultKey, Wraps, grant_aad, open_from,
};

use super::Keyslot;
use super::items::OpenVault;
use crate::keystore::{Grant, Holder, HolderSlot, VaultState};
use crate::{Error, Principal, Result};

/// A holder's keys, borrowed for one request.
pub(super) enum HolderKeys<'a> {
    /// A user: member slots under the user key.
    User {
        /// The user.
        user: &'a Id,
        /// Their user key.
        user_key: &'a UserKey,
    },
    /// A token: its own slots under its wrap key.
    Token {
        /// The token.
        token: &'a Id,
        /// Its secret (its key pair is derived from it when a grant is opened).
        secret: &'a TokenCredential,
        /// Its unlocked credential.
        credential: &'a UnlockedCredential,
    },
}

impl<'a> HolderKeys<'a> {
    /// A session's user keys, or a token's own. A client-side caller (end-to-end) holds
    /// none: the server cannot act for it with keys, so this refuses.
    pub(super) fn of(principal: &'a Principal) -> Result<Self> {
        Ok(match principal {
            Principal::Session { user, user_key, .. } => Self::User { user, user_key },
            Principal::Token {
                token,
                secret,
                access,
                ..
            } => Self::Token {
                token,
                secret,
                credential: &access.credential,
            },
            Principal::Client { .. } => {
                return Err(Error::Forbidden(
                    "this caller is end-to-end: the client does this key operation",
                ));
            }
        })
    }

    /// Whose slots and grants these keys open.
    pub(super) const fn holder(&self) -> Holder {
        match self {
            Self::User { user, .. } => Holder::User(**user),
            Self::Token { token, .. } => Holder::Token(**token),
        }
    }

    /// `key` (of `vault` at `version`, bound to the vault's `owner`) wrapped for this holder.
    pub(super) fn wrap(
        &self,
        owner: &Id,
        vault: &Id,
        version: u32,
        key: &VaultKey,
    ) -> Result<Vec<u8>> {
        Ok(match self {
            Self::User { user_key, .. } => user_key
                .wrap(key, &vault_key_for_user_aad(owner, vault, version))?
                .to_bytes(),
            Self::Token { credential, .. } => credential
                .wrap_vault_key(owner, vault, version, key)?
                .to_bytes(),
        })
    }

    /// The key this holder's own slot opens, at the slot's version.
    pub(super) fn open(&self, state: &VaultState, slot: &HolderSlot) -> Result<OpenVault> {
        match self {
            Self::User { user_key, .. } => OpenVault::from_user_key(
                user_key,
                &state.owner,
                &state.id,
                slot.key_version,
                &slot.wrapped_vault_key,
            ),
            Self::Token { credential, .. } => Ok(OpenVault {
                id: state.id,
                key_version: slot.key_version,
                key: credential.open_vault_key(
                    &state.owner,
                    &state.id,
                    slot.key_version,
                    &Envelope::from_bytes(&slot.wrapped_vault_key)?,
                )?,
            }),
        }
    }

    /// A pending grant to this holder opened with its private key: the vault key, and
    /// the same key wrapped as this holder's slot.
    pub(super) async fn open_grant(
        &self,
        ks: &Keyslot,
        grant: &Grant,
        state: &VaultState,
    ) -> Result<(VaultKey, Vec<u8>)> {
        let sealed = SealedKey::from_bytes(&grant.sealed)?;
        let (owner, vault, version) = (&state.owner, &state.id, grant.key_version);
        let key: VaultKey = match self {
            Self::User { user, user_key } => {
                let record = ks.store.user(user).await?.ok_or(Error::NotFound)?;
                let pair = UserKeyPair::unwrap(
                    user_key,
                    user,
                    &Envelope::from_bytes(&record.x25519_wrapped)?,
                )?;
                let aad = grant_aad(owner, vault, version, RecipientKind::User, user);
                open_from(&pair, &sealed, &aad)?
            }
            Self::Token { token, secret, .. } => {
                let pair = TokenKeyPair::derive(secret);
                let aad = grant_aad(owner, vault, version, RecipientKind::Token, token);
                open_from(&pair, &sealed, &aad)?
            }
        };
        let wrapped = self.wrap(owner, vault, version, &key)?;
        Ok((key, wrapped))
    }
}
