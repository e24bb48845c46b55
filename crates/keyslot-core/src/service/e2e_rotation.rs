//! A client's rotation of an end-to-end vault (END-TO-END §8), and the holders it must
//! seal to. The server never makes a key: it checks that the grants name exactly the
//! vault's remaining holders — its members and its live tokens with a slot, as the store
//! finds them — besides the caller's own slot, and answers who is missing and who is
//! extra otherwise, so the client fetches the holders again. Under the vault's lock the
//! store checks the same set once more, so a mint or revocation racing the request cannot
//! slip between.

use std::collections::BTreeMap;

use keyslot_crypto::{Id, RecipientKind, Signature, public_key_mac};

use super::e2e_fields::{Fields, encode};
use super::e2e_lifecycle::SealedFor;
use super::lifecycle::holder_of;
use super::{Keyslot, now};
use crate::e2e_lifecycle_store::ClientRotation;
use crate::keystore::{Grant, Holder, Rotation};
use crate::memberstore::Role;
use crate::model::Outcome;
use crate::store::StoreError;
use crate::{ClientActor, Error, Principal, Result};

/// An end-to-end client's rotation, as sent (every byte field base64url).
#[derive(Debug, Clone, Default)]
pub struct ClientRotate {
    /// The new version: the vault's current one plus one.
    pub key_version: u32,
    /// The current key wrapped under the new one (FORMAT §10).
    pub chain_link: String,
    /// The vault's name sealed under the new key.
    pub sealed_name: String,
    /// The new version's X25519 public key.
    pub public_key: String,
    /// The owner's identity signature over `(vault, key_version, public_key)`.
    pub public_key_signature: String,
    /// The new key wrapped for the caller (under its user key, or its token's wrap key).
    pub own_slot: String,
    /// The new key sealed to every other remaining holder.
    pub grants: Vec<SealedFor>,
    /// The owner's signature over the member list at the new version (owner only).
    pub members_signature: Option<String>,
}

/// What a client rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRotated {
    /// Committed: the new current version.
    Done(u32),
    /// Nothing committed: the grants do not name exactly the remaining holders.
    Holders(HolderMismatch),
}

/// Who a rotation's grants left out, and whom they named that holds nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HolderMismatch {
    /// Remaining holders with no grant.
    pub missing: Vec<Holder>,
    /// Ids given a grant that are no remaining holder (or the caller itself).
    pub extra: Vec<Id>,
}

/// One holder of a vault's key as a client sees it before sealing: its public key and
/// what vouches for it. Byte fields are base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderView {
    /// A member or a token.
    pub holder: Holder,
    /// The user it belongs to (a token's user; a member's own id).
    pub user_id: Id,
    /// A member's role (`None` for a token, which acts within its user's).
    pub role: Option<Role>,
    /// Its X25519 public key.
    pub public_key: String,
    /// The identity signature over it (member: their own; token: its user's at mint).
    pub signature: Option<String>,
    /// The identity public key of the signing user.
    pub identity_public: Option<String>,
}

/// What to seal to at the vault's current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultHolders {
    /// The vault's owner (the user its keys' AADs name).
    pub owner: Id,
    /// The current key version.
    pub key_version: u32,
    /// Whether a rotation is due.
    pub rotation_due: bool,
    /// The owner's signature over the member list, if it is current.
    pub members_signature: Option<String>,
    /// Members, then live tokens holding a slot.
    pub holders: Vec<HolderView>,
}

impl Keyslot {
    /// What a client seals to at `vault`'s current version: every remaining holder with
    /// its public key and the signature that vouches for it (END-TO-END §5). Any holder of
    /// a key of the vault may ask.
    pub async fn vault_holders(&self, principal: &Principal, vault: &Id) -> Result<VaultHolders> {
        let access = self.client_access(principal, vault).await?;
        let at = now();
        let holders = self.holder_views(vault, at).await?;
        let members_signature = self.store.members_signature(vault).await?;
        Ok(VaultHolders {
            owner: access.state.owner,
            key_version: access.state.key_version,
            rotation_due: access.state.is_due(at),
            members_signature: members_signature.as_deref().map(encode),
            holders,
        })
    }

    /// The holders a rotation at `at` seals to (and a deposit made while due), each with
    /// its public key and what vouches for it.
    pub(super) async fn holder_views(
        &self,
        vault: &Id,
        at: crate::model::Timestamp,
    ) -> Result<Vec<HolderView>> {
        let holders = self.store.rotation_holders(vault, at).await?;
        let roles: BTreeMap<Id, Role> = self
            .store
            .members(vault)
            .await?
            .into_iter()
            .map(|m| (m.user_id, m.role))
            .collect();
        let signatures: Vec<_> = self.store.holder_signatures(vault).await?;
        Ok(holders
            .into_iter()
            .map(|h| {
                let signed = signatures.iter().find(|s| s.holder == h.holder);
                HolderView {
                    holder: h.holder,
                    user_id: h.user_id,
                    role: match h.holder {
                        Holder::User(id) => roles.get(&id).copied(),
                        Holder::Token(_) => None,
                    },
                    public_key: encode(&h.public_key),
                    signature: signed.and_then(|s| s.signature.as_deref()).map(encode),
                    identity_public: signed
                        .and_then(|s| s.identity_public.as_deref())
                        .map(encode),
                }
            })
            .collect())
    }

    /// A client's rotation of an end-to-end vault (END-TO-END §8): only the owner's own
    /// session rotates, at any time, and its new public key must carry the owner's
    /// identity signature (422 naming `public_key_signature` otherwise). Anyone else gets
    /// 409 `rotation-due` while due (the owner must rotate) and 403 otherwise.
    pub async fn rotate_vault_client(
        &self,
        principal: &Principal,
        vault: &Id,
        body: &ClientRotate,
    ) -> Result<ClientRotated> {
        let mut fields = Fields::default();
        let chain = fields.envelope("chain_link", &body.chain_link);
        let name = fields.envelope("sealed_name", &body.sealed_name);
        let public_key = fields.public_key("public_key", &body.public_key);
        let public_key_signature =
            fields.signature("public_key_signature", &body.public_key_signature);
        let own_slot = fields.envelope("own_slot", &body.own_slot);
        let members_signature = body
            .members_signature
            .as_deref()
            .and_then(|s| fields.signature("members_signature", s));
        let grants = fields.grants("grants", &body.grants);
        fields.done()?;
        let (Some(chain), Some(name), Some(public_key), Some(public_key_signature), Some(own_slot)) =
            (chain, name, public_key, public_key_signature, own_slot)
        else {
            return Err(Error::Internal("validated rotation lost a field".into()));
        };
        if !principal.is_client_side() {
            return Err(Error::Forbidden(
                "this vault is rotated by the server: POST without a body",
            ));
        }
        let access = self.client_access(principal, vault).await?;
        let state = access.state;
        if !self.is_end_to_end(&state.owner).await? {
            return Err(Error::Forbidden(
                "a server-mode vault is rotated by the server, which holds its key",
            ));
        }
        let at = now();
        // Only the vault's owner — the user its keys' AADs name, whose identity every
        // client checks a vault key's signature under — rotates, from their own session:
        // a member's or a token's rotation would carry a signature no client accepts (a
        // token has no identity at all), leaving the vault unopenable for everyone. While
        // due, others wait (409 rotation-due) until the owner's client runs it.
        let is_owner_session = matches!(
            principal,
            Principal::Client {
                actor: ClientActor::Session { .. },
                user,
                ..
            } if *user == state.owner
        );
        if !is_owner_session {
            if state.is_due(at) {
                return Err(Error::RotationDue {
                    retry_after: 60,
                    detail: "the vault's owner must rotate it: only their session signs its next key",
                });
            }
            return Err(Error::Forbidden(
                "rotating an end-to-end vault needs its owner's session",
            ));
        }
        if Some(body.key_version) != state.key_version.checked_add(1) {
            // The new version is the current one plus one: 409 stale-key-version naming it.
            return Err(Error::StaleKeyVersion {
                current: state.key_version,
            });
        }
        let to = body.key_version;
        let identity = self.identity_of(&state.owner).await?;
        let signed = Signature::from_slice(&public_key_signature)
            .and_then(|signature| identity.verify_vault_key(vault, to, &public_key, &signature));
        if signed.is_err() {
            return Err(Error::invalid(
                "public_key_signature",
                "does not verify under the vault owner's identity key over (vault, key_version, public_key)",
            ));
        }
        let own = holder_of(principal);
        let remaining = self.store.rotation_holders(vault, at).await?;
        let mismatch = holder_mismatch(&remaining, own, &grants);
        if !mismatch.missing.is_empty() || !mismatch.extra.is_empty() {
            return Ok(ClientRotated::Holders(mismatch));
        }
        let grants: Vec<Grant> = grants
            .into_iter()
            .filter_map(|(id, sealed)| {
                let holder = remaining.iter().find(|h| id_of(h.holder) == id)?.holder;
                Some(Grant {
                    holder,
                    vault_id: *vault,
                    key_version: to,
                    sealed,
                })
            })
            .collect();
        let (owner, holder) = (state.owner, *vault);
        let mac = self
            .seal_calls
            .run(move |seal| {
                Ok(public_key_mac(
                    seal,
                    RecipientKind::Vault,
                    &holder,
                    &owner,
                    Some(&holder),
                    Some(to),
                    &public_key,
                )?)
            })
            .await?;
        let audit = principal.event(
            "vault.rotate",
            Outcome::Ok,
            format!(
                "vault={vault} key_version={to} trigger={} grants={} by=client",
                if state.is_due(at) { "due" } else { "asked" },
                grants.len()
            ),
        );
        let rotation = ClientRotation {
            rotation: Rotation {
                vault: *vault,
                from_version: state.key_version,
                chain,
                name,
                own_slot: Some((own, own_slot)),
                grants,
                now: at,
                audit,
            },
            public_key: public_key.as_bytes().to_vec(),
            public_key_mac: mac.to_vec(),
            public_key_signature,
            members_signature,
        };
        match self.store.rotate_vault_client(rotation).await {
            Ok(()) => Ok(ClientRotated::Done(to)),
            Err(StoreError::KeyVersionMoved) => Err(Error::Conflict(
                "the vault's version or holders changed while rotating: fetch its holders again",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

pub(super) const fn id_of(holder: Holder) -> Id {
    match holder {
        Holder::User(id) | Holder::Token(id) => id,
    }
}

/// The remaining holders other than the caller that `grants` leaves out, and the ids it
/// names that are none of them.
pub(super) fn holder_mismatch(
    remaining: &[crate::keystore::PublicHolder],
    own: Holder,
    grants: &[(Id, Vec<u8>)],
) -> HolderMismatch {
    let expected: Vec<Holder> = remaining
        .iter()
        .map(|h| h.holder)
        .filter(|h| *h != own)
        .collect();
    HolderMismatch {
        missing: expected
            .iter()
            .filter(|h| !grants.iter().any(|(id, _)| *id == id_of(**h)))
            .copied()
            .collect(),
        extra: grants
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !expected.iter().any(|h| id_of(*h) == *id))
            .collect(),
    }
}
