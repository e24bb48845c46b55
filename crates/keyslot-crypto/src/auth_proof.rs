//! What an end-to-end client sends to prove a credential: the credential's id and its
//! `auth` value (FORMAT §5.1 split), never the secret itself (`docs/END-TO-END.md` §1).
//!
//! The server computes `SHA-256(auth)` and compares it with the verifier it stores, exactly
//! as it does for a server-mode credential after deriving `auth` itself; `auth` cannot
//! produce the wrap key, so a server that sees it still opens nothing.
//!
//! A token's proof travels as text in `Authorization: Bearer`, in the layout of
//! §8.1 with the prefix `ksa_` (FORMAT §11.1):
//!
//! ```text
//! ksa_ ‖ base62(id (16 bytes) ‖ auth (32 bytes), 65 chars) ‖ base62(CRC32(everything before), 6 chars)
//! ```
//!
//! A password or recovery login sends `auth` alone, as base64url, beside the credential
//! id the prelogin answered.
//!
//! A proof is a bearer secret like a `kst_` token: whoever holds it can authenticate as
//! the token (but never unwrap anything). It is zeroized on drop and never printed.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::kdf::Verifier;
use crate::text_credential::{BODY_BYTES, CredentialFormatError, decode_text, encode_text};
use crate::{Error, Id, Result};

/// The text prefix of a token's proof.
pub const PREFIX: &str = "ksa_";

/// A credential id and its `auth` value.
pub struct AuthProof {
    id: Id,
    auth: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for AuthProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}…(***)", self.id)
    }
}

impl AuthProof {
    /// From an id and `auth` (copied; the caller's copy is the caller's to zeroize).
    pub fn new(id: Id, auth: &[u8; 32]) -> Self {
        Self {
            id,
            auth: Zeroizing::new(*auth),
        }
    }

    /// Parse `ksa_…`: a wrong prefix (a `kst_`, `kse_` or `kss_` sent where a proof is
    /// expected), length, character, range or checksum is refused before any lookup.
    pub fn parse(text: &str) -> Result<Self, CredentialFormatError> {
        let body = decode_text(PREFIX, text)?;
        let mut id = [0u8; 16];
        id.copy_from_slice(&body[..16]);
        let mut auth = Zeroizing::new([0u8; 32]);
        auth.copy_from_slice(&body[16..]);
        Ok(Self {
            id: Id::from_bytes(id),
            auth,
        })
    }

    /// The `ksa_…` text, for `Authorization: Bearer`. Zeroized when dropped.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut body = Zeroizing::new([0u8; BODY_BYTES]);
        body[..16].copy_from_slice(self.id.as_bytes());
        body[16..].copy_from_slice(self.auth.as_ref());
        encode_text(PREFIX, &body)
    }

    /// A password's or recovery code's proof: the credential id (from the prelogin or the
    /// recovery slot) and `auth` as base64url (43 characters, no padding).
    pub fn from_base64url(id: Id, auth: &str) -> Result<Self> {
        let malformed = || Error::Malformed {
            what: "auth",
            reason: "expected 32 bytes in base64url without padding",
        };
        let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(auth).map_err(|_| malformed())?);
        let array: &[u8; 32] = bytes.as_slice().try_into().map_err(|_| malformed())?;
        Ok(Self::new(id, array))
    }

    /// `auth` as base64url, for a password or recovery login. Zeroized when dropped.
    pub fn auth_base64url(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.auth.as_ref()))
    }

    /// The credential id: which row the server looks up.
    pub const fn id(&self) -> &Id {
        &self.id
    }

    /// `SHA-256(auth)`, to compare (constant time, [`Verifier::check`]) with the stored
    /// verifier.
    pub fn verifier(&self) -> Verifier {
        Verifier::of_auth(&self.auth)
    }

    /// The raw `auth` bytes, for the test vectors of `docs/FORMAT.md` only.
    #[doc(hidden)]
    pub fn expose_auth(&self) -> &[u8; 32] {
        &self.auth
    }
}
