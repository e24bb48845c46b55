//! A password change or a recovery may also revoke every API token (`revoke_tokens`), for
//! the owner who fears the old password leaked; by default tokens keep working.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, NEW_PASSWORD, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_and_recovery_revoke_tokens_only_when_asked() {
    let s = TestServer::start().await;
    let a = s.signup("tess").await;
    let session = s.session("tess", PASSWORD).await;
    let items = format!("/v1/vaults/{}/items", a.vault);
    let (_, kept) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let kept = Auth::Token(kept);

    // Default: the token survives the change.
    let r = s
        .post(
            "/v1/password",
            &session,
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(s.get(&items, &kept).await.status, StatusCode::OK);

    // Asked: every token stops at once.
    let r = s
        .post(
            "/v1/password",
            &session,
            json!({"current_password": NEW_PASSWORD, "new_password": PASSWORD, "revoke_tokens": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(s.get(&items, &kept).await.status, StatusCode::UNAUTHORIZED);

    // Recovery with revoke_tokens: every old token answers 401.
    let session = s.session("tess", PASSWORD).await;
    let (_, one) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (_, two) = s.mint(&session, json!("*"), json!(["read", "write"])).await;
    let r = s
        .post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "tess", "recovery_code": a.recovery_code,
                   "new_password": NEW_PASSWORD, "revoke_tokens": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for token in [one, two] {
        assert_eq!(
            s.get(&items, &Auth::Token(token)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}
