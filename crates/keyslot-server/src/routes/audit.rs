//! The account's audit log: filtered by time, action and actor, paged by an opaque cursor.
// utoipa's `params(...)` expansion spells paths in full.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::{Query, State};
use keyslot_core::store::AuditFilter;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
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
    /// What, e.g. `login`, `item.read`, `item.list`, `item.update`, `token.mint`.
    pub action: String,
    /// Who: `session:<id>`, `token:<id>`, `password`, `recovery-code`, `operator`.
    pub actor: String,
    /// `ok` or `failed`.
    pub outcome: String,
    /// The client address the request came from (null only for operator commands run on
    /// the server's machine).
    pub ip: Option<String>,
    /// Ids concerned, as `key=value` pairs separated by spaces.
    pub detail: String,
}

/// Events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    /// Events.
    pub events: Vec<AuditEventView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Filters and paging. Filters combine (all must hold).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many events, newest first (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only events at or after this time (RFC 3339, e.g. `2026-12-01T07:00:00Z`).
    pub since: Option<String>,
    /// Only events before this time (RFC 3339).
    pub until: Option<String>,
    /// Only this action, e.g. `item.read`.
    pub action: Option<String>,
    /// Only this actor, e.g. `token:<id>`.
    pub actor: Option<String>,
    /// The `next_cursor` of the previous page (opaque).
    pub cursor: Option<String>,
}

/// Cursors are this prefix and a position, in hex: opaque to clients (the document says
/// so), and versioned so the encoding can change without misreading old ones.
const CURSOR_PREFIX: &str = "c1.";

fn cursor(position: i64) -> String {
    format!("{CURSOR_PREFIX}{position:x}")
}

fn parse_cursor(text: &str) -> Option<i64> {
    let hex = text.strip_prefix(CURSOR_PREFIX)?;
    i64::from_str_radix(hex, 16).ok().filter(|p| *p > 0)
}

fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| {
            ApiError::bad_request(field, "must be an RFC 3339 time, e.g. 2026-12-01T07:00:00Z")
        })
}

/// The caller's audit events (sessions only), newest first.
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
    let filter = AuditFilter {
        since: query
            .since
            .as_deref()
            .map(|t| parse_time("since", t))
            .transpose()?,
        until: query
            .until
            .as_deref()
            .map(|t| parse_time("until", t))
            .transpose()?,
        action: query.action,
        actor: query.actor,
        before: query
            .cursor
            .as_deref()
            .map(|c| {
                parse_cursor(c).ok_or_else(|| {
                    ApiError::bad_request("cursor", "is not a cursor this server gave")
                })
            })
            .transpose()?,
        limit,
    };
    let page = state.keyslot.audit_page(&p, filter).await?;
    Ok(Json(AuditList {
        events: page
            .events
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
        next_cursor: page.next.map(cursor),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_text_is_refused() {
        for position in [1, 255, i64::MAX] {
            assert_eq!(parse_cursor(&cursor(position)), Some(position));
        }
        for foreign in ["", "42", "c1.", "c1.zz", "c1.-1", "c2.10", "c1.0"] {
            assert_eq!(parse_cursor(foreign), None, "{foreign}");
        }
    }
}
