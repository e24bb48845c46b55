//! What the use cases return: plain data for the server to serialize. Secrets that must be
//! shown once (a new token, a recovery code, a session credential) are `Zeroizing` strings.

use keyslot_crypto::Id;
use zeroize::Zeroizing;

use crate::model::Timestamp;

/// Sign-up result. Its `Debug` never shows the recovery code.
pub struct SignedUp {
    /// The new user.
    pub user_id: Id,
    /// The default vault.
    pub vault_id: Id,
    /// The recovery code, shown once.
    pub recovery_code: Zeroizing<String>,
}

/// Login result.
pub struct LoggedIn {
    /// The `kss_…` credential for the cookie.
    pub session: Zeroizing<String>,
    /// The CSRF token for unsafe requests.
    pub csrf_token: Zeroizing<String>,
    /// Absolute expiry of the session.
    pub expires_at: Timestamp,
    /// A fresh known-device cookie for this browser (`__Host-keyslot-device`): exempts it
    /// from the per-username ceiling at its next logins.
    pub device_cookie: Zeroizing<String>,
    /// A new recovery code, when a user-key rotation that was due ran at this login and
    /// the old code could not receive the new key (its slot predates recovery public
    /// keys): the old code no longer works, so this one must be shown, once.
    pub recovery_code: Option<Zeroizing<String>>,
}

/// Shows no secret: the session, CSRF token, device cookie and recovery code are
/// credentials.
impl std::fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggedIn")
            .field("expires_at", &self.expires_at)
            .field(
                "recovery_code",
                &self.recovery_code.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// A vault as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    /// Id.
    pub id: Id,
    /// Decrypted name.
    pub name: String,
    /// The caller's role in it: `owner`, `write` or `read`.
    pub role: &'static str,
}

/// One vault as its caller sees it (`GET /v1/vaults/{vault}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultInfo {
    /// Id.
    pub id: Id,
    /// Decrypted name.
    pub name: String,
    /// The caller's role in it: `owner`, `write` or `read`.
    pub role: &'static str,
    /// Its current key version.
    pub key_version: u32,
    /// Whether a rotation is due (it runs before the next write).
    pub rotation_due: bool,
    /// Whether item keys are still wrapped under older versions.
    pub rewrap_pending: bool,
}

/// An item as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSummary {
    /// Id.
    pub id: Id,
    /// Decrypted name.
    pub name: String,
    /// Current version.
    pub version: u64,
    /// When this version was written.
    pub updated_at: Timestamp,
}

/// An item as read.
#[derive(Clone, PartialEq)]
pub struct Item {
    /// Id.
    pub id: Id,
    /// Decrypted name.
    pub name: String,
    /// Decrypted value.
    pub value: serde_json::Value,
    /// Current version.
    pub version: u64,
    /// When this version was written.
    pub updated_at: Timestamp,
}

/// Which vaults a token reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every vault, including later ones.
    All,
    /// These vaults.
    Vaults(Vec<Id>),
}

/// A token as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Id.
    pub id: Id,
    /// Decrypted name.
    pub name: String,
    /// Its scope.
    pub vaults: Scope,
    /// Whether it may write.
    pub can_write: bool,
    /// A write-only deposit token (`permissions: ["deposit"]`): creates items in
    /// `vaults`, reads nothing.
    pub deposit: bool,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Last use.
    pub last_used_at: Option<Timestamp>,
}

/// A new token. Its `Debug` never shows the token text.
pub struct Minted {
    /// Id.
    pub id: Id,
    /// The `kst_…` text, shown once.
    pub token: Zeroizing<String>,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// What a caller asks a new token to reach.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// Its name.
    pub name: String,
    /// Its scope.
    pub vaults: Scope,
    /// Whether it may write.
    pub can_write: bool,
    /// A write-only deposit token: holds no vault key, may only create items in the
    /// listed vaults (`can_write` is ignored; `Scope::All` is refused).
    pub deposit: bool,
    /// Lifetime in seconds; the default when `None`.
    pub expires_in_seconds: Option<i64>,
}

/// An audit event as shown to its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// What.
    pub action: String,
    /// Who.
    pub actor: String,
    /// `ok` or `failed`.
    pub outcome: String,
    /// Client address, if known.
    pub ip: Option<String>,
    /// Ids concerned.
    pub detail: String,
}

/// A page of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// Events, newest first.
    pub events: Vec<AuditEntry>,
    /// Where the next page starts (opaque to callers), when this one was full.
    pub next: Option<i64>,
}

// Secrets shown once, and the values users store, never reach a log through `Debug`.
impl std::fmt::Debug for SignedUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedUp")
            .field("user_id", &self.user_id)
            .field("vault_id", &self.vault_id)
            .field("recovery_code", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minted")
            .field("id", &self.id)
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The item's name and version show (they help a failing assertion); its value does not.
impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Item")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .field("version", &self.version)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let id = Id::random().unwrap();
        let shown = format!(
            "{:?} {:?} {:?}",
            SignedUp {
                user_id: id,
                vault_id: id,
                recovery_code: Zeroizing::new("RECOVERY-SECRET".into()),
            },
            Minted {
                id,
                token: Zeroizing::new("kst_TOKEN-SECRET".into()),
                expires_at: 0,
            },
            Item {
                id,
                name: "db".into(),
                value: serde_json::json!("VALUE-SECRET"),
                version: 1,
                updated_at: 0,
            },
        );
        for secret in ["RECOVERY-SECRET", "TOKEN-SECRET", "VALUE-SECRET"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("db"), "{shown}");
    }
}
