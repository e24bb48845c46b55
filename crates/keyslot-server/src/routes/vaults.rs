//! Vaults and items.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rfc3339;
use crate::auth::{Auth, Caller};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, IfMatch, PathIds};
use crate::state::AppState;

/// A vault.
#[derive(Debug, Serialize, ToSchema)]
pub struct VaultView {
    /// Vault id.
    pub id: String,
    /// Name (stored encrypted).
    pub name: String,
    /// The caller's role in it: `owner`, `write` or `read` (shared vaults are listed too).
    pub role: String,
}

/// The vaults the caller can open.
#[derive(Debug, Serialize, ToSchema)]
pub struct VaultList {
    /// Vaults.
    pub vaults: Vec<VaultView>,
}

/// New vault.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVault {
    /// 1–256 characters.
    pub name: String,
}

/// An item as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemSummary {
    /// Item id.
    pub id: String,
    /// Name (stored encrypted).
    pub name: String,
    /// Current version, from 1.
    pub version: u64,
    /// When this version was written (RFC 3339).
    pub updated_at: String,
    /// The id of the deposit token that made it, `null` for items written otherwise.
    pub deposited_by: Option<String>,
}

/// Items of a vault.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemList {
    /// Items.
    pub items: Vec<ItemSummary>,
}

/// An item with its value.
#[derive(Serialize, ToSchema)]
pub struct ItemView {
    /// Item id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Any JSON value.
    pub value: serde_json::Value,
    /// Current version.
    pub version: u64,
    /// When this version was written (RFC 3339).
    pub updated_at: String,
}

/// Item to write.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteItem {
    /// 1–256 characters.
    pub name: String,
    /// Any JSON value (1 MiB by default).
    pub value: serde_json::Value,
}

impl std::fmt::Debug for WriteItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteItem(***)")
    }
}

/// Where an item now stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemVersion {
    /// Item id.
    pub id: String,
    /// Its version after the write.
    pub version: u64,
}

fn ids<const N: usize>(PathIds(ids): PathIds) -> ApiResult<[keyslot_crypto::Id; N]> {
    ids.try_into().map_err(|_| ApiError::not_found())
}

fn etag(version: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("\"{version}\"")).ok()
}

/// List vaults.
#[utoipa::path(get, path = "/v1/vaults", tag = "vaults", responses((status = 200, body = VaultList), (status = 401, body = Problem)))]
pub async fn list_vaults(
    State(state): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<VaultList>> {
    let vaults = state.keyslot.list_vaults(&p).await?;
    Ok(Json(VaultList {
        vaults: vaults
            .into_iter()
            .map(|v| VaultView {
                id: v.id.to_string(),
                name: v.name,
                role: v.role.to_owned(),
            })
            .collect(),
    }))
}

/// Create a vault (sessions only).
#[utoipa::path(post, path = "/v1/vaults", tag = "vaults", request_body = CreateVault,
    responses((status = 201, body = VaultView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_vault(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(req): ApiJson<CreateVault>,
) -> ApiResult<Response> {
    let v = state.keyslot.create_vault(&p, &req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(VaultView {
            id: v.id.to_string(),
            name: v.name,
            role: v.role.to_owned(),
        }),
    )
        .into_response())
}

/// List a vault's items, names decrypted.
#[utoipa::path(get, path = "/v1/vaults/{vault}/items", tag = "items", params(("vault" = String, Path, description = "Vault id")),
    responses((status = 200, body = ItemList), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_items(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
) -> ApiResult<Json<ItemList>> {
    let [vault] = ids(path)?;
    let items = state.keyslot.list_items_with_depositors(&p, &vault).await?;
    Ok(Json(ItemList {
        items: items
            .into_iter()
            .map(|(i, by)| ItemSummary {
                id: i.id.to_string(),
                name: i.name,
                version: i.version,
                updated_at: rfc3339(i.updated_at),
                deposited_by: by.map(|t| t.to_string()),
            })
            .collect(),
    }))
}

/// Create an item.
#[utoipa::path(post, path = "/v1/vaults/{vault}/items", tag = "items", params(("vault" = String, Path, description = "Vault id")),
    request_body = WriteItem,
    responses((status = 201, body = ItemVersion), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn create_item(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
    ApiJson(req): ApiJson<WriteItem>,
) -> ApiResult<Response> {
    let [vault] = ids(path)?;
    let (id, version) = state
        .keyslot
        .create_item(&p, &vault, &req.name, &req.value)
        .await?;
    let mut response = (
        StatusCode::CREATED,
        Json(ItemVersion {
            id: id.to_string(),
            version,
        }),
    )
        .into_response();
    if let Some(tag) = etag(version) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// Read an item. `ETag: "<version>"`.
#[utoipa::path(get, path = "/v1/vaults/{vault}/items/{item}", tag = "items",
    params(("vault" = String, Path, description = "Vault id"), ("item" = String, Path, description = "Item id")),
    responses((status = 200, body = ItemView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_item(
    State(state): State<AppState>,
    path: PathIds,
    caller: Caller,
) -> ApiResult<Response> {
    let [vault, item] = ids(path)?;
    // The headline path: for a token, verifying it and reading the item are one query
    // (see docs/PERFORMANCE.md). The path ids answer first, as they always have here.
    let i = caller.read_item(&state.keyslot, &vault, &item).await?;
    let version = i.version;
    let mut response = Json(ItemView {
        id: i.id.to_string(),
        name: i.name,
        value: i.value,
        version,
        updated_at: rfc3339(i.updated_at),
    })
    .into_response();
    if let Some(tag) = etag(version) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// Replace an item with its next version. `If-Match: "<version>"` (or the bare number)
/// makes it conditional: 412 when stale. Without it the last writer wins.
#[utoipa::path(put, path = "/v1/vaults/{vault}/items/{item}", tag = "items",
    params(("vault" = String, Path, description = "Vault id"), ("item" = String, Path, description = "Item id"),
           ("If-Match" = Option<String>, Header, description = "The version this write replaces")),
    request_body = WriteItem,
    responses((status = 200, body = ItemVersion), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_item(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
    IfMatch(if_match): IfMatch,
    ApiJson(req): ApiJson<WriteItem>,
) -> ApiResult<Response> {
    let [vault, item] = ids(path)?;
    let version = state
        .keyslot
        .update_item(&p, &vault, &item, &req.name, &req.value, if_match)
        .await?;
    let mut response = Json(ItemVersion {
        id: item.to_string(),
        version,
    })
    .into_response();
    if let Some(tag) = etag(version) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// Delete an item.
#[utoipa::path(delete, path = "/v1/vaults/{vault}/items/{item}", tag = "items",
    params(("vault" = String, Path, description = "Vault id"), ("item" = String, Path, description = "Item id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_item(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
) -> ApiResult<StatusCode> {
    let [vault, item] = ids(path)?;
    state.keyslot.delete_item(&p, &vault, &item).await?;
    Ok(StatusCode::NO_CONTENT)
}
