//! End-to-end accounts on the wire (docs/END-TO-END.md §3–§5, shapes in §9): prelogin,
//! the end-to-end bodies of sign-up, login and password change (the server-mode handlers
//! in `account` hand them here), the session's unlock slot, key material, pins and the
//! two-step recovery.
//!
//! Byte strings are base64url without padding; ids are 32 lowercase hex characters (22
//! base64url characters are read too). A field that does not decode is a 422 naming it.

mod decode;
mod wire;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyslot_core::e2e_accounts::{E2eSignup, FirstVault};
use keyslot_core::e2e_recovery::E2eRecovery;
use keyslot_core::{Error, FieldError};
use keyslot_crypto::Id;

use super::rfc3339;
use crate::auth::{
    Auth, ClientIp, device_cookie, end_presented_session, set_cookie, set_device_cookie,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, PathIds};
use crate::state::AppState;
use decode::{Errors, b64, both, bytes, envelope, id, password_parts, public_key, recovery_parts};
pub use wire::*;

// ---- routes -----------------------------------------------------------------------------

/// The salt, Argon2 parameters and credential ids an end-to-end client needs to derive
/// its `auth`. Every username gets an answer of the same shape: an unknown or
/// server-mode username gets stable stand-ins, so the answer tells neither existence nor
/// mode (an account whose parameters differ from the default stays distinguishable until
/// its next password change). Each source network may ask so often per minute (429 with
/// `Retry-After` past it), whatever the names.
#[utoipa::path(post, path = "/v1/prelogin", tag = "account", request_body = PreloginRequest,
    security(()),
    responses((status = 200, body = PreloginResponse), (status = 422, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem)))]
pub async fn prelogin(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<PreloginRequest>,
) -> ApiResult<Json<PreloginResponse>> {
    if req.username.len() > 1024 {
        return Err(Error::invalid("username", "is too long").into());
    }
    let p = state.keyslot.prelogin_from(&req.username, &ip).await?;
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

/// This end-to-end session's unlock slot (404 until it is stored, and always for a
/// server-mode session, whose slot the server never hands out).
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

/// The caller's own key material (a session of either mode): publics, signatures, and
/// privates wrapped under the user key; the identity is an end-to-end account's only.
#[utoipa::path(get, path = "/v1/keys", tag = "account",
    responses((status = 200, body = OwnKeysResponse), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn own_keys(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<OwnKeysResponse>> {
    let k = state.keyslot.own_keys(&principal).await?;
    let identity = k.identity.as_ref();
    Ok(Json(OwnKeysResponse {
        user_id: k.user_id.to_string(),
        username: k.username,
        end_to_end: k.end_to_end,
        password_credential_id: k.password_credential_id.to_string(),
        recovery_credential_id: k.recovery_credential_id.to_string(),
        x25519_public: b64(&k.x25519_public),
        x25519_wrapped: b64(&k.x25519_wrapped),
        x25519_signature: identity.map(|i| b64(&i.x25519_signature)),
        identity_public: identity.map(|i| b64(&i.identity_public)),
        identity_wrapped: identity.map(|i| b64(&i.identity_wrapped)),
        star_tokens: star_tokens(&k.star_tokens),
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
        star_tokens: star_tokens(&k.star_tokens),
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

/// The caller's pins (a session of either mode; a server-mode account pins nothing).
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

fn star_tokens(keys: &[keyslot_core::e2e_accounts::StarTokenKey]) -> Vec<StarTokenView> {
    keys.iter()
        .map(|t| StarTokenView {
            id: t.id.to_string(),
            x25519_public: b64(&t.x25519_public),
            public_key_signature: b64(&t.public_key_signature),
        })
        .collect()
}
