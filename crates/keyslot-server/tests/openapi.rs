//! The contract: a snapshot of the OpenAPI document (every change to it shows in review:
//! `cargo insta review`, or `INSTA_UPDATE=always` to accept), and proof that every
//! operation it documents is served. Both read the one declaration of the routes
//! (`routes::api` in the server), so there is no list here to keep in step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Any well-formed id: what matters is that the router sends the request to a handler.
const ANY_ID: &str = "00000000000000000000000000000000";

fn document() -> Value {
    let doc = keyslot_server::openapi::document();
    serde_json::from_str(&doc.to_json().unwrap()).unwrap()
}

#[test]
fn openapi_document_matches_the_snapshot() {
    let json = document();
    insta::assert_json_snapshot!("openapi", json);
}

#[tokio::test]
async fn every_documented_operation_is_served_and_the_served_document_is_this_one() {
    let s = TestServer::start().await;
    let served = s.get("/v1/openapi.json", &Auth::None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.headers["content-type"], "application/json");
    let doc = document();
    assert_eq!(served.body, doc);

    let routes = keyslot_server::openapi::routes();
    for route in &routes {
        let body = route.has_body.then(|| json!({}));
        let r = s
            .call(
                route.method.clone(),
                &route.path_with(ANY_ID),
                &Auth::None,
                body,
            )
            .await;
        // Without a credential each one answers 401, or 422 for the empty body of
        // sign-up, login and recovery; never the router's 404 or 405.
        assert!(
            r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{} {}: {} {}",
            route.method,
            route.path,
            r.status,
            r.text
        );
    }
    // The list is the document's, operation for operation.
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(routes.len(), documented);
}
