//! Keyslots: one joint for every way to unlock a key.
//!
//! Each credential kind has a module that turns what the user presents into an
//! [`UnlockedCredential`]:
//!
//! | kind     | presented             | derivation                             | module |
//! |----------|-----------------------|----------------------------------------|--------|
//! | password | password + slot params| Argon2id → master → HKDF               | [`password`] |
//! | recovery | 128-bit code          | HKDF                                   | [`crate::recovery_code`] |
//! | session  | `kss_…` (256-bit)     | HKDF                                   | [`crate::text_credential`] |
//! | token    | `kst_…` (256-bit)     | HKDF                                   | [`crate::text_credential`] |
//!
//! An [`UnlockedCredential`] knows its kind and id, holds the credential's verifier and
//! wrap key, and is the only thing that wraps or opens that credential's slots. Every slot
//! is addressed by (credential id, target) and bound to both in its AAD, so slots are never
//! found by trial decryption and never move between credentials, users or vaults.

pub mod password;

use crate::aad::{Aad, CredentialKind, Purpose};
use crate::envelope::Envelope;
use crate::kdf::{self, Verifier};
use crate::keys::{UserKey, VaultKey, WrapKey, Wraps};
use core::fmt;

use zeroize::Zeroizing;

use crate::auth_proof::AuthProof;
use crate::{Id, Result};

/// A credential after derivation: it can prove itself and open its own slots.
///
/// It keeps `auth` beside its verifier: a server-mode server only compares verifiers, but
/// an end-to-end client sends `auth` itself ([`UnlockedCredential::auth_proof`]).
pub struct UnlockedCredential {
    kind: CredentialKind,
    id: Id,
    auth: Zeroizing<[u8; 32]>,
    verifier: Verifier,
    wrap: WrapKey,
}

impl fmt::Debug for UnlockedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnlockedCredential")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("auth", &"***")
            .field("wrap", &self.wrap)
            .finish_non_exhaustive()
    }
}

impl UnlockedCredential {
    /// Derive from a credential secret (HKDF). Argon2id has already run for passwords.
    pub(crate) fn derive(kind: CredentialKind, id: Id, secret: &[u8]) -> Self {
        let (auth, wrap) = kdf::split(kind, &id, secret);
        Self {
            kind,
            id,
            verifier: Verifier::of_auth(&auth),
            auth,
            wrap,
        }
    }

    /// An end-to-end session's *unlock secret* (`docs/END-TO-END.md` §4): an id and 32
    /// random bytes the client keeps (CLI session file, browser `sessionStorage`) and the
    /// server never sees. Kind session, so its slot is an ordinary user-key slot of a
    /// session (FORMAT §5.1 split, slot AAD with credential kind 3 and `id`).
    pub fn from_session_unlock(id: Id, secret: &[u8; 32]) -> Self {
        Self::derive(CredentialKind::Session, id, secret)
    }

    /// What an end-to-end client sends instead of the credential: the id and `auth`, from
    /// which the server computes the verifier (`SHA-256(auth)`) and can derive nothing
    /// else. Text `ksa_…` for a token, `auth` alone in base64url for a password or a
    /// recovery code (FORMAT §11.1).
    pub fn auth_proof(&self) -> AuthProof {
        AuthProof::new(self.id, &self.auth)
    }

    /// The credential's kind.
    pub const fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// The credential's id.
    pub const fn id(&self) -> &Id {
        &self.id
    }

    /// The verifier to store for this credential (`SHA-256(auth)`).
    pub const fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The wrap key itself, for the test vectors of `docs/FORMAT.md` only.
    #[doc(hidden)]
    pub const fn expose_wrap_key(&self) -> &WrapKey {
        &self.wrap
    }

    /// Check this credential against the stored verifier, in constant time.
    pub fn check(&self, stored: &Verifier) -> Result<()> {
        stored.check(&self.verifier)
    }

    /// The AAD of this credential's user-key slot.
    fn user_key_aad(&self, user: &Id) -> Aad {
        Aad::new(Purpose::UserKeySlot)
            .user(user)
            .credential(self.kind, &self.id)
    }

    /// The AAD of this credential's slot for one vault key.
    fn vault_key_aad(&self, user: &Id, vault: &Id, key_version: u32) -> Aad {
        Aad::new(Purpose::VaultKeySlot)
            .user(user)
            .vault(vault)
            .key_version(key_version)
            .credential(self.kind, &self.id)
    }

    /// Wrap the user key into a slot for this credential.
    pub fn wrap_user_key(&self, user: &Id, key: &UserKey) -> Result<Envelope> {
        self.wrap.wrap(key, &self.user_key_aad(user))
    }

    /// Open this credential's user-key slot.
    pub fn open_user_key(&self, user: &Id, slot: &Envelope) -> Result<UserKey> {
        self.wrap.unwrap_key(slot, &self.user_key_aad(user))
    }

    /// Wrap one vault key (at `key_version`) into a slot for this credential (a token
    /// scoped to that vault).
    pub fn wrap_vault_key(
        &self,
        user: &Id,
        vault: &Id,
        key_version: u32,
        key: &VaultKey,
    ) -> Result<Envelope> {
        self.wrap
            .wrap(key, &self.vault_key_aad(user, vault, key_version))
    }

    /// Open this credential's slot for one vault key.
    pub fn open_vault_key(
        &self,
        user: &Id,
        vault: &Id,
        key_version: u32,
        slot: &Envelope,
    ) -> Result<VaultKey> {
        self.wrap
            .unwrap_key(slot, &self.vault_key_aad(user, vault, key_version))
    }
}

/// The AAD of a vault key wrapped under its owner's user key.
pub fn vault_key_for_user_aad(user: &Id, vault: &Id, key_version: u32) -> Aad {
    Aad::new(Purpose::VaultKeyForUser)
        .user(user)
        .vault(vault)
        .key_version(key_version)
}

/// The AAD of an item key wrapped under a vault key.
pub fn item_key_aad(user: &Id, vault: &Id, item: &Id, item_version: u64, key_version: u32) -> Aad {
    Aad::new(Purpose::ItemKey)
        .user(user)
        .vault(vault)
        .item(item)
        .item_version(item_version)
        .key_version(key_version)
}
