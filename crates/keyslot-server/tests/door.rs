//! The one door (`auth::Caller`): which answer wins when more than one thing is wrong.
//! The credential is parsed once and verified lazily, so these pin the order the answers
//! had before the door was one: the credential before the path and the body everywhere
//! but the item read, where malformed ids answer first; a dead session before its CSRF.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

const NO_ID: &str = "00000000000000000000000000000000";

#[tokio::test]
async fn a_bad_credential_answers_before_the_path_and_the_body() {
    let s = TestServer::start().await;
    let a = s.signup("olga").await;
    let bad = Auth::Token("kst_not-a-token".into());
    let items = format!("/v1/vaults/{}/items", a.vault);

    s.get("/v1/vaults/not-an-id/items", &bad)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    s.delete("/v1/tokens/not-an-id", &bad)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let not_json = s
        .http
        .post(s.url(&items))
        .bearer_auth("kst_not-a-token")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::UNAUTHORIZED);
    s.post(&items, &bad, json!({"wrong": "shape"}))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // `Authorization` that is not `Bearer …` is a 401 even beside a live session.
    let session = s.session("olga", PASSWORD).await;
    let basic = s
        .http
        .get(s.url(&items))
        .header("authorization", "Basic b2xnYTpwdw==")
        .header(
            "cookie",
            format!("__Host-keyslot={}", session.session().cookie),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_item_read_checks_its_ids_first_then_the_credential_in_one_answer() {
    let s = TestServer::start().await;
    let a = s.signup("pia").await;
    let session = s.session("pia", PASSWORD).await;
    let item = s.create_item(&session, &a.vault, "k", json!("v")).await;
    let (_, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;

    // Malformed ids: 404, whoever asks (as before: the ids were read first here).
    for auth in [&Auth::None, &Auth::Token("kst_nope".into()), &session] {
        s.get(&format!("/v1/vaults/{}/items/not-an-id", a.vault), auth)
            .await
            .problem(StatusCode::NOT_FOUND);
    }
    let path = format!("/v1/vaults/{}/items/{item}", a.vault);
    s.get(&path, &Auth::None)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // One checksum character changed (to one it is not already: 'x' would be the same
    // token one time in 62).
    let last = if token.ends_with('x') { 'y' } else { 'x' };
    let wrong = Auth::Token(format!("{}{last}", &token[..token.len() - 1]));
    let refused = s.get(&path, &wrong).await;
    refused.problem(StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.text,
        s.get(&path, &Auth::Token("kst_nope".into())).await.text
    );
    // The same read through the token and through the session.
    let by_token = s.get(&path, &Auth::Token(token.clone())).await;
    let by_session = s.get(&path, &session).await;
    assert_eq!(by_token.status, StatusCode::OK);
    assert_eq!(by_token.body, by_session.body);
    assert_eq!(by_token.headers["etag"], "\"1\"");
    // Out of scope or absent: 404 for the token, exactly like an item that is not there.
    let other = s.create_vault(&session, "other").await;
    let elsewhere = s.create_item(&session, &other, "k", json!("v")).await;
    let out_of_scope = s
        .get(
            &format!("/v1/vaults/{other}/items/{elsewhere}"),
            &Auth::Token(token.clone()),
        )
        .await;
    out_of_scope.problem(StatusCode::NOT_FOUND);
    let absent = s
        .get(
            &format!("/v1/vaults/{}/items/{NO_ID}", a.vault),
            &Auth::Token(token),
        )
        .await;
    assert_eq!(out_of_scope.text, absent.text);
}

#[tokio::test]
async fn a_dead_session_is_a_401_before_its_csrf_is_a_403() {
    let s = TestServer::start().await;
    let a = s.signup("quin").await;
    let session = s.session("quin", PASSWORD).await;
    let items = format!("/v1/vaults/{}/items", a.vault);
    let live = session.session();
    s.post(
        &items,
        &Auth::SessionNoCsrf(live.clone()),
        json!({"name": "x", "value": 1}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    // A CSRF failure answers before the body is looked at.
    let not_json = s
        .http
        .post(s.url(&items))
        .header("cookie", format!("__Host-keyslot={}", live.cookie))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::FORBIDDEN);

    s.post("/v1/logout", &session, json!({})).await;
    s.post(
        &items,
        &Auth::SessionNoCsrf(live.clone()),
        json!({"name": "x", "value": 1}),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    s.post(&items, &session, json!({"name": "x", "value": 1}))
        .await
        .problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_on_a_session_route_is_a_403_after_its_body_is_read() {
    let s = TestServer::start().await;
    let a = s.signup("ravi").await;
    let session = s.session("ravi", PASSWORD).await;
    let (_, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let token = Auth::Token(token);
    // As before: the token checks out at the door, the body is read, and the use case
    // refuses the token.
    s.post("/v1/vaults", &token, json!({"wrong": "shape"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    s.post("/v1/vaults", &token, json!({"name": "v"}))
        .await
        .problem(StatusCode::FORBIDDEN);
}
