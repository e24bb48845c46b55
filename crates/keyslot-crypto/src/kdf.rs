//! HKDF-SHA256 derivations: how a credential's secret becomes an `auth` value (whose
//! SHA-256, the [`Verifier`], the server stores) and a [`WrapKey`] (which opens the
//! credential's slots).
//!
//! `PRK = HKDF-Extract(salt = credential id (16 bytes), IKM = secret)`, then
//! `auth = HKDF-Expand(PRK, "<prefix>/auth", 32)` and `wrap = HKDF-Expand(PRK, "<prefix>/wrap", 32)`.
//! The two outputs are independent, so the server can store `SHA-256(auth)` and compare
//! it without ever being able to derive `wrap` from what it stores. HKDF (not Argon2) is
//! right for tokens, sessions and recovery codes because their secrets carry 128 or 256
//! bits of entropy; passwords go through Argon2id first (see `slot::password`).

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::aad::CredentialKind;
use crate::keys::WrapKey;
use crate::{Error, Id, Result};

/// `SHA-256(auth)`: what the server stores to check a credential. Not secret by itself
/// (it cannot open anything), but compared in constant time all the same.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Verifier([u8; 32]);

impl Verifier {
    /// The stored bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From stored bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::Malformed {
                what: "verifier",
                reason: "not 32 bytes",
            })
    }

    /// `SHA-256(auth)`: the verifier of a presented `auth` value (an end-to-end client's
    /// proof, [`crate::auth_proof::AuthProof`]).
    pub fn of_auth(auth: &[u8; 32]) -> Self {
        Self(Sha256::digest(auth).into())
    }

    /// Constant-time check of a presented credential against the stored verifier.
    pub fn check(&self, presented: &Self) -> Result<()> {
        if bool::from(self.0.ct_eq(&presented.0)) {
            Ok(())
        } else {
            Err(Error::WrongCredential)
        }
    }
}

impl core::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Verifier(..)")
    }
}

/// Split a credential secret into its `auth` value and wrap key. The slot layer
/// ([`crate::slot`]) is the only caller; it pairs the result with the credential's kind and
/// id, and keeps `auth` only for an end-to-end client to send ([`crate::auth_proof`]).
pub(crate) fn split(
    kind: CredentialKind,
    credential_id: &Id,
    secret: &[u8],
) -> (Zeroizing<[u8; 32]>, WrapKey) {
    let hk = Hkdf::<Sha256>::new(Some(credential_id.as_bytes()), secret);
    let mut auth = Zeroizing::new([0u8; 32]);
    let mut wrap = Zeroizing::new([0u8; 32]);
    let prefix = kind.kdf_prefix().as_bytes();
    // HKDF-Expand fails only for outputs longer than 255 * 32 bytes; these are 32.
    let _ = hk.expand_multi_info(&[prefix, b"/auth"], auth.as_mut());
    let _ = hk.expand_multi_info(&[prefix, b"/wrap"], wrap.as_mut());
    (auth, WrapKey::from_bytes(*wrap))
}

/// Derive 32 bytes for another purpose from a credential secret (e.g. a token's X25519
/// private key). `info` must be a distinct constant label.
pub(crate) fn expand(credential_id: &Id, secret: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(Some(credential_id.as_bytes()), secret);
    let mut out = Zeroizing::new([0u8; 32]);
    let _ = hk.expand(info, out.as_mut());
    out
}
