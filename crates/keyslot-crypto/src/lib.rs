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
//!
//! The key lifecycle (keys that change, credentials that end) adds X25519 identities for
//! tokens, users, recovery codes and vault key versions — never for the password
//! ([`x25519`]) — keys sealed to them with HPKE ([`sealed_key`]: pending grants, the user
//! key for the recovery code, deposits), public keys bound to their holder by a MAC under
//! the seal key ([`public_key_mac`]), and the backward chain of rotated vault keys
//! ([`lifecycle`]).
//!
//! End-to-end accounts (`docs/END-TO-END.md`, FORMAT §11), where the client does every key
//! operation, add: the `kse_` token text that never leaves the client and the `ksa_` proof
//! it sends instead ([`auth_proof`]), the prelogin's stand-in salt ([`prelogin`]), items
//! and vault names sealed by the client exactly as the server seals them ([`item`]), the
//! blind name index ([`name_index`]), Ed25519 identity keys and the statements they sign
//! ([`identity`]), pins of confirmed identities ([`pins`]), and keys sealed in HPKE auth
//! mode by a known sender ([`sealed_key_auth`]).
#![forbid(unsafe_code)]

pub mod aad;
pub mod auth_proof;
pub mod envelope;
mod error;
pub mod id;
pub mod identity;
pub mod item;
pub mod kdf;
pub mod keys;
pub mod lifecycle;
pub mod name_index;
pub mod pins;
pub mod prelogin;
pub mod public_key_mac;
mod random;
pub mod recovery_code;
pub mod seal;
pub mod sealed_key;
pub mod sealed_key_auth;
pub mod slot;
pub mod text_credential;
pub mod token_anchor;
pub mod x25519;

pub use aad::{Aad, Purpose};
pub use aad::{CredentialKind, RecipientKind};
pub use auth_proof::AuthProof;
pub use envelope::{Algorithm, Envelope};
pub use error::{Error, Result};
pub use id::Id;
pub use identity::{IdentityKeyPair, IdentityPublic, Signature};
pub use item::{
    ItemPlace, SealedItem, open_item, open_item_name, open_vault_name, seal_item, seal_vault_name,
};
pub use kdf::Verifier;
pub use keys::{ContentKey, ItemKey, UserKey, VaultKey, WrapKey, Wraps};
pub use lifecycle::{
    chain_aad, deposit_aad, grant_aad, open_chain, user_key_grant_aad, wrap_chain,
};
pub use name_index::NameIndexKey;
pub use pins::PinKey;
pub use public_key_mac::{public_key_mac, verify_public_key_mac};
pub use recovery_code::RecoveryCode;
pub use seal::{LocalSealKey, MacLabel, SealKey};
pub use sealed_key::{Opens, Sealable, SealedKey, open_from, seal_to};
pub use sealed_key_auth::{AuthSealedKey, AuthSender, open_from_auth, seal_to_auth};
pub use slot::UnlockedCredential;
pub use slot::password::{
    Argon2Params, KdfPolicy, Password, PasswordSlot, SealedPasswordSlot, generate_salt,
};
pub use text_credential::{
    CredentialFormatError, CredentialSecret, E2eTokenCredential, SessionCredential, TokenCredential,
};
pub use x25519::{
    PublicKey, RecoveryKeyPair, TokenKeyPair, UserKeyPair, VaultKeyPair, X25519Identity,
};
