//! [`Pkcs11SealKey`]: the seal key as an AES-256 key inside an HSM.
//!
//! A sealed record is an envelope with algorithm id 2 (`docs/FORMAT.md` §7.1):
//! `01 02 ‖ key version (u32 BE) ‖ IV (12 random bytes) ‖ ciphertext ‖ tag (16)`. The
//! HSM computes AES-256-GCM over it with the same associated data as every envelope,
//! `header ‖ Aad encoding`, so the record is bound to its user and credential, and the
//! algorithm and key version cannot be changed without the tag failing. Algorithm id 2
//! is what tells these records apart from the key file's (id 1) during a migration.

use std::fmt;

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use keyslot_crypto::envelope::GCM_IV_LEN;
use keyslot_crypto::seal::MAC_LEN;
use keyslot_crypto::{Aad, Algorithm, Envelope, MacLabel, SealKey};
use zeroize::Zeroizing;

use crate::conn::{Conn, Failure};
use crate::keys::MacKey;
use crate::{Pkcs11Config, Result};

const TAG_BITS: u64 = 128;

/// The seal key in a PKCS#11 token; see the module docs.
pub struct Pkcs11SealKey {
    conn: Conn,
    key_version: u32,
    fingerprint: String,
}

impl fmt::Debug for Pkcs11SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pkcs11SealKey({})", self.fingerprint)
    }
}

impl Pkcs11SealKey {
    /// Load the module, log in to the token and find the keys; refuses (with a message
    /// naming what is wrong, never the PIN) a missing module, token or key, a wrong PIN,
    /// and a key that could leave the HSM.
    pub fn open(config: Pkcs11Config) -> Result<Self> {
        let (conn, handles) = Conn::open(config)?;
        Ok(Self {
            conn,
            key_version: handles.key_version,
            fingerprint: handles.fingerprint,
        })
    }

    /// The key version written into every record (the AES key's `CKA_ID`).
    pub const fn key_version(&self) -> u32 {
        self.key_version
    }

    /// HMAC-SHA256 of `data` under one of the MAC keys, computed in the HSM.
    pub fn mac(&self, key: MacKey, data: &[u8]) -> keyslot_crypto::Result<[u8; 32]> {
        let tag = self
            .conn
            .run(|s, h| s.sign(&Mechanism::Sha256Hmac, h.macs[key.index()], data))
            .map_err(failure)?;
        tag.as_slice()
            .try_into()
            .map_err(|_| keyslot_crypto::Error::Malformed {
                what: "HMAC-SHA256 from the HSM",
                reason: "not 32 bytes",
            })
    }
}

impl SealKey for Pkcs11SealKey {
    fn seal(&self, aad: &Aad, plaintext: &[u8]) -> keyslot_crypto::Result<Envelope> {
        let mut iv = [0u8; GCM_IV_LEN];
        getrandom::fill(&mut iv).map_err(|_| keyslot_crypto::Error::Rng)?;
        let ad = Envelope::associated_data_for(Algorithm::Aes256Gcm, self.key_version, aad);
        let ciphertext = self
            .conn
            .run(|s, h| {
                let mut iv = iv;
                let params = GcmParams::new(&mut iv, &ad, TAG_BITS.into())?;
                s.encrypt(&Mechanism::AesGcm(params), h.aes, plaintext)
            })
            .map_err(failure)?;
        Envelope::from_parts(Algorithm::Aes256Gcm, self.key_version, &iv, ciphertext)
    }

    fn open(&self, aad: &Aad, envelope: &Envelope) -> keyslot_crypto::Result<Zeroizing<Vec<u8>>> {
        if envelope.algorithm() != Algorithm::Aes256Gcm
            || envelope.key_version() != self.key_version
        {
            // Sealed by another key (the key file, or another HSM key version): this key
            // cannot open it, and the HSM need not be asked.
            return Err(keyslot_crypto::Error::Decrypt);
        }
        let ad = Envelope::associated_data_for(Algorithm::Aes256Gcm, self.key_version, aad);
        let out = self.conn.run(|s, h| {
            let mut iv = [0u8; GCM_IV_LEN];
            iv.copy_from_slice(envelope.nonce());
            let params = GcmParams::new(&mut iv, &ad, TAG_BITS.into())?;
            s.decrypt(&Mechanism::AesGcm(params), h.aes, envelope.ciphertext())
        });
        match out {
            Ok(plain) => Ok(Zeroizing::new(plain)),
            // The HSM answered, twice, and refused: the tag did not verify.
            Err(Failure::Refused(_)) => Err(keyslot_crypto::Error::Decrypt),
            Err(unavailable) => Err(failure(unavailable)),
        }
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    fn mac(&self, label: MacLabel, data: &[u8]) -> keyslot_crypto::Result<[u8; MAC_LEN]> {
        let key = match label {
            MacLabel::DeviceCookie => MacKey::DeviceCookie,
            MacLabel::UsernameCounter => MacKey::UsernameCounter,
            MacLabel::PublicKey => MacKey::PublicKeyMac,
            MacLabel::PreloginSalt => MacKey::PreloginSalt,
            // A label added to the crypto core before its HSM key exists here: refuse
            // rather than answer with another purpose's key.
            _ => {
                return Err(keyslot_crypto::Error::Malformed {
                    what: "seal key",
                    reason: "no HSM MAC key for this label",
                });
            }
        };
        Self::mac(self, key, data)
    }
}

/// The crypto core's view of a failure: an HSM away is [`SealUnavailable`] (503); an
/// HSM that refuses an operation it should perform is an internal fault, logged here
/// with its return code.
///
/// [`SealUnavailable`]: keyslot_crypto::Error::SealUnavailable
fn failure(f: Failure) -> keyslot_crypto::Error {
    match f {
        Failure::Unavailable(e) => {
            tracing::warn!(error = %e, "the HSM holding the seal key is unavailable");
            keyslot_crypto::Error::SealUnavailable
        }
        Failure::Refused(e) => {
            tracing::error!(error = %crate::conn::rv(&e), "the HSM refused a seal operation");
            keyslot_crypto::Error::Malformed {
                what: "HSM operation",
                reason: "refused by the HSM",
            }
        }
    }
}
