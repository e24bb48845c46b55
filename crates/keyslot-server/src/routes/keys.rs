//! The caller's own keys: `POST /v1/keys/rotate`, "sign out everywhere and rotate keys"
//! (DESIGN §3.1, `keyslot_core`'s `user_keys`).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use keyslot_core::KeysRotated;
use keyslot_crypto::Password;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Auth, ClientIp, SessionCookie};
use crate::error::{ApiResult, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;

/// User-key rotation request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKeysRequest {
    /// The account's current password (required: the new password slot is made from it).
    #[serde(default)]
    pub current_password: String,
    /// Also revoke every API token of the account, with the keys they hold (default
    /// `false`: tokens keep working, with the rotated vault keys).
    #[serde(default)]
    pub revoke_tokens: bool,
}

/// By hand: the request carries a password.
impl std::fmt::Debug for RotateKeysRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RotateKeysRequest(***)")
    }
}

/// What a user-key rotation did.
#[derive(Serialize, ToSchema)]
pub struct RotateKeysResponse {
    /// Vaults whose key was rotated by this request (every vault the account holds a
    /// key to, whatever its role).
    pub vaults_rotated: usize,
    /// Vaults left due: they rotate before their next write (or at their next read).
    pub vaults_due: usize,
    /// Other sessions ended (this one stays signed in, re-keyed).
    pub sessions_ended: u64,
    /// Tokens revoked (`revoke_tokens`).
    pub tokens_revoked: u64,
    /// Only when the account's recovery code predates user-key rotation and so could not
    /// receive the new key: a new recovery code, shown this once (the old one no longer
    /// works). Absent otherwise: the code the user holds keeps working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}

impl From<KeysRotated> for RotateKeysResponse {
    fn from(done: KeysRotated) -> Self {
        Self {
            vaults_rotated: done.vaults_rotated,
            vaults_due: done.vaults_due,
            sessions_ended: done.sessions_ended,
            tokens_revoked: done.tokens_revoked,
            recovery_code: done.recovery_code.map(|c| c.to_string()),
        }
    }
}

/// Rotate the account's user key: sign out everywhere else and rotate every key.
///
/// Sessions only, with the current password (a wrong one is 403 and counted like a
/// failed login). A new user key and key pair; every vault the account holds a key to is
/// rotated; every other session ends and this one is re-keyed; the recovery code keeps
/// working (or, for a code from before this existed, a new one is returned once).
#[utoipa::path(post, path = "/v1/keys/rotate", tag = "account", request_body = RotateKeysRequest,
    responses((status = 200, body = RotateKeysResponse), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem)))]
pub async fn rotate(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RotateKeysRequest>,
) -> ApiResult<Json<RotateKeysResponse>> {
    // A token has no cookie: the service answers it 403 before it looks at this.
    let cookie = SessionCookie::from_headers(&headers);
    let done = state
        .keyslot
        .rotate_user_key(
            &p,
            cookie.as_ref().map_or("", SessionCookie::expose),
            Password::new(req.current_password),
            req.revoke_tokens,
            &ip,
        )
        .await?;
    Ok(Json(done.into()))
}
