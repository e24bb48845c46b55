//! What a use case can answer besides success. Each variant maps to one HTTP status in the
//! server; none carries a secret or an internal detail (those are logged where they happen).

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name in the request body, e.g. `password`.
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Errors of the use cases.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing, malformed, wrong, expired or revoked credential; unknown user or wrong
    /// password. One variant for all, so no answer tells them apart.
    #[error("authentication required")]
    Unauthorized,
    /// Nothing the caller can open has this id (whether or not it exists).
    #[error("not found")]
    NotFound,
    /// Authenticated, but not allowed (a token's permission, a session-only route, a wrong
    /// current password).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// `If-Match` names a version that is no longer current.
    #[error("the item has changed since version {expected}")]
    PreconditionFailed {
        /// The version the caller expected.
        expected: u64,
    },
    /// Well-formed input that breaks a rule.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The vault's key must rotate before this write can be sealed to it (DESIGN §6.1: an
    /// end-to-end write while the rotation is due). Server-mode deposits never get it:
    /// while due they are sealed to each reader instead. 409 `rotation-due`, `Retry-After`.
    #[error("rotation due: {detail}")]
    RotationDue {
        /// Seconds after which a retry is sensible.
        retry_after: u64,
        /// What the caller is waiting for.
        detail: &'static str,
    },
    /// An end-to-end write sealed under a vault key version that is no longer the
    /// current one (a rotation committed since the client read the vault): 409
    /// `stale-key-version`; read the vault again and seal under `current`.
    #[error("stale key version; current is {current}")]
    StaleKeyVersion {
        /// The vault's current key version.
        current: u32,
    },
    /// The request conflicts with the present state (already a member; the last owner of
    /// a vault cannot leave or be demoted): 409, with the reason.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The username is taken.
    #[error("username taken")]
    UsernameTaken,
    /// An end-to-end write's `name_index` is another item's in the same vault at the same
    /// key version: 409 `name-taken` naming `name_index` (a look-up by name must find one
    /// item).
    #[error("item name taken")]
    NameTaken,
    /// Too many failed logins: try again after this many seconds.
    #[error("too many attempts")]
    TooManyAttempts {
        /// Seconds until a login may be tried again.
        retry_after: u64,
    },
    /// Overloaded (the Argon2 queue is full) or the database is away.
    #[error("temporarily unavailable")]
    Unavailable {
        /// Seconds after which a retry is sensible.
        retry_after: u64,
    },
    /// Something that should not happen (corrupt data, a crypto failure on data we
    /// wrote). Logged with its cause; the caller sees only that it happened.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// A single field error.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Unavailable(_) => Self::Unavailable { retry_after: 1 },
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict => Self::Internal("unexpected conflict".into()),
            StoreError::Corrupt(what) => Self::Internal(format!("corrupt record: {what}")),
            // Retried where it can happen; seen here only when retries ran out.
            StoreError::KeyVersionMoved => Self::Unavailable { retry_after: 1 },
            StoreError::NameTaken => Self::NameTaken,
        }
    }
}

impl From<keyslot_crypto::Error> for Error {
    fn from(e: keyslot_crypto::Error) -> Self {
        // An HSM that holds the seal key and cannot be reached now is an outage, like a
        // database away: 503, retried by the client.
        if e == keyslot_crypto::Error::SealUnavailable {
            return Self::Unavailable { retry_after: 1 };
        }
        // A crypto failure on data that authenticated properly is an internal fault
        // (tampered rows, wrong seal key); never a reason to show the caller anything.
        Self::Internal(format!("crypto: {e}"))
    }
}

/// The core's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
