//! Authentication: an extractor that yields a [`Principal`] holding the keys its
//! credential unlocked, for this request only.
//!
//! `Authorization: Bearer kst_…` authenticates an API token. Otherwise the
//! `__Host-keyslot` cookie authenticates a session, and every unsafe method (POST, PUT,
//! PATCH, DELETE) must also carry `X-CSRF-Token` matching the session's CSRF token
//! (403 otherwise) — on top of the Origin / Sec-Fetch-Site check of tower-http's
//! `CsrfLayer` in front of every route.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use keyslot_core::{Keyslot, Principal};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name. `__Host-` makes browsers insist on `Secure`, `Path=/` and
/// no `Domain`, so no subdomain can set or shadow it.
pub const COOKIE_NAME: &str = "__Host-keyslot";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: HeaderName = HeaderName::from_static("x-csrf-token");

/// An authenticated caller.
#[derive(Debug)]
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = bearer(&parts.headers)? {
            return Ok(Self(state.keyslot.authenticate_token(token).await?));
        }
        let session = session_cookie(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let principal = state.keyslot.authenticate_session(&session).await?;
        if !parts.method.is_safe() {
            let presented = parts
                .headers
                .get(&CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !Keyslot::csrf_matches(&session, presented) {
                return Err(ApiError::forbidden(
                    "missing or wrong X-CSRF-Token for this session",
                ));
            }
        }
        Ok(Self(principal))
    }
}

/// The bearer token of `Authorization`, if the header is present; a present header that
/// is not `Bearer …` is a 401.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| Some(t.trim()))
        .ok_or_else(ApiError::unauthorized)
}

/// The session credential from the `Cookie` header(s), if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<Zeroizing<String>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(COOKIE_NAME)
                .and_then(|rest| rest.strip_prefix('='))
        })
        .map(|v| Zeroizing::new(v.to_owned()))
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(session: &str, max_age_secs: i64) -> Option<HeaderValue> {
    let text = Zeroizing::new(format!(
        "{COOKIE_NAME}={session}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    ));
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-keyslot=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
    )
}

/// The client's address, for the per-IP login budget and the audit log.
#[derive(Debug)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(
                || "unknown".to_owned(),
                |ConnectInfo(addr)| addr.ip().to_string(),
            );
        Ok(Self(ip))
    }
}

/// End the session this request presented, if any, once a login has made a new one: a
/// login replaces the browser's session rather than adding one beside it (ASVS 7.2.4).
/// Nothing to end (no cookie, or one already expired) is not an error.
pub async fn end_presented_session(state: &AppState, headers: &HeaderMap) {
    if let Some(text) = session_cookie(headers)
        && let Ok(principal) = state.keyslot.authenticate_session(&text).await
    {
        let _ = state.keyslot.logout(&principal).await;
    }
}
