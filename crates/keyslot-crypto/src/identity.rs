//! Ed25519 identity keys of end-to-end accounts (`docs/END-TO-END.md` §5, FORMAT §11.4):
//! the root of every public key a client seals to.
//!
//! Each end-to-end user has one identity key pair. The private half (its 32-byte seed)
//! is stored wrapped under the user key (AAD `keyslot/v1/user/identity-key`, user); the
//! public half is public. A user's **fingerprint**, confirmed out of band before sharing,
//! is the first 20 bytes of `SHA-256("keyslot/v1/identity-fingerprint" ‖ public)` in five
//! groups of eight hex digits; the client then pins it ([`crate::pins`]).
//!
//! The identity signs statements, each a domain-separated message with fixed-width
//! fields, so no statement can be read as another or as a different one of its kind:
//!
//! ```text
//! "KSSIG1" ‖ len u8 ‖ label ‖ fields
//! keyslot/v1/sig/user-x25519   user (16) ‖ X25519 public (32)
//! keyslot/v1/sig/token-key     user (16) ‖ token (16) ‖ X25519 public (32)
//! keyslot/v1/sig/vault-key     vault (16) ‖ key version u32 BE ‖ X25519 public (32)
//! keyslot/v1/sig/members       vault (16) ‖ key version u32 BE ‖ count u32 BE ‖
//!                              count × (user (16) ‖ role u8 ‖ identity public (32)), by user id;
//!                              role 1 read, 2 write, 3 owner
//! keyslot/v1/sig/item          vault (16) ‖ item (16) ‖ item version u64 BE ‖
//!                              SHA-256(wrapped item key) ‖ SHA-256(sealed name) ‖ SHA-256(sealed value)
//! ```
//!
//! Signatures are Ed25519 (RFC 8032) by `ed25519-dalek`; verification is strict (no
//! small-order keys or `R`, canonical `S`).

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::aad::{Aad, Purpose};
use crate::envelope::{self, Envelope};
use crate::item::SealedItem;
use crate::keys::UserKey;
use crate::x25519::PublicKey;
use crate::{Error, Id, Result, random};

/// Magic of every signed message.
const MAGIC: &[u8; 6] = b"KSSIG1";
/// Prefix of the fingerprint hash.
pub const FINGERPRINT_DOMAIN: &[u8] = b"keyslot/v1/identity-fingerprint";

/// Labels of the signed statements.
pub mod label {
    /// A user's own X25519 public key.
    pub const USER_X25519: &str = "keyslot/v1/sig/user-x25519";
    /// One of the user's tokens' X25519 public keys.
    pub const TOKEN_KEY: &str = "keyslot/v1/sig/token-key";
    /// A vault key version's X25519 public key (signed by the owner).
    pub const VAULT_KEY: &str = "keyslot/v1/sig/vault-key";
    /// A vault's member list at a key version (signed by the owner).
    pub const MEMBERS: &str = "keyslot/v1/sig/members";
    /// An item version (signed by its writer).
    pub const ITEM: &str = "keyslot/v1/sig/item";
}

/// The role bytes of a signed member list (FORMAT §11.4).
pub mod role {
    /// List and read items.
    pub const READ: u8 = 1;
    /// Read and write items.
    pub const WRITE: u8 = 2;
    /// The owner.
    pub const OWNER: u8 = 3;
}

/// A user's Ed25519 identity key pair. The seed is zeroized on drop and never printed.
pub struct IdentityKeyPair(SigningKey);

impl fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKeyPair(public: {}, secret: ***)", self.public())
    }
}

fn identity_aad(user: &Id) -> Aad {
    Aad::new(Purpose::IdentityKey).user(user)
}

impl IdentityKeyPair {
    /// A fresh key pair from 32 bytes of the OS CSPRNG.
    pub fn generate() -> Result<Self> {
        let seed = Zeroizing::new(random::array::<32>()?);
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// From its seed (test vectors).
    #[doc(hidden)]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The public half.
    pub fn public(&self) -> IdentityPublic {
        IdentityPublic(self.0.verifying_key())
    }

    /// The seed wrapped under the user key, bound to `user`.
    pub fn wrap(&self, user_key: &UserKey, user: &Id) -> Result<Envelope> {
        let seed = Zeroizing::new(self.0.to_bytes());
        envelope::seal(user_key, &identity_aad(user), seed.as_ref())
    }

    /// Open a wrapped seed: only under `user`'s user key and `user`'s AAD.
    pub fn open(user_key: &UserKey, user: &Id, wrapped: &Envelope) -> Result<Self> {
        let plain = envelope::open(user_key, &identity_aad(user), wrapped)?;
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(plain.as_slice().try_into().map_err(|_| Error::Malformed {
                what: "identity key",
                reason: "not 32 bytes",
            })?);
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }

    /// Sign the user's own X25519 public key.
    pub fn sign_user_x25519(&self, user: &Id, key: &PublicKey) -> Signature {
        self.sign(&user_x25519_message(user, key))
    }

    /// Sign one of the user's tokens' X25519 public keys.
    pub fn sign_token_key(&self, user: &Id, token: &Id, key: &PublicKey) -> Signature {
        self.sign(&token_key_message(user, token, key))
    }

    /// Sign a vault key version's X25519 public key (the owner, at creation and rotation).
    pub fn sign_vault_key(&self, vault: &Id, key_version: u32, key: &PublicKey) -> Signature {
        self.sign(&vault_key_message(vault, key_version, key))
    }

    /// Sign a vault's member list at a key version (the owner). The order of `members`
    /// does not matter (they are signed sorted by user id); a user listed twice is refused.
    pub fn sign_members(
        &self,
        vault: &Id,
        key_version: u32,
        members: &[(Id, u8, IdentityPublic)],
    ) -> Result<Signature> {
        Ok(self.sign(&members_message(vault, key_version, members)?))
    }

    /// Sign an item version as written (its writer).
    pub fn sign_item(&self, vault: &Id, item: &Id, version: u64, sealed: &SealedItem) -> Signature {
        self.sign(&item_message(vault, item, version, sealed))
    }
}

/// The public half of an identity key: 32 bytes, a valid Ed25519 point of large order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdentityPublic(VerifyingKey);

impl fmt::Debug for IdentityPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityPublic({})", self.fingerprint())
    }
}

impl fmt::Display for IdentityPublic {
    /// The fingerprint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

impl IdentityPublic {
    /// From 32 stored bytes: refuses a wrong length, bytes that are not a point, and a
    /// weak (small-order) key, which would verify signatures nobody made.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let malformed = |reason| Error::Malformed {
            what: "identity public key",
            reason,
        };
        let array: &[u8; 32] = bytes.try_into().map_err(|_| malformed("not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(array).map_err(|_| malformed("not a curve point"))?;
        if key.is_weak() {
            return Err(malformed("a small-order point"));
        }
        Ok(Self(key))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The first 20 bytes of `SHA-256("keyslot/v1/identity-fingerprint" ‖ public)` as
    /// five groups of eight lowercase hex digits joined by spaces, for people to compare.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(FINGERPRINT_DOMAIN);
        h.update(self.as_bytes());
        let digest = h.finalize();
        digest[..20]
            .chunks(4)
            .map(hex::encode)
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(message, &sig)
            .map_err(|_| Error::BadSignature)
    }

    /// Verify [`IdentityKeyPair::sign_user_x25519`].
    pub fn verify_user_x25519(
        &self,
        user: &Id,
        key: &PublicKey,
        signature: &Signature,
    ) -> Result<()> {
        self.verify(&user_x25519_message(user, key), signature)
    }

    /// Verify [`IdentityKeyPair::sign_token_key`].
    pub fn verify_token_key(
        &self,
        user: &Id,
        token: &Id,
        key: &PublicKey,
        signature: &Signature,
    ) -> Result<()> {
        self.verify(&token_key_message(user, token, key), signature)
    }

    /// Verify [`IdentityKeyPair::sign_vault_key`].
    pub fn verify_vault_key(
        &self,
        vault: &Id,
        key_version: u32,
        key: &PublicKey,
        signature: &Signature,
    ) -> Result<()> {
        self.verify(&vault_key_message(vault, key_version, key), signature)
    }

    /// Verify [`IdentityKeyPair::sign_members`].
    pub fn verify_members(
        &self,
        vault: &Id,
        key_version: u32,
        members: &[(Id, u8, Self)],
        signature: &Signature,
    ) -> Result<()> {
        self.verify(&members_message(vault, key_version, members)?, signature)
    }

    /// Verify [`IdentityKeyPair::sign_item`].
    pub fn verify_item(
        &self,
        vault: &Id,
        item: &Id,
        version: u64,
        sealed: &SealedItem,
        signature: &Signature,
    ) -> Result<()> {
        self.verify(&item_message(vault, item, version, sealed), signature)
    }
}

/// An Ed25519 signature: 64 bytes, base64url in JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(&self.0[..8]))
    }
}

impl Signature {
    /// From 64 stored bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        <[u8; 64]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::Malformed {
                what: "signature",
                reason: "not 64 bytes",
            })
    }

    /// The 64 bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// base64url without padding.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parse base64url without padding.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| Error::Malformed {
            what: "signature",
            reason: "not base64url without padding",
        })?;
        Self::from_slice(&bytes)
    }
}

fn message(label: &str, capacity: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(MAGIC.len() + 1 + label.len() + capacity);
    m.extend_from_slice(MAGIC);
    // Every label is a short constant of this module.
    m.push(label.len() as u8);
    m.extend_from_slice(label.as_bytes());
    m
}

/// The signed message of a user's X25519 key (FORMAT §11.4).
pub fn user_x25519_message(user: &Id, key: &PublicKey) -> Vec<u8> {
    let mut m = message(label::USER_X25519, 48);
    m.extend_from_slice(user.as_bytes());
    m.extend_from_slice(key.as_bytes());
    m
}

/// The signed message of a token's X25519 key.
pub fn token_key_message(user: &Id, token: &Id, key: &PublicKey) -> Vec<u8> {
    let mut m = message(label::TOKEN_KEY, 64);
    m.extend_from_slice(user.as_bytes());
    m.extend_from_slice(token.as_bytes());
    m.extend_from_slice(key.as_bytes());
    m
}

/// The signed message of a vault key version's X25519 key.
pub fn vault_key_message(vault: &Id, key_version: u32, key: &PublicKey) -> Vec<u8> {
    let mut m = message(label::VAULT_KEY, 52);
    m.extend_from_slice(vault.as_bytes());
    m.extend_from_slice(&key_version.to_be_bytes());
    m.extend_from_slice(key.as_bytes());
    m
}

/// The signed message of a member list: sorted by user id; a user listed twice is
/// refused (two roles for one member would be ambiguous).
pub fn members_message(
    vault: &Id,
    key_version: u32,
    members: &[(Id, u8, IdentityPublic)],
) -> Result<Vec<u8>> {
    let mut sorted: Vec<&(Id, u8, IdentityPublic)> = members.iter().collect();
    sorted.sort_by_key(|(user, _, _)| *user);
    if sorted.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Err(Error::Malformed {
            what: "member list",
            reason: "a user is listed twice",
        });
    }
    let count = u32::try_from(sorted.len()).map_err(|_| Error::Malformed {
        what: "member list",
        reason: "too long",
    })?;
    let mut m = message(label::MEMBERS, 24 + 49 * sorted.len());
    m.extend_from_slice(vault.as_bytes());
    m.extend_from_slice(&key_version.to_be_bytes());
    m.extend_from_slice(&count.to_be_bytes());
    for (user, role, identity) in sorted {
        m.extend_from_slice(user.as_bytes());
        m.push(*role);
        m.extend_from_slice(identity.as_bytes());
    }
    Ok(m)
}

/// The signed message of an item version: its place and the hashes of its three
/// envelopes (fixed width whatever their lengths).
pub fn item_message(vault: &Id, item: &Id, version: u64, sealed: &SealedItem) -> Vec<u8> {
    let mut m = message(label::ITEM, 136);
    m.extend_from_slice(vault.as_bytes());
    m.extend_from_slice(item.as_bytes());
    m.extend_from_slice(&version.to_be_bytes());
    for part in [
        &sealed.wrapped_item_key,
        &sealed.sealed_name,
        &sealed.sealed_value,
    ] {
        m.extend_from_slice(&Sha256::digest(part));
    }
    m
}
