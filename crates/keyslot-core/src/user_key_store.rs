//! The user-key part of the store ([`UserKeyStore`], a supertrait of
//! [`crate::store::Store`]): everything a user-key rotation reads under the old user key,
//! the one transaction that swaps it for the new one, and the recovery code's public key.
//!
//! A user-key rotation (DESIGN §3.1, "User-key rotation") replaces UK and the user's
//! X25519 pair. Everything wrapped under UK — the password slot, the member slots of every
//! vault the user holds a key to, the token-name keys, the calling session's slot — is
//! re-wrapped, every grant still pending to the old pair is converted, and the recovery
//! slot becomes a grant sealed to the recovery code's public key. All of that commits in
//! **one** transaction ([`UserKeyStore::swap_user_key`]), so no crash leaves a credential
//! that opens one user key while its data sits under the other. The vaults' own rotations
//! run after it, each in its own transaction: the swap marks them all due, so a crash in
//! between leaves them to the ordinary due-rotation path (the next write, or read).
//!
//! The rules every implementation keeps:
//!
//! - The swap commits only if the user is still exactly as it was read: the same password
//!   slot and public key, every member slot at the version it was read at, no pending
//!   grant that was not read, the same tokens, the same recovery credential, and (when one
//!   is kept) the calling session still there. Otherwise it changes nothing and answers
//!   [`StoreError::KeyVersionMoved`] (read again, retry) or, for a recovery or password
//!   change that won, [`StoreError::Conflict`].
//! - In the same transaction: every other session of the user ends, every vault the user
//!   is a member of is made due, the user's rotation-due mark is cleared, and the audit
//!   event is written.
//!
//! [`StoreError::KeyVersionMoved`]: crate::StoreError::KeyVersionMoved
//! [`StoreError::Conflict`]: crate::StoreError::Conflict

use async_trait::async_trait;
use keyslot_crypto::Id;

use crate::keystore::Grant;
use crate::model::{AuditEvent, RecoveryRecord, UserRecord};
use crate::store::StoreResult;

/// One of the user's member slots, as read before a user-key rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSlot {
    /// The vault.
    pub vault_id: Id,
    /// Its owner (the user every AAD of the vault binds).
    pub owner: Id,
    /// The version the slot holds (0: an empty slot waiting for a grant).
    pub key_version: u32,
    /// That version's key under the user key (empty at version 0).
    pub wrapped_vault_key: Vec<u8>,
}

/// A copy of a deposit sealed to the user's own public key (a deposit made while its
/// vault's rotation was due, `deposit_member_keys`), as read before a user-key rotation:
/// the old pair dies with the swap, so it is opened and sealed to the new pair in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositCopy {
    /// The deposit.
    pub deposit_id: Id,
    /// Its vault.
    pub vault_id: Id,
    /// The vault's owner (the deposit's AAD binds it).
    pub owner: Id,
    /// The vault key version the deposit was made under (its AAD binds it).
    pub key_version: u32,
    /// The item key sealed to the user's public key.
    pub sealed_item_key: Vec<u8>,
}

/// The recovery slot's lifecycle state (beside [`RecoveryRecord`], which holds its
/// verifier and wrapped key).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoveryKeys {
    /// The recovery code's X25519 public key, stored at sign-up or recovery; `None` for a
    /// slot made before user-key rotation existed.
    pub public_key: Option<Vec<u8>>,
    /// Its MAC (kind recovery code, holder the credential id, the user).
    pub public_key_mac: Option<Vec<u8>>,
    /// The user key sealed (HPKE) to that public key by a user-key rotation: the slot is
    /// a grant, opened at the next recovery. `None` while the slot wraps the user key.
    pub sealed_user_key: Option<Vec<u8>>,
}

/// Everything wrapped under a user's key, read before a rotation of it.
#[derive(Debug, Clone)]
pub struct UserKeyHoldings {
    /// The user, with its password slot and X25519 pair.
    pub user: UserRecord,
    /// Every member slot of the user (any role).
    pub members: Vec<MemberSlot>,
    /// Every grant pending to the user's public key.
    pub grants: Vec<Grant>,
    /// Every token of the user: its id and its name key (wrapped under the user key).
    pub token_name_keys: Vec<(Id, Vec<u8>)>,
    /// Every deposit copy sealed to the user's public key, not yet claimed.
    pub deposit_copies: Vec<DepositCopy>,
    /// The recovery slot and its lifecycle state.
    pub recovery: Option<(RecoveryRecord, RecoveryKeys)>,
}

/// The recovery slot after a rotation.
#[derive(Debug, Clone)]
pub enum RecoveryRekey {
    /// The new user key sealed to the stored public key of the current code (the code the
    /// user holds keeps working).
    Sealed {
        /// The recovery credential that was read: the swap commits only if it is current.
        credential_id: Id,
        /// The sealed new user key.
        sealed_user_key: Vec<u8>,
    },
    /// A fresh code, for a slot with no public key (made before this existed) or none at
    /// all: the record wraps the new user key, with the new code's public key and MAC.
    Fresh {
        /// The credential the slot held when read (`None`: there was no slot).
        replaces: Option<Id>,
        /// The new slot.
        record: RecoveryRecord,
        /// The new code's public key.
        public_key: Vec<u8>,
        /// Its MAC.
        public_key_mac: Vec<u8>,
    },
}

/// Everything a user-key rotation writes, in one transaction.
#[derive(Debug, Clone)]
pub struct UserKeySwap {
    /// The user.
    pub user: Id,
    /// The sealed password slot as read: the swap commits only if it is still this.
    pub old_password_slot: Vec<u8>,
    /// The new sealed password slot (wrapping the new user key).
    pub password_slot: Vec<u8>,
    /// The user's public key as read: the swap commits only if it is still this.
    pub old_public_key: Vec<u8>,
    /// The new X25519 public key, its MAC, and its private half under the new user key.
    pub public_key: Vec<u8>,
    /// MAC of [`UserKeySwap::public_key`].
    pub public_key_mac: Vec<u8>,
    /// The new private key, wrapped under the new user key.
    pub wrapped_private_key: Vec<u8>,
    /// Every member slot re-wrapped: `(vault, version read, version now, wrapped)`; a
    /// converted grant moves the version up.
    pub members: Vec<(Id, u32, u32, Vec<u8>)>,
    /// The grants read (and converted into `members`), as `(vault, key version)`: all of
    /// the user's grants are deleted, and the swap is refused if one exists beyond these.
    pub grants: Vec<(Id, u32)>,
    /// Every token's name key re-wrapped; the swap is refused if the user's tokens are
    /// not exactly these.
    pub token_name_keys: Vec<(Id, Vec<u8>)>,
    /// Every deposit copy read, sealed to the new public key: `(deposit, sealed item
    /// key)`. The swap is refused if the user has a copy beyond these (sealed to the old
    /// key after the read); one claimed meanwhile is simply gone.
    pub deposit_copies: Vec<(Id, Vec<u8>)>,
    /// The recovery slot.
    pub recovery: RecoveryRekey,
    /// The calling session, kept, with its slot re-wrapped: `(id, wrapped user key)`.
    /// Every other session ends. `None` (at login): every session ends.
    pub keep_session: Option<(Id, Vec<u8>)>,
    /// Also delete every token of the user.
    pub revoke_tokens: bool,
    /// `user.keys.rotate`.
    pub audit: AuditEvent,
}

/// What the swap did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swapped {
    /// The vaults made due (every vault the user is a member of).
    pub vaults: Vec<Id>,
    /// Sessions ended.
    pub sessions_ended: u64,
    /// Tokens deleted (`revoke_tokens`).
    pub tokens_revoked: u64,
}

/// The user-key part of Keyslot's persistence.
#[async_trait]
pub trait UserKeyStore {
    /// Everything wrapped under `user`'s key; `None` for no such user.
    async fn user_key_holdings(&self, user: &Id) -> StoreResult<Option<UserKeyHoldings>>;

    /// The user-key swap, in one transaction (see the module docs for its conditions).
    async fn swap_user_key(&self, swap: UserKeySwap) -> StoreResult<Swapped>;

    /// The recovery slot's lifecycle state; `None` when the user has no slot.
    async fn recovery_keys(&self, user: &Id) -> StoreResult<Option<RecoveryKeys>>;

    /// Store the public key (and MAC) of the recovery code `credential_id`, only if that
    /// code is still the user's; returns whether it was stored. Written right after the
    /// slot: a crash between leaves a slot without a public key, which a rotation treats
    /// like one made before public keys existed (it issues a fresh code).
    async fn set_recovery_public_key(
        &self,
        user: &Id,
        credential_id: &Id,
        public_key: &[u8],
        public_key_mac: &[u8],
    ) -> StoreResult<bool>;
}
