//! What an end-to-end caller ([`crate::Principal::Client`]) reads and writes: envelopes,
//! slots and public keys, never plaintext (docs/END-TO-END.md §6, §9). Nothing here is
//! secret to the server — it is all ciphertext or public — so `Debug` is derived.

use keyslot_crypto::Id;

use crate::client_store::RawItem;

/// Name indexes one listing may ask for (one per key version the client's items may be
/// under).
pub const MAX_NAME_INDEXES: usize = 16;

/// The key a caller opens a vault with (END-TO-END §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSlot {
    /// A member's own slot: the vault key wrapped under their user key.
    Member {
        /// The version it holds.
        key_version: u32,
        /// The wrapped key.
        wrapped_vault_key: Vec<u8>,
    },
    /// A token's own slot: the vault key wrapped under its wrap key.
    Token {
        /// The version it holds.
        key_version: u32,
        /// The wrapped key.
        wrapped_vault_key: Vec<u8>,
    },
    /// A pending grant: the vault key sealed to the holder's X25519 key; the client opens
    /// it and converts it with `PUT /v1/vaults/{vault}/slot`.
    Grant {
        /// The version sealed.
        key_version: u32,
        /// The HPKE-sealed key.
        sealed: Vec<u8>,
    },
}

impl ClientSlot {
    /// The key version the slot holds.
    pub const fn key_version(&self) -> u32 {
        match self {
            Self::Member { key_version, .. }
            | Self::Token { key_version, .. }
            | Self::Grant { key_version, .. } => *key_version,
        }
    }
}

/// One chain link as the wire names it: the key of `key_version`, wrapped under the key
/// of `key_version + 1` (FORMAT §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientChainLink {
    /// The version of the wrapped (older) key.
    pub key_version: u32,
    /// The wrapped key.
    pub wrapped: Vec<u8>,
}

/// A vault as an end-to-end caller sees it.
#[derive(Debug, Clone)]
pub struct ClientVault {
    /// The vault.
    pub id: Id,
    /// Its owner (the user its AADs name).
    pub owner_id: Id,
    /// The caller's role (a token's is its user's).
    pub role: &'static str,
    /// The current key version.
    pub key_version: u32,
    /// Whether a rotation must run before the next write.
    pub rotation_due: bool,
    /// The name, sealed under the current key version.
    pub sealed_name: Vec<u8>,
    /// The current version's X25519 public key, once published.
    pub public_key: Option<Vec<u8>>,
    /// The owner's identity signature over it (end-to-end vaults).
    pub public_key_signature: Option<Vec<u8>>,
    /// The caller's slot or pending grant.
    pub slot: ClientSlot,
}

/// A vault's items as envelopes.
#[derive(Debug, Clone)]
pub struct ClientItemList {
    /// The items.
    pub items: Vec<RawItem>,
    /// The caller's slot.
    pub slot: ClientSlot,
    /// The chain from the slot's version down to the oldest item's.
    pub chain: Vec<ClientChainLink>,
}

/// One item as envelopes.
#[derive(Debug, Clone)]
pub struct ClientItem {
    /// The item.
    pub item: RawItem,
    /// The vault's owner (its AADs name them).
    pub owner_id: Id,
    /// The caller's slot.
    pub slot: ClientSlot,
    /// The chain from the slot's version down to the item's.
    pub chain: Vec<ClientChainLink>,
}

/// An item version a client sealed.
#[derive(Debug, Clone)]
pub struct ClientWrite {
    /// The item's id (a create must name it; the client bound it into the AADs).
    pub id: Option<Id>,
    /// The version being written (1 for a create, the read version + 1 for an update).
    pub version: u64,
    /// The vault key version the item key is wrapped under: must be the current one.
    pub key_version: u32,
    /// The item key under the vault key.
    pub wrapped_item_key: Vec<u8>,
    /// The name under the item key.
    pub sealed_name: Vec<u8>,
    /// The value under the item key.
    pub sealed_value: Vec<u8>,
    /// The name's blind index under this key version (FORMAT §11.3).
    pub name_index: Vec<u8>,
    /// The writer's identity signature (members; tokens send none).
    pub signature: Option<Vec<u8>>,
}

/// A vault an end-to-end client made.
#[derive(Debug, Clone)]
pub struct NewClientVault {
    /// Its id (the client bound it into every AAD).
    pub id: Id,
    /// Version 1 of the vault key under the owner's user key (member-slot AAD).
    pub wrapped_vault_key: Vec<u8>,
    /// The name under version 1.
    pub sealed_name: Vec<u8>,
    /// Version 1's X25519 public key.
    pub public_key: Vec<u8>,
    /// The owner's identity signature over it.
    pub public_key_signature: Vec<u8>,
    /// Version 1 sealed to each of the owner's live `"*"` tokens: `(token id, sealed)`.
    pub token_grants: Vec<(Id, Vec<u8>)>,
}

/// A token an end-to-end client made (END-TO-END §7, §9): everything but its secret.
#[derive(Clone)]
pub struct ClientMint {
    /// Its id (the client generated the `kse_` text around it).
    pub id: Id,
    /// Its name, under `name_key`.
    pub sealed_name: Vec<u8>,
    /// The name's content key, under the user key.
    pub name_key: Vec<u8>,
    /// SHA-256 of the token's `auth`.
    pub verifier: Vec<u8>,
    /// The token's X25519 public key.
    pub x25519_public: Vec<u8>,
    /// The user's identity signature over it.
    pub public_key_signature: Vec<u8>,
    /// Its scope.
    pub vaults: crate::views::Scope,
    /// Whether it may write.
    pub can_write: bool,
    /// A write-only deposit token.
    pub deposit: bool,
    /// Lifetime; the default when `None`.
    pub expires_in_seconds: Option<i64>,
    /// Its slots: `(vault, key_version, wrapped_vault_key)`.
    pub slots: Vec<(Id, u32, Vec<u8>)>,
    /// The password proof (`auth`, base64url), like `current_password` in server mode.
    pub auth: zeroize::Zeroizing<String>,
}

/// By hand: `auth` proves the password.
impl std::fmt::Debug for ClientMint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientMint")
            .field("id", &self.id)
            .field("vaults", &self.vaults)
            .field("can_write", &self.can_write)
            .field("deposit", &self.deposit)
            .finish_non_exhaustive()
    }
}

/// A token as its end-to-end user lists it: the name sealed, for the client to open.
#[derive(Debug, Clone)]
pub struct ClientToken {
    /// Token id.
    pub id: Id,
    /// The name under `name_key`.
    pub sealed_name: Vec<u8>,
    /// The name's content key under the user key.
    pub name_key: Vec<u8>,
    /// Its scope.
    pub vaults: crate::views::Scope,
    /// Whether it may write.
    pub can_write: bool,
    /// A write-only deposit token.
    pub deposit: bool,
    /// When it stops working.
    pub expires_at: i64,
    /// Last use.
    pub last_used_at: Option<i64>,
}
