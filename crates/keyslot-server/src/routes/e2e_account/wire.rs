//! The end-to-end account routes' bodies and answers (docs/END-TO-END.md §9), and
//! [`ModeJson`], which tells an end-to-end body from a server-mode one on a shared path.

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::ApiJson;

/// A body whose shape depends on the account's mode: the server-mode shape `S`, or the
/// end-to-end shape `E` when the body carries `E`'s marker field (see [`Marker`]). Both
/// are read by [`ApiJson`], so their errors are the usual 415/413/400/422.
pub enum ModeJson<S, E> {
    /// The server-mode body.
    Server(S),
    /// The end-to-end body.
    EndToEnd(E),
}

/// How an end-to-end body is told from a server-mode one.
pub trait Marker {
    /// Whether `body` is this end-to-end shape.
    fn is_end_to_end(body: &serde_json::Value) -> bool;
}

impl<St, S, E> FromRequest<St> for ModeJson<S, E>
where
    St: Send + Sync,
    S: DeserializeOwned,
    E: DeserializeOwned + Marker,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &St) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let ApiJson(value) = ApiJson::<serde_json::Value>::from_request(req, state).await?;
        let end_to_end = E::is_end_to_end(&value);
        let bytes = serde_json::to_vec(&value)
            .map_err(|_| ApiError::bad_request("body", "is not valid JSON"))?;
        let mut again = Request::new(axum::body::Body::from(bytes));
        *again.headers_mut() = headers;
        if end_to_end {
            let ApiJson(body) = ApiJson::<E>::from_request(again, state).await?;
            Ok(Self::EndToEnd(body))
        } else {
            let ApiJson(body) = ApiJson::<S>::from_request(again, state).await?;
            Ok(Self::Server(body))
        }
    }
}

// ---- request bodies ---------------------------------------------------------------------

/// A password slot made by an end-to-end client (the server seals it as any other).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordSlotBody {
    /// The credential id the client split with (hex).
    pub credential_id: String,
    /// The Argon2id salt, 16 bytes.
    pub salt: String,
    /// Argon2id memory in KiB (within the server's floor and ceiling).
    pub m_cost: u32,
    /// Argon2id passes.
    pub t_cost: u32,
    /// Argon2id lanes.
    pub p_cost: u32,
    /// `SHA-256(auth)`, 32 bytes.
    pub verifier: String,
    /// The user key wrapped under the password's wrap key (an envelope).
    pub wrapped_user_key: String,
}

/// A recovery slot made by an end-to-end client.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverySlotBody {
    /// The recovery credential's id (hex).
    pub credential_id: String,
    /// `SHA-256(auth)` of the code, 32 bytes.
    pub verifier: String,
    /// The user key wrapped under the code's wrap key (an envelope).
    pub wrapped_user_key: String,
    /// The code's X25519 public key (derived from the code).
    pub x25519_public: String,
}

/// An end-to-end account's first vault.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstVaultBody {
    /// The vault id (hex).
    pub id: String,
    /// Its key (version 1) under the user key.
    pub wrapped_vault_key: String,
    /// Its name sealed under the vault key.
    pub sealed_name: String,
    /// Version 1's X25519 public key.
    pub public_key: String,
    /// The owner's identity signature over it (64 bytes).
    pub public_key_signature: String,
}

/// End-to-end sign-up: the client made every slot and key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct E2eSignupRequest {
    /// 3–128 letters, digits and `._@+-`; compared case-insensitively.
    pub username: String,
    /// `true`.
    #[allow(dead_code)] // The marker: ModeJson chose this shape because it is `true`.
    pub end_to_end: bool,
    /// The user id the client chose (hex).
    pub user_id: String,
    /// The password slot.
    pub password: PasswordSlotBody,
    /// The recovery slot.
    pub recovery: RecoverySlotBody,
    /// The user's X25519 public key.
    pub x25519_public: String,
    /// Its private half under the user key.
    pub x25519_wrapped: String,
    /// The identity's signature over `x25519_public` (64 bytes).
    pub x25519_signature: String,
    /// The Ed25519 identity public key (32 bytes).
    pub identity_public: String,
    /// Its private half under the user key.
    pub identity_wrapped: String,
    /// The first vault.
    pub vault: FirstVaultBody,
}

impl Marker for E2eSignupRequest {
    fn is_end_to_end(body: &serde_json::Value) -> bool {
        body.get("end_to_end") == Some(&serde_json::Value::Bool(true))
    }
}

/// End-to-end login: `auth` instead of the password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct E2eLoginRequest {
    /// The username (any case).
    pub username: String,
    /// `auth` of the password (HKDF split of Argon2id with the prelogin's salt and
    /// credential id), base64url.
    pub auth: String,
}

impl Marker for E2eLoginRequest {
    fn is_end_to_end(body: &serde_json::Value) -> bool {
        body.get("auth").is_some()
    }
}

/// End-to-end password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct E2ePasswordRequest {
    /// `auth` of the current password, base64url.
    pub current_auth: String,
    /// The new password slot (new salt; the credential id may be new).
    pub password: PasswordSlotBody,
    /// End the account's other sessions (default `true`).
    #[serde(default = "yes")]
    pub end_other_sessions: bool,
    /// Also revoke every API token (default `false`).
    #[serde(default)]
    pub revoke_tokens: bool,
}

impl Marker for E2ePasswordRequest {
    fn is_end_to_end(body: &serde_json::Value) -> bool {
        body.get("current_auth").is_some()
    }
}

/// Recovery, first step.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverBeginRequest {
    /// The username.
    pub username: String,
    /// `auth` of the recovery code (derived with the prelogin's `recovery_credential_id`).
    pub auth: String,
}

/// Recovery, second step.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverFinishRequest {
    /// The username.
    pub username: String,
    /// `auth` of the recovery code, as in the first step.
    pub auth: String,
    /// The new password slot.
    pub password: PasswordSlotBody,
    /// The new recovery slot (a new code the client made).
    pub recovery: RecoverySlotBody,
    /// Also revoke every API token (default `false`). Recovery always ends every session.
    #[serde(default)]
    pub revoke_tokens: bool,
}

/// The prelogin question.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreloginRequest {
    /// The username (any case).
    pub username: String,
}

/// An end-to-end session's unlock slot.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionKeyBody {
    /// The unlock secret's id (hex).
    pub unlock_id: String,
    /// The user key wrapped under the unlock secret's wrap key (an envelope).
    pub wrapped_user_key: String,
}

/// A pin of another user's identity key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinBody {
    /// The identity public key the user confirmed.
    pub identity_public: String,
    /// `HMAC(pin key, user id ‖ identity_public)` (32 bytes), made by the client.
    pub pin: String,
}

macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), "(***)"))
            }
        }
    )*};
}
redacted_debug!(
    PasswordSlotBody,
    RecoverySlotBody,
    FirstVaultBody,
    E2eSignupRequest,
    E2eLoginRequest,
    E2ePasswordRequest,
    RecoverBeginRequest,
    RecoverFinishRequest
);

const fn yes() -> bool {
    true
}

// ---- answers ----------------------------------------------------------------------------

/// The prelogin's answer: the same shape for every username.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreloginResponse {
    /// The password credential's id (the HKDF split's salt).
    pub credential_id: String,
    /// The Argon2id salt, base64url.
    pub salt: String,
    /// Argon2id memory in KiB.
    pub m_cost: u32,
    /// Argon2id passes.
    pub t_cost: u32,
    /// Argon2id lanes.
    pub p_cost: u32,
    /// The recovery code's credential id.
    pub recovery_credential_id: String,
}

/// The caller's own key material (all public or wrapped under its user key); the identity
/// fields are an end-to-end account's only.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnKeysResponse {
    /// User id.
    pub user_id: String,
    /// Username.
    pub username: String,
    /// Whether the account is end-to-end.
    pub end_to_end: bool,
    /// The password credential's id.
    pub password_credential_id: String,
    /// The recovery credential's id.
    pub recovery_credential_id: String,
    /// The X25519 public key.
    pub x25519_public: String,
    /// Its private half under the user key.
    pub x25519_wrapped: String,
    /// End-to-end: the identity's signature over it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x25519_signature: Option<String>,
    /// End-to-end: the identity public key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_public: Option<String>,
    /// End-to-end: its private half under the user key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_wrapped: Option<String>,
    /// The account's live `"*"` tokens (end-to-end accounts; empty in server mode).
    pub star_tokens: Vec<StarTokenView>,
}

/// A live `"*"` token: a vault its user creates or is added to must be granted to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StarTokenView {
    /// The token id.
    pub id: String,
    /// Its X25519 public key.
    pub x25519_public: String,
    /// Its user's identity signature over it (verify it under the pinned identity).
    pub public_key_signature: String,
}

/// Another user's public keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserKeysResponse {
    /// User id.
    pub user_id: String,
    /// Username as signed up.
    pub username: String,
    /// Whether the account is end-to-end (sharing needs both accounts in the same mode).
    pub end_to_end: bool,
    /// End-to-end accounts: the identity public key (compare its fingerprint out of band,
    /// then pin it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_public: Option<String>,
    /// The X25519 public key.
    pub x25519_public: String,
    /// End-to-end accounts: the identity's signature over `x25519_public`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x25519_signature: Option<String>,
    /// The account's live `"*"` tokens (end-to-end accounts; empty in server mode).
    pub star_tokens: Vec<StarTokenView>,
}

/// One pin.
#[derive(Debug, Serialize, ToSchema)]
pub struct PinView {
    /// The pinned user.
    pub user_id: String,
    /// The identity public key pinned.
    pub identity_public: String,
    /// The pin.
    pub pin: String,
}

/// The caller's pins.
#[derive(Debug, Serialize, ToSchema)]
pub struct PinList {
    /// By user id.
    pub pins: Vec<PinView>,
}

/// End-to-end sign-up's answer (no recovery code: the client made it).
#[derive(Debug, Serialize, ToSchema)]
pub struct E2eSignupResponse {
    /// The user id.
    pub user_id: String,
    /// The first vault's id.
    pub vault_id: String,
}

/// End-to-end login's answer (the session is in the cookie).
#[derive(Serialize, ToSchema)]
pub struct E2eLoginResponse {
    /// Send as `X-CSRF-Token` on every unsafe request made with the cookie.
    pub csrf_token: String,
    /// When the session ends at the latest (RFC 3339).
    pub expires_at: String,
    /// `true`.
    pub end_to_end: bool,
    /// The user id.
    pub user_id: String,
    /// The password credential's id.
    pub password_credential_id: String,
    /// The user key under the password's wrap key: open it in the client.
    pub wrapped_user_key: String,
}

/// Recovery's first step: the slot for the client to open with the code.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoverBeginResponse {
    /// The user id (bound into the slot's AAD).
    pub user_id: String,
    /// The recovery credential's id.
    pub recovery_credential_id: String,
    /// The user key under the code's wrap key, the only user key recovery hands out (a
    /// key sealed to the code's public key could be anyone's: there is none here).
    pub wrapped_user_key: String,
}
