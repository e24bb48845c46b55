//! The one error type of the crate. Its messages never carry key material, plaintext or
//! credential text: they name what failed, never what was inside.

use crate::text_credential::CredentialFormatError;

/// What can go wrong in the crypto core.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The AEAD tag did not verify: wrong key, wrong context (AAD), or tampered bytes.
    /// Deliberately one variant for all three, so callers cannot learn which.
    #[error("decryption failed: wrong key, wrong context or tampered data")]
    Decrypt,
    /// An encoded envelope, slot or key file is malformed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which structure.
        what: &'static str,
        /// What about it.
        reason: &'static str,
    },
    /// An algorithm id that this build does not know.
    #[error("unknown algorithm id {0}")]
    UnknownAlgorithm(u8),
    /// A format version that this build does not know.
    #[error("unsupported {what} version {version}")]
    UnsupportedVersion {
        /// Which structure.
        what: &'static str,
        /// The version byte found.
        version: u8,
    },
    /// Argon2 parameters outside the policy's floor and ceiling; refused before hashing.
    #[error("password KDF parameters outside policy: {0}")]
    KdfPolicy(&'static str),
    /// The credential does not match its verifier.
    #[error("credential rejected")]
    WrongCredential,
    /// A credential string that does not parse.
    #[error(transparent)]
    CredentialFormat(#[from] CredentialFormatError),
    /// The operating system's random number generator failed.
    #[error("random number generator unavailable")]
    Rng,
    /// Argon2 refused its inputs (for instance a password past its maximum length).
    #[error("password hashing failed")]
    Kdf,
    /// The seal key lives elsewhere (an HSM) and cannot be reached now. A transient
    /// condition, unlike [`Error::Decrypt`]: the service answers 503, not 500.
    #[error("the seal key is unavailable")]
    SealUnavailable,
    /// A stored public key does not match its MAC: it was copied from another holder's
    /// row, or its kind, holder, user, vault or version was changed. Nothing may be sealed
    /// to it; the service answers 500 and writes an audit event.
    #[error("a stored public key does not match its MAC")]
    PublicKeyMac,
    /// An Ed25519 signature did not verify: the signed statement (a public key, a member
    /// list, an item) is not what its signer signed, or another key signed it. A client
    /// uses nothing it cannot verify.
    #[error("a signature did not verify")]
    BadSignature,
    /// An identity key does not match the pin its user's client stored for it: the
    /// server (or someone between) answered another key than the one whose fingerprint
    /// was confirmed, or changed the pin.
    #[error("an identity key does not match its pin")]
    PinMismatch,
}

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
