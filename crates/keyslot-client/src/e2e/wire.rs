//! The JSON bodies of END-TO-END.md §9, and their two encodings: ids as 32 lowercase hex
//! characters (22-character base64url accepted too), bytes as base64url without padding.
//!
//! These types only carry bytes; nothing here is trusted: the modules that read them open
//! or verify every field before use.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyslot_crypto::{Envelope, Id, PublicKey, SealedKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{E2eError, E2eResult};

/// Bytes as base64url without padding.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct B64(pub Vec<u8>);

impl core::fmt::Debug for B64 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "B64({} bytes)", self.0.len())
    }
}

impl B64 {
    pub fn of(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    pub fn envelope(e: &Envelope) -> Self {
        Self(e.to_bytes())
    }

    pub fn sealed(s: &SealedKey) -> Self {
        Self(s.to_bytes())
    }

    pub fn public(p: &PublicKey) -> Self {
        Self(p.as_bytes().to_vec())
    }

    /// Parse as an envelope; `what` names the field in the error.
    pub fn to_envelope(&self, what: &str) -> E2eResult<Envelope> {
        Envelope::from_bytes(&self.0).map_err(|e| field_error(what, e))
    }

    pub fn to_sealed(&self, what: &str) -> E2eResult<SealedKey> {
        SealedKey::from_bytes(&self.0).map_err(|e| field_error(what, e))
    }

    pub fn to_public(&self, what: &str) -> E2eResult<PublicKey> {
        PublicKey::from_slice(&self.0).map_err(|e| field_error(what, e))
    }

    pub fn to_array<const N: usize>(&self, what: &str) -> E2eResult<[u8; N]> {
        <[u8; N]>::try_from(self.0.as_slice())
            .map_err(|_| E2eError::protocol(format!("{what} is not {N} bytes")))
    }
}

fn field_error(what: &str, e: keyslot_crypto::Error) -> E2eError {
    E2eError::protocol(format!("{what}: {e}"))
}

impl Serialize for B64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map(Self)
            .map_err(|_| serde::de::Error::custom("not base64url"))
    }
}

/// An id: written as 32 lowercase hex characters; read from those or from 22 base64url
/// characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct WireId(pub Id);

impl core::fmt::Debug for WireId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for WireId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for WireId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_id(&text)
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom("not an id"))
    }
}

/// An id from 32 lowercase hex characters or 22 base64url characters.
pub(crate) fn parse_id(text: &str) -> Option<Id> {
    if let Ok(id) = text.parse::<Id>() {
        return Some(id);
    }
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
        .and_then(|b| Id::from_slice(&b).ok())
}

// ---- accounts -------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub(crate) struct Prelogin {
    pub credential_id: WireId,
    pub salt: B64,
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    #[serde(default)]
    pub recovery_credential_id: Option<WireId>,
}

#[derive(Debug, Serialize)]
pub(crate) struct PasswordParts {
    pub credential_id: WireId,
    pub salt: B64,
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    pub verifier: B64,
    pub wrapped_user_key: B64,
}

#[derive(Debug, Serialize)]
pub(crate) struct RecoveryParts {
    pub credential_id: WireId,
    pub verifier: B64,
    pub wrapped_user_key: B64,
    pub x25519_public: B64,
}

#[derive(Debug, Serialize)]
pub(crate) struct NewVault {
    pub id: WireId,
    pub wrapped_vault_key: B64,
    pub sealed_name: B64,
    pub public_key: B64,
    pub public_key_signature: B64,
    /// Version 1 sealed to each of the owner's live `"*"` tokens.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub token_grants: Vec<TokenGrant>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TokenGrant {
    pub token: WireId,
    pub sealed: B64,
}

/// A live `"*"` token of a user: it must receive every vault key that user gets, sealed
/// to its key, which its user's identity signed at mint.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StarToken {
    pub id: WireId,
    pub x25519_public: B64,
    pub public_key_signature: B64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Signup<'a> {
    pub username: &'a str,
    pub end_to_end: bool,
    pub user_id: WireId,
    pub password: PasswordParts,
    pub recovery: RecoveryParts,
    pub x25519_public: B64,
    pub x25519_wrapped: B64,
    pub x25519_signature: B64,
    pub identity_public: B64,
    pub identity_wrapped: B64,
    pub vault: NewVault,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignedUp {
    pub user_id: WireId,
    pub vault_id: WireId,
}

#[derive(Deserialize)]
pub(crate) struct LoggedIn {
    pub csrf_token: String,
    pub expires_at: String,
    #[serde(default)]
    pub end_to_end: bool,
    pub user_id: WireId,
    #[serde(default)]
    pub password_credential_id: Option<WireId>,
    pub wrapped_user_key: B64,
}

impl core::fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoggedIn")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SessionKey {
    pub unlock_id: WireId,
    pub wrapped_user_key: B64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OwnKeys {
    pub user_id: WireId,
    pub x25519_public: B64,
    pub x25519_wrapped: B64,
    #[serde(default)]
    pub x25519_signature: Option<B64>,
    pub identity_public: B64,
    pub identity_wrapped: B64,
    #[serde(default)]
    pub star_tokens: Vec<StarToken>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OtherKeys {
    pub user_id: WireId,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub end_to_end: bool,
    #[serde(default)]
    pub identity_public: Option<B64>,
    pub x25519_public: B64,
    #[serde(default)]
    pub x25519_signature: Option<B64>,
    #[serde(default)]
    pub star_tokens: Vec<StarToken>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Pin {
    #[serde(default, skip_serializing)]
    pub user_id: Option<WireId>,
    pub identity_public: B64,
    pub pin: B64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Pins {
    pub pins: Vec<Pin>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ChangePassword {
    pub current_auth: String,
    pub password: PasswordParts,
    pub end_other_sessions: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RecoveryBegun {
    pub user_id: WireId,
    #[serde(default)]
    pub recovery_credential_id: Option<WireId>,
    pub wrapped_user_key: B64,
    #[serde(default)]
    pub sealed_user_key: Option<B64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RecoveryFinish<'a> {
    pub username: &'a str,
    pub auth: String,
    pub password: PasswordParts,
    pub recovery: RecoveryParts,
}

// ---- vaults and items -----------------------------------------------------------------

/// The caller's way to a vault key (END-TO-END.md §6).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Slot {
    Member {
        key_version: u32,
        wrapped_vault_key: B64,
    },
    Token {
        key_version: u32,
        wrapped_vault_key: B64,
    },
    Grant {
        key_version: u32,
        sealed: B64,
    },
}

impl Slot {
    pub fn key_version(&self) -> u32 {
        match self {
            Self::Member { key_version, .. }
            | Self::Token { key_version, .. }
            | Self::Grant { key_version, .. } => *key_version,
        }
    }
}

/// One link of the backward chain: `VK_key_version` under `VK_{key_version + 1}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChainLink {
    pub key_version: u32,
    pub wrapped: B64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Vault {
    pub id: WireId,
    pub owner_id: WireId,
    #[serde(default)]
    pub role: Option<String>,
    pub key_version: u32,
    #[serde(default)]
    pub rotation_due: bool,
    pub sealed_name: B64,
    /// The current version's public key (its `public_key_signature` matters to deposit
    /// tokens; a holder checks the key against the vault key itself).
    #[serde(default)]
    pub public_key: Option<B64>,
    /// The identity signature over `public_key` (its owner's, or the member who rotated
    /// it): what a holder checks a vault key against before trusting it.
    #[serde(default)]
    pub public_key_signature: Option<B64>,
    pub slot: Slot,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Vaults {
    pub vaults: Vec<Vault>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SlotBody {
    pub key_version: u32,
    pub wrapped_vault_key: B64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ItemRow {
    pub id: WireId,
    pub version: u64,
    #[serde(default)]
    pub updated_at: String,
    pub key_version: u32,
    pub wrapped_item_key: B64,
    pub sealed_name: B64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ItemList {
    pub items: Vec<ItemRow>,
    pub slot: Slot,
    #[serde(default)]
    pub chain: Vec<ChainLink>,
    #[serde(default)]
    pub owner_id: Option<WireId>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ItemFull {
    pub id: WireId,
    pub version: u64,
    #[serde(default)]
    pub updated_at: String,
    pub key_version: u32,
    pub wrapped_item_key: B64,
    pub sealed_name: B64,
    pub sealed_value: B64,
    #[serde(default)]
    pub signer: Option<WireId>,
    #[serde(default)]
    pub signature: Option<B64>,
    pub slot: Slot,
    #[serde(default)]
    pub chain: Vec<ChainLink>,
    #[serde(default)]
    pub owner_id: Option<WireId>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ItemWrite {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<WireId>,
    pub version: u64,
    pub key_version: u32,
    pub wrapped_item_key: B64,
    pub sealed_name: B64,
    pub sealed_value: B64,
    pub name_index: B64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<B64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Written {
    pub id: WireId,
    pub version: u64,
}

// ---- tokens ---------------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub(crate) struct TokenSlot {
    pub vault: WireId,
    pub key_version: u32,
    pub wrapped_vault_key: B64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Mint {
    pub id: WireId,
    pub sealed_name: B64,
    pub name_key: B64,
    pub verifier: B64,
    pub x25519_public: B64,
    pub public_key_signature: B64,
    pub vaults: serde_json::Value,
    pub permissions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
    pub slots: Vec<TokenSlot>,
    pub auth: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Minted {
    pub id: WireId,
    pub expires_at: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenRow {
    pub id: WireId,
    pub sealed_name: B64,
    pub name_key: B64,
    pub vaults: serde_json::Value,
    pub permissions: Vec<String>,
    pub expires_at: String,
    #[serde(default)]
    pub last_used_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenRows {
    pub tokens: Vec<TokenRow>,
}

// ---- sharing and rotation -------------------------------------------------------------

/// One holder of a vault's key (`GET /v1/vaults/{vault}/holders`): a member (`kind`
/// `user`) or a token, its X25519 key, and what vouches for it (unverified as sent).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Holder {
    pub kind: String,
    pub id: WireId,
    pub user_id: WireId,
    #[serde(default)]
    pub role: Option<String>,
    pub public_key: B64,
    #[serde(default)]
    pub signature: Option<B64>,
    #[serde(default)]
    pub identity_public: Option<B64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Holders {
    pub owner_id: WireId,
    pub key_version: u32,
    pub holders: Vec<Holder>,
    /// An owner's signature over the member list at `key_version` (none after a removal).
    #[serde(default)]
    pub members_signature: Option<B64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Share<'a> {
    pub username: &'a str,
    pub role: &'a str,
    pub key_version: u32,
    pub grant: B64,
    pub members_signature: B64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub token_grants: Vec<Grant>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Grant {
    pub holder: WireId,
    pub sealed: B64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Rotate {
    pub key_version: u32,
    pub chain_link: B64,
    pub public_key: B64,
    pub public_key_signature: B64,
    pub sealed_name: B64,
    pub own_slot: B64,
    pub grants: Vec<Grant>,
    /// An owner's signature over the member list at the new version; others send none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members_signature: Option<B64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_as_hex_or_base64url_and_write_as_hex() {
        let id = Id::from_bytes([0xab; 16]);
        let hex: WireId = serde_json::from_value(serde_json::json!(id.to_string())).unwrap();
        let b64: WireId =
            serde_json::from_value(serde_json::json!(URL_SAFE_NO_PAD.encode([0xab; 16]))).unwrap();
        assert_eq!((hex.0, b64.0), (id, id));
        assert_eq!(
            serde_json::to_value(WireId(id)).unwrap(),
            serde_json::json!(id.to_string())
        );
        for bad in [
            "",
            "xyz",
            "ABABABABABABABABABABABABABABABAB",
            "q6urq6urq6urq6urq6ur",
        ] {
            assert!(
                serde_json::from_value::<WireId>(serde_json::json!(bad)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn bytes_are_base64url_without_padding() {
        let b = B64::of(vec![0xfb, 0xff, 0x00]);
        let text = serde_json::to_value(&b).unwrap();
        assert_eq!(text, serde_json::json!("-_8A"));
        assert_eq!(serde_json::from_value::<B64>(text).unwrap(), b);
        assert!(serde_json::from_value::<B64>(serde_json::json!("+/8A")).is_err());
        assert!(format!("{b:?}").contains("3 bytes"));
    }
}
