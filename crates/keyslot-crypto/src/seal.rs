//! The seal key: the server's pepper, kept outside the database.
//!
//! Every password slot is sealed under this key on top of the password's own protection
//! (DESIGN.md §4). A stolen database, backup or replica then holds no verifier and no
//! wrapped key that a password guess could be tested against: without the seal key an
//! attacker cannot even start a dictionary attack. The seal key alone opens nothing
//! either: behind it is still the Argon2id of the password.
//!
//! [`SealKey`] is the joint: [`LocalSealKey`] keeps the key in memory, loaded from a key
//! file (`<data dir>/seal.key`, written by the server with mode 0600); a PKCS#11 HSM
//! implementation can come later behind the same trait. This crate only parses and
//! formats the key file's text; the file I/O lives in the server.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::aad::Aad;
use crate::envelope::{self, Envelope};
use crate::keys::{KEY_LEN, SymmetricKey};
use crate::{Error, Result, random};

/// Seals and opens small records (password slots) under a key the database never holds.
pub trait SealKey: Send + Sync + fmt::Debug {
    /// Seal `plaintext` bound to `aad`.
    fn seal(&self, aad: &Aad, plaintext: &[u8]) -> Result<Envelope>;
    /// Open what [`SealKey::seal`] made; fails on the wrong key or context.
    fn open(&self, aad: &Aad, envelope: &Envelope) -> Result<Zeroizing<Vec<u8>>>;
    /// A short public fingerprint of the key, for logs and error messages: it tells two
    /// keys apart and reveals nothing about either.
    fn fingerprint(&self) -> String;
}

const FILE_MAGIC: &str = "keyslot-seal-key-v1";

/// A seal key held in process memory, from a key file.
pub struct LocalSealKey(crate::keys::WrapKey);

impl fmt::Debug for LocalSealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalSealKey({})", self.fingerprint())
    }
}

impl LocalSealKey {
    /// A fresh random seal key.
    pub fn generate() -> Result<Self> {
        Ok(Self::from_bytes(random::array()?))
    }

    /// From raw bytes (test vectors).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(crate::keys::WrapKey::from_bytes(bytes))
    }

    /// The key file's text: `keyslot-seal-key-v1 <base64url key>\n`.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let encoded = Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0.key_bytes()));
        Zeroizing::new(format!("{FILE_MAGIC} {}\n", encoded.as_str()))
    }

    /// Parse a key file's text. Leading and trailing whitespace is ignored.
    pub fn from_file_text(text: &str) -> Result<Self> {
        let malformed = |reason| Error::Malformed {
            what: "seal key file",
            reason,
        };
        let rest = text
            .trim()
            .strip_prefix(FILE_MAGIC)
            .ok_or(malformed("missing the keyslot-seal-key-v1 header"))?;
        let encoded = rest.strip_prefix(' ').ok_or(malformed("missing the key"))?;
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(encoded)
                .map_err(|_| malformed("key is not base64url"))?,
        );
        let key: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| malformed("key is not 32 bytes"))?;
        Ok(Self::from_bytes(key))
    }
}

impl SealKey for LocalSealKey {
    fn seal(&self, aad: &Aad, plaintext: &[u8]) -> Result<Envelope> {
        envelope::seal(&self.0, aad, plaintext)
    }

    fn open(&self, aad: &Aad, envelope: &Envelope) -> Result<Zeroizing<Vec<u8>>> {
        envelope::open(&self.0, aad, envelope)
    }

    fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"keyslot/v1/seal-key-fingerprint");
        h.update(self.0.key_bytes());
        hex::encode(&h.finalize()[..8])
    }
}
