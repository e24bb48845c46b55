//! Key types of the hierarchy. Each is 256 bits inside a [`SecretBox`] (zeroized on drop),
//! prints as `Name(***)`, is not `Serialize`, and is not `Clone`: a key that must live in
//! two places is unwrapped twice, so no copy outlives the request that made it.
//!
//! Which key may wrap which is a trait, [`Wraps`], implemented only along the arrows of
//! the hierarchy; which key may encrypt content is another, [`ContentKey`], implemented
//! only by [`ItemKey`] (and [`VaultKey`] for the vault's own name). A wrapping key
//! therefore cannot be handed to content encryption by mistake: it does not compile.

use core::fmt;

use secrecy::{ExposeSecret, SecretBox};

use crate::aad::Aad;
use crate::envelope::{self, Envelope};
use crate::{Result, random};

/// Length in bytes of every symmetric key in the hierarchy.
pub const KEY_LEN: usize = 32;

/// Access to the raw bytes of a symmetric key, for the AEAD only. Sealed to this crate.
pub trait SymmetricKey: sealed::Sealed {
    /// The 32 key bytes. Only the envelope code calls this.
    #[doc(hidden)]
    fn key_bytes(&self) -> &[u8; KEY_LEN];
    /// Build from bytes just unwrapped or derived.
    #[doc(hidden)]
    fn from_key_bytes(bytes: [u8; KEY_LEN]) -> Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! secret_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(SecretBox<[u8; KEY_LEN]>);

        impl $name {
            /// A fresh random key from the OS CSPRNG.
            pub fn generate() -> Result<Self> {
                random::array().map(|bytes| Self(SecretBox::new(Box::new(bytes))))
            }

            /// The raw key bytes. The loud name is the point: callers outside this crate
            /// need this only for test vectors and interoperability checks.
            pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
                self.0.expose_secret()
            }

            /// A key from raw bytes (test vectors, key files, derivations).
            pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
                Self(SecretBox::new(Box::new(bytes)))
            }
        }

        impl sealed::Sealed for $name {}

        impl SymmetricKey for $name {
            fn key_bytes(&self) -> &[u8; KEY_LEN] {
                self.0.expose_secret()
            }
            fn from_key_bytes(bytes: [u8; KEY_LEN]) -> Self {
                Self::from_bytes(bytes)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }
    };
}

secret_key! {
    /// The key a credential derives (password, recovery code, session, token). It only
    /// ever wraps a [`UserKey`] or a [`VaultKey`].
    WrapKey
}
secret_key! {
    /// One per user, random. Wraps the user's vault keys and X25519 private key. Every
    /// password, recovery, session and all-vaults token slot holds a wrapped copy.
    UserKey
}
secret_key! {
    /// One per vault (per key version). Wraps item keys; encrypts the vault's name.
    VaultKey
}
secret_key! {
    /// Fresh for every item version, never reused: encrypts that version's name and value.
    ItemKey
}

/// `Self` may wrap keys of type `K`: the arrows of the hierarchy, and no others.
pub trait Wraps<K: SymmetricKey>: SymmetricKey {
    /// Wrap `key` under `self`, bound to `aad`.
    fn wrap(&self, key: &K, aad: &Aad) -> Result<Envelope> {
        envelope::seal(self, aad, key.key_bytes())
    }

    /// Open a wrapped key; fails on the wrong key, wrong context or tampering.
    fn unwrap_key(&self, wrapped: &Envelope, aad: &Aad) -> Result<K> {
        let plain = envelope::open(self, aad, wrapped)?;
        let bytes: [u8; KEY_LEN] =
            plain
                .as_slice()
                .try_into()
                .map_err(|_| crate::Error::Malformed {
                    what: "wrapped key",
                    reason: "not 32 bytes",
                })?;
        Ok(K::from_key_bytes(bytes))
    }
}

impl Wraps<UserKey> for WrapKey {}
impl Wraps<VaultKey> for WrapKey {}
impl Wraps<VaultKey> for UserKey {}
impl Wraps<ItemKey> for VaultKey {}
/// The backward chain of a rotated vault: version `n + 1` wraps version `n`, so holders of
/// the new key read items still under the old one, and holders of an old key never get a
/// newer one. The type system cannot tell a newer vault key from an older one, so use
/// [`crate::lifecycle::wrap_chain`] and [`crate::lifecycle::open_chain`], which take the versions
/// and bind them, rather than calling this impl directly.
impl Wraps<Self> for VaultKey {}
/// The user key wraps the content keys of the account's own metadata (token names), so
/// that the user key itself never encrypts content.
impl Wraps<ItemKey> for UserKey {}

/// Keys that encrypt content (names and values), never other keys.
pub trait ContentKey: SymmetricKey {
    /// Encrypt `plaintext` bound to `aad`.
    fn seal_content(&self, aad: &Aad, plaintext: &[u8]) -> Result<Envelope> {
        envelope::seal(self, aad, plaintext)
    }

    /// Decrypt content; the plaintext is zeroized when dropped.
    fn open_content(&self, aad: &Aad, envelope: &Envelope) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        envelope::open(self, aad, envelope)
    }
}

impl ContentKey for ItemKey {}
/// The vault key encrypts one piece of content of its own: the vault's name.
impl ContentKey for VaultKey {}
