//! The browser crypto module (crates/keyslot-wasm) as the server serves it: the glue and
//! the `.wasm` with the content types a browser needs, and a CSP that lets a page compile
//! WebAssembly and nothing more. (That Chromium really loads it under this CSP, and that
//! it computes the FORMAT.md vectors, is tests/browser/vectors.mjs, run by keyslot-cli's
//! tests/browser_vectors.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TestServer;
use reqwest::StatusCode;

#[tokio::test]
async fn the_wasm_module_is_served_with_its_content_types_under_the_strict_csp() {
    let s = TestServer::start().await;
    let http = common::http().build().unwrap();

    let glue = http
        .get(s.url("/assets/wasm/keyslot_wasm.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(glue.status(), StatusCode::OK);
    assert_eq!(
        glue.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(glue.headers()["x-content-type-options"], "nosniff");
    let glue = glue.text().await.unwrap();
    assert!(
        glue.contains("keyslot_wasm_bg.wasm") && glue.contains("export class VaultKey"),
        "the glue loads the module beside it and exports the bindings"
    );

    let wasm = http
        .get(s.url("/assets/wasm/keyslot_wasm_bg.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.status(), StatusCode::OK);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    let csp = wasm.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = wasm.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"\0asm", "a WebAssembly binary");

    // The page's CSP: WebAssembly may compile, but no eval and no inline script.
    let page = http.get(s.url("/login")).send().await.unwrap();
    let page_csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert_eq!(page_csp, csp, "one policy for every response");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .unwrap();
    assert_eq!(script_src, "script-src 'self' 'wasm-unsafe-eval'", "{csp}");
    assert!(
        !csp.contains("'unsafe-eval'") && !csp.contains("'unsafe-inline'"),
        "{csp}"
    );
}
