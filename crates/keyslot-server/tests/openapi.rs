//! The contract: a snapshot of the OpenAPI document (every change to it shows in review:
//! `cargo insta review`, or `INSTA_UPDATE=always` to accept), and proof that every
//! operation it documents is served. Both read the one declaration of the routes
//! (`routes::api` in the server), so there is no list here to keep in step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn document() -> Value {
    let doc = keyslot_server::openapi::document();
    serde_json::from_str(&doc.to_json().unwrap()).unwrap()
}

#[test]
fn openapi_document_matches_the_snapshot() {
    insta::assert_json_snapshot!("openapi", document());
}

#[tokio::test]
async fn every_documented_operation_is_served_and_the_served_document_is_this_one() {
    let s = TestServer::start().await;
    let served = s.get("/v1/openapi.json", &Auth::None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.headers["content-type"], "application/json");
    let doc = document();
    assert_eq!(served.body, doc);

    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (template, item) in paths {
        // Any well-formed id: what matters is that the router sends it to a handler.
        let path = template
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "00000000000000000000000000000000"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for (method, _) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (method == Method::POST || method == Method::PUT).then(|| json!({}));
            let r = s.call(method.clone(), &path, &Auth::None, body).await;
            // Without a credential each one answers 401, or 422 for the empty body of
            // sign-up, login and recovery; never the router's 404 or 405.
            assert!(
                r.status == StatusCode::UNAUTHORIZED
                    || r.status == StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {template}: {} {}",
                r.status,
                r.text
            );
            operations += 1;
        }
    }
    assert!(operations > 0);
}
