//! X25519 key pairs: the identities that keys are sealed to (DESIGN §3.1, `docs/FORMAT.md`
//! §9).
//!
//! Their public halves let Keyslot *seal* a key to a holder without holding the holder's
//! secret: a rotated vault key to the tokens and members that keep access (a pending
//! grant), a new user key to the recovery code, a deposited item key to the vault.
//!
//! | identity | private half | [`RecipientKind`] |
//! |---|---|---|
//! | [`TokenKeyPair`] | `HKDF-Expand(HKDF-Extract(token id, secret), "keyslot/v1/token/x25519", 32)` | token |
//! | [`UserKeyPair`] | random; stored wrapped under the user key (AAD `keyslot/v1/user/x25519`) | user |
//! | [`RecoveryKeyPair`] | `HKDF-Expand(HKDF-Extract(credential id, code), "keyslot/v1/recovery/x25519", 32)` | recovery code |
//! | [`VaultKeyPair`] | `HKDF-Expand(HKDF-Extract(vault id ‖ key version u32 BE, VK), "keyslot/v1/vault/x25519", 32)` | vault |
//!
//! **The password has no key pair**, and nothing in this crate seals to a password: a
//! public key derived from the Argon2 output, or any ciphertext a password-derived key
//! opens, would be a verifier that a database dump (salts and parameters are public)
//! could test guesses against. Every pair here comes from a 128- or 256-bit secret.
//!
//! Each private half is an X25519 scalar, clamped when used (RFC 7748); the same bytes are
//! the HPKE private key (`SerializePrivateKey`, RFC 9180 §7.1.2, clamps too), so the public
//! key stored for a holder is exactly the one HPKE encapsulates to.

use core::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::aad::{Aad, Purpose, RecipientKind};
use crate::envelope::{self, Envelope};
use crate::kdf;
use crate::keys::{UserKey, VaultKey};
use crate::recovery_code::RecoveryCode;
use crate::text_credential::{CredentialSecret, TokenSecretKind};
use crate::{Error, Id, Result, random};

/// HKDF label of a token's key pair (beside `keyslot/v1/token/auth` and `…/wrap`).
pub const TOKEN_LABEL: &str = "keyslot/v1/token/x25519";
/// HKDF label of a recovery code's key pair.
pub const RECOVERY_LABEL: &str = "keyslot/v1/recovery/x25519";
/// HKDF label of a vault key version's key pair.
pub const VAULT_LABEL: &str = "keyslot/v1/vault/x25519";

/// The public half of an X25519 key pair: 32 bytes, stored in the clear. Prints as hex.
///
/// Before anything is sealed to a stored public key, its MAC
/// ([`crate::public_key_mac::verify_public_key_mac`]) proves that it belongs to the holder
/// whose row it sits in.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// From its 32 bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From a stored slice, which must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::Malformed {
                what: "x25519 public key",
                reason: "not 32 bytes",
            })
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 32 bytes, by value.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }
}

impl From<[u8; 32]> for PublicKey {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.0))
    }
}

pub(crate) mod private {
    /// Proof of being inside this crate: only it can make one, so only it can call
    /// [`Sealed::secret`], although the method is reachable through the public trait.
    #[derive(Debug)]
    pub struct Token(pub(super) ());

    impl Token {
        pub(crate) const fn new() -> Self {
            Self(())
        }
    }

    /// Seals [`super::X25519Identity`]: the key pairs of this module are the only
    /// identities, and only this crate reads their private halves.
    pub trait Sealed {
        fn secret(&self, _: Token) -> &x25519_dalek::StaticSecret;
    }
}

/// The private side of a recipient: something a key sealed to its public key opens with
/// ([`crate::sealed_key::open_from`]). Implemented by [`TokenKeyPair`], [`UserKeyPair`],
/// [`RecoveryKeyPair`] and [`VaultKeyPair`] only; deliberately by nothing that comes from
/// a password.
pub trait X25519Identity: private::Sealed {
    /// Which kind of recipient this identity is; `open_from` refuses an AAD that names
    /// another kind.
    const KIND: RecipientKind;

    /// The public half, to store (with its MAC) and seal to.
    fn public_key(&self) -> PublicKey;
}

/// A private scalar and its public point.
struct Pair {
    secret: StaticSecret,
    public: x25519_dalek::PublicKey,
}

impl Pair {
    fn from_secret(bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        let public = x25519_dalek::PublicKey::from(&secret);
        Self { secret, public }
    }

    fn public_key(&self) -> PublicKey {
        PublicKey(self.public.to_bytes())
    }
}

macro_rules! identity {
    ($name:ident, $kind:expr) => {
        impl $name {
            /// The public half, to store (with its MAC) and seal to.
            pub fn public_key(&self) -> PublicKey {
                self.0.public_key()
            }
        }

        impl private::Sealed for $name {
            fn secret(&self, _: private::Token) -> &StaticSecret {
                &self.0.secret
            }
        }

        impl X25519Identity for $name {
            const KIND: RecipientKind = $kind;
            fn public_key(&self) -> PublicKey {
                self.0.public_key()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    concat!(stringify!($name), "(public: {}, secret: ***)"),
                    hex::encode(self.0.public.as_bytes())
                )
            }
        }
    };
}

/// A user's X25519 key pair: random, its private half stored wrapped under the user key.
/// A user-key rotation makes a new one. The private half is zeroized on drop and never
/// printed.
pub struct UserKeyPair(Pair);
identity!(UserKeyPair, RecipientKind::User);

fn user_aad(user: &Id) -> Aad {
    Aad::new(Purpose::UserX25519).user(user)
}

impl UserKeyPair {
    /// A fresh random key pair.
    pub fn generate() -> Result<Self> {
        let bytes = Zeroizing::new(random::array::<32>()?);
        Ok(Self(Pair::from_secret(*bytes)))
    }

    /// The public half as bytes (see [`UserKeyPair::public_key`]).
    pub fn public(&self) -> [u8; 32] {
        self.0.public.to_bytes()
    }

    /// The private half wrapped under the user key.
    pub fn wrap(&self, user_key: &UserKey, user: &Id) -> Result<Envelope> {
        envelope::seal(user_key, &user_aad(user), self.0.secret.as_bytes())
    }

    /// Open a wrapped private key and rebuild the pair.
    pub fn unwrap(user_key: &UserKey, user: &Id, wrapped: &Envelope) -> Result<Self> {
        let bytes = envelope::open(user_key, &user_aad(user), wrapped)?;
        let array: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.as_slice().try_into().map_err(|_| Error::Malformed {
                what: "x25519 private key",
                reason: "not 32 bytes",
            })?);
        Ok(Self(Pair::from_secret(*array)))
    }

    /// Raw X25519 with another public key. Sealing keys goes through
    /// [`crate::sealed_key`] (HPKE) instead; this stays for callers that predate it.
    pub fn diffie_hellman(&self, their_public: &[u8; 32]) -> [u8; 32] {
        self.0
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(*their_public))
            .to_bytes()
    }
}

/// An API token's key pair, derived from its secret: the server stores only the public
/// half and needs nothing else from the token to seal to it.
pub struct TokenKeyPair(Pair);
identity!(TokenKeyPair, RecipientKind::Token);

impl TokenKeyPair {
    /// `HKDF-Expand(HKDF-Extract(salt = token id, IKM = secret), "keyslot/v1/token/x25519", 32)`.
    /// The same for a `kst_` and a `kse_` token (same secret, same labels).
    pub fn derive<K: TokenSecretKind>(token: &CredentialSecret<K>) -> Self {
        let private = kdf::expand(token.id(), token.expose_secret(), TOKEN_LABEL.as_bytes());
        Self(Pair::from_secret(*private))
    }
}

/// The public half of a token's X25519 key pair, derived from its secret (what the token's
/// row stores). Same as `TokenKeyPair::derive(token).public_key()`.
pub fn token_public_key<K: TokenSecretKind>(token: &CredentialSecret<K>) -> [u8; 32] {
    TokenKeyPair::derive(token).public_key().to_bytes()
}

/// A recovery code's key pair, derived from the code: a new user key is sealed to it after
/// a user-key rotation (the password cannot take that role, see the module docs).
pub struct RecoveryKeyPair(Pair);
identity!(RecoveryKeyPair, RecipientKind::RecoveryCode);

impl RecoveryKeyPair {
    /// `HKDF-Expand(HKDF-Extract(salt = recovery credential id, IKM = the 16 code bytes),
    /// "keyslot/v1/recovery/x25519", 32)`: the PRK of the code's `auth`/`wrap` split.
    pub fn derive(code: &RecoveryCode, credential_id: &Id) -> Self {
        let private = kdf::expand(
            credential_id,
            code.expose_secret(),
            RECOVERY_LABEL.as_bytes(),
        );
        Self(Pair::from_secret(*private))
    }
}

/// A vault key version's key pair, derived from that vault key: deposits are sealed to its
/// public half, so a deposit token (which holds no vault key) can write what only the
/// vault's readers open. Each version has its own pair; a rotation publishes the new one.
pub struct VaultKeyPair(Pair);
identity!(VaultKeyPair, RecipientKind::Vault);

impl VaultKeyPair {
    /// `HKDF-Expand(HKDF-Extract(salt = vault id ‖ key version u32 BE (20 bytes), IKM = VK),
    /// "keyslot/v1/vault/x25519", 32)`. The salt binds the pair to its vault and version, so
    /// a vault key copied under another vault id or version yields another pair.
    pub fn derive(vault_key: &VaultKey, vault: &Id, key_version: u32) -> Self {
        let mut salt = [0u8; 20];
        salt[..16].copy_from_slice(vault.as_bytes());
        salt[16..].copy_from_slice(&key_version.to_be_bytes());
        let hk = Hkdf::<Sha256>::new(Some(&salt), vault_key.expose_secret());
        let mut private = Zeroizing::new([0u8; 32]);
        // HKDF-Expand fails only for outputs longer than 255 * 32 bytes; this is 32.
        let _ = hk.expand(VAULT_LABEL.as_bytes(), private.as_mut());
        Self(Pair::from_secret(*private))
    }
}
