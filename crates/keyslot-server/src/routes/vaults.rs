//! Vaults and items.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::e2e_data::either;
use super::e2e_data::{
    ClientItemListView, ClientItemView, ClientVaultView, ClientWriteBody, CreateClientVault,
};
use super::{e2e_data, rfc3339};
use crate::auth::{Auth, Caller, ItemRead};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, JsonBytes, PathIds, decode};
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

/// List vaults. An end-to-end caller (end-to-end session, `ksa_` token) gets
/// [`ClientVaultList`]: sealed names, its slot, key versions and signed public keys.
#[utoipa::path(get, path = "/v1/vaults", tag = "vaults", responses(
    (status = 200, description = "Server mode: `VaultList`; an end-to-end caller: `ClientVaultList`", body = either::VaultListAnswer),
    (status = 401, body = Problem)))]
pub async fn list_vaults(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Response> {
    if p.is_client_side() {
        return Ok(e2e_data::list_vaults(&state, &p).await?.into_response());
    }
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
    })
    .into_response())
}

/// Create a vault (sessions only). An end-to-end session sends [`CreateClientVault`] (the
/// vault its client made) and gets [`ClientVaultView`].
#[utoipa::path(post, path = "/v1/vaults", tag = "vaults",
    request_body(description = "Server mode: `CreateVault`; an end-to-end session: `CreateClientVault`", content = either::CreateVaultBody),
    responses((status = 201, description = "Server mode: `VaultView`; an end-to-end session: `ClientVaultView`", body = either::CreatedVault),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_vault(
    State(state): State<AppState>,
    Auth(p): Auth,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Response> {
    if p.is_client_side() {
        // A token is refused whatever its body says, as in server mode.
        if matches!(
            p,
            keyslot_core::Principal::Client {
                actor: keyslot_core::ClientActor::Token { .. },
                ..
            }
        ) {
            return Err(ApiError::forbidden(
                "this route needs a session, not an API token",
            ));
        }
        let new = e2e_data::new_vault(decode::<CreateClientVault>(&body)?)?;
        let v = state.keyslot.client_create_vault(&p, new).await?;
        return Ok((StatusCode::CREATED, Json(ClientVaultView::from(v))).into_response());
    }
    let req: CreateVault = decode(&body)?;
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

/// List a vault's items, names decrypted. An end-to-end caller gets
/// [`ClientItemListView`] (envelopes, its slot and the chain), filtered by
/// `?name_index=` (base64url blind indexes, comma-separated) when given.
#[utoipa::path(get, path = "/v1/vaults/{vault}/items", tag = "items", params(("vault" = String, Path, description = "Vault id"),
        ("name_index" = Option<String>, Query, description = "End-to-end callers: only items whose blind name index is one of these (base64url, comma-separated, at most 16)")),
    responses((status = 200, description = "Server mode: `ItemList`; an end-to-end caller: `ClientItemListView`", body = either::ItemListAnswer),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_items(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let [vault] = ids(path)?;
    if p.is_client_side() {
        let indexes = e2e_data::name_indexes(query.as_deref())?;
        let list = state.keyslot.client_items(&p, &vault, &indexes).await?;
        return Ok(Json(ClientItemListView::from(list)).into_response());
    }
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
    })
    .into_response())
}

/// Create an item.
#[utoipa::path(post, path = "/v1/vaults/{vault}/items", tag = "items", params(("vault" = String, Path, description = "Vault id")),
    request_body(description = "Server mode: `WriteItem`; an end-to-end caller: `ClientWriteBody` (version 1, under the current key version)", content = either::WriteItemBody),
    responses((status = 201, body = ItemVersion), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "End-to-end: `rotation-due`, `stale-key-version`, or `name-taken` (another item has this `name_index` at this key version)", body = Problem), (status = 413, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn create_item(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Response> {
    let [vault] = ids(path)?;
    let (id, version) = if p.is_client_side() {
        let write = e2e_data::client_write(decode::<ClientWriteBody>(&body)?)?;
        state.keyslot.client_create_item(&p, &vault, write).await?
    } else {
        let req: WriteItem = decode(&body)?;
        state
            .keyslot
            .create_item(&p, &vault, &req.name, &req.value)
            .await?
    };
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
    responses((status = 200, description = "Server mode: `ItemView`; an end-to-end caller: `ClientItemView`", body = either::ItemAnswer),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_item(
    State(state): State<AppState>,
    path: PathIds,
    caller: Caller,
) -> ApiResult<Response> {
    let [vault, item] = ids(path)?;
    // The headline path: for a token, verifying it and reading the item are one query
    // (see docs/PERFORMANCE.md). The path ids answer first, as they always have here.
    let i = match caller.read_item(&state.keyslot, &vault, &item).await? {
        ItemRead::Plain(i) => i,
        ItemRead::Client(i) => {
            let version = i.item.record.version;
            let mut response = Json(ClientItemView::from(*i)).into_response();
            if let Some(tag) = etag(version) {
                response.headers_mut().insert(header::ETAG, tag);
            }
            return Ok(response);
        }
    };
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
    request_body(description = "Server mode: `WriteItem`; an end-to-end caller: `ClientWriteBody` (version = the version read + 1)", content = either::WriteItemBody),
    responses((status = 200, body = ItemVersion), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "End-to-end: `rotation-due`, `stale-key-version`, or `name-taken` (another item has this `name_index` at this key version)", body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_item(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
    IfMatch(if_match): IfMatch,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Response> {
    let [vault, item] = ids(path)?;
    let version = if p.is_client_side() {
        let write = e2e_data::client_write(decode::<ClientWriteBody>(&body)?)?;
        state
            .keyslot
            .client_update_item(&p, &vault, &item, write, if_match)
            .await?
    } else {
        let req: WriteItem = decode(&body)?;
        state
            .keyslot
            .update_item(&p, &vault, &item, &req.name, &req.value, if_match)
            .await?
    };
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
    if p.is_client_side() {
        state.keyslot.client_delete_item(&p, &vault, &item).await?;
    } else {
        state.keyslot.delete_item(&p, &vault, &item).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
