//! # keyslot-hsm
//!
//! The seal key in an HSM, over PKCS#11 (`cryptoki`). Every password slot is sealed under
//! the seal key (`docs/FORMAT.md` §6); with this crate that key is an AES-256 key created
//! inside the HSM as sensitive and non-extractable, and every seal and open is an
//! AES-256-GCM operation the HSM performs (`CKM_AES_GCM`). The server never holds the key:
//! whoever copies the server's disk and memory gets a PIN, not a key, and an HSM that is
//! taken away takes password logins with it (503) while tokens keep working.
//!
//! Native only: this crate loads a C library. `keyslot-crypto` stays pure (and
//! wasm32-clean); it only lays out the AES-256-GCM envelope (algorithm id 2) that
//! [`Pkcs11SealKey`] fills in.
//!
//! - [`Pkcs11SealKey`]: [`keyslot_crypto::SealKey`] over one AES key found by label, plus
//!   the HMAC-SHA256 keys created beside it ([`MacKey`]);
//! - [`MigratingSealKey`]: opens slots sealed by the key file or by the HSM, seals new
//!   ones with the HSM — what the server runs while `keyslot seal migrate` works;
//! - [`init`]: creates the keys (`keyslot seal init-hsm`).

mod composite;
mod conn;
mod keys;
mod seal;
#[cfg(feature = "testing")]
pub mod testing;

use std::fmt;
use std::path::PathBuf;

use secrecy::SecretString;

pub use composite::MigratingSealKey;
pub use keys::{MacKey, init};
pub use seal::Pkcs11SealKey;

/// Where the seal key lives: module, token, key label, and the user PIN.
///
/// The PIN comes from the environment or a file, never from a command-line argument
/// (arguments are visible to every user of the machine); `Debug` never prints it.
#[derive(Clone)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so` for Debian's SoftHSM2).
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The AES key's label; the HMAC keys are named after it (`<label>/mac/<name>`).
    pub key: String,
    /// The token's user PIN.
    pub pin: SecretString,
}

impl fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token", &self.token)
            .field("key", &self.key)
            .field("pin", &"***")
            .finish()
    }
}

/// Why the HSM could not be opened or set up. Messages name the module, token or label
/// and the PKCS#11 return code; never the PIN.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The module could not be loaded or initialised.
    #[error("PKCS#11 module {module}: {reason}")]
    Module {
        /// The module's path.
        module: String,
        /// What failed.
        reason: String,
    },
    /// No initialised token carries this label.
    #[error("no PKCS#11 token labelled {0:?}")]
    NoToken(String),
    /// The PIN was refused (or the token is locked).
    #[error("the PKCS#11 token {token:?} refused the PIN ({reason})")]
    Login {
        /// The token's label.
        token: String,
        /// The return code.
        reason: String,
    },
    /// No key, or more than one, carries this label.
    #[error(
        "PKCS#11 token {token:?}: {found} keys labelled {label:?} (expected exactly one; \
         create them with `keyslot seal init-hsm`)"
    )]
    Key {
        /// The token's label.
        token: String,
        /// The key label looked for.
        label: String,
        /// How many matched.
        found: usize,
    },
    /// The key exists but is not an AES-256 (or HMAC) key that never leaves the HSM.
    #[error("PKCS#11 key {label:?}: {reason}")]
    KeyAttributes {
        /// The key label.
        label: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `init` found the keys already there.
    #[error("PKCS#11 token {token:?} already holds a key labelled {label:?}")]
    Exists {
        /// The token's label.
        token: String,
        /// The key label.
        label: String,
    },
    /// Any other PKCS#11 failure.
    #[error("PKCS#11 {what}: {reason}")]
    Pkcs11 {
        /// What was being done.
        what: &'static str,
        /// The return code.
        reason: String,
    },
}

/// This crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
