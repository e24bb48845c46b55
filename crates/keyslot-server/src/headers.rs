//! Security headers on every response (DESIGN.md §6.1): `nosniff`; `no-store` (responses
//! carry secrets, items or session state; nothing here should sit in a cache); a strict
//! CSP with `frame-ancestors 'none'`; `Referrer-Policy: no-referrer`.
//!
//! `script-src` allows `'wasm-unsafe-eval'` and nothing else beyond `'self'`: it lets a
//! page compile WebAssembly (the end-to-end pages' crypto module, [`crate::wasm_assets`])
//! and does not allow `eval`, `new Function` or inline script.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Add the security headers.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
