//! Rotating an end-to-end vault (END-TO-END.md §8, §9): after a token is revoked or a
//! member removed the server marks the vault due and refuses writes until the vault
//! owner's client rotates it (only the owner's identity signs a vault key others
//! accept). The new key goes to every remaining holder sealed to a key verified
//! through its signature chain — a member's X25519 key signed by their pinned identity, a
//! token's key signed by its user's — and to no key the chain does not verify.

use std::collections::HashMap;

use keyslot_crypto::identity::IdentityPublic;
use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{
    Id, PublicKey, RecipientKind, VaultKey, VaultKeyPair, Wraps, grant_aad, seal_to, wrap_chain,
};
use reqwest::Method;

use super::account::{E2eSession, to_json};
use super::checks::Refusal;
use super::wire::{self, B64, WireId};
use super::{E2eError, E2eResult};
use crate::{Client, segment};

/// A holder the new key is sealed to, verified.
#[derive(Debug)]
pub(crate) struct Verified {
    pub kind: RecipientKind,
    pub id: Id,
    pub public: PublicKey,
}

/// The role byte bound into the signed member list (FORMAT §11.4).
pub(crate) fn role_byte(role: &str) -> u8 {
    use keyslot_crypto::identity::role;
    match role {
        "owner" => role::OWNER,
        "write" => role::WRITE,
        _ => role::READ,
    }
}

pub(crate) async fn holders(client: &Client, vault: &Id) -> E2eResult<wire::Holders> {
    Ok(client
        .get(&format!(
            "/v1/vaults/{}/holders",
            segment(&vault.to_string())
        ))
        .await?)
}

/// The member list to sign: each member whose identity this user pinned, with its role.
pub(crate) fn member_list(
    holders: &wire::Holders,
    pinned: &HashMap<Id, IdentityPublic>,
) -> Vec<(Id, u8, IdentityPublic)> {
    holders
        .holders
        .iter()
        .filter(|h| h.kind == "user")
        .filter_map(|m| {
            pinned.get(&m.user_id.0).map(|identity| {
                (
                    m.user_id.0,
                    role_byte(m.role.as_deref().unwrap_or("read")),
                    *identity,
                )
            })
        })
        .collect()
}

/// Verify every holder but `me` (its own slot is wrapped, not sealed) through its chain:
/// a member's key signed by that member's pinned identity, a token's signed by its
/// user's. Refuses the first that fails; an identity the server sends that differs from
/// the pinned one is refused too.
pub(crate) fn verify_holders(
    me: &Id,
    holders: &wire::Holders,
    pinned: &HashMap<Id, IdentityPublic>,
) -> Result<Vec<Verified>, Refusal> {
    let mut out = Vec::new();
    for h in &holders.holders {
        let kind = match h.kind.as_str() {
            "user" if h.id.0 == *me => continue,
            "user" => RecipientKind::User,
            "token" => RecipientKind::Token,
            _ => {
                return Err(Refusal::Mismatch {
                    what: format!("a holder of unknown kind {:?}", h.kind),
                });
            }
        };
        let what = match kind {
            RecipientKind::Token => format!("token {}'s key", h.id.0),
            _ => format!("member {}'s X25519 key", h.user_id.0),
        };
        let identity = pinned.get(&h.user_id.0).ok_or_else(|| Refusal::NotPinned {
            user: h.user_id.0.to_string(),
        })?;
        if let Some(given) = &h.identity_public
            && given.0.as_slice() != identity.as_bytes().as_slice()
        {
            return Err(Refusal::PinMismatch {
                user: h.user_id.0.to_string(),
            });
        }
        let unverified = || Refusal::UnverifiedKey { what: what.clone() };
        let public = h
            .public_key
            .to_public("public_key")
            .map_err(|_| unverified())?;
        let signature = h.signature.as_ref().ok_or_else(unverified)?;
        let signature = super::sig::parse(signature, "signature").map_err(|_| unverified())?;
        let verified = match kind {
            RecipientKind::Token => {
                identity.verify_token_key(&h.user_id.0, &h.id.0, &public, &signature)
            }
            _ => identity.verify_user_x25519(&h.user_id.0, &public, &signature),
        };
        verified.map_err(|_| unverified())?;
        out.push(Verified {
            kind,
            id: h.id.0,
            public,
        });
    }
    Ok(out)
}

impl E2eSession {
    /// Rotate `vault` to a new key (`POST /v1/vaults/{vault}/rotate`), which only its
    /// owner may (anyone else: [`E2eError::Invalid`] naming `vault`, nothing sent): the
    /// new key's chain link, its public key signed by this user, the name sealed again,
    /// this user's slot, and a grant for every other holder sealed to its verified key.
    /// Refuses (and sends nothing) if any holder's key does not verify. Returns the new key version.
    pub async fn rotate_vault(&self, vault: &Id) -> E2eResult<u32> {
        let (v, mut ring) = self.keyring(vault).await?;
        let owner = v.owner_id.0;
        // Every client checks a vault key's signature under the owner's identity, so only
        // the owner can make one that opens for everyone; the server refuses anyone else
        // (409 rotation-due while due), and so does this client, before sealing anything.
        if owner != self.user {
            return Err(E2eError::Invalid(vec![(
                "vault".into(),
                "is rotated only by its owner: the owner's client runs the due rotation".into(),
            )]));
        }
        let old_version = v.key_version;
        if ring.newest != old_version {
            return Err(E2eError::protocol(
                "this user does not hold the vault's current key",
            ));
        }
        let holders = holders(&self.client, vault).await?;
        if holders.key_version != old_version || holders.owner_id.0 != owner {
            return Err(Refusal::Mismatch {
                what: "the holders list is for another key version or owner".into(),
            }
            .into());
        }
        self.refuse_ended(vault, &holders)?;
        let pinned = self.pinned().await?;
        let verified = verify_holders(&self.user, &holders, &pinned)?;
        self.check_member_list(vault, &holders, &pinned)?;

        let old = ring.at(old_version)?;
        let name = keyslot_crypto::item::open_vault_name(
            old,
            &owner,
            vault,
            old_version,
            &v.sealed_name.0,
        )?;
        let new_version = old_version
            .checked_add(1)
            .ok_or_else(|| E2eError::protocol("no key version follows"))?;
        let new = VaultKey::generate()?;
        let public = VaultKeyPair::derive(&new, vault, new_version).public_key();
        // The owner signs the member list at the new version.
        let members_signature = Some(super::sig::b64(&self.identity.sign_members(
            vault,
            new_version,
            &member_list(&holders, &pinned),
        )?));
        let mut grants = Vec::with_capacity(verified.len());
        for holder in &verified {
            let aad = grant_aad(&owner, vault, new_version, holder.kind, &holder.id);
            grants.push(wire::Grant {
                holder: WireId(holder.id),
                sealed: B64::sealed(&seal_to(&holder.public, &new, &aad)?),
            });
        }
        let body = wire::Rotate {
            key_version: new_version,
            chain_link: B64::envelope(&wrap_chain(&new, old, &owner, vault, old_version)?),
            public_key: B64::public(&public),
            public_key_signature: super::sig::b64(&self.identity.sign_vault_key(
                vault,
                new_version,
                &public,
            )),
            sealed_name: B64::of(keyslot_crypto::item::seal_vault_name(
                &new,
                &owner,
                vault,
                new_version,
                &name,
            )?),
            own_slot: B64::envelope(
                &self
                    .user_key
                    .wrap(&new, &vault_key_for_user_aad(&owner, vault, new_version))?,
            ),
            grants,
            members_signature,
        };
        let rotated: crate::Rotated = self
            .client
            .send(
                Method::POST,
                &format!("/v1/vaults/{}/rotate", segment(&vault.to_string())),
                &to_json(&body)?,
            )
            .await?;
        if rotated.key_version != new_version {
            return Err(Refusal::Mismatch {
                what: format!(
                    "rotated to version {new_version}, the server answered {}",
                    rotated.key_version
                ),
            }
            .into());
        }
        Ok(new_version)
    }
}

#[cfg(test)]
mod tests {
    use keyslot_crypto::identity::IdentityKeyPair;
    use keyslot_crypto::{TokenKeyPair, UserKeyPair};
    use serde_json::json;

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    struct World {
        me: Id,
        bob: Id,
        bob_identity: IdentityKeyPair,
        bob_pair: UserKeyPair,
        token: Id,
        token_pair: TokenKeyPair,
        server: IdentityKeyPair,
        server_pair: UserKeyPair,
        pinned: HashMap<Id, IdentityPublic>,
    }

    fn world() -> World {
        let me = Id::random().unwrap();
        let bob = Id::random().unwrap();
        let bob_identity = IdentityKeyPair::generate().unwrap();
        let token = keyslot_crypto::E2eTokenCredential::generate().unwrap();
        let me_identity = IdentityKeyPair::generate().unwrap();
        let mut pinned = HashMap::new();
        pinned.insert(me, me_identity.public());
        pinned.insert(bob, bob_identity.public());
        World {
            me,
            bob,
            bob_identity,
            bob_pair: UserKeyPair::generate().unwrap(),
            token: *token.id(),
            token_pair: TokenKeyPair::derive(&token),
            server: IdentityKeyPair::generate().unwrap(),
            server_pair: UserKeyPair::generate().unwrap(),
            pinned,
        }
    }

    fn member(w: &World, key: &PublicKey, signer: &IdentityKeyPair) -> serde_json::Value {
        json!({
            "kind": "user", "id": w.bob.to_string(), "user_id": w.bob.to_string(),
            "role": "read", "public_key": b64(key.as_bytes()),
            "signature": b64(signer.sign_user_x25519(&w.bob, key).as_bytes()),
            "identity_public": b64(signer.public().as_bytes()),
        })
    }

    fn token(w: &World, key: &PublicKey, signer: &IdentityKeyPair) -> serde_json::Value {
        json!({
            "kind": "token", "id": w.token.to_string(), "user_id": w.bob.to_string(),
            "public_key": b64(key.as_bytes()),
            "signature": b64(signer.sign_token_key(&w.bob, &w.token, key).as_bytes()),
        })
    }

    fn holders(w: &World, entries: Vec<serde_json::Value>) -> wire::Holders {
        serde_json::from_value(json!({
            "owner_id": w.me.to_string(), "key_version": 1, "rotation_due": true,
            "members_signature": null, "holders": entries,
        }))
        .unwrap()
    }

    #[test]
    fn holders_verified_through_their_pinned_identities_are_sealed_to() {
        let w = world();
        let bob_key = w.bob_pair.public_key();
        let token_key = w.token_pair.public_key();
        let h = holders(
            &w,
            vec![
                member(&w, &bob_key, &w.bob_identity),
                token(&w, &token_key, &w.bob_identity),
            ],
        );
        let verified = verify_holders(&w.me, &h, &w.pinned).unwrap();
        assert_eq!(verified.len(), 2);
        assert_eq!(verified[0].public, bob_key);
        assert_eq!(verified[1].kind, RecipientKind::Token);
        assert_eq!(verified[1].public, token_key);
    }

    #[test]
    fn a_substituted_key_is_refused_whoever_signs_it() {
        let w = world();
        let theirs = w.server_pair.public_key();
        // The server's own key under bob's old signature: does not verify.
        let mut forged = member(&w, &w.bob_pair.public_key(), &w.bob_identity);
        forged["public_key"] = json!(b64(theirs.as_bytes()));
        let r = verify_holders(&w.me, &holders(&w, vec![forged]), &w.pinned);
        assert!(matches!(r, Err(Refusal::UnverifiedKey { .. })), "{r:?}");
        // The server's key signed by the server's identity, sent as bob's: the identity is
        // not the pinned one.
        let r = verify_holders(
            &w.me,
            &holders(&w, vec![member(&w, &theirs, &w.server)]),
            &w.pinned,
        );
        assert!(matches!(r, Err(Refusal::PinMismatch { .. })), "{r:?}");
        // ... and without the identity field, the pinned identity refuses the signature.
        let mut quiet = member(&w, &theirs, &w.server);
        quiet["identity_public"] = serde_json::Value::Null;
        let r = verify_holders(&w.me, &holders(&w, vec![quiet]), &w.pinned);
        assert!(matches!(r, Err(Refusal::UnverifiedKey { .. })), "{r:?}");
        // A token's key replaced by the server's.
        let r = verify_holders(
            &w.me,
            &holders(&w, vec![token(&w, &theirs, &w.server)]),
            &w.pinned,
        );
        assert!(matches!(r, Err(Refusal::UnverifiedKey { .. })), "{r:?}");
        // No signature at all.
        let mut unsigned = token(&w, &w.token_pair.public_key(), &w.bob_identity);
        unsigned["signature"] = serde_json::Value::Null;
        let r = verify_holders(&w.me, &holders(&w, vec![unsigned]), &w.pinned);
        assert!(matches!(r, Err(Refusal::UnverifiedKey { .. })), "{r:?}");
    }

    #[test]
    fn a_holder_whose_identity_was_never_confirmed_is_refused() {
        let mut w = world();
        w.pinned.remove(&w.bob);
        let h = holders(
            &w,
            vec![member(&w, &w.bob_pair.public_key(), &w.bob_identity)],
        );
        let r = verify_holders(&w.me, &h, &w.pinned);
        assert!(matches!(r, Err(Refusal::NotPinned { .. })), "{r:?}");
    }
}
