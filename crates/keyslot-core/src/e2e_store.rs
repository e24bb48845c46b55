//! What the store keeps for end-to-end accounts (docs/END-TO-END.md): the identity key
//! and the signature over the user's X25519 key, the session unlock slot, and pins. Part
//! of [`crate::Store`]; implemented once for both databases and checked by the
//! conformance suite.
//!
//! Every byte here is the client's: public keys, signatures, keys wrapped under keys the
//! server never sees, and pins MAC'd under a key derived from the user key. The server
//! keeps them and hands them back; it can forge none of them.

use async_trait::async_trait;
use keyslot_crypto::Id;

use crate::model::{AuditEvent, RecoveryRecord, Timestamp, UserRecord, VaultRecord};
use crate::store::StoreResult;

/// An end-to-end user's identity material, as the client made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E2eIdentity {
    /// The Ed25519 identity public key.
    pub identity_public: Vec<u8>,
    /// Its private half, wrapped under the user key (AAD purpose `identity-key`).
    pub identity_wrapped: Vec<u8>,
    /// The identity's signature over the user's X25519 public key.
    pub x25519_signature: Vec<u8>,
}

/// Everything an end-to-end sign-up writes, in one transaction.
#[derive(Debug)]
pub struct NewE2eAccount {
    /// The user (`end_to_end` set), its sealed password slot built from the client's parts.
    pub user: UserRecord,
    /// The MAC of the user's X25519 public key under the seal key, as in server mode (the
    /// server's own checks use it; end-to-end clients verify the signature instead).
    pub user_public_key_mac: Vec<u8>,
    /// The identity key and the X25519 signature.
    pub identity: E2eIdentity,
    /// The recovery-code slot, wrapped by the client.
    pub recovery: RecoveryRecord,
    /// The recovery code's X25519 public key (derived by the client from the code) and
    /// its MAC, stored beside the slot as server mode does after sign-up.
    pub recovery_public_key: (Vec<u8>, Vec<u8>),
    /// The first vault: its key wrapped under the user key, its name sealed by the client.
    pub vault: VaultRecord,
    /// The first vault key version's public key, the owner's signature over it, and the
    /// server's MAC binding it to the vault (for the server-mode checks that read it;
    /// clients trust the signature).
    pub vault_public_key: (Vec<u8>, Vec<u8>, Vec<u8>),
    /// `signup`.
    pub audit: AuditEvent,
}

/// A pin: one user's client confirmed another user's identity key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinRecord {
    /// The pinning user.
    pub user_id: Id,
    /// The user whose identity is pinned.
    pub pinned_user_id: Id,
    /// The identity public key that was confirmed.
    pub identity_public: Vec<u8>,
    /// `HMAC(pin key, pinned user ‖ identity_public)`, the pin key derived from the
    /// pinning user's user key: only their client can make or check it.
    pub pin: Vec<u8>,
    /// When it was stored.
    pub updated_at: Timestamp,
}

/// The end-to-end part of the [`crate::Store`].
#[async_trait]
pub trait E2eAccountStore: Send + Sync {
    /// End-to-end sign-up: user (with its identity), recovery slot and its public key,
    /// first vault with its signed public key, audit event; all or nothing.
    /// [`crate::StoreError::Conflict`] if the username (case-insensitive), the user id or
    /// the vault id is taken.
    async fn create_e2e_account(&self, account: NewE2eAccount) -> StoreResult<()>;
    /// A user's identity material; `None` for a server-mode account or no such user.
    async fn e2e_identity(&self, user: &Id) -> StoreResult<Option<E2eIdentity>>;

    /// Store an end-to-end session's unlock slot, once: [`crate::StoreError::Conflict`] if
    /// the session already has one, [`crate::StoreError::NotFound`] if it is gone.
    async fn set_session_unlock(
        &self,
        session: &Id,
        unlock_id: &Id,
        wrapped_user_key: &[u8],
    ) -> StoreResult<()>;
    /// A session's unlock slot: `(unlock_id, wrapped_user_key)`, `None` before it is set.
    async fn session_unlock(&self, session: &Id) -> StoreResult<Option<(Id, Vec<u8>)>>;

    /// Store (or replace) a pin, audited in the same transaction.
    /// [`crate::StoreError::NotFound`] if the pinned user does not exist.
    async fn put_pin(&self, pin: PinRecord, audit: AuditEvent) -> StoreResult<()>;
    /// A user's pins, by pinned user id.
    async fn pins(&self, user: &Id) -> StoreResult<Vec<PinRecord>>;

    /// An end-to-end password change: [`crate::Store::change_password`] with the same
    /// conditions (the slot the proof was checked against is still the account's, the
    /// changing session still exists), and the new slot's credential id, which the client
    /// may have made new, replacing the account's in the same statement.
    async fn change_password_e2e(&self, change: E2ePasswordChange) -> StoreResult<()>;
    /// An end-to-end recovery: [`crate::Store::recover`] with the same conditions, and
    /// the new password slot's credential id replacing the account's.
    async fn recover_e2e(&self, recovery: E2eRecoveryRecord) -> StoreResult<()>;
}

/// What an end-to-end password change writes ([`E2eAccountStore::change_password_e2e`]).
#[derive(Debug)]
pub struct E2ePasswordChange {
    /// The user.
    pub user: Id,
    /// The sealed slot the current `auth` was checked against.
    pub expected_password_slot: Vec<u8>,
    /// The new slot's credential id.
    pub credential_id: Id,
    /// The new sealed slot.
    pub password_slot: Vec<u8>,
    /// End the user's other sessions.
    pub end_other_sessions: bool,
    /// The session making the change (kept, and required to still exist).
    pub session: Id,
    /// Also revoke every token.
    pub revoke_tokens: bool,
    /// `password.change`.
    pub audit: AuditEvent,
}

/// What an end-to-end recovery writes ([`E2eAccountStore::recover_e2e`]).
#[derive(Debug)]
pub struct E2eRecoveryRecord {
    /// The user.
    pub user: Id,
    /// The credential id of the code whose proof was checked.
    pub expected_recovery: Id,
    /// The user's X25519 public key as read with it.
    pub expected_public_key: Vec<u8>,
    /// The new password slot's credential id.
    pub credential_id: Id,
    /// The new sealed password slot.
    pub password_slot: Vec<u8>,
    /// The new recovery slot.
    pub recovery: RecoveryRecord,
    /// Also revoke every token.
    pub revoke_tokens: bool,
    /// `recover`.
    pub audit: AuditEvent,
}
