//! The crypto of a user-key swap, with no I/O: everything read under the old user key is
//! opened and wrapped again under the new one (`user_keys` drives it and writes the
//! result in one transaction, `crate::user_key_store`).
//!
//! - A member slot is re-wrapped at the newest version the user can reach: its own, or a
//!   grant still pending to the old public key (opened with the old private key, which
//!   dies with this swap, so the grant must be converted now or never).
//! - A token's name key (content key of its name, under the user key) is re-wrapped; the
//!   name itself is untouched.
//! - A deposit copy sealed to the old public key (made while its vault's rotation was due)
//!   is opened with the old private key and sealed to the new public key, under the same
//!   AAD: like a pending grant, now or never.
//! - The new X25519 pair's private half is wrapped under the new user key.

use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{
    Aad, CredentialKind, Envelope, Id, ItemKey, PublicKey, Purpose, RecipientKind, SealedKey,
    UserKey, UserKeyPair, VaultKey, Wraps, deposit_aad, grant_aad, open_from, seal_to,
};

use crate::Result;
use crate::user_key_store::UserKeyHoldings;

/// What the swap writes for the user's slots, wrapped under the new user key.
pub(super) struct Rewrapped {
    /// `(vault, version read, version now, wrapped)` per member slot.
    pub(super) members: Vec<(Id, u32, u32, Vec<u8>)>,
    /// The grants opened, `(vault, version)`.
    pub(super) grants: Vec<(Id, u32)>,
    /// Each token's name key, re-wrapped.
    pub(super) token_name_keys: Vec<(Id, Vec<u8>)>,
    /// Each deposit copy, sealed to the new public key.
    pub(super) deposit_copies: Vec<(Id, Vec<u8>)>,
    /// The new pair's private half under the new user key.
    pub(super) wrapped_private_key: Vec<u8>,
}

/// The AAD of a token name's content key (as `tokens` wraps it).
fn name_key_aad(user: &Id, token: &Id) -> Aad {
    Aad::new(Purpose::TokenNameKey)
        .user(user)
        .credential(CredentialKind::Token, token)
}

/// Open everything in `held` with `old` (and the old pair) and wrap it under `new`.
pub(super) fn rewrap(
    user: &Id,
    held: &UserKeyHoldings,
    old: &UserKey,
    new: &UserKey,
    new_pair: &UserKeyPair,
) -> Result<Rewrapped> {
    let old_pair =
        UserKeyPair::unwrap(old, user, &Envelope::from_bytes(&held.user.x25519_wrapped)?)?;
    let mut members = Vec::with_capacity(held.members.len());
    for slot in &held.members {
        let (vault, owner) = (&slot.vault_id, &slot.owner);
        // The newest key reachable: the slot's own (version 0 is an empty slot) or a
        // pending grant's.
        let mut best: Option<(u32, VaultKey)> = None;
        if slot.key_version > 0 {
            let key = old.unwrap_key(
                &Envelope::from_bytes(&slot.wrapped_vault_key)?,
                &vault_key_for_user_aad(owner, vault, slot.key_version),
            )?;
            best = Some((slot.key_version, key));
        }
        for grant in held.grants.iter().filter(|g| g.vault_id == *vault) {
            if best.as_ref().is_some_and(|(v, _)| *v >= grant.key_version) {
                continue;
            }
            let aad = grant_aad(owner, vault, grant.key_version, RecipientKind::User, user);
            let key: VaultKey = open_from(&old_pair, &SealedKey::from_bytes(&grant.sealed)?, &aad)?;
            best = Some((grant.key_version, key));
        }
        let (version, wrapped) = match best {
            Some((version, key)) => (
                version,
                new.wrap(&key, &vault_key_for_user_aad(owner, vault, version))?
                    .to_bytes(),
            ),
            // Still empty, and no grant to fill it: it stays as it is.
            None => (slot.key_version, slot.wrapped_vault_key.clone()),
        };
        members.push((*vault, slot.key_version, version, wrapped));
    }
    let mut token_name_keys = Vec::with_capacity(held.token_name_keys.len());
    for (token, wrapped) in &held.token_name_keys {
        let aad = name_key_aad(user, token);
        let key: ItemKey = old.unwrap_key(&Envelope::from_bytes(wrapped)?, &aad)?;
        token_name_keys.push((*token, new.wrap(&key, &aad)?.to_bytes()));
    }
    let new_public = PublicKey::from(new_pair.public());
    let mut deposit_copies = Vec::with_capacity(held.deposit_copies.len());
    for copy in &held.deposit_copies {
        // The deposit's own AAD (item version 1), the user as recipient, as it was sealed.
        let aad = deposit_aad(
            &copy.owner,
            &copy.vault_id,
            &copy.deposit_id,
            1,
            copy.key_version,
        )
        .recipient(RecipientKind::User, user);
        let key: ItemKey = open_from(
            &old_pair,
            &SealedKey::from_bytes(&copy.sealed_item_key)?,
            &aad,
        )?;
        deposit_copies.push((
            copy.deposit_id,
            seal_to(&new_public, &key, &aad)?.to_bytes(),
        ));
    }
    Ok(Rewrapped {
        members,
        deposit_copies,
        grants: held
            .grants
            .iter()
            .map(|g| (g.vault_id, g.key_version))
            .collect(),
        token_name_keys,
        wrapped_private_key: new_pair.wrap(new, user)?.to_bytes(),
    })
}
