//! A snapshot of the OpenAPI document: every change to the contract shows in review
//! (`cargo insta review`, or `INSTA_UPDATE=always` to accept).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use utoipa::OpenApi as _;

#[test]
fn openapi_document_matches_the_snapshot() {
    let doc = keyslot_server::openapi::ApiDoc::openapi();
    let json: serde_json::Value = serde_json::from_str(&doc.to_json().unwrap()).unwrap();
    insta::assert_json_snapshot!("openapi", json);
}

#[test]
fn every_route_of_the_contract_is_documented() {
    let doc = keyslot_server::openapi::ApiDoc::openapi();
    let json: serde_json::Value = serde_json::from_str(&doc.to_json().unwrap()).unwrap();
    let paths = json["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/v1/signup", &["post"][..]),
        ("/v1/login", &["post"]),
        ("/v1/logout", &["post"]),
        ("/v1/me", &["get"]),
        ("/v1/password", &["post"]),
        ("/v1/recover", &["post"]),
        ("/v1/vaults", &["get", "post"]),
        ("/v1/vaults/{vault}/items", &["get", "post"]),
        ("/v1/vaults/{vault}/items/{item}", &["get", "put", "delete"]),
        ("/v1/tokens", &["get", "post"]),
        ("/v1/tokens/{id}", &["delete"]),
        ("/v1/audit", &["get"]),
    ] {
        for m in methods {
            assert!(paths[path][*m].is_object(), "{m} {path} missing");
        }
    }
}
