//! The end-to-end part of sharing and rotation in the store ([`E2eLifecycleStore`], a
//! supertrait of [`crate::store::Store`]; docs/END-TO-END.md §8).
//!
//! An end-to-end vault's keys are made, sealed and wrapped by clients; the server keeps
//! what they send under the same rules as server mode ([`crate::keystore`]): a rotation
//! commits only under the vault's lock, at the version it rotated from, and only if its
//! grants name exactly the live holders found under that lock. What is new here is what
//! comes with a client's change: the new version's public key with its owner's signature
//! (and the server's MAC, so the public-key passes of `keyslot seal migrate` find every
//! stored key proven), and the owner's signature over the member list.

use async_trait::async_trait;
use keyslot_crypto::Id;

use crate::deposit_store::{DepositRecord, ReaderCopy};
use crate::keystore::{Grant, Holder, Rotation};
use crate::memberstore::{NewMember, Role};
use crate::model::AuditEvent;
use crate::model::Timestamp;
use crate::store::StoreResult;

/// What a holder's key is vouched by, for a client to verify before sealing to it
/// (END-TO-END §5): a user's signature over their own X25519 key, a token's over its key
/// by its user, each with the signing user's identity public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderSignature {
    /// The holder.
    pub holder: Holder,
    /// The identity public key of the user who signed (the user; a token's user). `None`
    /// for a server-mode user.
    pub identity_public: Option<Vec<u8>>,
    /// The identity signature over the holder's X25519 public key (`None`: not signed).
    pub signature: Option<Vec<u8>>,
}

/// A rotation an end-to-end client made ([`E2eLifecycleStore::rotate_vault_client`]).
#[derive(Debug, Clone)]
pub struct ClientRotation {
    /// The chain link, name, own slot, grants and audit event, committed under the same
    /// rules as a server-mode rotation.
    pub rotation: Rotation,
    /// The new version's X25519 public key (the client derived it from the new key).
    pub public_key: Vec<u8>,
    /// Its MAC under the seal key (server-side bookkeeping; clients check the signature).
    pub public_key_mac: Vec<u8>,
    /// The owner's identity signature over `(vault, new version, public key)`.
    pub public_key_signature: Vec<u8>,
    /// The owner's signature over the member list at the new version, when the owner
    /// rotates; `None` clears the stored one (it signed the old version).
    pub members_signature: Option<Vec<u8>>,
}

/// The sender an end-to-end deposit was sealed by (HPKE auth mode, FORMAT §11.5), kept
/// with the deposit: its token may be revoked before a reader claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositSender {
    /// The deposit token's X25519 public key.
    pub public_key: Option<Vec<u8>>,
    /// The owner's identity signature over it, given at the token's mint.
    pub signature: Option<Vec<u8>>,
}

/// The end-to-end part of Keyslot's sharing and rotation persistence.
#[async_trait]
pub trait E2eLifecycleStore {
    /// [`crate::keystore::KeyStore::add_member_granted`] with the grant an end-to-end
    /// owner's client sealed, storing the owner's `members_signature` over the new list in
    /// the same transaction.
    async fn add_member_signed(
        &self,
        member: NewMember,
        token_grants: Vec<Grant>,
        members_signature: Vec<u8>,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// [`crate::memberstore::MemberStore::set_member_role`] (same conditions and answers)
    /// and, in the same transaction, the vault's member-list signature replaced by
    /// `members_signature` (`None`: cleared, the old one signed the old list). One
    /// transaction, so no failure or concurrent change leaves a signature over a list
    /// that is not the stored one. (A removal clears the signature in its own
    /// transaction.)
    async fn set_member_role_signed(
        &self,
        vault: &Id,
        user: &Id,
        role: Role,
        members_signature: Option<Vec<u8>>,
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// The vault's member-list signature, if any.
    async fn members_signature(&self, vault: &Id) -> StoreResult<Option<Vec<u8>>>;

    /// The signatures of every member of `vault` and of every token holding a slot of it
    /// (whatever its expiry: the caller joins them to the live holder set).
    async fn holder_signatures(&self, vault: &Id) -> StoreResult<Vec<HolderSignature>>;

    /// Commit a client's rotation: everything [`crate::keystore::KeyStore::rotate_vault`]
    /// does, under the same conditions ([`crate::StoreError::KeyVersionMoved`] otherwise,
    /// changing nothing), and in the same transaction the new version's public key, MAC
    /// and signature, and the member-list signature.
    async fn rotate_vault_client(&self, rotation: ClientRotation) -> StoreResult<()>;

    /// Store a deposit an end-to-end deposit token sealed: exactly as
    /// [`crate::deposit_store::DepositStore::create_deposit`] (or, `to_readers`,
    /// [`crate::deposit_store::DepositStore::create_deposit_for_readers`] with `copies`)
    /// under the same conditions and answers, and in the same transaction the token's
    /// public key and signature kept with the deposit ([`DepositSender`]).
    async fn create_client_deposit(
        &self,
        deposit: DepositRecord,
        copies: Vec<ReaderCopy>,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// The sender kept with a deposit (`None`: no such deposit).
    async fn deposit_sender(&self, deposit: &Id) -> StoreResult<Option<DepositSender>>;
}
