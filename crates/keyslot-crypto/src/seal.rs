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
    /// HMAC-SHA256 of `data` under the key the seal key holds for `label`, one key per
    /// label, so a MAC made for one purpose never stands in for another. For what the
    /// server must recognise later without storing it: device cookies, and usernames
    /// counted for login limits (the database holds their MACs, not the names).
    ///
    /// A seal key that has no MAC keys refuses rather than answer something weaker: a
    /// login then fails with an internal error instead of going uncounted.
    fn mac(&self, label: MacLabel, data: &[u8]) -> Result<[u8; MAC_LEN]> {
        let _ = (label, data);
        Err(Error::Malformed {
            what: "seal key",
            reason: "this seal key computes no MACs",
        })
    }
}

/// Length of a [`SealKey::mac`] tag (HMAC-SHA256).
pub const MAC_LEN: usize = 32;

/// What a [`SealKey::mac`] is for: a closed list, each its own key. [`LocalSealKey`]
/// derives each key from the seal key with HKDF-SHA256 under [`MacLabel::label`]; an HSM
/// holds one HMAC key per label, made inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacLabel {
    /// The known-device cookie set at a successful login.
    DeviceCookie,
    /// The key under which attempted usernames are counted.
    UsernameCounter,
    /// The MAC that binds every stored public key to its holder
    /// ([`crate::public_key_mac`]).
    PublicKey,
    /// The prelogin's stand-in salt and credential id for a username that has no
    /// end-to-end password slot ([`crate::prelogin::fake_parameters`]).
    PreloginSalt,
}

impl MacLabel {
    /// The HKDF info string of this label's key.
    pub const fn label(self) -> &'static str {
        match self {
            Self::DeviceCookie => "keyslot/v1/seal/device-cookie",
            Self::UsernameCounter => "keyslot/v1/seal/username-counter",
            Self::PublicKey => "keyslot/v1/seal/public-key-mac",
            Self::PreloginSalt => "keyslot/v1/seal/prelogin-salt",
        }
    }
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

    fn mac(&self, label: MacLabel, data: &[u8]) -> Result<[u8; MAC_LEN]> {
        use hmac::{KeyInit, Mac};
        let hk = hkdf::Hkdf::<Sha256>::new(None, self.0.key_bytes());
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        // HKDF-Expand fails only for outputs longer than 255 * 32 bytes; this is 32.
        hk.expand(label.label().as_bytes(), key.as_mut())
            .map_err(|_| Error::Kdf)?;
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key.as_ref())
            .map_err(|_| Error::Kdf)?;
        mac.update(data);
        Ok(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_per_label_and_per_key_and_match_hkdf_then_hmac() {
        let key = LocalSealKey::from_bytes([7; KEY_LEN]);
        let a = key.mac(MacLabel::DeviceCookie, b"data").unwrap();
        assert_eq!(a, key.mac(MacLabel::DeviceCookie, b"data").unwrap());
        assert_ne!(a, key.mac(MacLabel::UsernameCounter, b"data").unwrap());
        assert_ne!(a, key.mac(MacLabel::DeviceCookie, b"datb").unwrap());
        let other = LocalSealKey::from_bytes([8; KEY_LEN]);
        assert_ne!(a, other.mac(MacLabel::DeviceCookie, b"data").unwrap());
        // Independently: HKDF-SHA256(salt none, ikm key, info label) then HMAC-SHA256.
        use hmac::{KeyInit, Mac};
        let mut derived = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, &[7; KEY_LEN])
            .expand(b"keyslot/v1/seal/device-cookie", &mut derived)
            .unwrap();
        let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&derived).unwrap();
        m.update(b"data");
        assert_eq!(a, <[u8; 32]>::from(m.finalize().into_bytes()));
    }
}
