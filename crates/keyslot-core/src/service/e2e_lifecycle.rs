//! Sharing and rotation for callers that do their own crypto (docs/END-TO-END.md §8):
//! the client seals, wraps and signs; the server checks shapes, who may do what, and the
//! rules of server mode (DESIGN §3.1) that it can check without a key.
//!
//! - **No sharing across modes.** A vault shared between an end-to-end and a server-mode
//!   account would hand its key to a server that may unwrap it: refused 422 naming
//!   `username`, whichever side is end-to-end (the server-mode side is checked in
//!   `members.rs`).
//! - **A share** carries the vault key sealed by the owner's client to the member's
//!   X25519 key (which the client verified through the member's identity signature and
//!   its pin), stored as the member's pending grant exactly as a server-mode share stores
//!   one; the member's client converts it (`PUT /v1/vaults/{vault}/slot`).
//! - **A removal or revocation** makes the vault due, as in server mode, but the server
//!   holds no key to rotate it with: it keeps the mark, writes answer 409 `rotation-due`,
//!   and a client holding the current key rotates.
//! - **A client's rotation** commits only if its grants name exactly the vault's remaining
//!   holders — its members and its live tokens with a slot, as the store finds them —
//!   besides the caller's own slot. Otherwise 409 naming who is missing and who is extra,
//!   so the client fetches the holders again; under the vault's lock the store checks the
//!   same set once more, so a mint or revocation racing the request cannot slip between.
//!   The server never makes a key.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyslot_crypto::{Envelope, Id, PublicKey, RecipientKind, SealedKey, public_key_mac};

use super::lifecycle::holder_of;
use super::members::SHARE_LOOKUPS_PER_HOUR;
use super::{Keyslot, now};
use crate::e2e_lifecycle_store::ClientRotation;
use crate::keystore::{Grant, Holder, Rotation, VaultAccess};
use crate::memberstore::{MemberRow, NewMember, Role};
use crate::model::Outcome;
use crate::store::StoreError;
use crate::{ClientActor, Error, FieldError, Principal, Result};

/// Bytes of an Ed25519 signature (FORMAT §11.4).
const SIGNATURE_BYTES: usize = 64;

/// A key sealed by a client to one holder, as sent: the holder's id (a user's or a
/// token's) and the sealed key, base64url.
#[derive(Debug, Clone)]
pub struct SealedFor {
    /// The user id or token id, as text.
    pub holder: String,
    /// The sealed key (FORMAT §9), base64url.
    pub sealed: String,
}

/// An end-to-end owner's share, as sent (every byte field base64url).
#[derive(Debug, Clone, Default)]
pub struct ClientShare {
    /// The user to share with.
    pub username: String,
    /// `read`, `write` or `owner`.
    pub role: String,
    /// The vault key version sealed (the vault's current one).
    pub key_version: Option<u32>,
    /// The vault key sealed to the member's X25519 key.
    pub grant: Option<String>,
    /// The owner's identity signature over the new member list.
    pub members_signature: Option<String>,
    /// The same key sealed to each of the member's live `"*"` tokens.
    pub token_grants: Vec<SealedFor>,
}

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

fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Collects every field problem of one body, so the answer names them all at once.
#[derive(Default)]
struct Fields(Vec<FieldError>);

impl Fields {
    fn bad(&mut self, field: impl Into<String>, message: &str) {
        self.0.push(FieldError::new(field, message));
    }

    /// base64url bytes, or a problem naming `field`.
    fn bytes(&mut self, field: &str, text: &str) -> Option<Vec<u8>> {
        match URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')) {
            Ok(b) if !b.is_empty() => Some(b),
            _ => {
                self.bad(field, "must be non-empty base64url");
                None
            }
        }
    }

    fn required<'a>(&mut self, field: &str, value: Option<&'a String>) -> Option<&'a str> {
        let value = value.map(String::as_str);
        if value.is_none() {
            self.bad(field, "is required for an end-to-end vault");
        }
        value
    }

    fn envelope(&mut self, field: &str, text: &str) -> Option<Vec<u8>> {
        let bytes = self.bytes(field, text)?;
        if Envelope::from_bytes(&bytes).is_err() {
            self.bad(field, "is not an envelope (FORMAT §6)");
            return None;
        }
        Some(bytes)
    }

    fn sealed(&mut self, field: &str, text: &str) -> Option<Vec<u8>> {
        let bytes = self.bytes(field, text)?;
        if SealedKey::from_bytes(&bytes).is_err() {
            self.bad(field, "is not a sealed key (FORMAT §9)");
            return None;
        }
        Some(bytes)
    }

    fn signature(&mut self, field: &str, text: &str) -> Option<Vec<u8>> {
        let bytes = self.bytes(field, text)?;
        if bytes.len() != SIGNATURE_BYTES {
            self.bad(field, "must be a 64-byte Ed25519 signature");
            return None;
        }
        Some(bytes)
    }

    fn public_key(&mut self, field: &str, text: &str) -> Option<PublicKey> {
        let bytes = self.bytes(field, text)?;
        let key = PublicKey::from_slice(&bytes).ok();
        if key.is_none() {
            self.bad(field, "must be a 32-byte X25519 public key");
        }
        key
    }

    /// The holders' grants, each id once.
    fn grants(&mut self, field: &str, grants: &[SealedFor]) -> Vec<(Id, Vec<u8>)> {
        let mut out: Vec<(Id, Vec<u8>)> = Vec::new();
        for (i, g) in grants.iter().enumerate() {
            let id = g.holder.parse::<Id>().ok();
            if id.is_none() {
                self.bad(format!("{field}[{i}].holder"), "must be a user or token id");
            }
            let sealed = self.sealed(&format!("{field}[{i}].sealed"), &g.sealed);
            if let (Some(id), Some(sealed)) = (id, sealed) {
                if out.iter().any(|(seen, _)| *seen == id) {
                    self.bad(format!("{field}[{i}].holder"), "names a holder twice");
                } else {
                    out.push((id, sealed));
                }
            }
        }
        out
    }

    fn done(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0))
        }
    }
}

/// The user of an end-to-end session; anything else may not change members.
fn client_session(principal: &Principal) -> Result<&Id> {
    match principal {
        Principal::Client {
            user,
            actor: ClientActor::Session { .. },
            ..
        } => Ok(user),
        _ => Err(Error::Forbidden(
            "changing members needs the owner's session",
        )),
    }
}

impl Keyslot {
    /// Whether `user`'s account is end-to-end (`NotFound` for no such user).
    pub(super) async fn is_end_to_end(&self, user: &Id) -> Result<bool> {
        Ok(self
            .store
            .user(user)
            .await?
            .ok_or(Error::NotFound)?
            .end_to_end)
    }

    /// The caller's access to `vault` as the holder it is; 404 when it holds no key of it.
    async fn client_access(&self, principal: &Principal, vault: &Id) -> Result<VaultAccess> {
        if principal.is_deposit() {
            return Err(self.deposit_refusal(principal, vault).await);
        }
        let access = self
            .store
            .vault_access(principal.user(), vault, holder_of(principal))
            .await?
            .ok_or(Error::NotFound)?;
        if access.slot.is_none() {
            return Err(Error::NotFound);
        }
        Ok(access)
    }

    /// An end-to-end owner's share (END-TO-END §8): the member's grant as the owner's
    /// client sealed it. Returns the member's id and role.
    pub async fn add_member_client(
        &self,
        principal: &Principal,
        vault: &Id,
        share: &ClientShare,
    ) -> Result<(Id, Role)> {
        let user = *client_session(principal)?;
        let mut fields = Fields::default();
        if share.username.trim().is_empty() {
            fields.bad("username", "is required");
        }
        let role = Role::parse(&share.role);
        if role.is_none() {
            fields.bad("role", "must be read, write or owner");
        }
        if share.key_version.is_none() {
            fields.bad("key_version", "is required for an end-to-end vault");
        }
        let grant = fields
            .required("grant", share.grant.as_ref())
            .and_then(|g| fields.sealed("grant", g));
        let signature = fields
            .required("members_signature", share.members_signature.as_ref())
            .and_then(|s| fields.signature("members_signature", s));
        let token_grants = fields.grants("token_grants", &share.token_grants);
        fields.done()?;
        let (Some(role), Some(key_version), Some(grant), Some(signature)) =
            (role, share.key_version, grant, signature)
        else {
            return Err(Error::Internal("validated share lost a field".into()));
        };
        let access = self.client_access(principal, vault).await?;
        if access.role != Role::Owner {
            return Err(Error::Forbidden("changing members needs the owner role"));
        }
        let member = self
            .share_lookup(principal, vault, &share.username, true)
            .await?;
        let at = now();
        let added = NewMember {
            vault: *vault,
            user: member,
            role,
            grant: Grant {
                holder: Holder::User(member),
                vault_id: *vault,
                key_version,
                sealed: grant,
            },
            audit: principal.event(
                "vault.member.add",
                Outcome::Ok,
                format!(
                    "vault={vault} member={member} role={} end_to_end=true",
                    role.as_str()
                ),
            ),
        };
        let token_grants = token_grants
            .into_iter()
            .map(|(token, sealed)| Grant {
                holder: Holder::Token(token),
                vault_id: *vault,
                key_version,
                sealed,
            })
            .collect();
        debug_assert_eq!(&user, principal.user());
        match self
            .store
            .add_member_signed(added, token_grants, signature, at)
            .await
        {
            Ok(()) => Ok((member, role)),
            Err(StoreError::Conflict) => Err(Error::Conflict(
                "this user is already a member of the vault",
            )),
            Err(StoreError::KeyVersionMoved) => Err(Error::Conflict(
                "the vault's key version or the member's \"*\" tokens are not those the grants \
                 were sealed for: fetch them again and seal anew",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The budgeted, audited look-up of a share's `username`, and the mode rule: the
    /// member's account must be end-to-end exactly when `end_to_end` (the owner's mode).
    /// Unknown and cross-mode usernames are 422 naming `username`.
    pub(super) async fn share_lookup(
        &self,
        principal: &Principal,
        vault: &Id,
        username: &str,
        end_to_end: bool,
    ) -> Result<Id> {
        // Counted before the look-up, whatever it finds.
        if let Err(e) = self
            .admit_share_lookup(principal.user(), SHARE_LOOKUPS_PER_HOUR)
            .await
        {
            if matches!(e, Error::TooManyAttempts { .. }) {
                self.share_refused(principal, vault, "rate_limited").await?;
            }
            return Err(e);
        }
        let Some(member) = self.store.user_by_name(username).await? else {
            self.share_refused(principal, vault, "unknown_username")
                .await?;
            return Err(Error::invalid("username", "no user has this name"));
        };
        if member.end_to_end != end_to_end {
            self.share_refused(principal, vault, "cross_mode").await?;
            return Err(Error::invalid(
                "username",
                if end_to_end {
                    "this account is server-mode: an end-to-end vault cannot be shared with it \
                     (its server would hold the vault key)"
                } else {
                    "this account is end-to-end: a server-mode vault cannot be shared with it \
                     (the server holds this vault's key)"
                },
            ));
        }
        Ok(member.id)
    }

    async fn share_refused(&self, principal: &Principal, vault: &Id, reason: &str) -> Result<()> {
        let event = principal.event(
            "vault.member.add",
            Outcome::Failed,
            format!("vault={vault} reason={reason}"),
        );
        self.store.append_audit(&[event]).await?;
        Ok(())
    }

    /// The members of a vault and the owner's signature over them, for a client-side
    /// caller holding a key of it.
    pub async fn list_members_client(
        &self,
        principal: &Principal,
        vault: &Id,
    ) -> Result<(Vec<MemberRow>, Option<String>)> {
        self.client_access(principal, vault).await?;
        let members = self.store.members(vault).await?;
        let signature = self.store.members_signature(vault).await?;
        self.audit
            .record(principal.event(
                "vault.member.list",
                Outcome::Ok,
                format!("vault={vault} count={}", members.len()),
            ))
            .await?;
        Ok((members, signature.as_deref().map(encode)))
    }

    /// An end-to-end owner changes a role; the member-list signature is replaced by the
    /// one sent, or cleared (it signed the old list).
    pub async fn set_member_role_client(
        &self,
        principal: &Principal,
        vault: &Id,
        member: &Id,
        role: &str,
        members_signature: Option<&str>,
    ) -> Result<Role> {
        client_session(principal)?;
        let mut fields = Fields::default();
        let parsed = Role::parse(role);
        if parsed.is_none() {
            fields.bad("role", "must be read, write or owner");
        }
        let signature = members_signature.and_then(|s| fields.signature("members_signature", s));
        fields.done()?;
        let role = parsed.ok_or_else(|| Error::Internal("validated role lost".into()))?;
        if self.client_access(principal, vault).await?.role != Role::Owner {
            return Err(Error::Forbidden("changing members needs the owner role"));
        }
        let audit = principal.event(
            "vault.member.role",
            Outcome::Ok,
            format!("vault={vault} member={member} role={}", role.as_str()),
        );
        match self.store.set_member_role(vault, member, role, audit).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(Error::Conflict(
                    "the vault's last owner cannot be demoted: make another member owner first",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.store
            .set_members_signature(vault, signature.as_deref())
            .await?;
        Ok(role)
    }

    /// An end-to-end owner removes a member, or a member leaves: their keys and their
    /// tokens' keys of the vault go and the vault becomes due, in one transaction (as in
    /// server mode); the server cannot rotate, so the mark stays until a client does.
    pub async fn remove_member_client(
        &self,
        principal: &Principal,
        vault: &Id,
        member: &Id,
    ) -> Result<()> {
        let user = *client_session(principal)?;
        let leaving = *member == user;
        for _ in 0..super::lifecycle::VERSION_RETRIES {
            let access = self.client_access(principal, vault).await?;
            if !leaving && access.role != Role::Owner {
                return Err(Error::Forbidden("removing a member needs the owner role"));
            }
            let audit = principal.event(
                "vault.member.remove",
                Outcome::Ok,
                format!("vault={vault} member={member} rotation=due"),
            );
            match self
                .store
                .remove_member(vault, member, access.state.key_version, audit)
                .await
            {
                Ok(()) => {
                    // The stored signature covers a list that no longer is.
                    self.store.set_members_signature(vault, None).await?;
                    return Ok(());
                }
                Err(StoreError::KeyVersionMoved) => {}
                Err(StoreError::Conflict) => {
                    return Err(Error::Conflict(
                        "the vault's last owner cannot leave it: make another member owner first",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Unavailable { retry_after: 1 })
    }

    /// Revoke a token of an end-to-end account: it goes with its slots and grants, and
    /// every vault it held a key of becomes due (DESIGN §3.1); the server holds no key to
    /// rotate them with, so they stay due until a client rotates.
    pub(super) async fn revoke_token_client(
        &self,
        principal: &Principal,
        token: &Id,
    ) -> Result<()> {
        let user = *client_session(principal)
            .map_err(|_| Error::Forbidden("this route needs a session, not an API token"))?;
        let audit = principal.event(
            "token.revoke",
            Outcome::Ok,
            format!("token={token} rotate=client"),
        );
        self.store.revoke_token(&user, token, audit).await?;
        Ok(())
    }

    /// What a client seals to at `vault`'s current version: every remaining holder with
    /// its public key and the signature that vouches for it (END-TO-END §5). Any holder of
    /// a key of the vault may ask.
    pub async fn vault_holders(&self, principal: &Principal, vault: &Id) -> Result<VaultHolders> {
        let access = self.client_access(principal, vault).await?;
        let at = now();
        let holders = self.store.rotation_holders(vault, at).await?;
        let roles: BTreeMap<Id, Role> = self
            .store
            .members(vault)
            .await?
            .into_iter()
            .map(|m| (m.user_id, m.role))
            .collect();
        let signatures: Vec<_> = self.store.holder_signatures(vault).await?;
        let views = holders
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
            .collect();
        let members_signature = self.store.members_signature(vault).await?;
        Ok(VaultHolders {
            owner: access.state.owner,
            key_version: access.state.key_version,
            rotation_due: access.state.is_due(at),
            members_signature: members_signature.as_deref().map(encode),
            holders: views,
        })
    }

    /// A client's rotation of an end-to-end vault (END-TO-END §8). The owner's session may
    /// rotate at any time; while a rotation is due, any holder of the current key may.
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
        let is_session = matches!(
            principal,
            Principal::Client {
                actor: ClientActor::Session { .. },
                ..
            }
        );
        if !state.is_due(at) && !(is_session && access.role == Role::Owner) {
            return Err(Error::Forbidden(
                "rotating a vault that is not due needs the owner's session",
            ));
        }
        if members_signature.is_some() && access.role != Role::Owner {
            return Err(Error::invalid(
                "members_signature",
                "only an owner signs the member list",
            ));
        }
        if Some(body.key_version) != state.key_version.checked_add(1) {
            return Err(Error::Conflict(
                "key_version must be the vault's current version plus one: fetch the vault again",
            ));
        }
        let own = holder_of(principal);
        let remaining = self.store.rotation_holders(vault, at).await?;
        let mismatch = holder_mismatch(&remaining, own, &grants);
        if !mismatch.missing.is_empty() || !mismatch.extra.is_empty() {
            return Ok(ClientRotated::Holders(mismatch));
        }
        let to = body.key_version;
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

const fn id_of(holder: Holder) -> Id {
    match holder {
        Holder::User(id) | Holder::Token(id) => id,
    }
}

/// The remaining holders other than the caller that `grants` leaves out, and the ids it
/// names that are none of them.
fn holder_mismatch(
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
