//! Cross-site request forgery: both defences, and every check of them, in one place.
//!
//! 1. In front of every route, tower-http's Origin / `Sec-Fetch-Site` check ([`layer`])
//!    refuses a browser's cross-site unsafe request before any handler runs.
//! 2. Behind it, a synchronizer token: a request that rides on the session cookie and
//!    changes something must also present the session's CSRF token, derived from the
//!    session itself (`keyslot_core::Keyslot::csrf_token`, see DESIGN-NOTES), so there is
//!    no per-session state to store. The JSON API takes it in `X-CSRF-Token`
//!    ([`check_header`]); the web forms in a hidden `csrf` field ([`check_form`]). Both
//!    compare through [`matches`], in constant time.
//!
//! Bearer tokens need neither: a browser never attaches them on its own.

use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse as _, Response};
use keyslot_core::Keyslot;
use tower_http::csrf::{CsrfLayer, ProtectionError};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::web::{FormData, Page};

/// The header of the JSON API that carries the CSRF token.
pub const HEADER: HeaderName = HeaderName::from_static("x-csrf-token");

/// The hidden form field of the web pages that carries the CSRF token.
pub const FORM_FIELD: &str = "csrf";

/// The Origin / `Sec-Fetch-Site` check for every route, refusing with a problem+json 403.
pub fn layer() -> CsrfLayer<fn(ProtectionError) -> Response> {
    CsrfLayer::new().with_rejection_response(cross_origin_refused)
}

fn cross_origin_refused(_: ProtectionError) -> Response {
    ApiError::forbidden("cross-origin request refused").into_response()
}

/// The CSRF token of a session, for the pages that embed it in their forms. `None` when
/// the cookie is not a session credential at all.
pub fn token(session: &str) -> Option<Zeroizing<String>> {
    Keyslot::csrf_token(session)
}

/// The JSON API's check for a request made with the session cookie: safe methods pass,
/// unsafe ones need `X-CSRF-Token` to match (403 otherwise).
pub fn check_header(method: &Method, headers: &HeaderMap, session: &str) -> Result<(), ApiError> {
    if method.is_safe() {
        return Ok(());
    }
    let presented = headers
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if matches(session, presented) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "missing or wrong X-CSRF-Token for this session",
        ))
    }
}

/// The web forms' check: every form posted with the session cookie carries the session's
/// token in its `csrf` field (403 page otherwise).
pub fn check_form(session: &str, form: &FormData) -> Result<(), Page> {
    if matches(session, form.get(FORM_FIELD)) {
        Ok(())
    } else {
        Err(Page::error(
            StatusCode::FORBIDDEN,
            "This form has expired or came from another site. Go back, reload the page and try again.",
        ))
    }
}

/// Whether `presented` is the CSRF token of `session`, compared in constant time.
fn matches(session: &str, presented: &str) -> bool {
    Keyslot::csrf_matches(session, presented)
}
