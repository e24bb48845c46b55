//! The blind name index of an item (FORMAT §11.3): lets a client ask the server for the
//! item named `db/password` without the server learning the name, and without
//! downloading every name of the vault.
//!
//! ```text
//! index key = HKDF-Expand(HKDF-Extract(salt = vault id ‖ key version u32 BE, IKM = VK_v),
//!                         "keyslot/v1/vault/name-index", 32)
//! index     = HMAC-SHA256(index key, name UTF-8)
//! ```
//!
//! The key is the only non-AEAD use of a vault key besides its X25519 pair, under its own
//! label, so neither output says anything about the other or about the key. It is per
//! vault and per key version: equal names in two vaults, or across a rotation, have
//! unrelated indexes (the re-wrap recomputes them). Names are hashed as written: the
//! name rules validate names and never transform them, so the index of a name is the
//! index of the bytes the item holds. The server learns which items share a name within
//! one vault and key version (none, as names are unique there) and nothing else.

use hkdf::Hkdf;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::Id;
use crate::keys::VaultKey;

/// HKDF label of the index key.
pub const LABEL: &str = "keyslot/v1/vault/name-index";
/// Length of an index.
pub const INDEX_LEN: usize = 32;

/// The index key of one vault key version. Zeroized on drop; never printed.
pub struct NameIndexKey(Zeroizing<[u8; 32]>);

impl core::fmt::Debug for NameIndexKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NameIndexKey(***)")
    }
}

impl NameIndexKey {
    /// Derive from vault key version `key_version` of `vault`.
    pub fn derive(vault_key: &VaultKey, vault: &Id, key_version: u32) -> Self {
        let mut salt = [0u8; 20];
        salt[..16].copy_from_slice(vault.as_bytes());
        salt[16..].copy_from_slice(&key_version.to_be_bytes());
        let hk = Hkdf::<Sha256>::new(Some(&salt), vault_key.expose_secret());
        let mut key = Zeroizing::new([0u8; 32]);
        // HKDF-Expand fails only for outputs longer than 255 * 32 bytes; this is 32.
        let _ = hk.expand(LABEL.as_bytes(), key.as_mut());
        Self(key)
    }

    /// The index of `name` (its UTF-8 bytes, untransformed).
    pub fn index(&self, name: &str) -> [u8; INDEX_LEN] {
        // HMAC accepts keys of any length; this one is 32 bytes.
        let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_ref()) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(name.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The key bytes, for the test vectors of `docs/FORMAT.md` only.
    #[doc(hidden)]
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}
