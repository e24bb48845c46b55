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
    /// A caller that does its own crypto (end-to-end mode, docs/END-TO-END.md): an
    /// end-to-end account's session, or any token presented as a `ksa_` auth proof. It
    /// holds no key — the server never had one to give it — so every answer it gets is
    /// ciphertext and every write it makes is ciphertext the client made.
    Client {
        /// The user.
        user: Id,
        /// Which credential authenticated it.
        actor: ClientActor,
        /// The client address, when known.
        ip: Option<IpAddr>,
    },
}

/// The credential behind a [`Principal::Client`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientActor {
    /// An end-to-end account's session: authenticates only; the client keeps the user key.
    Session {
        /// The session id.
        session: Id,
    },
    /// A token presented as `ksa_` (an auth proof, never its secret).
    Token {
        /// The token id.
        token: Id,
        /// Whether it may write.
        can_write: bool,
        /// A write-only deposit token.
        deposit: bool,
        /// A `"*"` token.
        all_vaults: bool,
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
            Self::Session { user, .. } | Self::Token { user, .. } | Self::Client { user, .. } => {
                user
            }
        }
    }

    /// The client address this request came from, when known.
    pub const fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Session { ip, .. } | Self::Token { ip, .. } | Self::Client { ip, .. } => *ip,
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
            Self::Token { token, .. }
            | Self::Client {
                actor: ClientActor::Token { token, .. },
                ..
            } => format!("token:{token}"),
            Self::Client {
                actor: ClientActor::Session { session },
                ..
            } => format!("session:{session}"),
        }
    }

    /// Whether this is a write-only deposit token (it holds no vault key).
    pub const fn is_deposit(&self) -> bool {
        matches!(
            self,
            Self::Token { deposit: true, .. }
                | Self::Client {
                    actor: ClientActor::Token { deposit: true, .. },
                    ..
                }
        )
    }

    /// Whether this caller does its own crypto (end-to-end session or `ksa_` token).
    pub const fn is_client_side(&self) -> bool {
        matches!(self, Self::Client { .. })
    }

    /// Session-only routes: refuse tokens with 403.
    pub fn require_session(&self) -> crate::Result<(&Id, &UserKey)> {
        match self {
            Self::Session { user, user_key, .. } => Ok((user, user_key)),
            Self::Token { .. }
            | Self::Client {
                actor: ClientActor::Token { .. },
                ..
            } => Err(crate::Error::Forbidden(
                "this route needs a session, not an API token",
            )),
            Self::Client { .. } => Err(crate::Error::Forbidden(
                "this account is end-to-end: the client does this operation and sends its result",
            )),
        }
    }
}
