//! End-to-end accounts on the wire (docs/END-TO-END.md §3–§5, shapes in §9): prelogin,
//! the end-to-end bodies of sign-up, login and password change (the server-mode handlers
//! in `account` hand them here), the session's unlock slot, key material, pins and the
//! two-step recovery.
//!
//! Byte strings are base64url without padding; ids are 32 lowercase hex characters (22
//! base64url characters are read too). A field that does not decode is a 422 naming it.

use axum::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyslot_core::e2e_accounts::{E2eSignup, FirstVault, PasswordSlotParts, RecoverySlotParts};
use keyslot_core::e2e_recovery::E2eRecovery;
use keyslot_core::{Error, FieldError};
use keyslot_crypto::{Argon2Params, Envelope, Id, PublicKey, Verifier};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rfc3339;
use crate::auth::{
    Auth, ClientIp, device_cookie, end_presented_session, set_cookie, set_device_cookie,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, PathIds};
use crate::state::AppState;

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

/// An end-to-end account's own key material (all public or wrapped under its user key).
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnKeysResponse {
    /// User id.
    pub user_id: String,
    /// Username.
    pub username: String,
    /// The password credential's id.
    pub password_credential_id: String,
    /// The recovery credential's id.
    pub recovery_credential_id: String,
    /// The X25519 public key.
    pub x25519_public: String,
    /// Its private half under the user key.
    pub x25519_wrapped: String,
    /// The identity's signature over it.
    pub x25519_signature: String,
    /// The identity public key.
    pub identity_public: String,
    /// Its private half under the user key.
    pub identity_wrapped: String,
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
    /// The user key under the code's wrap key.
    pub wrapped_user_key: String,
    /// After a user-key rotation: the current user key sealed to the code's X25519 key;
    /// open this one instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed_user_key: Option<String>,
}

// ---- routes -----------------------------------------------------------------------------

/// The salt, Argon2 parameters and credential ids an end-to-end client needs to derive
/// its `auth`. Every username gets an answer of the same shape: an unknown or
/// server-mode username gets stable stand-ins, so the answer tells neither existence nor
/// mode (an account whose parameters differ from the default stays distinguishable until
/// its next password change).
#[utoipa::path(post, path = "/v1/prelogin", tag = "account", request_body = PreloginRequest,
    responses((status = 200, body = PreloginResponse), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn prelogin(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<PreloginRequest>,
) -> ApiResult<Json<PreloginResponse>> {
    if req.username.len() > 1024 {
        return Err(Error::invalid("username", "is too long").into());
    }
    let p = state.keyslot.prelogin(&req.username).await?;
    Ok(Json(PreloginResponse {
        credential_id: p.credential_id.to_string(),
        salt: b64(&p.salt),
        m_cost: p.params.m_cost_kib,
        t_cost: p.params.t_cost,
        p_cost: p.params.p_cost,
        recovery_credential_id: p.recovery_credential_id.to_string(),
    }))
}

/// `POST /v1/signup` with `end_to_end: true`.
pub(super) async fn signup(
    state: &AppState,
    ip: &str,
    req: E2eSignupRequest,
) -> ApiResult<Response> {
    let vault_id = id("vault.id", &req.vault.id);
    let signup = (|| -> Result<E2eSignup, Vec<FieldError>> {
        let mut errors = Errors(Vec::new());
        let parsed = (
            errors.take(id("user_id", &req.user_id)),
            errors.take(password_parts("password", &req.password)),
            errors.take(recovery_parts("recovery", &req.recovery)),
            errors.take(public_key("x25519_public", &req.x25519_public)),
            errors.take(envelope("x25519_wrapped", &req.x25519_wrapped)),
            errors.take(bytes("x25519_signature", &req.x25519_signature)),
            errors.take(bytes("identity_public", &req.identity_public)),
            errors.take(envelope("identity_wrapped", &req.identity_wrapped)),
            errors.take(vault_id.clone()),
            errors.take(envelope(
                "vault.wrapped_vault_key",
                &req.vault.wrapped_vault_key,
            )),
            errors.take(envelope("vault.sealed_name", &req.vault.sealed_name)),
            errors.take(public_key("vault.public_key", &req.vault.public_key)),
            errors.take(bytes(
                "vault.public_key_signature",
                &req.vault.public_key_signature,
            )),
        );
        let (
            Some(user_id),
            Some(password),
            Some(recovery),
            Some(x25519_public),
            Some(x25519_wrapped),
            Some(x25519_signature),
            Some(identity_public),
            Some(identity_wrapped),
            Some(vault),
            Some(wrapped_vault_key),
            Some(sealed_name),
            Some(vault_public),
            Some(vault_signature),
        ) = parsed
        else {
            return Err(errors.0);
        };
        Ok(E2eSignup {
            username: req.username.clone(),
            user_id,
            password,
            recovery,
            x25519_public,
            x25519_wrapped,
            x25519_signature,
            identity_public,
            identity_wrapped,
            vault: FirstVault {
                id: vault,
                wrapped_vault_key,
                sealed_name,
                public_key: vault_public,
                public_key_signature: vault_signature,
            },
        })
    })()
    .map_err(Error::Invalid)?;
    let user = state.keyslot.signup_e2e(signup, ip).await?;
    let body = E2eSignupResponse {
        user_id: user.to_string(),
        vault_id: vault_id.map(|v| v.to_string()).unwrap_or_default(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `POST /v1/login` with `auth`.
pub(super) async fn login(
    state: &AppState,
    ip: &str,
    headers: &HeaderMap,
    req: E2eLoginRequest,
) -> ApiResult<Response> {
    let done = state
        .keyslot
        .login_auth(
            &req.username,
            &req.auth,
            ip,
            device_cookie(headers).as_deref().map(String::as_str),
        )
        .await?;
    end_presented_session(state, headers, ip).await;
    let body = E2eLoginResponse {
        csrf_token: done.csrf_token.to_string(),
        expires_at: rfc3339(done.expires_at),
        end_to_end: true,
        user_id: done.user_id.to_string(),
        password_credential_id: done.password_credential_id.to_string(),
        wrapped_user_key: b64(&done.wrapped_user_key),
    };
    let mut response = Json(body).into_response();
    if let Some(cookie) = set_cookie(&done.session, state.keyslot.config().session_absolute_secs) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    if let Some(cookie) = set_device_cookie(
        &done.device_cookie,
        state.keyslot.config().device_cookie_secs,
    ) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `POST /v1/password` with `current_auth`.
pub(super) async fn change_password(
    state: &AppState,
    principal: &keyslot_core::Principal,
    req: E2ePasswordRequest,
) -> ApiResult<Response> {
    let parts = password_parts("password", &req.password).map_err(|e| Error::Invalid(vec![e]))?;
    state
        .keyslot
        .change_password_e2e(
            principal,
            &req.current_auth,
            parts,
            req.end_other_sessions,
            req.revoke_tokens,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Store this end-to-end session's unlock slot (once per session; the unlock secret
/// stays in the client).
#[utoipa::path(put, path = "/v1/session/key", tag = "account", request_body = SessionKeyBody,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_session_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(req): ApiJson<SessionKeyBody>,
) -> ApiResult<StatusCode> {
    let (unlock_id, wrapped) = both(
        id("unlock_id", &req.unlock_id),
        envelope("wrapped_user_key", &req.wrapped_user_key),
    )?;
    state
        .keyslot
        .put_session_key(&principal, unlock_id, &wrapped)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This end-to-end session's unlock slot (404 until it is stored).
#[utoipa::path(get, path = "/v1/session/key", tag = "account",
    responses((status = 200, body = SessionKeyBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_session_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<SessionKeyBody>> {
    let (unlock_id, wrapped) = state.keyslot.session_key(&principal).await?;
    Ok(Json(SessionKeyBody {
        unlock_id: unlock_id.to_string(),
        wrapped_user_key: b64(&wrapped),
    }))
}

/// The caller's own key material (an end-to-end session): publics, signatures, and
/// privates wrapped under the user key.
#[utoipa::path(get, path = "/v1/keys", tag = "account",
    responses((status = 200, body = OwnKeysResponse), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn own_keys(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<OwnKeysResponse>> {
    let k = state.keyslot.own_keys(&principal).await?;
    Ok(Json(OwnKeysResponse {
        user_id: k.user_id.to_string(),
        username: k.username,
        password_credential_id: k.password_credential_id.to_string(),
        recovery_credential_id: k.recovery_credential_id.to_string(),
        x25519_public: b64(&k.x25519_public),
        x25519_wrapped: b64(&k.x25519_wrapped),
        x25519_signature: b64(&k.x25519_signature),
        identity_public: b64(&k.identity_public),
        identity_wrapped: b64(&k.identity_wrapped),
    }))
}

/// Another user's public keys, for a session about to share. Like sharing, it tells a
/// logged-in user whether a username exists: each look-up is counted against the same
/// hourly budget as member additions (429 past it) and audited. Unknown: 404.
#[utoipa::path(get, path = "/v1/users/{username}/keys", tag = "account",
    params(("username" = String, Path, description = "The username (any case)")),
    responses((status = 200, body = UserKeysResponse), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn user_keys(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(username): Path<String>,
) -> ApiResult<Json<UserKeysResponse>> {
    let k = state
        .keyslot
        .user_public_keys(&principal, &username)
        .await?;
    let (identity_public, x25519_signature) = match k.identity {
        Some((identity, signature)) => (Some(b64(&identity)), Some(b64(&signature))),
        None => (None, None),
    };
    Ok(Json(UserKeysResponse {
        user_id: k.user_id.to_string(),
        username: k.username,
        end_to_end: k.end_to_end,
        identity_public,
        x25519_public: b64(&k.x25519_public),
        x25519_signature,
    }))
}

/// Pin another user's identity key (an end-to-end session). The server checks sizes only:
/// the pin is a MAC under a key derived from the caller's user key.
#[utoipa::path(put, path = "/v1/pins/{user_id}", tag = "account", request_body = PinBody,
    params(("user_id" = String, Path, description = "The pinned user's id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_pin(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathIds(ids): PathIds,
    ApiJson(req): ApiJson<PinBody>,
) -> ApiResult<StatusCode> {
    let [pinned] = <[Id; 1]>::try_from(ids).map_err(|_| ApiError::not_found())?;
    let (identity_public, pin) = both(
        bytes("identity_public", &req.identity_public),
        bytes("pin", &req.pin),
    )?;
    state
        .keyslot
        .put_pin(&principal, pinned, identity_public, pin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's pins (an end-to-end session).
#[utoipa::path(get, path = "/v1/pins", tag = "account",
    responses((status = 200, body = PinList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_pins(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<PinList>> {
    let pins = state.keyslot.pins(&principal).await?;
    Ok(Json(PinList {
        pins: pins
            .into_iter()
            .map(|p| PinView {
                user_id: p.pinned_user_id.to_string(),
                identity_public: b64(&p.identity_public),
                pin: b64(&p.pin),
            })
            .collect(),
    }))
}

/// End-to-end recovery, first step: the recovery code's `auth` buys the recovery slot,
/// which the client opens with the code. Counted like a recovery attempt; anything but an
/// end-to-end account with this code is 401.
#[utoipa::path(post, path = "/v1/recover/begin", tag = "account", request_body = RecoverBeginRequest,
    responses((status = 200, body = RecoverBeginResponse), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn recover_begin(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RecoverBeginRequest>,
) -> ApiResult<Json<RecoverBeginResponse>> {
    let begun = state
        .keyslot
        .recover_begin(&req.username, &req.auth, &ip)
        .await?;
    Ok(Json(RecoverBeginResponse {
        user_id: begun.user_id.to_string(),
        recovery_credential_id: begun.recovery_credential_id.to_string(),
        wrapped_user_key: b64(&begun.wrapped_user_key),
        sealed_user_key: begun.sealed_user_key.as_deref().map(b64),
    }))
}

/// End-to-end recovery, second step: the same `auth`, a new password slot and a new
/// recovery slot. The old code and password stop working; every session ends.
#[utoipa::path(post, path = "/v1/recover/finish", tag = "account", request_body = RecoverFinishRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn recover_finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RecoverFinishRequest>,
) -> ApiResult<StatusCode> {
    let (password, recovery) = both(
        password_parts("password", &req.password),
        recovery_parts("recovery", &req.recovery),
    )?;
    state
        .keyslot
        .recover_finish(
            &req.username,
            &req.auth,
            E2eRecovery {
                password,
                recovery,
                revoke_tokens: req.revoke_tokens,
            },
            &ip,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- decoding ---------------------------------------------------------------------------

/// Field problems collected while decoding a body, so one answer names them all.
struct Errors(Vec<FieldError>);

impl Errors {
    fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }
}

/// Both fields, or a 422 naming each that failed.
fn both<A, B>(a: Result<A, FieldError>, b: Result<B, FieldError>) -> Result<(A, B), Error> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(Error::Invalid(a.err().into_iter().chain(b.err()).collect())),
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Base64url bytes of `field` (padding tolerated), at most 64 KiB of text.
fn bytes(field: &str, text: &str) -> Result<Vec<u8>, FieldError> {
    if text.len() > 64 * 1024 {
        return Err(FieldError::new(field, "is too long"));
    }
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| FieldError::new(field, "must be base64url"))
}

/// An id: 32 lowercase hex characters, or 16 bytes in base64url.
fn id(field: &str, text: &str) -> Result<Id, FieldError> {
    if let Ok(id) = text.parse::<Id>() {
        return Ok(id);
    }
    bytes(field, text)
        .ok()
        .and_then(|b| Id::from_slice(&b).ok())
        .ok_or_else(|| FieldError::new(field, "must be an id: 32 lowercase hex characters"))
}

fn envelope(field: &str, text: &str) -> Result<Envelope, FieldError> {
    let raw = bytes(field, text)?;
    Envelope::from_bytes(&raw)
        .map_err(|_| FieldError::new(field, "must be an envelope (FORMAT §4)"))
}

fn public_key(field: &str, text: &str) -> Result<PublicKey, FieldError> {
    let raw = bytes(field, text)?;
    PublicKey::from_slice(&raw)
        .map_err(|_| FieldError::new(field, "must be an X25519 public key (32 bytes)"))
}

fn verifier(field: &str, text: &str) -> Result<Verifier, FieldError> {
    let raw = bytes(field, text)?;
    Verifier::from_slice(&raw).map_err(|_| FieldError::new(field, "must be 32 bytes"))
}

fn password_parts(field: &str, p: &PasswordSlotBody) -> Result<PasswordSlotParts, FieldError> {
    let salt = bytes(&format!("{field}.salt"), &p.salt)?;
    let salt: [u8; 16] = salt
        .try_into()
        .map_err(|_| FieldError::new(format!("{field}.salt"), "must be 16 bytes"))?;
    Ok(PasswordSlotParts {
        credential_id: id(&format!("{field}.credential_id"), &p.credential_id)?,
        salt,
        params: Argon2Params {
            m_cost_kib: p.m_cost,
            t_cost: p.t_cost,
            p_cost: p.p_cost,
        },
        verifier: verifier(&format!("{field}.verifier"), &p.verifier)?,
        wrapped_user_key: envelope(&format!("{field}.wrapped_user_key"), &p.wrapped_user_key)?,
    })
}

fn recovery_parts(field: &str, r: &RecoverySlotBody) -> Result<RecoverySlotParts, FieldError> {
    Ok(RecoverySlotParts {
        credential_id: id(&format!("{field}.credential_id"), &r.credential_id)?,
        verifier: verifier(&format!("{field}.verifier"), &r.verifier)?,
        wrapped_user_key: envelope(&format!("{field}.wrapped_user_key"), &r.wrapped_user_key)?,
        x25519_public: public_key(&format!("{field}.x25519_public"), &r.x25519_public)?,
    })
}
