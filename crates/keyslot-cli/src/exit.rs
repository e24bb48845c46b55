//! Exit codes, and the one failure type every command returns.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | usage: bad arguments or flags |
//! | 2 | not found: no such vault, item or token (or not yours) |
//! | 3 | authentication or permission: not logged in, wrong password, expired or revoked token, read-only token writing |
//! | 4 | conflict: the item changed meanwhile, the username is taken |
//! | 5 | invalid input: the server refused a value (too long, weak password, …) |
//! | 6 | unavailable: the server cannot be reached, is busy, or asks to wait |
//! | 10 | anything else |
//!
//! `keyslot run` exits with the command's own code.

use std::fmt;

/// A failed command: what to tell the user, and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code (see the module table).
    pub code: u8,
    /// A message that says what happened and what to do next. Never holds a secret.
    pub message: String,
}

/// Exit code: bad arguments.
pub const USAGE: u8 = 1;
/// Exit code: not found.
pub const NOT_FOUND: u8 = 2;
/// Exit code: authentication or permission.
pub const AUTH: u8 = 3;
/// Exit code: conflict.
pub const CONFLICT: u8 = 4;
/// Exit code: invalid input.
pub const INVALID: u8 = 5;
/// Exit code: unavailable.
pub const UNAVAILABLE: u8 = 6;
/// Exit code: anything else.
pub const OTHER: u8 = 10;

impl Failure {
    /// A failure with a code and a message.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<keyslot_client::Error> for Failure {
    fn from(e: keyslot_client::Error) -> Self {
        use keyslot_client::Error;
        match e {
            Error::Problem(p) => {
                let (code, hint) = match p.status {
                    401 => (
                        AUTH,
                        " — log in again with `keyslot login`, or check KEYSLOT_TOKEN",
                    ),
                    403 => (AUTH, ""),
                    404 => (
                        NOT_FOUND,
                        " — check the name or id (`keyslot vault list`, `keyslot item list VAULT`)",
                    ),
                    409 | 412 => (CONFLICT, ""),
                    400 | 413 | 415 | 422 => (INVALID, ""),
                    429 | 503 => (UNAVAILABLE, ""),
                    _ => (OTHER, ""),
                };
                let wait = p
                    .retry_after
                    .map(|s| format!(" (retry in {s} s)"))
                    .unwrap_or_default();
                Self::new(code, format!("{p}{wait}{hint}"))
            }
            Error::Connect { .. } => Self::new(UNAVAILABLE, e.to_string()),
            Error::Protocol(_) => Self::new(OTHER, e.to_string()),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::new(OTHER, format!("{e:#}"))
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::new(OTHER, e.to_string())
    }
}

/// Result of commands.
pub type CmdResult<T = ()> = Result<T, Failure>;
