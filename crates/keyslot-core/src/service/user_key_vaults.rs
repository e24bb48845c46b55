//! After a user-key swap, every vault the user holds a key to is rotated, each in its own
//! transaction, with the re-keyed session (DESIGN §3.1): whatever the user's role, so that
//! the old user key opens nothing written afterwards.
//!
//! A rotation of one of those vaults by another holder may have read the user's *old*
//! public key before the swap and committed after it: its grant is then sealed to the
//! pair the swap replaced, and would open with nothing the user holds. This request still
//! holds the old pair, so it converts such a grant first, under the new user key.

use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{
    Envelope, Id, RecipientKind, SealedKey, UserKey, UserKeyPair, VaultKey, Wraps, grant_aad,
    open_from,
};

use super::Keyslot;
use super::lifecycle::{Trigger, VERSION_RETRIES};
use crate::keystore::Holder;
use crate::{Error, Principal, Result};

/// The keys of the user before and after the swap, for this request only.
pub(super) struct SwappedKeys<'a> {
    /// The user.
    pub(super) user: Id,
    /// The pair the swap replaced (opened with the old user key).
    pub(super) old_pair: &'a UserKeyPair,
    /// The new user key.
    pub(super) new: &'a UserKey,
}

impl Keyslot {
    /// Rotate one vault after a user-key swap, with the re-keyed session; `false` when it
    /// stays due (it kept moving, or the user lost access meanwhile).
    pub(super) async fn rotate_for_user_key(
        &self,
        principal: &Principal,
        keys: &SwappedKeys<'_>,
        vault: &Id,
    ) -> Result<bool> {
        for _ in 0..VERSION_RETRIES {
            self.convert_grant_to_old_pair(keys, vault).await?;
            let ring = match self.open_current(principal, vault, false).await {
                Ok(ring) => ring,
                Err(Error::NotFound) => return Ok(false),
                Err(e) => return Err(e),
            };
            if !ring.state.rotation_due {
                // Another request ran the due rotation first: rotated all the same.
                return Ok(true);
            }
            if self.rotate_with(principal, &ring, Trigger::UserKey).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A grant of `vault` newer than the user's slot that only the old pair opens: convert
    /// it under the new user key. Anything else (no grant, one sealed to the new pair) is
    /// left to `open_current`.
    async fn convert_grant_to_old_pair(&self, keys: &SwappedKeys<'_>, vault: &Id) -> Result<()> {
        let holder = Holder::User(keys.user);
        let Some(access) = self.store.vault_access(&keys.user, vault, holder).await? else {
            return Ok(());
        };
        let held = access.slot.map_or(0, |s| s.key_version);
        if held >= access.state.key_version {
            return Ok(());
        }
        let Some(grant) = self.store.newest_grant(holder, vault).await? else {
            return Ok(());
        };
        let owner = access.state.owner;
        let aad = grant_aad(
            &owner,
            vault,
            grant.key_version,
            RecipientKind::User,
            &keys.user,
        );
        let Ok(key) =
            open_from::<VaultKey>(keys.old_pair, &SealedKey::from_bytes(&grant.sealed)?, &aad)
        else {
            return Ok(());
        };
        let wrapped = keys
            .new
            .wrap(
                &key,
                &vault_key_for_user_aad(&owner, vault, grant.key_version),
            )?
            .to_bytes();
        self.store.convert_grant(&grant, wrapped).await?;
        Ok(())
    }
}

/// The pair a user key opens from a stored private key.
pub(super) fn old_pair(old: &UserKey, user: &Id, wrapped: &[u8]) -> Result<UserKeyPair> {
    Ok(UserKeyPair::unwrap(
        old,
        user,
        &Envelope::from_bytes(wrapped)?,
    )?)
}
