//! The account's audit log.
// utoipa's `params(...)` expansion spells paths in full.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rfc3339;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// One event. Holds ids and what happened, never a name, value or secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    /// When (RFC 3339).
    pub at: String,
    /// What, e.g. `login`, `item.update`, `token.mint`.
    pub action: String,
    /// Who: `session:<id>`, `token:<id>`, `password`, `recovery-code`.
    pub actor: String,
    /// `ok` or `failed`.
    pub outcome: String,
    /// Client address, when known.
    pub ip: Option<String>,
    /// Ids concerned.
    pub detail: String,
}

/// Events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    /// Events.
    pub events: Vec<AuditEventView>,
}

/// Paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many events, newest first (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The caller's audit events (sessions only).
#[utoipa::path(get, path = "/v1/audit", tag = "account", params(AuditQuery),
    responses((status = 200, body = AuditList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AuditList>> {
    let bad_limit = || ApiError::bad_request("limit", "must be a number from 1 to 1000");
    let Query(query) = query.map_err(|_| bad_limit())?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(bad_limit());
    }
    let events = state.keyslot.audit_log(&p, limit).await?;
    Ok(Json(AuditList {
        events: events
            .into_iter()
            .map(|e| AuditEventView {
                at: rfc3339(e.at),
                action: e.action,
                actor: e.actor,
                outcome: e.outcome,
                ip: e.ip,
                detail: e.detail,
            })
            .collect(),
    }))
}
