//! Request and response bodies of the API, as the OpenAPI document describes them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v1/signup` answer. Its `Debug` never shows the recovery code.
#[derive(Clone, Deserialize)]
pub struct SignedUp {
    /// User id.
    pub user_id: String,
    /// Default vault id.
    pub vault_id: String,
    /// The recovery code, shown once.
    pub recovery_code: String,
}

/// `POST /v1/login` answer. Its `Debug` shows no secret.
#[derive(Clone, Deserialize)]
pub struct LoggedIn {
    /// CSRF token for unsafe requests.
    pub csrf_token: String,
    /// Absolute session expiry (RFC 3339).
    pub expires_at: String,
    /// A new recovery code: a user-key rotation that was due ran at this login and the
    /// old code could not receive the new key. The old code no longer works; this one is
    /// shown this once.
    #[serde(default)]
    pub recovery_code: Option<String>,
}

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

/// `GET /v1/me` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    /// User id.
    pub user_id: String,
    /// Username.
    pub username: String,
}

#[derive(Deserialize)]
pub(crate) struct Recovered {
    pub recovery_code: String,
}

/// A vault.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Vault {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Vaults {
    pub vaults: Vec<Vault>,
}

/// One vault as its caller sees it (`GET /v1/vaults/{vault}`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct VaultDetail {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The caller's role: `owner`, `write` or `read`.
    pub role: String,
    /// The current key version (from 1): new items are wrapped under it.
    pub key_version: u32,
    /// A rotation is due; it runs before the next write.
    pub rotation_due: bool,
    /// Item keys are still wrapped under older versions.
    pub rewrap_pending: bool,
}

/// The answer to a rotation (`POST /v1/vaults/{vault}/rotate`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Rotated {
    /// The new current key version.
    pub key_version: u32,
}

/// An item as listed.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ItemSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: u64,
    /// Last write (RFC 3339).
    pub updated_at: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Items {
    pub items: Vec<ItemSummary>,
}

/// An item with its value.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Item {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Value.
    pub value: Value,
    /// Version.
    pub version: u64,
    /// Last write (RFC 3339).
    pub updated_at: String,
    /// End-to-end items: who signed this version, as this client checked it —
    /// `verified:<user id>` (under that user's identity, yours or one you confirmed),
    /// `unchecked:<user id>` (signed by someone whose identity you have not confirmed:
    /// not checked) or `unsigned` (a token's write, or one the server could have made).
    /// Absent for server-mode items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
}

/// Where an item stands after a write.
#[derive(Debug, Clone, Deserialize)]
pub struct ItemVersion {
    /// Id.
    pub id: String,
    /// Version.
    pub version: u64,
}

/// `POST /v1/tokens` body.
#[derive(Debug, Clone, Serialize)]
pub struct MintToken {
    /// Name.
    pub name: String,
    /// `"*"` or a list of vault ids.
    pub vaults: Value,
    /// `["read"]` or `["read", "write"]`.
    pub permissions: Vec<String>,
    /// Lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
}

/// `POST /v1/tokens` answer.
#[derive(Clone, Deserialize)]
pub struct Minted {
    /// Id.
    pub id: String,
    /// The token, shown once.
    pub token: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Minted {{ id: {}, token: ***, expires_at: {} }}",
            self.id, self.expires_at
        )
    }
}

/// A token as listed.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TokenInfo {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `"*"` or vault ids.
    pub vaults: Value,
    /// Permissions.
    pub permissions: Vec<String>,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// Last use (RFC 3339).
    pub last_used_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Tokens {
    pub tokens: Vec<TokenInfo>,
}

/// An audit event.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuditEvent {
    /// When (RFC 3339).
    pub at: String,
    /// What.
    pub action: String,
    /// Who.
    pub actor: String,
    /// `ok` or `failed`.
    pub outcome: String,
    /// Client address.
    pub ip: Option<String>,
    /// Ids concerned.
    pub detail: String,
}

/// A page of audit events.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuditPage {
    /// Events, newest first.
    pub events: Vec<AuditEvent>,
    /// The cursor of the next (older) page, if there is one.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Which audit events to ask for ([`crate::Client::audit_page`]).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Events per page (1–1000).
    pub limit: u32,
    /// Only at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Only before this RFC 3339 time.
    pub until: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl std::fmt::Debug for SignedUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedUp")
            .field("user_id", &self.user_id)
            .field("vault_id", &self.vault_id)
            .field("recovery_code", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recovered")
            .field("recovery_code", &"<redacted>")
            .finish()
    }
}
