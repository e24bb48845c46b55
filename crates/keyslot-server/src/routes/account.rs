//! Sign-up, login, logout, me, password change, recovery.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyslot_crypto::Password;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::e2e_account::{self, E2eLoginRequest, E2ePasswordRequest, E2eSignupRequest, ModeJson};
use super::keys::RotateKeysResponse;
use super::rfc3339;
use crate::auth::{
    Auth, ClientIp, clear_cookie, device_cookie, end_presented_session, set_cookie,
    set_device_cookie,
};
use crate::error::{ApiResult, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;

/// Sign-up request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// 3–128 letters, digits and `._@+-`; compared case-insensitively.
    pub username: String,
    /// 12–1024 characters, not the username, not trivially guessable.
    pub password: String,
}

/// Login request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The username as signed up (any case).
    pub username: String,
    /// The password.
    pub password: String,
}

/// Password change request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    /// The current password.
    pub current_password: String,
    /// The new password.
    pub new_password: String,
    /// End the account's other sessions (default `true`).
    #[serde(default = "yes")]
    pub end_other_sessions: bool,
    /// Also revoke every API token of the account, with the keys they hold (default
    /// `false`: scripts keep working through a password change).
    #[serde(default)]
    pub revoke_tokens: bool,
    /// Then also rotate the user key, as `POST /v1/keys/rotate` does with the new
    /// password ("sign out everywhere and rotate keys"): the answer is then 200 with what
    /// the rotation did, instead of 204.
    #[serde(default)]
    pub rotate_keys: bool,
}

/// Recovery request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// The username.
    pub username: String,
    /// The recovery code (case, spaces and hyphens do not matter).
    pub recovery_code: String,
    /// The new password.
    pub new_password: String,
    /// Also revoke every API token of the account (default `false`). Recovery always ends
    /// every session.
    #[serde(default)]
    pub revoke_tokens: bool,
    /// Then also rotate the user key ("sign out everywhere and rotate keys"): the answer's
    /// `keys` says what the rotation did. Its vaults rotate at their next use, since no
    /// session survives a recovery.
    #[serde(default)]
    pub rotate_keys: bool,
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
redacted_debug!(SignupRequest, LoginRequest, PasswordRequest, RecoverRequest);

/// `POST /v1/signup`'s body, for the document: one of two shapes, told apart by
/// `end_to_end`.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)]
pub enum SignupBody {
    /// Server mode: the server makes every key.
    Password(SignupRequest),
    /// End-to-end: the client made every slot and key.
    EndToEnd(E2eSignupRequest),
}

/// `POST /v1/login`'s body, for the document: told apart by `auth`.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)]
pub enum LoginBody {
    /// A password.
    Password(LoginRequest),
    /// An end-to-end client's `auth`.
    EndToEnd(E2eLoginRequest),
}

/// `POST /v1/signup`'s answer, for the document: an end-to-end sign-up gets no recovery
/// code (its client made it).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum SignupAnswer {
    /// Server mode.
    Password(SignupResponse),
    /// End-to-end.
    EndToEnd(e2e_account::E2eSignupResponse),
}

/// `POST /v1/login`'s answer, for the document: an end-to-end login also gets its
/// wrapped user key.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum LoginAnswer {
    /// A password login.
    Password(LoginResponse),
    /// An `auth` login.
    EndToEnd(e2e_account::E2eLoginResponse),
}

/// `POST /v1/password`'s body, for the document: told apart by `current_auth`.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)]
pub enum PasswordBody {
    /// Server mode.
    Password(PasswordRequest),
    /// End-to-end.
    EndToEnd(E2ePasswordRequest),
}

const fn yes() -> bool {
    true
}

/// Sign-up answer: the recovery code is shown this once.
#[derive(Serialize, ToSchema)]
pub struct SignupResponse {
    /// The new user's id.
    pub user_id: String,
    /// The default vault's id.
    pub vault_id: String,
    /// Save it now: with the password it is the only way back into the data.
    pub recovery_code: String,
}

/// Login answer (the session itself is in the `__Host-keyslot` cookie).
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `X-CSRF-Token` on every POST, PUT, PATCH and DELETE made with the cookie.
    pub csrf_token: String,
    /// When the session ends at the latest (RFC 3339).
    pub expires_at: String,
    /// Present only when a user-key rotation that was due ran at this login and the old
    /// recovery code could not receive the new key (an account whose code predates
    /// recovery public keys): the old code no longer works. Shown this once: save it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}

/// The caller.
#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    /// User id.
    pub user_id: String,
    /// Username as signed up.
    pub username: String,
    /// Whether the account is end-to-end (its client does every key operation).
    pub end_to_end: bool,
}

/// Recovery answer: the new recovery code (the old one no longer works).
#[derive(Serialize, ToSchema)]
pub struct RecoverResponse {
    /// The new recovery code, shown this once.
    pub recovery_code: String,
    /// With `rotate_keys`: what the user-key rotation did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<RotateKeysResponse>,
}

/// Create an account with its default vault. With `end_to_end: true` the body is
/// [`E2eSignupRequest`] (the client made every slot and key) and the answer is
/// `201 {user_id, vault_id}`: the client made the recovery code.
#[utoipa::path(post, path = "/v1/signup", tag = "account",
    request_body(content = SignupBody, description = "A server-mode sign-up, or an end-to-end one (`end_to_end: true`)"),
    responses((status = 201, body = SignupAnswer), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: ModeJson<SignupRequest, E2eSignupRequest>,
) -> ApiResult<Response> {
    let req = match body {
        ModeJson::Server(req) => req,
        ModeJson::EndToEnd(req) => return e2e_account::signup(&state, &ip, req).await,
    };
    let done = state
        .keyslot
        .signup(&req.username, Password::new(req.password), &ip)
        .await?;
    let body = SignupResponse {
        user_id: done.user_id.to_string(),
        vault_id: done.vault_id.to_string(),
        recovery_code: done.recovery_code.to_string(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Log in with a password; sets the session cookie and returns the CSRF token. An
/// end-to-end account sends `auth` instead ([`E2eLoginRequest`]) and gets its wrapped user
/// key back (`E2eLoginResponse`); `auth` for a server-mode account, or a password for an
/// end-to-end one, is the same 401 as a wrong password.
#[utoipa::path(post, path = "/v1/login", tag = "account",
    request_body(content = LoginBody, description = "A password, or an end-to-end client's `auth`"),
    responses((status = 200, body = LoginAnswer), (status = 401, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: ModeJson<LoginRequest, E2eLoginRequest>,
) -> ApiResult<Response> {
    let req = match body {
        ModeJson::Server(req) => req,
        ModeJson::EndToEnd(req) => return e2e_account::login(&state, &ip, &headers, req).await,
    };
    let done = state
        .keyslot
        .login(
            &req.username,
            Password::new(req.password),
            &ip,
            device_cookie(&headers).as_deref().map(String::as_str),
        )
        .await?;
    end_presented_session(&state, &headers, &ip).await;
    let max_age = state.keyslot.config().session_absolute_secs;
    let body = LoginResponse {
        csrf_token: done.csrf_token.to_string(),
        expires_at: rfc3339(done.expires_at),
        recovery_code: done.recovery_code.as_ref().map(|c| c.to_string()),
    };
    let mut response = Json(body).into_response();
    if let Some(cookie) = set_cookie(&done.session, max_age) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    let device_age = state.keyslot.config().device_cookie_secs;
    if let Some(cookie) = set_device_cookie(&done.device_cookie, device_age) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// End this session.
#[utoipa::path(post, path = "/v1/logout", tag = "account",
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn logout(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Response> {
    state.keyslot.logout(&principal).await?;
    Ok((
        [(header::SET_COOKIE, clear_cookie())],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

/// Who the caller is.
#[utoipa::path(get, path = "/v1/me", tag = "account",
    responses((status = 200, body = MeResponse), (status = 401, body = Problem)))]
pub async fn me(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Json<MeResponse>> {
    let (user_id, username, end_to_end) = state.keyslot.me_with_mode(&principal).await?;
    Ok(Json(MeResponse {
        user_id: user_id.to_string(),
        username,
        end_to_end,
    }))
}

/// Change the password (re-wraps one key; data untouched; tokens kept unless
/// `revoke_tokens`). With `rotate_keys`, then rotate the user key too (200 with what it
/// did). An end-to-end session sends [`E2ePasswordRequest`] (`current_auth` and the new
/// slot its client made) and gets 204.
#[utoipa::path(post, path = "/v1/password", tag = "account",
    request_body(content = PasswordBody, description = "A server-mode change, or an end-to-end one (`current_auth`)"),
    responses((status = 204), (status = 200, body = RotateKeysResponse), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: ModeJson<PasswordRequest, E2ePasswordRequest>,
) -> ApiResult<Response> {
    let req = match body {
        ModeJson::Server(req) => req,
        ModeJson::EndToEnd(req) => {
            return e2e_account::change_password(&state, &principal, req).await;
        }
    };
    let new_password = req
        .rotate_keys
        .then(|| Password::new(req.new_password.clone()));
    state
        .keyslot
        .change_password(
            &principal,
            Password::new(req.current_password),
            Password::new(req.new_password),
            req.end_other_sessions,
            req.revoke_tokens,
        )
        .await?;
    let Some(new_password) = new_password else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let cookie = crate::auth::SessionCookie::from_headers(&headers);
    let done = state
        .keyslot
        .rotate_user_key(
            &principal,
            cookie
                .as_ref()
                .map_or("", crate::auth::SessionCookie::expose),
            new_password,
            false,
            &ip,
        )
        .await?;
    Ok(Json(RotateKeysResponse::from(done)).into_response())
}

/// Set a new password with the recovery code; issues a new code and ends every session
/// (and every token with `revoke_tokens`).
#[utoipa::path(post, path = "/v1/recover", tag = "account", request_body = RecoverRequest,
    responses((status = 200, body = RecoverResponse), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn recover(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RecoverRequest>,
) -> ApiResult<Json<RecoverResponse>> {
    let password = Password::new(req.new_password);
    let (code, keys) = if req.rotate_keys {
        let (code, done) = state
            .keyslot
            .recover_and_rotate(
                &req.username,
                &req.recovery_code,
                password,
                req.revoke_tokens,
                &ip,
            )
            .await?;
        (code, Some(done.into()))
    } else {
        let code = state
            .keyslot
            .recover(
                &req.username,
                &req.recovery_code,
                password,
                req.revoke_tokens,
                &ip,
            )
            .await?;
        (code, None)
    };
    Ok(Json(RecoverResponse {
        recovery_code: code,
        keys,
    }))
}
