//! The key lifecycle in server mode (DESIGN §3.1): opening a vault's *current* key through
//! the caller's own slot (converting a pending grant first when the slot is older),
//! reading items under older versions through the backward chain, and rotating.
//!
//! A rotation makes `VK_{n+1}`, links `VK_n` under it, re-wraps the caller's own slot
//! directly and seals `VK_{n+1}` to every other holder that keeps access — the vault's
//! members and its live tokens, as the store finds them — after checking each public
//! key's MAC. The store commits it only if the vault is still at `n` and the holders are
//! exactly the live ones under its lock; otherwise this side recomputes and retries.
//! Nothing here is ever sealed to an expired or deleted credential.

use keyslot_crypto::{
    ContentKey, Envelope, Id, RecipientKind, VaultKey, grant_aad, open_chain, seal_to, wrap_chain,
};

use super::accounts::vault_name_aad;
use super::holder_keys::HolderKeys;
use super::items::OpenVault;
use super::{Keyslot, now};
use crate::keystore::{Grant, Holder, HolderSlot, PublicHolder, Rotation, VaultState};
use crate::memberstore::Role;
use crate::model::Outcome;
use crate::store::StoreError;
use crate::{Error, Principal, Result};

/// How many times a request recomputes after a concurrent rotation moved the version.
pub(super) const VERSION_RETRIES: usize = 4;

/// Why a rotation runs (recorded in its audit event).
#[derive(Debug, Clone, Copy)]
pub(super) enum Trigger {
    /// The owner asked (`POST /v1/vaults/{vault}/rotate`).
    Asked,
    /// It was due (a holder revoked, or a token's `expires_at` passed) and a request of a
    /// holder of the current key ran it first.
    Due,
    /// A member was removed (by an owner, or leaving): the same request rotates.
    Removed,
    /// The user key of a holder was rotated (`POST /v1/keys/rotate`): every vault that
    /// user holds a key to rotates, whatever the role.
    UserKey,
}

impl Trigger {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Asked => "asked",
            Self::Due => "due",
            Self::Removed => "removed",
            Self::UserKey => "user-key",
        }
    }
}

/// A vault's keys opened for this request: the current version's, and older ones derived
/// through the chain as items under them are met.
pub(super) struct KeyRing {
    pub(super) owner: Id,
    /// The caller's role in the vault (a token's is its user's).
    pub(super) role: Role,
    pub(super) current: OpenVault,
    pub(super) state: VaultState,
    /// Older keys, newest first, each one version below the previous.
    older: Vec<VaultKey>,
}

impl KeyRing {
    /// The key of `version`, walking the chain down from the lowest key derived so far.
    pub(super) async fn key_at(&mut self, ks: &Keyslot, version: u32) -> Result<&VaultKey> {
        self.key_at_or_moved(ks, version)
            .await?
            .ok_or_else(|| Error::Internal("vault key chain is incomplete".into()))
    }

    /// [`Self::key_at`], or `None` when the chain no longer reaches `version`. A version's
    /// link is deleted only once the re-wrap has moved everything under it to a newer
    /// version, so for a row read before that commit this means "moved meanwhile": the
    /// caller reads the row again (see `items::open_item_key`) rather than answer 500.
    pub(super) async fn key_at_or_moved(
        &mut self,
        ks: &Keyslot,
        version: u32,
    ) -> Result<Option<&VaultKey>> {
        let top = self.current.key_version;
        if version > top || version == 0 {
            // Written under a version newer than the one this request opened: a rotation
            // committed meanwhile. The caller re-opens.
            return Err(StoreError::KeyVersionMoved.into());
        }
        let lowest = top - u32::try_from(self.older.len()).unwrap_or(u32::MAX);
        if version < lowest {
            let links = ks
                .store
                .chain_links(&self.current.id, lowest, version)
                .await?;
            for (expected, link) in (version + 1..=lowest).rev().zip(links.iter()) {
                if link.key_version != expected {
                    // A link missing above one still there: the caller's re-read of
                    // the row tells a move from a broken chain.
                    return Ok(None);
                }
                let newer = self.older.last().unwrap_or(&self.current.key);
                let older = open_chain(
                    newer,
                    &Envelope::from_bytes(&link.chain)?,
                    &self.owner,
                    &self.current.id,
                    expected - 1,
                )?;
                self.older.push(older);
            }
            if links.len() != (lowest - version) as usize {
                return Ok(None);
            }
        }
        Ok(Some(if version == top {
            &self.current.key
        } else {
            &self.older[(top - version - 1) as usize]
        }))
    }
}

/// The holder a principal's keys are: its user (member slot, under the user key) for a
/// session, or the token itself for any token (`"*"` tokens too: no token holds the user
/// key).
pub(super) const fn holder_of(principal: &Principal) -> Holder {
    match principal {
        Principal::Session { user, .. }
        | Principal::Client {
            user,
            actor: crate::ClientActor::Session { .. },
            ..
        } => Holder::User(*user),
        Principal::Token { token, .. }
        | Principal::Client {
            actor: crate::ClientActor::Token { token, .. },
            ..
        } => Holder::Token(*token),
    }
}

impl Keyslot {
    /// Open `vault`'s current key for `principal`. A slot older than the current version
    /// is first brought up to date by converting the holder's pending grant; then, with
    /// `run_due`, a rotation that is due runs before anything else. `NotFound` when the
    /// caller holds no key of the vault, whether or not it exists; `Unavailable` (503,
    /// retryable) when it does but the version kept moving under every attempt
    /// (concurrent rotations, or mints and revocations that made each rotation this
    /// request tried lose): that is no answer about access, and never a 404.
    pub(super) async fn open_current(
        &self,
        principal: &Principal,
        vault: &Id,
        run_due: bool,
    ) -> Result<KeyRing> {
        if principal.is_deposit() {
            // It holds no key: 403 in its scope, 404 outside.
            return Err(self.deposit_refusal(principal, vault).await);
        }
        let holder = holder_of(principal);
        // The version at which this holder was last found with no key of it.
        let mut keyless_at = None;
        for _ in 0..VERSION_RETRIES {
            let access = self
                .store
                .vault_access(principal.user(), vault, holder)
                .await?
                .ok_or(Error::NotFound)?;
            let slot = access.slot.ok_or(Error::NotFound)?;
            let (state, role) = (access.state, access.role);
            // A slot older than the current version is not opened: the pending grant is
            // converted instead (a member just added holds an empty slot at version 0).
            let open = if slot.key_version < state.key_version {
                match self.convert_grant(principal, holder, &state).await? {
                    Some(converted) if converted.key_version >= state.key_version => converted,
                    // No grant as new as the vault: this holder was not given that
                    // version (it has no key of the vault now), unless another request of
                    // the same holder converted the grant meanwhile; look again. Found
                    // so twice at one version, it has none.
                    _ if keyless_at == Some(state.key_version) => return Err(Error::NotFound),
                    _ => {
                        keyless_at = Some(state.key_version);
                        continue;
                    }
                }
            } else {
                self.open_slot(principal, &state, &slot)?
            };
            let ring = KeyRing {
                owner: state.owner,
                role,
                current: open,
                state,
                older: Vec::new(),
            };
            if run_due && ring.state.is_due(now()) {
                // Rotated or not (another request's rotation won), look again.
                self.rotate_with(principal, &ring, Trigger::Due).await?;
                continue;
            }
            return Ok(ring);
        }
        // Versions kept moving under every attempt (a holder with no key of the vault
        // has left above): the caller does hold it, so it may retry (503, Retry-After),
        // and a revocation or removal that waited on this rotation says it did not run.
        Err(Error::Unavailable { retry_after: 1 })
    }

    /// The key a holder's own slot opens, at the slot's version.
    fn open_slot(
        &self,
        principal: &Principal,
        state: &VaultState,
        slot: &HolderSlot,
    ) -> Result<OpenVault> {
        HolderKeys::of(principal)?.open(state, slot)
    }

    /// Open the holder's newest pending grant with its private key and turn it into its
    /// slot (exactly once across instances: the store deletes the grant and writes the
    /// slot only if the delete touched it). `None` when there is no grant.
    async fn convert_grant(
        &self,
        principal: &Principal,
        holder: Holder,
        state: &VaultState,
    ) -> Result<Option<OpenVault>> {
        debug_assert_eq!(holder, holder_of(principal));
        self.convert_grant_as(&HolderKeys::of(principal)?, state)
            .await
    }

    /// [`Self::convert_grant`] with the holder's keys given.
    pub(super) async fn convert_grant_as(
        &self,
        keys: &HolderKeys<'_>,
        state: &VaultState,
    ) -> Result<Option<OpenVault>> {
        let Some(grant) = self.store.newest_grant(keys.holder(), &state.id).await? else {
            return Ok(None);
        };
        let (key, wrapped) = keys.open_grant(self, &grant, state).await?;
        // Whether this call or a concurrent one wrote the slot, the key is the same.
        self.store.convert_grant(&grant, wrapped).await?;
        Ok(Some(OpenVault {
            id: state.id,
            key_version: grant.key_version,
            key,
        }))
    }

    /// Rotate the vault `ring` holds the current key of, with `principal`'s keys. `false`
    /// when the store found the version or the holders moved meanwhile: nothing changed,
    /// and the caller re-opens and, if still due, tries again.
    pub(super) async fn rotate_with(
        &self,
        principal: &Principal,
        ring: &KeyRing,
        trigger: Trigger,
    ) -> Result<bool> {
        let (owner, vault) = (ring.owner, ring.current.id);
        if self.store.user(&owner).await?.is_some_and(|u| u.end_to_end) {
            // The server would make the next vault key itself and seal it to the holders'
            // keys it vouches for by MAC: exactly what an end-to-end vault never trusts.
            // Only a client holding the key rotates it (`POST …/rotate`, e2e_rotation).
            // One look-up per rotation, never on a read or write that needs none.
            return Err(Error::Forbidden(
                "this vault belongs to an end-to-end account: only a client holding its key \
                 rotates it",
            ));
        }
        let from = ring.current.key_version;
        let to = from
            .checked_add(1)
            .ok_or_else(|| Error::Internal("vault key version overflow".into()))?;
        let at = now();
        let new_key = VaultKey::generate()?;
        let chain = wrap_chain(&new_key, &ring.current.key, &owner, &vault, from)?.to_bytes();
        let name = ring.current.key.open_content(
            &vault_name_aad(&owner, &vault, from),
            &Envelope::from_bytes(&ring.state.name)?,
        )?;
        let name = new_key
            .seal_content(&vault_name_aad(&owner, &vault, to), &name)?
            .to_bytes();
        let own = holder_of(principal);
        let holders = self.store.rotation_holders(&vault, at).await?;
        // The caller keeps the new key only if it still holds access: a member removing
        // themselves runs the rotation with the key they held, and keeps nothing of it.
        let keeps_access = holders.iter().any(|h| h.holder == own);
        let own_slot = HolderKeys::of(principal)?.wrap(&owner, &vault, to, &new_key)?;
        let others: Vec<PublicHolder> = holders.into_iter().filter(|h| h.holder != own).collect();
        // Every MAC checked (one job off the runtime) before anything is sealed.
        let keys = self.checked_public_keys(principal, &others).await?;
        let mut grants = Vec::new();
        for (holder, public_key) in others.iter().zip(keys) {
            let (kind, id) = match holder.holder {
                Holder::User(id) => (RecipientKind::User, id),
                Holder::Token(id) => (RecipientKind::Token, id),
            };
            let sealed = seal_to(
                &public_key,
                &new_key,
                &grant_aad(&owner, &vault, to, kind, &id),
            )?;
            grants.push(Grant {
                holder: holder.holder,
                vault_id: vault,
                key_version: to,
                sealed: sealed.to_bytes(),
            });
        }
        let audit = principal.event(
            "vault.rotate",
            Outcome::Ok,
            format!(
                "vault={vault} key_version={to} trigger={} grants={}",
                trigger.as_str(),
                grants.len()
            ),
        );
        let rotation = Rotation {
            vault,
            from_version: from,
            chain,
            name,
            own_slot: keeps_access.then_some((own, own_slot)),
            grants,
            now: at,
            audit,
        };
        match self.store.rotate_vault(rotation).await {
            Ok(()) => {
                // Deposits seal to the new version from now on. If this fails, the next
                // holder to list the vault publishes it.
                if let Err(e) = self.publish_deposit_key(&owner, &vault, to, &new_key).await {
                    tracing::warn!(error = %e, "vault public key not published after rotation");
                }
                Ok(true)
            }
            Err(StoreError::KeyVersionMoved) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
