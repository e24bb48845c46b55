//! The envelope: one AEAD ciphertext with the header needed to open it.
//!
//! ```text
//! offset  size  field
//! 0       1     format version (1)
//! 1       1     algorithm id (1 = XChaCha20-Poly1305, 2 = AES-256-GCM)
//! 2       4     key version, u32 big-endian
//! 6       24    nonce (random); 12 for AES-256-GCM
//! 30      n+16  ciphertext ‖ tag (at 18 for AES-256-GCM)
//! ```
//!
//! AES-256-GCM (id 2) is written only by a seal key held in an HSM (`keyslot-hsm`), which
//! performs the cipher itself: this crate parses and lays out such envelopes but has no
//! software AES-GCM, so no key of its own opens one.
//!
//! The AEAD's associated data is `header (bytes 0..6) ‖ Aad::encode()`, so the header is
//! authenticated too: changing the version, algorithm or key version fails to open.
//! XChaCha20-Poly1305's 192-bit nonces are drawn at random and need no bookkeeping.
//! In JSON an envelope is base64url without padding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::aad::Aad;
use crate::keys::SymmetricKey;
use crate::{Error, Result, random};

/// The envelope format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Header length: version, algorithm, key version.
pub const HEADER_LEN: usize = 6;
/// XChaCha20-Poly1305 nonce length.
pub const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// AES-256-GCM IV length (96 bits, the length GCM is specified for).
pub const GCM_IV_LEN: usize = 12;
/// The shortest valid encoded XChaCha20-Poly1305 envelope (empty plaintext).
pub const MIN_LEN: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;

/// AEAD algorithms, by the id stored in the envelope. A closed enum: ids come from here,
/// never from a string in input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[non_exhaustive]
pub enum Algorithm {
    /// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha), 256-bit key, 192-bit nonce.
    XChaCha20Poly1305 = 1,
    /// AES-256-GCM, 96-bit IV, 128-bit tag: only ever performed inside an HSM.
    Aes256Gcm = 2,
}

impl Algorithm {
    /// The nonce (IV) length this algorithm's envelopes carry.
    pub const fn nonce_len(self) -> usize {
        match self {
            Self::XChaCha20Poly1305 => NONCE_LEN,
            Self::Aes256Gcm => GCM_IV_LEN,
        }
    }
}

impl TryFrom<u8> for Algorithm {
    type Error = Error;
    fn try_from(id: u8) -> Result<Self> {
        match id {
            1 => Ok(Self::XChaCha20Poly1305),
            2 => Ok(Self::Aes256Gcm),
            other => Err(Error::UnknownAlgorithm(other)),
        }
    }
}

/// A sealed ciphertext with its header. Holding one reveals nothing; opening needs the
/// right key *and* the right [`Aad`].
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    algorithm: Algorithm,
    key_version: u32,
    /// `algorithm.nonce_len()` bytes, checked wherever an envelope is made.
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl core::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Envelope")
            .field("algorithm", &self.algorithm)
            .field("key_version", &self.key_version)
            .field("len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

impl Envelope {
    /// The key version recorded in the header.
    pub const fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The algorithm recorded in the header.
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The nonce (or GCM IV).
    pub fn nonce(&self) -> &[u8] {
        &self.nonce
    }

    /// The ciphertext with its tag appended.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// An envelope from parts computed elsewhere (an HSM's AES-256-GCM). Checks the nonce
    /// length and that a tag fits, as the parser does.
    pub fn from_parts(
        algorithm: Algorithm,
        key_version: u32,
        nonce: &[u8],
        ciphertext: Vec<u8>,
    ) -> Result<Self> {
        if nonce.len() != algorithm.nonce_len() || ciphertext.len() < TAG_LEN {
            return Err(Error::Malformed {
                what: "envelope",
                reason: "nonce or tag of the wrong length",
            });
        }
        Ok(Self {
            algorithm,
            key_version,
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// The AEAD associated data an envelope with this header is sealed with:
    /// `header (bytes 0..6) ‖ aad.encode()`. Public so that a cipher outside this crate
    /// (an HSM) binds exactly what [`open`] would.
    pub fn associated_data_for(algorithm: Algorithm, key_version: u32, aad: &Aad) -> Vec<u8> {
        let mut ad = header_bytes(algorithm, key_version).to_vec();
        ad.extend_from_slice(&aad.encode());
        ad
    }

    /// The encoded bytes (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.nonce.len() + self.ciphertext.len());
        out.extend_from_slice(&self.header());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parse encoded bytes. Checks structure only; authenticity is checked by `open`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        read::envelope(bytes)
    }

    /// base64url without padding, for JSON.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_bytes())
    }

    /// Parse base64url without padding.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| Error::Malformed {
            what: "envelope",
            reason: "not base64url without padding",
        })?;
        Self::from_bytes(&bytes)
    }

    fn header(&self) -> [u8; HEADER_LEN] {
        header_bytes(self.algorithm, self.key_version)
    }
}

fn header_bytes(algorithm: Algorithm, key_version: u32) -> [u8; HEADER_LEN] {
    let kv = key_version.to_be_bytes();
    [FORMAT_VERSION, algorithm as u8, kv[0], kv[1], kv[2], kv[3]]
}

mod read {
    use super::*;

    pub(super) fn envelope(bytes: &[u8]) -> Result<Envelope> {
        let malformed = |reason| Error::Malformed {
            what: "envelope",
            reason,
        };
        if bytes.len() < HEADER_LEN {
            return Err(malformed("too short"));
        }
        let (header, rest) = bytes.split_at(HEADER_LEN);
        if header[0] != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "envelope",
                version: header[0],
            });
        }
        let algorithm = Algorithm::try_from(header[1])?;
        let key_version = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
        if rest.len() < algorithm.nonce_len() + TAG_LEN {
            return Err(malformed("too short"));
        }
        let (nonce, ciphertext) = rest.split_at(algorithm.nonce_len());
        Ok(Envelope {
            algorithm,
            key_version,
            nonce: nonce.to_vec(),
            ciphertext: ciphertext.to_vec(),
        })
    }
}

/// Seal `plaintext` under `key`, bound to `aad`, with key version 1 in the header.
pub(crate) fn seal<K: SymmetricKey + ?Sized>(
    key: &K,
    aad: &Aad,
    plaintext: &[u8],
) -> Result<Envelope> {
    seal_versioned(key, 1, aad, plaintext)
}

/// Seal with an explicit key version (rotated vault keys, seal keys).
pub(crate) fn seal_versioned<K: SymmetricKey + ?Sized>(
    key: &K,
    key_version: u32,
    aad: &Aad,
    plaintext: &[u8],
) -> Result<Envelope> {
    let nonce = random::array::<NONCE_LEN>()?;
    seal_with_nonce(key.key_bytes(), key_version, nonce, aad, plaintext)
}

/// Deterministic sealing for the test vectors in `docs/FORMAT.md`. Never call this with a
/// nonce that is not fresh and random: nonce reuse under one key breaks the AEAD.
#[doc(hidden)]
pub fn seal_with_nonce(
    key: &[u8; 32],
    key_version: u32,
    nonce: [u8; NONCE_LEN],
    aad: &Aad,
    plaintext: &[u8],
) -> Result<Envelope> {
    let mut envelope = Envelope {
        algorithm: Algorithm::XChaCha20Poly1305,
        key_version,
        nonce: nonce.to_vec(),
        ciphertext: Vec::new(),
    };
    let ad = associated_data(&envelope, aad);
    let cipher = XChaCha20Poly1305::new(key.into());
    envelope.ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &ad,
            },
        )
        .map_err(|_| Error::Malformed {
            what: "plaintext",
            reason: "too long for the AEAD",
        })?;
    Ok(envelope)
}

/// Open an envelope under `key` and `aad`. One error for every failure.
pub(crate) fn open<K: SymmetricKey + ?Sized>(
    key: &K,
    aad: &Aad,
    envelope: &Envelope,
) -> Result<Zeroizing<Vec<u8>>> {
    match envelope.algorithm {
        Algorithm::XChaCha20Poly1305 => {
            let ad = associated_data(envelope, aad);
            let nonce: [u8; NONCE_LEN] = envelope
                .nonce
                .as_slice()
                .try_into()
                .map_err(|_| Error::Decrypt)?;
            let cipher = XChaCha20Poly1305::new(key.key_bytes().into());
            cipher
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: &envelope.ciphertext,
                        aad: &ad,
                    },
                )
                .map(Zeroizing::new)
                .map_err(|_| Error::Decrypt)
        }
        Algorithm::Aes256Gcm => Err(Error::Malformed {
            what: "envelope",
            reason: "AES-256-GCM envelopes open only with the HSM seal key",
        }),
    }
}

fn associated_data(envelope: &Envelope, aad: &Aad) -> Vec<u8> {
    let mut ad = envelope.header().to_vec();
    ad.extend_from_slice(&aad.encode());
    ad
}
