//! The end-to-end account use cases' inputs and answers: slots and keys as a client made
//! them, and what the routes send back. Plain data; nothing here holds a secret the
//! server could use (`auth` is never kept, wrapped keys open only in the client).

use keyslot_crypto::{Argon2Params, Envelope, Id, PublicKey, Verifier};
use zeroize::Zeroizing;

use crate::model::Timestamp;

/// What `POST /v1/prelogin` answers: the same shape for every username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prelogin {
    /// The password credential's id (HKDF salt of the split).
    pub credential_id: Id,
    /// The Argon2id salt.
    pub salt: [u8; 16],
    /// The Argon2id parameters.
    pub params: Argon2Params,
    /// The recovery code's credential id, so an end-to-end recovery can derive its `auth`.
    pub recovery_credential_id: Id,
}

/// A password slot as an end-to-end client makes it (sign-up, password change, recovery).
#[derive(Debug)]
pub struct PasswordSlotParts {
    /// The credential id the client split with.
    pub credential_id: Id,
    /// The Argon2id salt.
    pub salt: [u8; 16],
    /// The Argon2id parameters (checked against the policy).
    pub params: Argon2Params,
    /// `SHA-256(auth)`.
    pub verifier: Verifier,
    /// The user key wrapped under the password's wrap key.
    pub wrapped_user_key: Envelope,
}

/// A recovery slot as an end-to-end client makes it.
#[derive(Debug)]
pub struct RecoverySlotParts {
    /// The recovery credential's id.
    pub credential_id: Id,
    /// `SHA-256(auth)` of the code.
    pub verifier: Verifier,
    /// The user key wrapped under the code's wrap key.
    pub wrapped_user_key: Envelope,
    /// The code's X25519 public key (a later user-key rotation seals to it).
    pub x25519_public: PublicKey,
}

/// The first vault of an end-to-end account, made by the client.
#[derive(Debug)]
pub struct FirstVault {
    /// Its id.
    pub id: Id,
    /// Its key (version 1) wrapped under the user key.
    pub wrapped_vault_key: Envelope,
    /// Its name, sealed under the vault key.
    pub sealed_name: Envelope,
    /// Version 1's public key.
    pub public_key: PublicKey,
    /// The owner's identity signature over it.
    pub public_key_signature: Vec<u8>,
}

/// Everything an end-to-end sign-up sends.
#[derive(Debug)]
pub struct E2eSignup {
    /// The username (checked against the server's rules).
    pub username: String,
    /// The user id the client chose (bound into every AAD it already computed).
    pub user_id: Id,
    /// The password slot.
    pub password: PasswordSlotParts,
    /// The recovery slot.
    pub recovery: RecoverySlotParts,
    /// The user's X25519 public key.
    pub x25519_public: PublicKey,
    /// Its private half wrapped under the user key.
    pub x25519_wrapped: Envelope,
    /// The identity's signature over `x25519_public`.
    pub x25519_signature: Vec<u8>,
    /// The Ed25519 identity public key.
    pub identity_public: Vec<u8>,
    /// Its private half wrapped under the user key.
    pub identity_wrapped: Envelope,
    /// The first vault.
    pub vault: FirstVault,
}

/// An end-to-end login's answer. Its `Debug` shows no credential.
pub struct E2eLoggedIn {
    /// The `kss_…` credential for the cookie.
    pub session: Zeroizing<String>,
    /// The CSRF token.
    pub csrf_token: Zeroizing<String>,
    /// Absolute expiry of the session.
    pub expires_at: Timestamp,
    /// A fresh known-device cookie.
    pub device_cookie: Zeroizing<String>,
    /// The user.
    pub user_id: Id,
    /// The password credential's id.
    pub password_credential_id: Id,
    /// The password slot's envelope: the user key under the client's wrap key.
    pub wrapped_user_key: Vec<u8>,
}

impl std::fmt::Debug for E2eLoggedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E2eLoggedIn")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The caller's own key material (`GET /v1/keys`): all public or wrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnKeys {
    /// The user.
    pub user_id: Id,
    /// The username as signed up.
    pub username: String,
    /// Whether the account is end-to-end.
    pub end_to_end: bool,
    /// The password credential's id.
    pub password_credential_id: Id,
    /// The recovery credential's id.
    pub recovery_credential_id: Id,
    /// The user's X25519 public key.
    pub x25519_public: Vec<u8>,
    /// Its private half under the user key.
    pub x25519_wrapped: Vec<u8>,
    /// An end-to-end account's identity: its public key, its private half under the user
    /// key, and its signature over `x25519_public`. `None` in server mode.
    pub identity: Option<crate::e2e_store::E2eIdentity>,
    /// The account's live `"*"` tokens (end-to-end accounts only).
    pub star_tokens: Vec<StarTokenKey>,
}

/// A live `"*"` token of an end-to-end account, as a client that creates or shares a vault
/// needs it: every such token must get a grant, sealed to this key once the client has
/// checked the signature under the user's pinned identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarTokenKey {
    /// The token.
    pub id: Id,
    /// Its X25519 public key.
    pub x25519_public: Vec<u8>,
    /// Its user's identity signature over it, made at mint.
    pub public_key_signature: Vec<u8>,
}

/// Another user's public keys (`GET /v1/users/{username}/keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPublicKeys {
    /// The user.
    pub user_id: Id,
    /// The username as signed up.
    pub username: String,
    /// Whether the account is end-to-end.
    pub end_to_end: bool,
    /// The X25519 public key.
    pub x25519_public: Vec<u8>,
    /// End-to-end accounts only: the identity key and its signature over `x25519_public`.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    /// The account's live `"*"` tokens (end-to-end accounts only).
    pub star_tokens: Vec<StarTokenKey>,
}
