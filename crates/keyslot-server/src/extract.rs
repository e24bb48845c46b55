//! Request extractors with problem+json rejections: JSON bodies that name the offending
//! field, ids that answer 404 when malformed (an id that names nothing), `If-Match`.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use keyslot_crypto::Id;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. 415 without `Content-Type: application/json`, 413 over the body limit,
/// 400 for malformed JSON, 422 naming the field for the wrong shape.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        decode(&bytes).map(Self)
    }
}

/// A JSON body not decoded yet, for routes whose body's shape depends on the caller
/// (server mode or end-to-end): the same 415 and 413 as [`ApiJson`]; decode it with
/// [`decode`].
#[derive(Debug)]
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        Bytes::from_request(req, state)
            .await
            .map(Self)
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                    "Request body too large",
                    "the body is over the size limit",
                )
            })
    }
}

/// Decode a JSON body: 400 for malformed JSON, 422 naming the field for the wrong shape.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(value) => Ok(value),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::bad_request("body", "is not valid JSON"));
            }
            let message = inner.to_string();
            // serde names a missing or unknown field in backquotes; otherwise use the path.
            let field = match message.split('`').nth(1) {
                Some(name)
                    if message.starts_with("missing field")
                        || message.starts_with("unknown field") =>
                {
                    name.to_owned()
                }
                _ if path == "." => "body".to_owned(),
                _ => path,
            };
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or("is invalid")
                .to_owned();
            Err(ApiError::invalid(vec![keyslot_core::FieldError::new(
                field, message,
            )]))
        }
    }
}

/// Path ids. A malformed id is answered exactly like an id that names nothing: 404.
#[derive(Debug)]
pub struct PathIds(pub Vec<Id>);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw): axum::extract::Path<Vec<(String, String)>> =
            axum::extract::Path::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found())?;
        raw.iter()
            .map(|(_, v)| v.parse::<Id>().map_err(|_| ApiError::not_found()))
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// `If-Match`: the ETag `"<version>"` (also weak `W/"<version>"`) or the bare number.
#[derive(Debug)]
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(Self(None));
        };
        let text = value
            .to_str()
            .map_err(|_| ApiError::bad_request("If-Match", "must be an item version"))?
            .trim();
        let text = text.strip_prefix("W/").unwrap_or(text);
        let text = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        text.parse::<u64>()
            .map(|v| Self(Some(v)))
            .map_err(|_| ApiError::bad_request("If-Match", "must be an item version, e.g. \"3\""))
    }
}
