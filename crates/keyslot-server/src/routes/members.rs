//! Sharing a vault (DESIGN §3.1, "Sharing"): its members and their roles. Adding, changing
//! a role and removing need an owner's session (a member may also remove themselves);
//! removing rotates the vault before the 204.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, PathIds};
use crate::state::AppState;

/// A member to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// The user to share the vault with.
    pub username: String,
    /// `read`, `write` or `owner`.
    pub role: String,
}

/// A member's new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// `read`, `write` or `owner`.
    pub role: String,
}

/// A member and their role.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberRole {
    /// The member's user id.
    pub user_id: String,
    /// `read`, `write` or `owner`.
    pub role: String,
}

/// A member as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// The member's user id.
    pub user_id: String,
    /// Their username.
    pub username: String,
    /// `read`, `write` or `owner`.
    pub role: String,
    /// The vault key sealed to them is waiting for their next request to become their
    /// own slot.
    pub grant_pending: bool,
}

/// A vault's members.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    /// Owners first, then by username.
    pub members: Vec<MemberView>,
}

fn ids<const N: usize>(PathIds(ids): PathIds) -> ApiResult<[keyslot_crypto::Id; N]> {
    ids.try_into().map_err(|_| ApiError::not_found())
}

/// The vault's members (any member, or a token reaching the vault).
#[utoipa::path(get, path = "/v1/vaults/{vault}/members", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")),
    responses((status = 200, body = MemberList), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
) -> ApiResult<Json<MemberList>> {
    let [vault] = ids(path)?;
    let members = state.keyslot.list_members(&p, &vault).await?;
    Ok(Json(MemberList {
        members: members
            .into_iter()
            .map(|m| MemberView {
                user_id: m.user_id.to_string(),
                username: m.username,
                role: m.role.as_str().to_owned(),
                grant_pending: m.grant_pending,
            })
            .collect(),
    }))
}

/// Share the vault with a user (an owner's session).
///
/// The vault's current key is sealed to the user's public key; their next request makes
/// it their own slot. Whether a username exists is told only within a per-user hourly
/// budget (429 past it) and every look-up is audited. An unknown username is a 422 naming
/// `username`; a role outside `read`, `write`, `owner` a 422 naming `role`; a user who is
/// already a member 409.
#[utoipa::path(post, path = "/v1/vaults/{vault}/members", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")),
    request_body = AddMember,
    responses((status = 201, body = MemberRole), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn add(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
    ApiJson(req): ApiJson<AddMember>,
) -> ApiResult<Response> {
    let [vault] = ids(path)?;
    let (user_id, role) = state
        .keyslot
        .add_member(&p, &vault, &req.username, &req.role)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MemberRole {
            user_id: user_id.to_string(),
            role: role.as_str().to_owned(),
        }),
    )
        .into_response())
}

/// Change a member's role (an owner's session). Demoting the vault's last owner is 409.
#[utoipa::path(patch, path = "/v1/vaults/{vault}/members/{user_id}", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id"), ("user_id" = String, Path, description = "The member's user id")),
    request_body = SetRole,
    responses((status = 200, body = MemberRole), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_role(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
    ApiJson(req): ApiJson<SetRole>,
) -> ApiResult<Json<MemberRole>> {
    let [vault, member] = ids(path)?;
    let role = state
        .keyslot
        .set_member_role(&p, &vault, &member, &req.role)
        .await?;
    Ok(Json(MemberRole {
        user_id: member.to_string(),
        role: role.as_str().to_owned(),
    }))
}

/// Remove a member (an owner's session, or the member's own: leaving).
///
/// Deletes their keys for the vault and their tokens' (the vault leaves every one of
/// their tokens), and rotates the vault in this request: its key version has moved when
/// the 204 arrives. The vault's last owner cannot leave: 409.
#[utoipa::path(delete, path = "/v1/vaults/{vault}/members/{user_id}", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id"), ("user_id" = String, Path, description = "The member's user id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn remove(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
) -> ApiResult<StatusCode> {
    let [vault, member] = ids(path)?;
    state.keyslot.remove_member(&p, &vault, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}
