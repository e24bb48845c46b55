//! A vault's key lifecycle: its state, and rotating its key (DESIGN §3.1). Revocation's
//! `?rotate=false` lives with the token routes.
//!
//! An end-to-end vault (docs/END-TO-END.md §8) is rotated by a client: `POST …/rotate`
//! with a body carrying what the client made, committed only if its grants name exactly
//! the vault's remaining holders, which `GET …/holders` lists with what vouches for each
//! key.

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyslot_core::e2e_lifecycle::{
    ClientRotate, ClientRotated, HolderMismatch, HolderView, SealedFor,
};
use keyslot_core::keystore::Holder;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Problem, ProblemField};
use crate::extract::{ApiJson, PathIds};
use crate::state::AppState;

/// One vault as its caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct VaultDetail {
    /// Vault id.
    pub id: String,
    /// Name (stored encrypted).
    pub name: String,
    /// The caller's role: `owner`, `write` or `read`.
    pub role: String,
    /// The current key version (from 1): new items are wrapped under it.
    pub key_version: u32,
    /// A rotation is due (a holder was revoked, or a token's expiry passed); it runs
    /// before the next write.
    pub rotation_due: bool,
    /// Item keys are still wrapped under older versions (opened through the key chain).
    pub rewrap_pending: bool,
}

/// The key version after a rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rotated {
    /// The new current key version.
    pub key_version: u32,
}

fn vault_id(PathIds(ids): PathIds) -> ApiResult<keyslot_crypto::Id> {
    let [id]: [keyslot_crypto::Id; 1] = ids.try_into().map_err(|_| ApiError::not_found())?;
    Ok(id)
}

/// One vault: name, the caller's role, key version and lifecycle state.
///
/// 404 for a vault the caller cannot open, whether it exists or not.
///
/// An end-to-end caller gets [`super::e2e_data::ClientVaultView`]: the sealed name, its
/// slot, and the current version's signed public key.
#[utoipa::path(get, path = "/v1/vaults/{vault}", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")),
    responses((status = 200, description = "Server mode: `VaultDetail`; an end-to-end caller: `ClientVaultView`", body = super::e2e_data::either::VaultAnswer),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_vault(
    State(state): State<AppState>,
    Auth(p): Auth,
    ids: PathIds,
) -> ApiResult<Response> {
    let vault = vault_id(ids)?;
    if p.is_client_side() {
        let v = state.keyslot.client_vault(&p, &vault).await?;
        return Ok(Json(super::e2e_data::ClientVaultView::from(v)).into_response());
    }
    let v = state.keyslot.vault_info(&p, &vault).await?;
    Ok(Json(VaultDetail {
        id: v.id.to_string(),
        name: v.name,
        role: v.role.to_owned(),
        key_version: v.key_version,
        rotation_due: v.rotation_due,
        rewrap_pending: v.rewrap_pending,
    })
    .into_response())
}

/// A key sealed by a client to one holder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedForBody {
    /// The holder: a user id or a token id.
    pub holder: String,
    /// The key sealed (HPKE, FORMAT §9) to the holder's X25519 key, base64url.
    pub sealed: String,
}

impl From<SealedForBody> for SealedFor {
    fn from(b: SealedForBody) -> Self {
        Self {
            holder: b.holder,
            sealed: b.sealed,
        }
    }
}

/// An end-to-end client's rotation (byte fields base64url).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRotation {
    /// The new version: the vault's current version plus one.
    pub key_version: u32,
    /// The current vault key wrapped under the new one (FORMAT §10).
    pub chain_link: String,
    /// The vault's name sealed under the new key.
    pub sealed_name: String,
    /// The new version's X25519 public key.
    pub public_key: String,
    /// The owner's identity signature over `(vault, key_version, public_key)`.
    pub public_key_signature: String,
    /// The new key wrapped for the caller (member slot under its user key, or its token's).
    pub own_slot: String,
    /// The new key sealed to every other remaining holder, each exactly once.
    pub grants: Vec<SealedForBody>,
    /// The owner's signature over the member list at the new version (owners only).
    #[serde(default)]
    pub members_signature: Option<String>,
}

/// A JSON body that may be absent: a server-mode rotation is a POST without one, or with
/// an empty object (`{}`), as server-mode clients have always sent.
pub struct MaybeJson<T>(pub Option<T>);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for MaybeJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !req.headers().contains_key(header::CONTENT_TYPE) {
            // No body at all (a `Content-Length` of zero, or none).
            return Ok(Self(None));
        }
        let (parts, body) = req.into_parts();
        let bytes =
            axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
                .await
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too-large",
                        "Request body too large",
                        "the body is over the size limit",
                    )
                })?;
        let empty = bytes.iter().all(u8::is_ascii_whitespace)
            || serde_json::from_slice::<serde_json::Value>(&bytes)
                .is_ok_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty));
        if empty {
            return Ok(Self(None));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let ApiJson(body) = ApiJson::from_request(req, state).await?;
        Ok(Self(Some(body)))
    }
}

/// Rotate the vault's key now.
///
/// Server mode (no body; its owner's session): holders that keep access get the new key;
/// items under older versions stay readable through the key chain. Tokens get 403.
///
/// End-to-end (a body; the vault owner's own session only: anyone else gets 409
/// `rotation-due` while due, 403 otherwise): the client sends the new key's chain link,
/// sealed name, public key and the owner's identity signature over it (422 naming
/// `public_key_signature` when it does not verify), the owner's own slot and a grant for
/// every other remaining holder (`GET /v1/vaults/{vault}/holders`). If the grants do not name exactly those
/// holders nothing is committed: 409 `holders-changed`, its `errors` naming each missing
/// holder and each extra id under `grants`. A `key_version` other than the current one
/// plus one is 409 too.
#[utoipa::path(post, path = "/v1/vaults/{vault}/rotate", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")),
    request_body(content = Option<ClientRotation>, description = "End-to-end vaults only"),
    responses((status = 200, body = Rotated), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate_vault(
    State(state): State<AppState>,
    Auth(p): Auth,
    ids: PathIds,
    MaybeJson(body): MaybeJson<ClientRotation>,
) -> ApiResult<Response> {
    let vault = vault_id(ids)?;
    // A server-mode caller's body was never read: it rotates with its own keys.
    let Some(body) = body.filter(|_| p.is_client_side()) else {
        let key_version = state.keyslot.rotate_vault(&p, &vault).await?;
        return Ok(Json(Rotated { key_version }).into_response());
    };
    let request = ClientRotate {
        key_version: body.key_version,
        chain_link: body.chain_link,
        sealed_name: body.sealed_name,
        public_key: body.public_key,
        public_key_signature: body.public_key_signature,
        own_slot: body.own_slot,
        grants: body.grants.into_iter().map(SealedFor::from).collect(),
        members_signature: body.members_signature,
    };
    match state
        .keyslot
        .rotate_vault_client(&p, &vault, &request)
        .await?
    {
        ClientRotated::Done(key_version) => Ok(Json(Rotated { key_version }).into_response()),
        ClientRotated::Holders(mismatch) => Ok(holders_changed(&mismatch)),
    }
}

/// 409 naming, under `grants`, each remaining holder with no grant and each id given one
/// that holds nothing (ids are no secret; the caller holds a key of the vault).
pub(crate) fn holders_changed(mismatch: &HolderMismatch) -> Response {
    let mut errors: Vec<ProblemField> = mismatch
        .missing
        .iter()
        .map(|h| ProblemField {
            field: "grants".into(),
            message: match h {
                Holder::User(id) => format!("missing: member {id}"),
                Holder::Token(id) => format!("missing: token {id}"),
            },
        })
        .collect();
    errors.extend(mismatch.extra.iter().map(|id| ProblemField {
        field: "grants".into(),
        message: format!("extra: {id} holds no key of this vault"),
    }));
    let body = Problem {
        kind: "urn:keyslot:problem:holders-changed".into(),
        title: "Holders changed".into(),
        status: StatusCode::CONFLICT.as_u16(),
        detail: "the grants do not name exactly the vault's remaining holders: nothing was \
                 committed; fetch GET /v1/vaults/{vault}/holders and seal again"
            .into(),
        errors,
    };
    let mut response = (
        StatusCode::CONFLICT,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// One holder of a vault's key, with what vouches for its public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderEntry {
    /// `user` (a member) or `token`.
    pub kind: String,
    /// The user id or token id: what a rotation's grant names.
    pub id: String,
    /// The user it belongs to (a member's own id; a token's user).
    pub user_id: String,
    /// A member's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Its X25519 public key, base64url.
    pub public_key: String,
    /// The identity signature over it (a member's own; a token's user's at mint), base64url.
    pub signature: Option<String>,
    /// The signing user's Ed25519 identity public key, base64url (check it against your pin).
    pub identity_public: Option<String>,
}

/// What a client seals a vault's key to.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderList {
    /// The vault's owner.
    pub owner_id: String,
    /// The current key version.
    pub key_version: u32,
    /// A rotation is due: writes are refused until a client rotates.
    pub rotation_due: bool,
    /// The owner's identity signature over the member list, base64url (none after a
    /// change that came without one).
    pub members_signature: Option<String>,
    /// Members, then live tokens holding a slot: every holder a rotation must grant to.
    pub holders: Vec<HolderEntry>,
}

/// The vault's remaining holders and their public keys (any holder of a key of it).
///
/// What an end-to-end client seals to: verify each key's signature against the signer's
/// pinned identity before sealing (END-TO-END §5); the server's word alone is not enough.
#[utoipa::path(get, path = "/v1/vaults/{vault}/holders", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")),
    responses((status = 200, body = HolderList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn holders(
    State(state): State<AppState>,
    Auth(p): Auth,
    ids: PathIds,
) -> ApiResult<Json<HolderList>> {
    let vault = vault_id(ids)?;
    let h = state.keyslot.vault_holders(&p, &vault).await?;
    Ok(Json(HolderList {
        owner_id: h.owner.to_string(),
        key_version: h.key_version,
        rotation_due: h.rotation_due,
        members_signature: h.members_signature,
        holders: h.holders.into_iter().map(holder_entry).collect(),
    }))
}

/// A holder as the wire lists it (also a deposit's readers).
pub(crate) fn holder_entry(v: HolderView) -> HolderEntry {
    let (kind, id) = match v.holder {
        Holder::User(id) => ("user", id),
        Holder::Token(id) => ("token", id),
    };
    HolderEntry {
        kind: kind.into(),
        id: id.to_string(),
        user_id: v.user_id.to_string(),
        role: v.role.map(|r| r.as_str().to_owned()),
        public_key: v.public_key,
        signature: v.signature,
        identity_public: v.identity_public,
    }
}
