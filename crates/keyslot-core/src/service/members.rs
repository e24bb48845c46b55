//! Sharing a vault (DESIGN §3.1, "Sharing"; server mode): adding a member by username with a
//! role, listing members, changing a role, and removing a member — by an owner, or the
//! member leaving — which rotates the vault in the same request.
//!
//! Adding seals the vault's *current* key to the member's MAC-checked user public key as a
//! pending grant; the member's next request converts it into their own slot (the same
//! conversion a rotation's grants go through). Older versions are not sealed: the member
//! walks the backward chain from the current key, and the chain of every version anything
//! is still under is kept (a version's link goes only when nothing remains under it or
//! older), so the current key alone reaches every item.
//!
//! Adding tells a signed-in user whether a username exists, so each look-up is counted
//! against a per-user hourly budget before it is made ([`SHARE_LOOKUPS_PER_HOUR`]; 429
//! past it), and audited with ids only. An unknown username is a 422 naming `username`,
//! like any other input the request cannot act on (§6.1: 404 is for ids in the path).

use keyslot_crypto::{Id, RecipientKind, grant_aad, seal_to};

use super::Keyslot;
use super::lifecycle::{KeyRing, Trigger, VERSION_RETRIES};
use crate::keystore::{Grant, Holder};
use crate::memberstore::{MemberRow, NewMember, Role};
use crate::model::Outcome;
use crate::store::StoreError;
use crate::{Error, Principal, Result};

/// Username look-ups (member additions) one user may make per hour.
pub const SHARE_LOOKUPS_PER_HOUR: u32 = 20;

/// A role from the request body: a closed set, 422 naming `role` otherwise.
fn parse_role(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| Error::invalid("role", "must be read, write or owner"))
}

impl Keyslot {
    /// The vault's key opened for a member-changing request of an owner's session.
    async fn owner_ring(&self, principal: &Principal, vault: &Id) -> Result<KeyRing> {
        principal.require_session()?;
        let ring = self.open_current(principal, vault, true).await?;
        if ring.role != Role::Owner {
            return Err(Error::Forbidden("changing members needs the owner role"));
        }
        Ok(ring)
    }

    /// Add `username` to `vault` with `role` (an owner's session): returns the member's
    /// id and role.
    pub async fn add_member(
        &self,
        principal: &Principal,
        vault: &Id,
        username: &str,
        role: &str,
    ) -> Result<(Id, Role)> {
        let mut problems = Vec::new();
        if username.trim().is_empty() {
            problems.push(Some(crate::FieldError::new("username", "is required")));
        }
        let parsed = Role::parse(role);
        if parsed.is_none() {
            problems.push(Some(crate::FieldError::new(
                "role",
                "must be read, write or owner",
            )));
        }
        crate::policy::collect(problems)?;
        let role = parsed.unwrap_or(Role::Read);
        let mut ring = self.owner_ring(principal, vault).await?;
        // Unknown, and end-to-end accounts (no sharing across modes), are 422 naming
        // `username`, after the look-up was counted.
        let member = self.share_lookup(principal, vault, username, false).await?;
        let public = self
            .store
            .user_public_key(&member)
            .await?
            .ok_or(Error::invalid("username", "no user has this name"))?;
        // MAC-checked before anything is sealed (mismatch: 500, audited, nothing sealed).
        let public_key = self.checked_public_key(principal, &public).await?;
        for _ in 0..VERSION_RETRIES {
            let version = ring.current.key_version;
            // The member's "*" tokens reach the vault too, within the member's role (the
            // store checks the set live at the same time).
            let at = super::now();
            let token_grants = self
                .star_token_grants(
                    principal,
                    &member,
                    &ring.owner,
                    vault,
                    version,
                    &ring.current.key,
                    at,
                )
                .await?;
            let sealed = seal_to(
                &public_key,
                &ring.current.key,
                &grant_aad(&ring.owner, vault, version, RecipientKind::User, &member),
            )?;
            let added = NewMember {
                vault: *vault,
                user: member,
                role,
                grant: Grant {
                    holder: Holder::User(member),
                    vault_id: *vault,
                    key_version: version,
                    sealed: sealed.to_bytes(),
                },
                audit: principal.event(
                    "vault.member.add",
                    Outcome::Ok,
                    format!("vault={vault} member={member} role={}", role.as_str()),
                ),
            };
            match self.store.add_member_granted(added, token_grants, at).await {
                Ok(()) => return Ok((member, role)),
                Err(StoreError::Conflict) => {
                    return Err(Error::Conflict(
                        "this user is already a member of the vault",
                    ));
                }
                Err(StoreError::KeyVersionMoved) => {
                    ring = self.owner_ring(principal, vault).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::KeyVersionMoved.into())
    }

    /// The members of a vault (any member, or a token reaching the vault).
    pub async fn list_members(&self, principal: &Principal, vault: &Id) -> Result<Vec<MemberRow>> {
        self.open_current(principal, vault, true).await?;
        let members = self.store.members(vault).await?;
        self.audit
            .record(principal.event(
                "vault.member.list",
                Outcome::Ok,
                format!("vault={vault} count={}", members.len()),
            ))
            .await?;
        Ok(members)
    }

    /// Change a member's role (an owner's session). The last owner cannot be demoted: 409.
    pub async fn set_member_role(
        &self,
        principal: &Principal,
        vault: &Id,
        member: &Id,
        role: &str,
    ) -> Result<Role> {
        let role = parse_role(role)?;
        self.owner_ring(principal, vault).await?;
        let audit = principal.event(
            "vault.member.role",
            Outcome::Ok,
            format!("vault={vault} member={member} role={}", role.as_str()),
        );
        match self.store.set_member_role(vault, member, role, audit).await {
            Ok(()) => Ok(role),
            Err(StoreError::Conflict) => Err(Error::Conflict(
                "the vault's last owner cannot be demoted: make another member owner first",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Remove a member (an owner's session, or the member's own): their slot and grants,
    /// and their tokens' slots and grants for the vault, are deleted and the vault made
    /// due in one transaction; then this request rotates it with the key it opened, so
    /// the key version has moved when this returns. The last owner cannot leave: 409.
    pub async fn remove_member(
        &self,
        principal: &Principal,
        vault: &Id,
        member: &Id,
    ) -> Result<()> {
        principal.require_session()?;
        let leaving = member == principal.user();
        let mut ring = None;
        for _ in 0..VERSION_RETRIES {
            let opened = self.open_current(principal, vault, true).await?;
            if !leaving && opened.role != Role::Owner {
                return Err(Error::Forbidden("removing a member needs the owner role"));
            }
            let audit = principal.event(
                "vault.member.remove",
                Outcome::Ok,
                format!("vault={vault} member={member}"),
            );
            match self
                .store
                .remove_member(vault, member, opened.current.key_version, audit)
                .await
            {
                Ok(()) => {
                    ring = Some(opened);
                    break;
                }
                // Rotated between the opening and the removal: open the new key.
                Err(StoreError::KeyVersionMoved) => {}
                Err(StoreError::Conflict) => {
                    return Err(Error::Conflict(
                        "the vault's last owner cannot leave it: make another member owner first",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let ring = ring.ok_or(Error::from(StoreError::KeyVersionMoved))?;
        self.rotate_after_removal(principal, vault, ring).await
    }

    /// The rotation a removal made due, run with the key this request holds: the removed
    /// member is no holder any more, so nothing of the new key is sealed or wrapped for
    /// them (a member leaving rotates with their key and keeps nothing). A rotation that
    /// another request commits after the removal does the same and ends the loop.
    async fn rotate_after_removal(
        &self,
        principal: &Principal,
        vault: &Id,
        mut ring: KeyRing,
    ) -> Result<()> {
        let from = ring.current.key_version;
        for _ in 0..VERSION_RETRIES {
            if self.rotate_with(principal, &ring, Trigger::Removed).await? {
                return Ok(());
            }
            match self.store.vault_key_version(vault).await? {
                Some(now) if now > from => return Ok(()),
                None => return Ok(()),
                Some(_) => {}
            }
            // Holders moved (a token minted meanwhile): an owner re-opens; a member who
            // left retries with the key it holds.
            if let Ok(reopened) = self.open_current(principal, vault, false).await {
                ring = reopened;
            }
        }
        // Still due: the next write by any holder rotates it first.
        Err(StoreError::KeyVersionMoved.into())
    }
}
