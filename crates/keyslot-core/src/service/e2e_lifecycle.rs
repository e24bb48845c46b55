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

use keyslot_crypto::Id;

pub use super::e2e_rotation::{
    ClientRotate, ClientRotated, HolderMismatch, HolderView, VaultHolders,
};

use super::e2e_fields::{Fields, client_session, encode};
use super::lifecycle::holder_of;
use super::members::SHARE_LOOKUPS_PER_HOUR;
use super::{Keyslot, now};
use crate::keystore::{Grant, Holder, VaultAccess};
use crate::memberstore::{MemberRow, NewMember, Role};
use crate::model::Outcome;
use crate::store::StoreError;
use crate::{ClientActor, Error, Principal, Result};

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
    pub(super) async fn client_access(
        &self,
        principal: &Principal,
        vault: &Id,
    ) -> Result<VaultAccess> {
        if let Principal::Client {
            actor:
                ClientActor::Token {
                    token,
                    deposit: true,
                    ..
                },
            ..
        } = principal
        {
            // It holds no key: 403 in its scope, 404 outside (scope before permission).
            return Err(if self.store.deposit_scope(token).await?.contains(vault) {
                Error::Forbidden("a deposit token may only deposit")
            } else {
                Error::NotFound
            });
        }
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
        if key_version != access.state.key_version {
            return Err(Error::StaleKeyVersion {
                current: access.state.key_version,
            });
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
        // The role and the list signature in one transaction: a signature over the old
        // list never stands beside the new one.
        match self
            .store
            .set_member_role_signed(vault, member, role, signature, audit)
            .await
        {
            Ok(()) => Ok(role),
            Err(StoreError::Conflict) => Err(Error::Conflict(
                "the vault's last owner cannot be demoted: make another member owner first",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// An end-to-end owner removes a member, or a member leaves: their keys and their
    /// tokens' keys of the vault go, the member-list signature is cleared and the vault
    /// becomes due, in one transaction (as in server mode); the server cannot rotate, so
    /// the mark stays until the owner's client does.
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
                // The store cleared the list signature in the removal's transaction.
                Ok(()) => return Ok(()),
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
}
