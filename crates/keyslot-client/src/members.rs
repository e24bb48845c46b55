//! Sharing a vault: its members and their roles (`/v1/vaults/{vault}/members`).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Client, Result, segment};

/// A vault member as listed.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Member {
    /// The member's user id.
    pub user_id: String,
    /// Their username.
    pub username: String,
    /// `read`, `write` or `owner`.
    pub role: String,
    /// Their grant is waiting for their next request to become their own slot.
    pub grant_pending: bool,
}

#[derive(Deserialize)]
struct Members {
    members: Vec<Member>,
}

/// A member and their role (the answer to adding one or changing a role).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MemberRole {
    /// The member's user id.
    pub user_id: String,
    /// `read`, `write` or `owner`.
    pub role: String,
}

impl Client {
    /// `GET /v1/vaults/{vault}/members`.
    pub async fn members(&self, vault: &str) -> Result<Vec<Member>> {
        self.get::<Members>(&format!("/v1/vaults/{}/members", segment(vault)))
            .await
            .map(|m| m.members)
    }

    /// `POST /v1/vaults/{vault}/members`: share the vault with `username` as `role`.
    pub async fn add_member(&self, vault: &str, username: &str, role: &str) -> Result<MemberRole> {
        self.send(
            Method::POST,
            &format!("/v1/vaults/{}/members", segment(vault)),
            &serde_json::json!({"username": username, "role": role}),
        )
        .await
    }

    /// `PATCH /v1/vaults/{vault}/members/{user_id}`.
    pub async fn set_member_role(
        &self,
        vault: &str,
        user_id: &str,
        role: &str,
    ) -> Result<MemberRole> {
        self.send(
            Method::PATCH,
            &format!("/v1/vaults/{}/members/{}", segment(vault), segment(user_id)),
            &serde_json::json!({"role": role}),
        )
        .await
    }

    /// `DELETE /v1/vaults/{vault}/members/{user_id}`: the vault is rotated before it answers.
    pub async fn remove_member(&self, vault: &str, user_id: &str) -> Result<()> {
        let path = format!("/v1/vaults/{}/members/{}", segment(vault), segment(user_id));
        self.call::<Value>(Method::DELETE, &path, None, None)
            .await
            .map(drop)
    }
}
