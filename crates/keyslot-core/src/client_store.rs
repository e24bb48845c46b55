//! The end-to-end part of the store ([`ClientStore`], a supertrait of
//! [`crate::store::Store`]): items as the raw envelopes a client made or reads, with the
//! blind name index and the writer's signature; and the signatures that let clients verify
//! public keys (docs/END-TO-END.md §5-§7).
//!
//! The rules the item writes keep are those of [`crate::store::Store::create_item`] and
//! [`crate::store::Store::update_item`]: under the vault's current key version with no
//! rotation due ([`crate::StoreError::KeyVersionMoved`] otherwise), by a writer whose
//! role still may write, audited in the same transaction.

use async_trait::async_trait;
use keyslot_crypto::Id;

use crate::keystore::Grant;
use crate::model::{AuditEvent, ItemRecord, TokenRead, TokenRecord, TokenVaultSlot, VaultRecord};
use crate::store::StoreResult;

/// An item as an end-to-end client reads and writes it: the stored envelopes, and the
/// signature of the member who wrote this version, when one did.
#[derive(Debug, Clone)]
pub struct RawItem {
    /// The envelopes, key version and blind name index.
    pub record: ItemRecord,
    /// The writer's user id, for a signed write.
    pub signer: Option<Id>,
    /// The writer's identity signature over this version (FORMAT §11.4).
    pub signature: Option<Vec<u8>>,
}

/// What a `ksa_` item read needs, fetched in one query ([`ClientStore::client_token_read`]).
#[derive(Debug, Clone)]
pub struct ClientTokenRead {
    /// The token, its slot for the vault, the vault's state (if the token's user owns it)
    /// and the item as `token_read` reads them.
    pub read: TokenRead,
    /// The item's signer, when a member signed it.
    pub signer: Option<Id>,
    /// The signer's signature.
    pub signature: Option<Vec<u8>>,
}

/// A vault key version's public key, as its owner signed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignedVaultKey {
    /// The X25519 public key of the version (`None` until published).
    pub public_key: Option<Vec<u8>>,
    /// The owner's identity signature over it (`None` for server-mode vaults).
    pub signature: Option<Vec<u8>>,
}

/// The end-to-end part of Keyslot's persistence.
#[async_trait]
pub trait ClientStore {
    /// Items of `vault` (owned by `owner`) in the order they were made; only those whose
    /// name index is one of `name_indexes` when it is not empty.
    async fn raw_items(
        &self,
        owner: &Id,
        vault: &Id,
        name_indexes: &[Vec<u8>],
    ) -> StoreResult<Vec<RawItem>>;

    /// One item of `vault`.
    async fn raw_item(&self, owner: &Id, vault: &Id, item: &Id) -> StoreResult<Option<RawItem>>;

    /// Insert an item a client sealed (version 1), audited.
    async fn create_raw_item(&self, item: RawItem, audit: AuditEvent) -> StoreResult<()>;

    /// Replace an item with the next version a client sealed, if its current version is
    /// still `item.record.version - 1` ([`crate::StoreError::Conflict`] otherwise,
    /// [`crate::StoreError::NotFound`] if it is gone), audited.
    async fn update_raw_item(&self, item: RawItem, audit: AuditEvent) -> StoreResult<()>;

    /// The public key and the owner's signature of `vault`'s key version `key_version`
    /// (`None` if there is no such version).
    async fn signed_vault_key(
        &self,
        vault: &Id,
        key_version: u32,
    ) -> StoreResult<Option<SignedVaultKey>>;

    /// [`crate::keystore::KeyStore::create_vault_granted`] for a vault an end-to-end
    /// client made, with its first version's public key, the key's MAC and the owner's
    /// signature stored in the same transaction (a vault never exists without them).
    async fn create_client_vault(
        &self,
        vault: VaultRecord,
        grants: Vec<Grant>,
        public_key: &[u8],
        mac: &[u8],
        signature: &[u8],
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// Mint a token an end-to-end client made, with the identity signature over its public
    /// key stored in the same INSERT: [`crate::store::Store::create_token`] with `slots`,
    /// or for a deposit token [`crate::deposit_store::DepositStore::create_deposit_token`]
    /// with `deposit_vaults`, under the same rules (the minting session must still exist,
    /// the user must still have `expected_user_public_key`, every slot at its vault's
    /// current version).
    #[allow(clippy::too_many_arguments)]
    async fn create_client_token(
        &self,
        token: TokenRecord,
        slots: Vec<TokenVaultSlot>,
        deposit_vaults: &[Id],
        signature: &[u8],
        session: &Id,
        expected_user_public_key: &[u8],
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// A `ksa_` item read in one round trip: [`crate::store::Store::token_read`] with the
    /// item's signer and signature (`None` when the token is unknown or its user is
    /// disabled).
    async fn client_token_read(
        &self,
        token: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<ClientTokenRead>>;

    /// The identity signature over a token's X25519 public key, given at its mint.
    async fn token_public_key_signature(&self, token: &Id) -> StoreResult<Option<Vec<u8>>>;
}
