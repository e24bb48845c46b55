//! A vault's key lifecycle: its state, and rotating its key (DESIGN §3.1). Revocation's
//! `?rotate=false` lives with the token routes.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::PathIds;
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
#[utoipa::path(get, path = "/v1/vaults/{vault}", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")),
    responses((status = 200, body = VaultDetail), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_vault(
    State(state): State<AppState>,
    Auth(p): Auth,
    ids: PathIds,
) -> ApiResult<Json<VaultDetail>> {
    let vault = vault_id(ids)?;
    let v = state.keyslot.vault_info(&p, &vault).await?;
    Ok(Json(VaultDetail {
        id: v.id.to_string(),
        name: v.name,
        role: v.role.to_owned(),
        key_version: v.key_version,
        rotation_due: v.rotation_due,
        rewrap_pending: v.rewrap_pending,
    }))
}

/// Rotate the vault's key now (its owner's session).
///
/// Holders that keep access get the new key; items under older versions stay readable
/// through the key chain. Tokens get 403.
#[utoipa::path(post, path = "/v1/vaults/{vault}/rotate", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")),
    responses((status = 200, body = Rotated), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn rotate_vault(
    State(state): State<AppState>,
    Auth(p): Auth,
    ids: PathIds,
) -> ApiResult<Json<Rotated>> {
    let vault = vault_id(ids)?;
    let key_version = state.keyslot.rotate_vault(&p, &vault).await?;
    Ok(Json(Rotated { key_version }))
}
