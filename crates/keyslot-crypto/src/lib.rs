//! # keyslot-crypto
//!
//! The pure crypto core of Keyslot: key types, the AEAD envelope and its associated data,
//! keyslots (one module per credential kind), the seal-key layer, and the text formats of
//! API tokens, session credentials and recovery codes.
//!
//! No I/O, no async, no database: every function here is a pure transformation of bytes
//! (plus the OS random number generator), so the same code runs in the server, the CLI
//! and, compiled to wasm32, the browser. The byte formats are specified in
//! `docs/FORMAT.md` at the repository root, with test vectors that `tests/vectors.rs`
//! checks.
//!
//! The key hierarchy (DESIGN.md §3):
//!
//! ```text
//! credential ──KDF──► WrapKey ─wrap─► UserKey ─wrap─► VaultKey ─wrap─► ItemKey ─AEAD─► content
//! ```
//!
//! The type system enforces which key may wrap which ([`Wraps`]), and only an
//! [`ItemKey`] or a [`VaultKey`] (for the vault's own name) ever encrypts content: keys
//! that wrap keys never touch content.
#![forbid(unsafe_code)]

pub mod aad;
pub mod envelope;
mod error;
pub mod id;
pub mod kdf;
pub mod keys;
mod random;
pub mod recovery_code;
pub mod seal;
pub mod slot;
pub mod text_credential;
pub mod x25519;

pub use aad::CredentialKind;
pub use aad::{Aad, Purpose};
pub use envelope::{Algorithm, Envelope};
pub use error::{Error, Result};
pub use id::Id;
pub use kdf::Verifier;
pub use keys::{ContentKey, ItemKey, UserKey, VaultKey, WrapKey, Wraps};
pub use recovery_code::RecoveryCode;
pub use seal::{LocalSealKey, MacLabel, SealKey};
pub use slot::UnlockedCredential;
pub use slot::password::{Argon2Params, KdfPolicy, Password, PasswordSlot, SealedPasswordSlot};
pub use text_credential::{
    CredentialFormatError, CredentialSecret, SessionCredential, TokenCredential,
};
pub use x25519::UserKeyPair;
