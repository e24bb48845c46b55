//! Health, readiness and the OpenAPI document.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{MethodRouter, get};
use bytes::Bytes;

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

/// `GET` of the OpenAPI document, generated from the code. It cannot change while the
/// process runs, so it is serialized once, here, and every request shares the bytes.
pub fn openapi(doc: &utoipa::openapi::OpenApi) -> MethodRouter<AppState> {
    let body = serde_json::to_vec(doc)
        .map(Bytes::from)
        .map_err(|e| e.to_string());
    get(move || {
        let body = body.clone();
        async move {
            match body {
                Ok(bytes) => json(bytes),
                Err(why) => ApiError::from(keyslot_core::Error::Internal(format!(
                    "serializing the OpenAPI document: {why}"
                )))
                .into_response(),
            }
        }
    })
}

fn json(bytes: Bytes) -> Response {
    let mut response = bytes.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
