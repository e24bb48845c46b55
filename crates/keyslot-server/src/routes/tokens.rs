//! API tokens.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyslot_core::FieldError;
use keyslot_core::client_views::ClientMint;
use keyslot_core::views::{Scope, TokenRequest};
use keyslot_crypto::{Id, Password};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::e2e_data::{Fields, b64};
use super::rfc3339;
use crate::auth::{Auth, ClientIp};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{JsonBytes, PathIds, decode};
use crate::state::AppState;

/// `"*"` for every vault (including later ones), or a list of vault ids.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum VaultScope {
    /// `"*"`.
    All(String),
    /// Vault ids.
    Listed(Vec<String>),
}

/// Mint request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    /// The account's current password. A token outlives the session that mints it, so
    /// minting asks for the password again: missing, 422; wrong, 403, counted like a
    /// failed login.
    // `default` so that a missing one is refused by the use case, after the caller is
    // known to be a session (a token gets 403 whatever the body), naming the field.
    #[serde(default)]
    #[schema(required = true)]
    pub current_password: String,
    /// A name to recognise it by (1–256 characters).
    pub name: String,
    /// Which vaults it reaches.
    #[schema(value_type = VaultScope)]
    pub vaults: serde_json::Value,
    /// `["read"]`, `["read", "write"]`, or `["deposit"]`: a write-only deposit token that
    /// holds no vault key, creates items in the vaults listed (never `"*"`) and reads nothing.
    pub permissions: Vec<String>,
    /// Lifetime; 30 days when absent, at most the server's ceiling (366 days by default).
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
}

impl std::fmt::Debug for MintRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintRequest")
            .field("current_password", &"***")
            .field("name", &self.name)
            .field("vaults", &self.vaults)
            .field("permissions", &self.permissions)
            .field("expires_in_seconds", &self.expires_in_seconds)
            .finish()
    }
}

/// A new token, shown once.
#[derive(Serialize, ToSchema)]
pub struct MintResponse {
    /// Token id.
    pub id: String,
    /// The token: store it now, it is not shown again.
    pub token: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

impl std::fmt::Debug for MintResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MintResponse(***)")
    }
}

/// A token as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `"*"` or the vault ids.
    #[schema(value_type = VaultScope)]
    pub vaults: serde_json::Value,
    /// `["read"]`, `["read", "write"]` or `["deposit"]`.
    pub permissions: Vec<String>,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// Last use (RFC 3339), `null` until first use.
    pub last_used_at: Option<String>,
}

/// The caller's tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    /// Tokens.
    pub tokens: Vec<TokenView>,
}

fn parse_request(req: MintRequest) -> Result<(Password, TokenRequest), ApiError> {
    let mut problems = Vec::new();
    let vaults = parse_scope(&req.vaults, &mut problems);
    let (can_write, deposit) = parse_permissions(&req.permissions, &mut problems);
    match vaults {
        Some(vaults) if problems.is_empty() => Ok((
            Password::new(req.current_password),
            TokenRequest {
                name: req.name,
                vaults,
                can_write,
                deposit,
                expires_in_seconds: req.expires_in_seconds,
            },
        )),
        _ => Err(ApiError::invalid(problems)),
    }
}

/// `"*"` or a list of vault ids.
fn parse_scope(vaults: &serde_json::Value, problems: &mut Vec<FieldError>) -> Option<Scope> {
    match vaults {
        serde_json::Value::String(s) if s == "*" => Some(Scope::All),
        serde_json::Value::Array(list) => {
            let ids: Option<Vec<Id>> = list
                .iter()
                .map(|v| v.as_str().and_then(|s| s.parse().ok()))
                .collect();
            if ids.is_none() {
                problems.push(FieldError::new(
                    "vaults",
                    "must be \"*\" or a list of vault ids",
                ));
            }
            ids.map(Scope::Vaults)
        }
        _ => {
            problems.push(FieldError::new(
                "vaults",
                "must be \"*\" or a list of vault ids",
            ));
            None
        }
    }
}

/// `(can_write, deposit)` of a permissions list.
fn parse_permissions(permissions: &[String], problems: &mut Vec<FieldError>) -> (bool, bool) {
    let mut perms: Vec<&str> = permissions.iter().map(String::as_str).collect();
    perms.sort_unstable();
    perms.dedup();
    match perms.as_slice() {
        ["read"] => (false, false),
        ["read", "write"] => (true, false),
        ["deposit"] => (false, true),
        _ => {
            problems.push(FieldError::new(
                "permissions",
                "must be [\"read\"], [\"read\", \"write\"] or [\"deposit\"] (deposit combines with nothing)",
            ));
            (false, false)
        }
    }
}

fn scope_json(scope: &Scope) -> serde_json::Value {
    match scope {
        Scope::All => serde_json::Value::String("*".into()),
        Scope::Vaults(ids) => ids
            .iter()
            .map(|i| serde_json::Value::String(i.to_string()))
            .collect(),
    }
}

fn permissions(can_write: bool, deposit: bool) -> Vec<String> {
    if deposit {
        vec!["deposit".into()]
    } else if can_write {
        vec!["read".into(), "write".into()]
    } else {
        vec!["read".into()]
    }
}

/// A token an end-to-end client made (END-TO-END §7, §9; byte fields base64url).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientMintRequest {
    /// The token's id (the client generated the `kse_` text around it).
    pub id: String,
    /// Its name, under `name_key`.
    pub sealed_name: String,
    /// The name's content key, under the user key.
    pub name_key: String,
    /// SHA-256 of the token's `auth`.
    pub verifier: String,
    /// Its X25519 public key.
    pub x25519_public: String,
    /// The user's identity signature over it.
    pub public_key_signature: String,
    /// Which vaults it reaches.
    #[schema(value_type = VaultScope)]
    pub vaults: serde_json::Value,
    /// `["read"]`, `["read", "write"]` or `["deposit"]`.
    pub permissions: Vec<String>,
    /// Lifetime; 30 days when absent.
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
    /// One slot per vault it reaches (none for a deposit token).
    #[serde(default)]
    pub slots: Vec<ClientSlotBody>,
    /// The password proof, base64url: counted like `current_password`.
    #[serde(default)]
    #[schema(required = true)]
    pub auth: String,
}

impl std::fmt::Debug for ClientMintRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientMintRequest")
            .field("id", &self.id)
            .field("vaults", &self.vaults)
            .field("permissions", &self.permissions)
            .finish_non_exhaustive()
    }
}

/// One of a new token's slots: a vault key its client wrapped under the token's wrap key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientSlotBody {
    /// The vault.
    pub vault: String,
    /// The vault's current key version.
    pub key_version: u32,
    /// The key, wrapped, base64url.
    pub wrapped_vault_key: String,
}

/// A token an end-to-end client minted: its text never reached the server.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientMinted {
    /// Token id.
    pub id: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

fn client_mint(req: ClientMintRequest) -> Result<ClientMint, ApiError> {
    let mut problems = Vec::new();
    let vaults = parse_scope(&req.vaults, &mut problems);
    let (can_write, deposit) = parse_permissions(&req.permissions, &mut problems);
    let mut f = Fields::default();
    let mint = ClientMint {
        id: f.id("id", &req.id),
        sealed_name: f.bytes("sealed_name", &req.sealed_name),
        name_key: f.bytes("name_key", &req.name_key),
        verifier: f.bytes("verifier", &req.verifier),
        x25519_public: f.bytes("x25519_public", &req.x25519_public),
        public_key_signature: f.bytes("public_key_signature", &req.public_key_signature),
        vaults: vaults.clone().unwrap_or(Scope::All),
        can_write,
        deposit,
        expires_in_seconds: req.expires_in_seconds,
        slots: req
            .slots
            .iter()
            .enumerate()
            .map(|(i, slot)| {
                (
                    f.id(&format!("slots[{i}].vault"), &slot.vault),
                    slot.key_version,
                    f.bytes(
                        &format!("slots[{i}].wrapped_vault_key"),
                        &slot.wrapped_vault_key,
                    ),
                )
            })
            .collect(),
        auth: Zeroizing::new(req.auth),
    };
    f.done()?;
    if vaults.is_none() || !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    Ok(mint)
}

/// Mint a token (sessions only, with the current password); it is in this answer only.
/// An end-to-end session sends [`ClientMintRequest`] (the token its client made, with
/// `auth` proving the password) and gets [`ClientMinted`]: no token text, the client
/// holds it.
#[utoipa::path(post, path = "/v1/tokens", tag = "tokens",
    request_body(description = "Server mode: `MintRequest`; an end-to-end session: `ClientMintRequest`", content = super::e2e_data::either::MintBody),
    responses((status = 201, description = "Server mode: `MintResponse`; an end-to-end session: `ClientMinted`", body = super::e2e_data::either::MintAnswer),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn mint(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientIp(ip): ClientIp,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Response> {
    if p.is_client_side() {
        let mint = client_mint(decode::<ClientMintRequest>(&body)?)?;
        let (id, expires_at) = state.keyslot.mint_client_token(&p, mint).await?;
        let body = ClientMinted {
            id: id.to_string(),
            expires_at: rfc3339(expires_at),
        };
        return Ok((StatusCode::CREATED, Json(body)).into_response());
    }
    let (password, request) = parse_request(decode(&body)?)?;
    let minted = state.keyslot.mint_token(&p, password, request, &ip).await?;
    let body = MintResponse {
        id: minted.id.to_string(),
        token: minted.token.to_string(),
        expires_at: rfc3339(minted.expires_at),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// A token as an end-to-end session lists it: its name sealed, for the client to open.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientTokenView {
    /// Token id.
    pub id: String,
    /// The name under `name_key`, base64url.
    pub sealed_name: String,
    /// The name's content key under the user key, base64url.
    pub name_key: String,
    /// `"*"` or the vault ids.
    #[schema(value_type = VaultScope)]
    pub vaults: serde_json::Value,
    /// `["read"]`, `["read", "write"]` or `["deposit"]`.
    pub permissions: Vec<String>,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// Last use (RFC 3339), `null` until first use.
    pub last_used_at: Option<String>,
}

/// An end-to-end session's tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientTokenList {
    /// Tokens.
    pub tokens: Vec<ClientTokenView>,
}

/// List tokens (sessions only). An end-to-end session gets [`ClientTokenList`] (names
/// sealed).
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens",
    responses((status = 200, description = "Server mode: `TokenList`; an end-to-end session: `ClientTokenList`", body = super::e2e_data::either::TokenListAnswer),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Response> {
    if p.is_client_side() {
        let tokens = state.keyslot.list_client_tokens(&p).await?;
        return Ok(Json(ClientTokenList {
            tokens: tokens
                .into_iter()
                .map(|t| ClientTokenView {
                    id: t.id.to_string(),
                    sealed_name: b64(&t.sealed_name),
                    name_key: b64(&t.name_key),
                    vaults: scope_json(&t.vaults),
                    permissions: permissions(t.can_write, t.deposit),
                    expires_at: rfc3339(t.expires_at),
                    last_used_at: t.last_used_at.map(rfc3339),
                })
                .collect(),
        })
        .into_response());
    }
    let tokens = state.keyslot.list_tokens(&p).await?;
    Ok(Json(TokenList {
        tokens: tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id.to_string(),
                name: t.name,
                vaults: scope_json(&t.vaults),
                permissions: permissions(t.can_write, t.deposit),
                expires_at: rfc3339(t.expires_at),
                last_used_at: t.last_used_at.map(rfc3339),
            })
            .collect(),
    })
    .into_response())
}

/// Whether revoking a token rotates the vaults it reached.
#[derive(Debug, Deserialize)]
pub struct RevokeQuery {
    /// `false`: do not rotate now; the vaults stay due and rotate before their next
    /// write. Default `true`.
    pub rotate: Option<bool>,
}

/// Revoke a token (sessions only), and rotate the vaults it reached.
///
/// Effective at the next request on every instance. The token's slots and pending grants
/// are deleted, and every vault it reached is rotated before the answer (unless
/// `rotate=false`), so its key version has moved when the 204 arrives: nothing written
/// afterwards opens with the token's secret.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path, description = "Token id"),
        ("rotate" = Option<bool>, Query, description = "`false`: do not rotate now; the vaults stay due and rotate before their next write (default `true`)")),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(p): Auth,
    PathIds(ids): PathIds,
    query: Result<Query<RevokeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<StatusCode> {
    let Query(query) =
        query.map_err(|_| ApiError::bad_request("rotate", "must be true or false"))?;
    let [id]: [Id; 1] = ids.try_into().map_err(|_| ApiError::not_found())?;
    state
        .keyslot
        .revoke_token(&p, &id, query.rotate.unwrap_or(true))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
