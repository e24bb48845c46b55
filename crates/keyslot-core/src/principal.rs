//! Who is making this request, with the keys their credential unlocked — for this
//! request only. Dropping a principal zeroizes its keys.
//!
//! A principal also carries the client address the request came from, so every audit
//! event made on its behalf names it (the server sets it once, where it authenticates).

use std::net::IpAddr;

use keyslot_crypto::{Id, TokenCredential, UnlockedCredential, UserKey};

use crate::model::{AuditEvent, Outcome};

/// An authenticated caller.
#[derive(Debug)]
pub enum Principal {
    /// A logged-in browser or CLI session: holds the user key.
    Session {
        /// The user.
        user: Id,
        /// The session id.
        session: Id,
        /// The user key, unwrapped from the session slot.
        user_key: UserKey,
        /// The client address, when known.
        ip: Option<IpAddr>,
    },
    /// An API token.
    Token {
        /// The user who minted it.
        user: Id,
        /// The token id.
        token: Id,
        /// The token itself: its key pair, derived only when a pending grant is opened.
        secret: TokenCredential,
        /// Whether it may write.
        can_write: bool,
        /// A write-only deposit token: no key, no reads; creates items in its scope only.
        deposit: bool,
        /// What its slots open.
        access: TokenAccess,
        /// The client address, when known.
        ip: Option<IpAddr>,
    },
}

/// What a token's keys reach: only its own slots, one per vault, under its wrap key. A
/// `"*"` token differs from a scoped one in which vaults it gets slots for (every vault
/// its user is a member of, and a grant for each one added later), never in what it
/// holds: no token holds the user key (DESIGN §3.1).
#[derive(Debug)]
pub struct TokenAccess {
    /// The token's credential: opens its slots, wraps the keys it converts from grants.
    pub credential: UnlockedCredential,
    /// A `"*"` token: its scope is every vault of its user.
    pub all_vaults: bool,
}

impl Principal {
    /// The user this principal acts for.
    pub const fn user(&self) -> &Id {
        match self {
            Self::Session { user, .. } | Self::Token { user, .. } => user,
        }
    }

    /// The client address this request came from, when known.
    pub const fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Session { ip, .. } | Self::Token { ip, .. } => *ip,
        }
    }

    /// An audit event of this principal happening now: its user, its actor and its
    /// client address, so no event made on a caller's behalf can leave them out.
    pub(crate) fn event(&self, action: &str, outcome: Outcome, detail: String) -> AuditEvent {
        let mut event =
            crate::service::event(Some(self.user()), action, self.actor(), outcome, detail);
        event.ip = self.ip().map(|ip| ip.to_string());
        event
    }

    /// The audit actor string.
    pub fn actor(&self) -> String {
        match self {
            Self::Session { session, .. } => format!("session:{session}"),
            Self::Token { token, .. } => format!("token:{token}"),
        }
    }

    /// Whether this is a write-only deposit token (it holds no vault key).
    pub const fn is_deposit(&self) -> bool {
        matches!(self, Self::Token { deposit: true, .. })
    }

    /// Session-only routes: refuse tokens with 403.
    pub fn require_session(&self) -> crate::Result<(&Id, &UserKey)> {
        match self {
            Self::Session { user, user_key, .. } => Ok((user, user_key)),
            Self::Token { .. } => Err(crate::Error::Forbidden(
                "this route needs a session, not an API token",
            )),
        }
    }
}
