//! The deposit part of the store ([`DepositStore`], a supertrait of
//! [`crate::store::Store`]): write-only deposit tokens, the vault public keys deposits are
//! sealed to, and deposits waiting for a reader (DESIGN §3.1, "Write-only deposit tokens").
//!
//! The rules every implementation keeps:
//!
//! - A deposit commits only if, under the vault's row lock (shared), the vault is still at
//!   the key version whose public key it was sealed to, its rotation is not due, and the
//!   token is still live with the vault in its scope. So nothing is ever stored sealed to a
//!   key version that a revoked or expired credential could derive.
//! - A deposit sealed to its readers (made while the rotation is due, or before the
//!   current version's public key is published) commits only if, under the vault's row
//!   lock (shared), the readers it was sealed to — each with the public key it was sealed
//!   to — are exactly the vault's holders read under that lock (`rotation_holders`): so
//!   nothing is sealed to a credential that ended before it committed. Each reader's copy
//!   goes with that reader's access (membership, or the token's slot for the vault).
//! - A vault public key is written once per version (only where none is stored).
//! - A deposit is claimed (moved into `items`) by deleting its row and inserting the item
//!   only if that delete touched a row, under the current key version: of concurrent
//!   readers, one moves it.

use async_trait::async_trait;
use keyslot_crypto::Id;

use crate::keystore::Holder;
use crate::model::{AuditEvent, ItemRecord, Timestamp, TokenRecord};
use crate::store::StoreResult;

/// What a deposit token needs to seal to a vault, read in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositTarget {
    /// The vault's owner (bound into every AAD of the vault).
    pub owner: Id,
    /// The current key version.
    pub key_version: u32,
    /// Set when a holder was revoked or removed.
    pub rotation_due: bool,
    /// Due from this time (a token holding one of its keys expires).
    pub rotate_due_at: Option<Timestamp>,
    /// The current version's X25519 public key, once a holder of that key published it.
    pub public_key: Option<Vec<u8>>,
    /// Its MAC under the seal key's public-key MAC key.
    pub public_key_mac: Option<Vec<u8>>,
}

impl DepositTarget {
    /// Whether the vault's rotation is due at `now` (then nothing is sealed to its key).
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.rotation_due || self.rotate_due_at.is_some_and(|at| at <= now)
    }
}

/// A deposit waiting for a reader: version 1 of an item, its key sealed to a vault key
/// version's public key, or (`to_readers`) to each of the vault's readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRecord {
    /// The item id it will have.
    pub id: Id,
    /// The vault.
    pub vault_id: Id,
    /// The vault's owner.
    pub user_id: Id,
    /// The vault key version whose public key the item key is sealed to (`to_readers`:
    /// the version current when it was made, bound into its AADs, which no key of that
    /// version opens).
    pub key_version: u32,
    /// Sealed to each reader's own public key ([`ReaderCopy`]) rather than the vault's.
    pub to_readers: bool,
    /// The HPKE-sealed item key (`SealedKey` bytes). For a `to_readers` deposit: empty
    /// when stored; as read by [`DepositStore::pending_deposits`], the reading holder's
    /// own copy.
    pub sealed_item_key: Vec<u8>,
    /// The name, under the item key.
    pub name: Vec<u8>,
    /// The value (JSON), under the item key.
    pub value: Vec<u8>,
    /// The deposit token that made it.
    pub token_id: Id,
    /// When.
    pub created_at: Timestamp,
}

/// One reader's copy of a deposit's item key, sealed to that reader's own public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderCopy {
    /// The reader: a member, or a token of a member that holds a slot of the vault.
    pub reader: Holder,
    /// The public key it was sealed to, as read (and MAC-checked) before sealing: the
    /// deposit commits only if the holder's stored key is still this one.
    pub public_key: Vec<u8>,
    /// The HPKE-sealed item key.
    pub sealed_item_key: Vec<u8>,
}

/// The deposit part of Keyslot's persistence.
#[async_trait]
pub trait DepositStore {
    /// Mint a deposit token (`token.deposit` set, no slot) scoped to `vaults`, each of which
    /// must be `token.user_id`'s ([`crate::StoreError::NotFound`] otherwise, nothing
    /// written); with `session`, only if it still exists once the user's row is locked
    /// ([`crate::StoreError::Conflict`] otherwise). With `expected_user_public_key`, only
    /// if the user still has that key under the lock ([`crate::StoreError::KeyVersionMoved`]
    /// otherwise: a user-key rotation made the name key's user key dead), as
    /// [`crate::store::Store::create_token`]. Audited; one transaction.
    async fn create_deposit_token(
        &self,
        token: TokenRecord,
        vaults: &[Id],
        session: Option<&Id>,
        expected_user_public_key: Option<&[u8]>,
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// The vaults a deposit token may deposit into, ordered by id.
    async fn deposit_scope(&self, token: &Id) -> StoreResult<Vec<Id>>;

    /// `vault`'s key state and current public key, if `vault` is in `token`'s deposit scope.
    async fn deposit_target(&self, token: &Id, vault: &Id) -> StoreResult<Option<DepositTarget>>;

    /// Store a deposit: only if `deposit.key_version` is still current, the rotation is not
    /// due at `now` and the token is live (unexpired at `now`) with the vault in its scope.
    /// [`crate::StoreError::KeyVersionMoved`] if the version moved,
    /// [`crate::StoreError::Conflict`] if the rotation is due, [`crate::StoreError::NotFound`]
    /// if the token or its scope is gone. Audited; one transaction.
    async fn create_deposit(
        &self,
        deposit: DepositRecord,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// Store a deposit sealed to its readers (`deposit.to_readers`, one [`ReaderCopy`] per
    /// reader): only if the token is live (unexpired at `now`) with the vault in its scope,
    /// `deposit.key_version` is still current, and, under the vault's lock, `copies` name
    /// exactly the vault's holders at `now` with the public keys stored for them.
    /// [`crate::StoreError::KeyVersionMoved`] if the version or the holders moved (seal
    /// again), [`crate::StoreError::NotFound`] if the token or its scope is gone. Due or
    /// not, published or not: nothing here is sealed to a vault key. Audited; one
    /// transaction.
    async fn create_deposit_for_readers(
        &self,
        deposit: DepositRecord,
        copies: Vec<ReaderCopy>,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// The stored public key and MAC of `vault`'s key version `key_version` (`None` for
    /// either that is not stored yet; `None` overall if there is no such version).
    async fn vault_public_key(
        &self,
        vault: &Id,
        key_version: u32,
    ) -> StoreResult<Option<(Option<Vec<u8>>, Option<Vec<u8>>)>>;

    /// Publish a version's public key with its MAC, where none is stored yet.
    async fn set_vault_public_key(
        &self,
        vault: &Id,
        key_version: u32,
        public_key: &[u8],
        mac: &[u8],
    ) -> StoreResult<()>;

    /// At most `limit` deposits of `vault` not yet claimed that `reader` can open (only
    /// `item`'s, when given), oldest first: those sealed to a vault key, and those sealed
    /// to the readers of which `reader` holds a copy, with that copy as `sealed_item_key`.
    async fn pending_deposits(
        &self,
        vault: &Id,
        reader: Holder,
        item: Option<&Id>,
        limit: u32,
    ) -> StoreResult<Vec<DepositRecord>>;

    /// Move deposit `deposit` into `items` as `item` (wrapped under the current key
    /// version), marked as made by `token`: delete the deposit row, and only if that
    /// touched a row insert the item and its mark (a deposit sealed to its readers takes
    /// every reader's copy with it); only if `item.key_version` is current
    /// ([`crate::StoreError::KeyVersionMoved`] otherwise). Returns whether this call moved
    /// it.
    async fn claim_deposit(&self, deposit: &Id, item: ItemRecord, token: &Id) -> StoreResult<bool>;

    /// `(item, token)` for every item of `vault` a deposit token made.
    async fn depositors(&self, vault: &Id) -> StoreResult<Vec<(Id, Id)>>;
}
