//! Health, readiness and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa::OpenApi as _;

use crate::error::ApiError;
use crate::state::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    if state.keyslot.ready().await {
        Ok("ready")
    } else {
        Err(keyslot_core::Error::Unavailable { retry_after: 1 }.into())
    }
}

/// The OpenAPI document, generated from the code.
pub async fn openapi() -> impl IntoResponse {
    (StatusCode::OK, Json(crate::openapi::ApiDoc::openapi()))
}
