//! Opening a vault's keys: the caller's slot (a member's under the user key, a token's
//! under its wrap key, or a pending grant sealed to its X25519 key), then the backward
//! chain down to older key versions (FORMAT §10).
//!
//! Every context binds the vault's owner, the vault and the key version, so a slot or link
//! the server moved to another vault or version does not open.

use std::collections::BTreeMap;

use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{
    Envelope, Id, RecipientKind, TokenKeyPair, UnlockedCredential, UserKey, UserKeyPair, VaultKey,
    Wraps, grant_aad, open_chain, open_from,
};

use super::wire::{B64, ChainLink, Slot, SlotBody};
use super::{E2eError, E2eResult};

/// Who opens a slot: a member (user key and X25519 pair) or a token (its unlocked
/// credential and derived pair).
pub(crate) enum Opener<'a> {
    Member {
        user: &'a Id,
        user_key: &'a UserKey,
        pair: &'a UserKeyPair,
        /// The session, whose pinned identities vouch for vault keys.
        session: &'a super::E2eSession,
    },
    Token {
        token: &'a Id,
        credential: &'a UnlockedCredential,
        pair: &'a TokenKeyPair,
        /// A `kse_` token's anchor key (its id commits to its user's identity); `None`
        /// for a server-mode `kst_` token, whose server holds the keys anyway.
        anchor: Option<&'a keyslot_crypto::token_anchor::TokenAnchorKey>,
    },
}

impl Opener<'_> {
    /// The vault key the slot holds, and — for a pending grant — the ordinary slot to
    /// store in its place (`PUT /v1/vaults/{vault}/slot`).
    pub fn open(
        &self,
        owner: &Id,
        vault: &Id,
        slot: &Slot,
    ) -> E2eResult<(VaultKey, Option<SlotBody>)> {
        let key_version = slot.key_version();
        match (self, slot) {
            (
                Self::Member { user_key, .. },
                Slot::Member {
                    wrapped_vault_key, ..
                },
            ) => {
                let aad = vault_key_for_user_aad(owner, vault, key_version);
                let wrapped = wrapped_vault_key.to_envelope("slot.wrapped_vault_key")?;
                Ok((user_key.unwrap_key(&wrapped, &aad)?, None))
            }
            (
                Self::Token { credential, .. },
                Slot::Token {
                    wrapped_vault_key, ..
                },
            ) => {
                let wrapped = wrapped_vault_key.to_envelope("slot.wrapped_vault_key")?;
                let key = credential.open_vault_key(owner, vault, key_version, &wrapped)?;
                Ok((key, None))
            }
            (
                Self::Member {
                    user,
                    user_key,
                    pair,
                    ..
                },
                Slot::Grant { sealed, .. },
            ) => {
                let aad = grant_aad(owner, vault, key_version, RecipientKind::User, user);
                let key: VaultKey = open_from(*pair, &sealed.to_sealed("slot.sealed")?, &aad)?;
                let wrapped =
                    user_key.wrap(&key, &vault_key_for_user_aad(owner, vault, key_version))?;
                Ok((key, Some(slot_body(key_version, &wrapped))))
            }
            (
                Self::Token {
                    token,
                    credential,
                    pair,
                    ..
                },
                Slot::Grant { sealed, .. },
            ) => {
                let aad = grant_aad(owner, vault, key_version, RecipientKind::Token, token);
                let key: VaultKey = open_from(*pair, &sealed.to_sealed("slot.sealed")?, &aad)?;
                let wrapped = credential.wrap_vault_key(owner, vault, key_version, &key)?;
                Ok((key, Some(slot_body(key_version, &wrapped))))
            }
            _ => Err(E2eError::protocol(
                "the slot's kind is not one this credential holds",
            )),
        }
    }
}

fn slot_body(key_version: u32, wrapped: &Envelope) -> SlotBody {
    SlotBody {
        key_version,
        wrapped_vault_key: B64::envelope(wrapped),
    }
}

/// A vault's keys by version: the newest from the slot, older ones through the chain.
pub(crate) struct Keyring {
    pub owner: Id,
    pub vault: Id,
    /// The slot's version: the newest key this caller holds.
    pub newest: u32,
    keys: BTreeMap<u32, VaultKey>,
    links: BTreeMap<u32, B64>,
}

impl core::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Keyring")
            .field("vault", &self.vault)
            .field("newest", &self.newest)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    pub fn new(owner: Id, vault: Id, newest: u32, key: VaultKey, chain: &[ChainLink]) -> Self {
        let mut keys = BTreeMap::new();
        keys.insert(newest, key);
        Self {
            owner,
            vault,
            newest,
            keys,
            links: chain
                .iter()
                .map(|l| (l.key_version, l.wrapped.clone()))
                .collect(),
        }
    }

    /// The newest key.
    pub fn current(&self) -> E2eResult<&VaultKey> {
        self.keys
            .get(&self.newest)
            .ok_or_else(|| E2eError::protocol("no vault key"))
    }

    /// The key of `version`, walking the chain down from the newest one held. A version
    /// above the slot's is refused: old keys never open newer ones.
    pub fn at(&mut self, version: u32) -> E2eResult<&VaultKey> {
        if version > self.newest || version == 0 {
            return Err(E2eError::protocol(format!(
                "key version {version} is not reachable from this slot (version {})",
                self.newest
            )));
        }
        let mut have = self
            .keys
            .range(version..)
            .next()
            .map(|(v, _)| *v)
            .unwrap_or(self.newest);
        while have > version {
            let older = have - 1;
            let link = self.links.get(&older).ok_or_else(|| {
                E2eError::protocol(format!("the chain lacks the link for version {older}"))
            })?;
            let link = link.to_envelope("chain.wrapped")?;
            let newer = self
                .keys
                .get(&have)
                .ok_or_else(|| E2eError::protocol("chain walk lost its key"))?;
            let key = open_chain(newer, &link, &self.owner, &self.vault, older)?;
            self.keys.insert(older, key);
            have = older;
        }
        self.keys
            .get(&version)
            .ok_or_else(|| E2eError::protocol("chain walk lost its key"))
    }
}
