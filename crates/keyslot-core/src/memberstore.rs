//! The sharing part of the store ([`MemberStore`], a supertrait of [`crate::store::Store`]):
//! a vault's members, their roles, and removing one.
//!
//! A member added by an owner gets no slot the owner could write (the owner does not hold
//! the member's user key): the member's row starts with an empty slot at key version 0 and
//! a pending grant of the current version sealed to the member's public key, which the
//! member's next request converts into the slot (DESIGN §3.1, "Sharing"). Only the current
//! version is granted: older versions are reached through the backward chain, which is
//! kept while anything remains under them.
//!
//! The rules every implementation keeps (checked by `keyslot-store-tests`):
//!
//! - Adding, re-roling and removing take the vault row for update; adding commits only if
//!   the grant is at the vault's current version ([`crate::StoreError::KeyVersionMoved`]
//!   otherwise), so a rotation never misses a member being added.
//! - A vault always keeps an owner: demoting or removing its last one is
//!   [`crate::StoreError::Conflict`], changing nothing.
//! - Removing a member deletes, in one transaction, its slot and pending grants for the
//!   vault and every slot and grant its tokens hold for it, and makes the vault due.

use async_trait::async_trait;
use keyslot_crypto::Id;

use crate::keystore::{Grant, PublicHolder};
use crate::model::AuditEvent;
use crate::store::StoreResult;

/// What a member may do in a vault: a closed set, never a free string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// List and read items.
    Read,
    /// Read, create, update and delete items.
    Write,
    /// Everything, plus members and rotation.
    Owner,
}

impl Role {
    /// The role's name in the API and the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Owner => "owner",
        }
    }

    /// A role from its name; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }

    /// Whether the role may write items.
    pub const fn can_write(self) -> bool {
        matches!(self, Self::Write | Self::Owner)
    }
}

/// One member of a vault, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// The member.
    pub user_id: Id,
    /// Their username.
    pub username: String,
    /// Their role.
    pub role: Role,
    /// Whether a grant is still waiting to be converted into their own slot.
    pub grant_pending: bool,
}

/// A member to add: the row, and the grant of the vault's current key sealed to them.
#[derive(Debug, Clone)]
pub struct NewMember {
    /// The vault.
    pub vault: Id,
    /// The user added.
    pub user: Id,
    /// Their role.
    pub role: Role,
    /// The current version sealed to the user's public key (its holder is the user).
    pub grant: Grant,
    /// `vault.member.add`.
    pub audit: AuditEvent,
}

/// The sharing part of Keyslot's persistence.
#[async_trait]
pub trait MemberStore {
    /// The vaults `user` is a member of (owned or shared), oldest first.
    async fn member_vaults(&self, user: &Id) -> StoreResult<Vec<Id>>;

    /// The members of `vault`, owners first, then by username.
    async fn members(&self, vault: &Id) -> StoreResult<Vec<MemberRow>>;

    /// Add a member with an empty slot and its pending grant; one transaction under the
    /// vault's lock. [`crate::StoreError::Conflict`] if already a member,
    /// [`crate::StoreError::KeyVersionMoved`] if the grant is not at the current version.
    async fn add_member(&self, member: NewMember) -> StoreResult<()>;

    /// Change a member's role. [`crate::StoreError::NotFound`] if not a member,
    /// [`crate::StoreError::Conflict`] if it would leave the vault without an owner.
    async fn set_member_role(
        &self,
        vault: &Id,
        user: &Id,
        role: Role,
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// Remove a member: its slot and grants for `vault`, and its tokens' slots and grants
    /// for it, deleted; the vault made due; audited; one transaction under the vault's lock,
    /// committed only if the vault is still at `key_version` (the version the caller holds
    /// to rotate it with; [`crate::StoreError::KeyVersionMoved`] otherwise).
    /// [`crate::StoreError::NotFound`] if not a member, [`crate::StoreError::Conflict`] for its last owner.
    async fn remove_member(
        &self,
        vault: &Id,
        user: &Id,
        key_version: u32,
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// A user's public key with its MAC as stored, to seal a grant to (`None`: no such user).
    async fn user_public_key(&self, user: &Id) -> StoreResult<Option<PublicHolder>>;

    /// A vault's current key version, whoever asks (`None`: no such vault).
    async fn vault_key_version(&self, vault: &Id) -> StoreResult<Option<u32>>;
}
