//! `"*"` tokens hold vault keys, never the user key (DESIGN §3.1).
//!
//! A `"*"` token reaches every vault its user is a member of (owned or shared, within the
//! user's role) through one slot per vault, exactly like a scoped token: minted with the
//! current key of each, and given a pending grant (sealed to its MAC-checked public key)
//! for each vault added later — by the session that creates the vault, by the owner who
//! shares one with its user, by a rotation, or, for any grant still missing, by its
//! user's next login. So revoking it or letting it expire ends everything it held, the
//! way it does for a scoped token: its vaults rotate, and nothing written afterwards opens
//! with its secret.
//!
//! A `"*"` token minted before this held the user key. At its next use it is converted:
//! the user key it wraps opens each of its user's vaults once more, their current keys
//! are wrapped under the token, and the wrapped user key is cleared, in one transaction,
//! exactly once across instances. Old copies of the database still give its secret the
//! user key, so its end makes a *user-key* rotation due (the store keeps that mark:
//! `KeyStore::user_key_rotation_due`).

use std::net::IpAddr;

use keyslot_crypto::{Envelope, Id, RecipientKind, UserKey, VaultKey, grant_aad, seal_to};

use super::holder_keys::HolderKeys;
use super::items::OpenVault;
use super::lifecycle::VERSION_RETRIES;
use super::{Keyslot, now};
use crate::keystore::{Grant, Holder, PublicHolder};
use crate::model::{Timestamp, TokenVaultSlot, VaultRecord};
use crate::store::StoreError;
use crate::{Error, Principal, Result};

impl Keyslot {
    /// The slots of a new `"*"` token: the current key of every vault the minting
    /// session's user is a member of, wrapped under the token (a due rotation runs
    /// first). A vault the session cannot open now is left out, and the store then
    /// refuses the mint as moved, so it is tried again.
    pub(super) async fn star_mint_slots(
        &self,
        principal: &Principal,
        credential: &keyslot_crypto::UnlockedCredential,
        token: &Id,
    ) -> Result<Vec<TokenVaultSlot>> {
        let mut slots = Vec::new();
        for vault in self.store.member_vaults(principal.user()).await? {
            let ring = match self.open_current(principal, &vault, true).await {
                Ok(ring) => ring,
                Err(Error::NotFound) => continue,
                Err(e) => return Err(e),
            };
            let version = ring.current.key_version;
            slots.push(TokenVaultSlot {
                token_id: *token,
                vault_id: vault,
                key_version: version,
                wrapped_vault_key: credential
                    .wrap_vault_key(&ring.owner, &vault, version, &ring.current.key)?
                    .to_bytes(),
            });
        }
        Ok(slots)
    }

    /// `key` (of `vault`, owned by `owner`, at `version`) sealed to each of `user`'s `"*"`
    /// tokens live `at` (the time the store checks the set with), their public keys
    /// MAC-checked first (a mismatch seals nothing: 500).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn star_token_grants(
        &self,
        principal: &Principal,
        user: &Id,
        owner: &Id,
        vault: &Id,
        version: u32,
        key: &VaultKey,
        at: Timestamp,
    ) -> Result<Vec<Grant>> {
        let holders = self.store.star_tokens(user, at).await?;
        self.seal_to_holders(principal, &holders, owner, vault, version, key)
            .await
    }

    async fn seal_to_holders(
        &self,
        principal: &Principal,
        holders: &[PublicHolder],
        owner: &Id,
        vault: &Id,
        version: u32,
        key: &VaultKey,
    ) -> Result<Vec<Grant>> {
        let public_keys = self.checked_public_keys(principal, holders).await?;
        let mut grants = Vec::with_capacity(holders.len());
        for (holder, public_key) in holders.iter().zip(public_keys) {
            let Holder::Token(token) = holder.holder else {
                return Err(Error::Internal(
                    "a \"*\" token holder is not a token".into(),
                ));
            };
            let sealed = seal_to(
                &public_key,
                key,
                &grant_aad(owner, vault, version, RecipientKind::Token, &token),
            )?;
            grants.push(Grant {
                holder: holder.holder,
                vault_id: *vault,
                key_version: version,
                sealed: sealed.to_bytes(),
            });
        }
        Ok(grants)
    }

    /// Store a session's new vault with a grant of its key to each of the user's live
    /// `"*"` tokens, in one transaction under the user's lock; sealed again if a `"*"`
    /// token was minted (or ended) meanwhile.
    pub(super) async fn store_vault_with_star_grants(
        &self,
        principal: &Principal,
        user_key: &UserKey,
        record: VaultRecord,
        audit: crate::model::AuditEvent,
    ) -> Result<()> {
        let (owner, vault, version) = (record.user_id, record.id, record.key_version);
        let open =
            OpenVault::from_user_key(user_key, &owner, &vault, version, &record.wrapped_vault_key)?;
        for _ in 0..VERSION_RETRIES {
            // Live at the vault's creation time: the store checks the set at that time.
            let grants = self
                .star_token_grants(
                    principal,
                    &owner,
                    &owner,
                    &vault,
                    version,
                    &open.key,
                    record.created_at,
                )
                .await?;
            match self
                .store
                .create_vault_granted(record.clone(), grants, audit.clone())
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::KeyVersionMoved) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::KeyVersionMoved.into())
    }

    /// After a login: grant each of the user's live `"*"` tokens any vault it holds no
    /// slot or grant for (none while every change keeps the rule; this mends what a crash
    /// or an older version left). Never fails the login: a failure is logged, and the
    /// next login tries again.
    pub(super) async fn grant_missing_star_slots(
        &self,
        user: Id,
        session: Id,
        user_key: UserKey,
        ip: &str,
    ) {
        let principal = Principal::Session {
            user,
            session,
            user_key,
            ip: ip.parse::<IpAddr>().ok(),
        };
        if let Err(e) = self.grant_missing_star_slots_for(&principal).await {
            tracing::warn!(error = %e, "missing \"*\" token grants not written at login");
        }
    }

    async fn grant_missing_star_slots_for(&self, principal: &Principal) -> Result<()> {
        let user = *principal.user();
        for _ in 0..VERSION_RETRIES {
            let missing = self.store.missing_star_slots(&user, now()).await?;
            if missing.is_empty() {
                return Ok(());
            }
            let mut grants = Vec::new();
            let mut vaults: Vec<Id> = missing.iter().map(|(_, v)| *v).collect();
            vaults.dedup();
            for vault in vaults {
                let ring = match self.open_current(principal, &vault, false).await {
                    Ok(ring) => ring,
                    Err(Error::NotFound) => continue,
                    Err(e) => return Err(e),
                };
                let holders: Vec<PublicHolder> = missing
                    .iter()
                    .filter(|(_, v)| *v == vault)
                    .map(|(h, _)| h.clone())
                    .collect();
                let (owner, version) = (ring.owner, ring.current.key_version);
                grants.extend(
                    self.seal_to_holders(
                        principal,
                        &holders,
                        &owner,
                        &vault,
                        version,
                        &ring.current.key,
                    )
                    .await?,
                );
            }
            match self
                .store
                .grant_missing_star_slots(&user, grants, now())
                .await
            {
                Ok(_) => return Ok(()),
                Err(StoreError::KeyVersionMoved) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::KeyVersionMoved.into())
    }

    /// Convert a `"*"` token that wraps the user key (minted before per-vault slots) at
    /// its first use: the user key it wraps opens the current key of each of its user's
    /// vaults (converting the user's own pending grant where the member slot is behind),
    /// each is wrapped under the token, and the store writes the slots and clears the
    /// wrapped user key in one transaction, once across instances. `principal` is the
    /// token, authenticated.
    pub(super) async fn convert_legacy_star_token(
        &self,
        principal: &Principal,
        wrapped_user_key: &[u8],
    ) -> Result<()> {
        let Principal::Token {
            user,
            token,
            access,
            ..
        } = principal
        else {
            return Err(Error::Internal("only a token is converted".into()));
        };
        let user_key = access
            .credential
            .open_user_key(user, &Envelope::from_bytes(wrapped_user_key)?)?;
        let keys = HolderKeys::User {
            user,
            user_key: &user_key,
        };
        for _ in 0..VERSION_RETRIES {
            let mut slots = Vec::new();
            for vault in self.store.member_vaults(user).await? {
                let Some((owner, open)) = self.open_current_as_user(&keys, user, &vault).await?
                else {
                    continue;
                };
                slots.push(TokenVaultSlot {
                    token_id: *token,
                    vault_id: vault,
                    key_version: open.key_version,
                    wrapped_vault_key: access
                        .credential
                        .wrap_vault_key(&owner, &vault, open.key_version, &open.key)?
                        .to_bytes(),
                });
            }
            match self.store.convert_legacy_token(token, slots).await {
                // Converted here, or by a concurrent request: its slots are written.
                Ok(_) => return Ok(()),
                Err(StoreError::KeyVersionMoved) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Unavailable { retry_after: 1 })
    }

    /// A vault's current key through the user's member slot, converting the user's
    /// pending grant first if the slot is behind; no rotation runs. `None` when the user
    /// holds no key of the current version.
    async fn open_current_as_user(
        &self,
        keys: &HolderKeys<'_>,
        user: &Id,
        vault: &Id,
    ) -> Result<Option<(Id, OpenVault)>> {
        for _ in 0..VERSION_RETRIES {
            let Some(access) = self.store.vault_access(user, vault, keys.holder()).await? else {
                return Ok(None);
            };
            let Some(slot) = access.slot else {
                return Ok(None);
            };
            let state = access.state;
            if slot.key_version >= state.key_version {
                return Ok(Some((state.owner, keys.open(&state, &slot)?)));
            }
            match self.convert_grant_as(keys, &state).await? {
                Some(open) if open.key_version >= state.key_version => {
                    return Ok(Some((state.owner, open)));
                }
                Some(_) => {}
                None => return Ok(None),
            }
        }
        Ok(None)
    }
}
