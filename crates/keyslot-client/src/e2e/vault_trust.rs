//! Whether a vault key the server handed over is one its owner's side made
//! (END-TO-END.md §10; review R1 finding 2).
//!
//! A slot *wrapped* for this caller (under its user key or the token's wrap key) was made
//! by this caller's own side, so it is authentic. A *grant* is a key sealed to this
//! caller's public key (HPKE base mode), which anyone can make, the server included: a
//! server that handed out a key of its own making would read everything written under it
//! afterwards. So a vault key is trusted only when
//!
//! - the vault's public key is the one the key derives ([`VaultKeyPair`]), and
//! - that public key is signed by the vault owner's identity (only the owner rotates),
//!   known without the server's word: for a member, its own identity (an own vault) or
//!   the owner's as it pinned it (`confirm_user`); for a `kse_` token, the identity its
//!   id commits to (`keyslot_crypto::token_anchor`), so a token opens grants of its own
//!   user's vaults only.
//!
//! A grant that fails is refused before it is converted, and so before anything is sealed
//! or written under it. A wrapped slot is checked the same way: a member's needs the
//! owner confirmed too (it may have been converted from a grant before grants were
//! checked); only a token minted before anchors, whose id commits to no identity, has its
//! wrapped slots (made by its owner at mint) vouched for by the wrap alone.

use keyslot_crypto::identity::IdentityPublic;
use keyslot_crypto::{Id, VaultKey, VaultKeyPair};

use super::checks::Refusal;
use super::keyring::Opener;
use super::wire::{self, Slot};
use super::{E2eError, E2eResult};
use crate::Client;

/// Check `key`, opened from `slot`, against the vault's public key and its signature.
pub(crate) async fn check(
    client: &Client,
    opener: &Opener<'_>,
    row: &wire::Vault,
    slot: &Slot,
    key: &VaultKey,
) -> E2eResult<()> {
    if matches!(opener, Opener::Token { anchor: None, .. }) {
        // A server-mode `kst_` token: its server holds the keys anyway.
        return Ok(());
    }
    let vault = row.id.0;
    let version = slot.key_version();
    let is_grant = matches!(slot, Slot::Grant { .. });
    let what = || format!("the key of vault {vault} (version {version}) the server granted");
    if version != row.key_version {
        // Only the current version's public key is published: an older grant cannot be
        // checked, so it is not used. An older wrapped slot opens old items only.
        return if is_grant {
            Err(Refusal::UnverifiedKey { what: what() }.into())
        } else {
            Ok(())
        };
    }
    let unverified = || E2eError::from(Refusal::UnverifiedKey { what: what() });
    let public = row
        .public_key
        .as_ref()
        .ok_or_else(unverified)?
        .to_public("public_key")
        .map_err(|_| unverified())?;
    if VaultKeyPair::derive(key, &vault, version).public_key() != public {
        return Err(unverified());
    }
    let signature = match &row.public_key_signature {
        Some(s) => Some(super::sig::parse(s, "public_key_signature").map_err(|_| unverified())?),
        None => None,
    };
    let (trusted, owner_known) =
        trusted_identities(client, opener, &row.owner_id.0, &vault).await?;
    let verified = signature.as_ref().is_some_and(|signature| {
        trusted.iter().any(|identity| {
            identity
                .verify_vault_key(&vault, version, &public, signature)
                .is_ok()
        })
    });
    match (verified, is_grant, owner_known) {
        (true, _, _) => Ok(()),
        // A token's wrapped slot when its id commits to no identity (minted before
        // anchors): its owner's client made that slot at mint, so the wrap vouches.
        (false, false, false) if matches!(opener, Opener::Token { .. }) => Ok(()),
        // A member's slot in a vault whose owner it never confirmed: it may have been
        // converted from a grant before grants were checked, so the owner is confirmed
        // first.
        (false, _, false) => Err(match opener {
            Opener::Member { .. } => Refusal::NotPinned {
                user: row.owner_id.0.to_string(),
            },
            Opener::Token { .. } => Refusal::UnverifiedKey {
                what: format!(
                    "{} (this token's id does not commit to an identity that signed it; \
                     a token minted before anchors must be minted again)",
                    what()
                ),
            },
        }
        .into()),
        (false, _, true) => Err(unverified()),
    }
}

/// The identities whose signature over a vault key this caller accepts, and whether one
/// of them is the owner's (or, for a token, its anchor's).
async fn trusted_identities(
    client: &Client,
    opener: &Opener<'_>,
    owner: &Id,
    vault: &Id,
) -> E2eResult<(Vec<IdentityPublic>, bool)> {
    match opener {
        Opener::Member { session, .. } => {
            // Only the owner rotates (END-TO-END §8), so only the owner's identity signs
            // a vault key: its own for an own vault, else the one this user pinned.
            let owner_identity = if *owner == session.user {
                Some(session.identity.public())
            } else {
                session.pinned().await?.remove(owner)
            };
            let known = owner_identity.is_some();
            Ok((owner_identity.into_iter().collect(), known))
        }
        Opener::Token {
            token,
            anchor: Some(anchor),
            ..
        } => {
            // The server names identities (the holders' users'); only the one this
            // token's id commits to counts.
            let holders = super::rotation::holders(client, vault).await?;
            let anchored: Vec<IdentityPublic> = holders
                .holders
                .iter()
                .filter_map(|h| h.identity_public.as_ref())
                .filter_map(|b| super::sig::identity(b, "identity_public").ok())
                .filter(|identity| anchor.anchors(token, identity))
                .take(1)
                .collect();
            let known = !anchored.is_empty();
            Ok((anchored, known))
        }
        Opener::Token { anchor: None, .. } => Ok((Vec::new(), false)),
    }
}
