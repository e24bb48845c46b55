//! Sharing a vault (DESIGN §3.1, "Sharing"): its members and their roles. Adding, changing
//! a role and removing need an owner's session (a member may also remove themselves);
//! removing rotates the vault before the 204.
//!
//! For an end-to-end vault (docs/END-TO-END.md §8) the owner's client seals the vault key
//! to the member and signs the member list; the server stores the grant and the
//! signature. Removal makes the vault due and the server keeps the mark: it has no key to
//! rotate with. Sharing across modes is 422 naming `username`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use keyslot_core::FieldError;
use keyslot_core::e2e_lifecycle::{ClientShare, SealedFor};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, PathIds};
use crate::routes::lifecycle::SealedForBody;
use crate::state::AppState;

/// A member to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// The user to share the vault with.
    pub username: String,
    /// `read`, `write` or `owner`.
    pub role: String,
    /// End-to-end vaults: the vault key version sealed (its current one).
    #[serde(default)]
    pub key_version: Option<u32>,
    /// End-to-end vaults: the vault key sealed (HPKE, FORMAT §9) by the owner's client to
    /// the member's verified X25519 key, base64url.
    #[serde(default)]
    pub grant: Option<String>,
    /// End-to-end vaults: the owner's identity signature over the new member list,
    /// base64url.
    #[serde(default)]
    pub members_signature: Option<String>,
    /// End-to-end vaults: the same key sealed to each of the member's live `"*"` tokens.
    #[serde(default)]
    pub token_grants: Vec<SealedForBody>,
}

/// A member's new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// `read`, `write` or `owner`.
    pub role: String,
    /// End-to-end vaults: the owner's signature over the changed member list, base64url
    /// (without it the stored one is cleared: it signed the old list).
    #[serde(default)]
    pub members_signature: Option<String>,
}

/// 422 naming each end-to-end field a server-mode request carries: the server makes its
/// own grants there, and a grant from elsewhere would not be one it sealed.
fn no_client_fields(fields: &[(&str, bool)]) -> ApiResult<()> {
    let present: Vec<FieldError> = fields
        .iter()
        .filter(|(_, present)| *present)
        .map(|(field, _)| {
            FieldError::new(
                *field,
                "is sent only by an end-to-end account's client; this vault is server-mode",
            )
        })
        .collect();
    if present.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(present))
    }
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
    /// End-to-end vaults: the owner's identity signature over this list, base64url (absent
    /// after a change that came without one: treat the list as unsigned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members_signature: Option<String>,
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
    let (members, members_signature) = if p.is_client_side() {
        state.keyslot.list_members_client(&p, &vault).await?
    } else {
        (state.keyslot.list_members(&p, &vault).await?, None)
    };
    Ok(Json(MemberList {
        members_signature,
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
/// already a member 409. Sharing between an end-to-end and a server-mode account is 422
/// naming `username`, whichever side is end-to-end.
///
/// An end-to-end owner's client sends `key_version`, `grant` (the current vault key sealed
/// to the member's X25519 key it verified), `members_signature` and `token_grants` (one
/// per live `"*"` token of the member); the member's client converts the grant with
/// `PUT /v1/vaults/{vault}/slot`. A server-mode request sending any of them is 422.
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
    let (user_id, role) = if p.is_client_side() {
        let share = ClientShare {
            username: req.username,
            role: req.role,
            key_version: req.key_version,
            grant: req.grant,
            members_signature: req.members_signature,
            token_grants: req.token_grants.into_iter().map(SealedFor::from).collect(),
        };
        state.keyslot.add_member_client(&p, &vault, &share).await?
    } else {
        no_client_fields(&[
            ("key_version", req.key_version.is_some()),
            ("grant", req.grant.is_some()),
            ("members_signature", req.members_signature.is_some()),
            ("token_grants", !req.token_grants.is_empty()),
        ])?;
        state
            .keyslot
            .add_member(&p, &vault, &req.username, &req.role)
            .await?
    };
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
    let role = if p.is_client_side() {
        state
            .keyslot
            .set_member_role_client(
                &p,
                &vault,
                &member,
                &req.role,
                req.members_signature.as_deref(),
            )
            .await?
    } else {
        no_client_fields(&[("members_signature", req.members_signature.is_some())])?;
        state
            .keyslot
            .set_member_role(&p, &vault, &member, &req.role)
            .await?
    };
    Ok(Json(MemberRole {
        user_id: member.to_string(),
        role: role.as_str().to_owned(),
    }))
}

/// Remove a member (an owner's session, or the member's own: leaving).
///
/// Deletes their keys for the vault and their tokens' (the vault leaves every one of
/// their tokens), and rotates the vault in this request: its key version has moved when
/// the 204 arrives. The vault's last owner cannot leave: 409. An end-to-end vault is
/// only made due (the server has no key): writes answer 409 `rotation-due` until a
/// client rotates it.
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
    if p.is_client_side() {
        state
            .keyslot
            .remove_member_client(&p, &vault, &member)
            .await?;
    } else {
        state.keyslot.remove_member(&p, &vault, &member).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
