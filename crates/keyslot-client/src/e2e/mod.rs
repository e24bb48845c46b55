//! End-to-end accounts (docs/END-TO-END.md): this client performs every key operation, and
//! the server stores and returns ciphertext and public keys.
//!
//! The password, token secrets (`kse_…`), the recovery code and every key stay here; what
//! goes over the wire is `auth` proofs, envelopes made here, and public keys with
//! signatures. The shapes are END-TO-END.md §9.
//!
//! Nothing the server returns is trusted before it is checked ([`checks`]):
//!
//! - Argon2 parameters from prelogin must lie within this client's floor and ceiling and
//!   must not be lower than the last ones seen for that username (a server cannot make a
//!   client hash cheaply to guess the password faster from `auth`);
//! - keys that arrive wrapped or sealed open only under their AAD, so the server cannot
//!   move them between users, vaults or versions;
//! - public keys the client seals to (a member's X25519 key, a token's, a vault
//!   version's) are verified by a signature of an Ed25519 identity key the user confirmed
//!   (a fingerprint) and pinned (a MAC under the user key, stored on the server, checked at
//!   every use) — never on the server's word or a MAC under a vault key.
//!
//! Every refusal is an [`E2eError::Refused`] naming a [`Refusal`], so the malicious-server
//! tests can assert which check fired and that nothing was sent after it.
//!
//! Modules: [`account`] (sign-up, login, sessions, password change, recovery), [`vaults`]
//! and [`items`] (reads and writes), [`tokens`] (mint, list, revoke) and [`token_client`]
//! (what a `kse_` secret does), [`sharing`] (other users' keys, pins, grants), [`rotation`].

pub mod account;
pub mod checks;
pub mod deposits;
mod ended;
pub mod items;
mod keyring;
pub mod rotation;
pub mod sharing;
mod sig;
pub mod token_client;
pub mod tokens;
mod vault_trust;
pub mod vaults;
mod wire;

use core::fmt;

pub use account::{E2eSession, RecoveryStarted, SignedUpE2e, UnlockSecret};
pub use checks::{ParamsCheck, Refusal};
pub use ended::EndedHolders;
pub use items::{OpenItem, OpenItemSummary, Signed};
pub use sharing::UserKeys;
pub use token_client::TokenClient;
pub use tokens::{MintedE2e, OpenTokenInfo};
pub use vaults::OpenVault;

/// What an end-to-end operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum E2eError {
    /// The server answered with a problem, or could not be reached.
    #[error(transparent)]
    Api(#[from] crate::Error),
    /// A check on what the server sent refused it; nothing was sent after it.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// Input this client refuses before sending anything (password policy, name rules):
    /// `(field, message)` pairs, as the server's problems carry them.
    #[error("{}", invalid_text(.0))]
    Invalid(Vec<(String, String)>),
    /// Something the server returned did not open or parse: a wrong key, a ciphertext
    /// moved to another context, or tampering. Carries no secret.
    #[error("what the server sent does not open: {0}")]
    Crypto(#[from] keyslot_crypto::Error),
}

fn invalid_text(errors: &[(String, String)]) -> String {
    errors
        .iter()
        .map(|(field, message)| format!("{field} {message}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl E2eError {
    /// The HTTP status, when the server answered with a problem.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(e) => e.status(),
            _ => None,
        }
    }

    /// The refusal, when a check refused what the server sent.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Refused(r) => Some(r),
            _ => None,
        }
    }

    pub(crate) fn protocol(what: impl fmt::Display) -> Self {
        Self::Api(crate::Error::Protocol(what.to_string()))
    }
}

impl From<Refusal> for E2eError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

/// Result of end-to-end calls.
pub type E2eResult<T> = Result<T, E2eError>;

/// The client-side input rules (keyslot-core's, the same the server applies in server
/// mode): refuse before anything is sent.
pub(crate) fn check_input(
    checks: impl IntoIterator<Item = Option<keyslot_core::FieldError>>,
) -> E2eResult<()> {
    let errors: Vec<(String, String)> = checks
        .into_iter()
        .flatten()
        .map(|e| (e.field, e.message))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(E2eError::Invalid(errors))
    }
}
