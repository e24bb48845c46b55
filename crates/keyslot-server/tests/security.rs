//! What an attacker would try: other users' ids, tokens reaching past their scope, a
//! stolen data directory, rows swapped in the database, forged cross-site requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn another_user_gets_404_on_every_vault_and_item_route() {
    let s = TestServer::start().await;
    let a = s.signup("alice").await;
    let alice = s.session("alice", PASSWORD).await;
    let item = s
        .create_item(&alice, &a.vault, "secret", json!("alice's"))
        .await;
    s.signup("mallory").await;
    let mallory = s.session("mallory", PASSWORD).await;
    let (_, mallory_token) = s.mint(&mallory, json!("*"), json!(["read", "write"])).await;
    let missing_vault = "0123456789abcdef0123456789abcdef";
    let reference = s
        .get(&format!("/v1/vaults/{missing_vault}/items"), &mallory)
        .await;
    reference.problem(StatusCode::NOT_FOUND);

    for who in [mallory.clone(), Auth::Token(mallory_token)] {
        let items = format!("/v1/vaults/{}/items", a.vault);
        let one = format!("{items}/{item}");
        for r in [
            s.get(&items, &who).await,
            s.post(&items, &who, json!({"name": "x", "value": 1})).await,
            s.get(&one, &who).await,
            s.put(&one, &who, json!({"name": "x", "value": 1})).await,
            s.delete(&one, &who).await,
        ] {
            r.problem(StatusCode::NOT_FOUND);
            assert_eq!(
                r.text, reference.text,
                "identical to an id that names nothing"
            );
        }
        let vaults = s.get("/v1/vaults", &who).await;
        assert!(!vaults.text.contains(&a.vault));
    }
    // Alice's item is untouched.
    assert_eq!(
        s.get(&format!("/v1/vaults/{}/items/{item}", a.vault), &alice)
            .await
            .body["value"],
        "alice's"
    );
    // Malformed ids are 404 too, not 400: nothing to tell apart.
    s.get("/v1/vaults/not-an-id/items", &alice)
        .await
        .problem(StatusCode::NOT_FOUND);
    s.get(&format!("/v1/vaults/{}/items/..%2f..%2f", a.vault), &alice)
        .await
        .problem(StatusCode::NOT_FOUND);
}

/// The crypto half of scope: a token scoped to vault X holds a slot for X only. Even given
/// a slot row for Y (here: X's wrapped key copied to Y's row), it cannot open Y.
#[tokio::test]
async fn a_token_scoped_to_x_holds_no_key_for_y() {
    let s = TestServer::start().await;
    let a = s.signup("bob").await;
    let session = s.session("bob", PASSWORD).await;
    let y = s.create_vault(&session, "y").await;
    let y_item = s.create_item(&session, &y, "in y", json!("y secret")).await;
    let (token_id, token) = s
        .mint(&session, json!([a.vault]), json!(["read", "write"]))
        .await;
    let token = Auth::Token(token);
    s.get(&format!("/v1/vaults/{y}/items/{y_item}"), &token)
        .await
        .problem(StatusCode::NOT_FOUND);

    let db = s.db().await;
    let tid = hex(&token_id);
    let slots: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT vault_id FROM token_vault_slots WHERE token_id = ?")
            .bind(&tid)
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(slots, vec![hex(&a.vault)], "exactly one slot, for X");

    // Forge a slot row for Y from X's wrapped key: the AAD binds the slot to X, so it
    // does not open, and the answer never contains Y's plaintext.
    sqlx::query("INSERT INTO token_vault_slots (token_id, vault_id, key_version, wrapped_vault_key) SELECT token_id, ?, key_version, wrapped_vault_key FROM token_vault_slots WHERE token_id = ?")
        .bind(hex(&y))
        .bind(&tid)
        .execute(&db)
        .await
        .unwrap();
    let r = s
        .get(&format!("/v1/vaults/{y}/items/{y_item}"), &token)
        .await;
    assert!(
        r.status.is_client_error() || r.status.is_server_error(),
        "{}",
        r.text
    );
    assert!(!r.text.contains("y secret"));
    assert!(!r.text.contains("in y"));
}

#[tokio::test]
async fn the_data_dir_holds_no_plaintext_secret() {
    let s = TestServer::start().await;
    let a = s.signup("canary-user").await;
    let session = s.session("canary-user", PASSWORD).await;
    let canary_name = "CANARY-NAME-7f3a9c";
    let canary_value = "CANARY-VALUE-b41e22";
    let vault = s.create_vault(&session, "CANARY-VAULT-91d0").await;
    for v in [&a.vault, &vault] {
        s.create_item(&session, v, canary_name, json!({"secret": canary_value}))
            .await;
    }
    let r = s
        .post(
            "/v1/tokens",
            &session,
            json!({"name": "CANARY-TOKEN-NAME-5c", "vaults": [a.vault], "permissions": ["read"], "current_password": PASSWORD}),
        )
        .await;
    let token = r.str("token");
    let (_, all_token) = s.mint(&session, json!("*"), json!(["read"])).await;
    let csrf = session.session().csrf;
    let cookie = session.session().cookie;

    let needles: Vec<(&str, Vec<u8>)> = vec![
        ("item name", canary_name.into()),
        ("item value", canary_value.into()),
        ("vault name", b"CANARY-VAULT-91d0".to_vec()),
        ("token name", b"CANARY-TOKEN-NAME-5c".to_vec()),
        ("password", PASSWORD.into()),
        ("recovery code", a.recovery_code.clone().into()),
        (
            "recovery code (no dashes)",
            a.recovery_code.replace('-', "").into(),
        ),
        ("token", token.clone().into()),
        ("token secret part", token.as_bytes()[20..60].to_vec()),
        ("all-vaults token", all_token.into()),
        ("session", cookie.into()),
        ("csrf token", csrf.into()),
    ];
    let mut scanned = 0;
    for entry in std::fs::read_dir(&s.data_dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        for (what, needle) in &needles {
            assert!(
                !contains(&bytes, needle),
                "{what} found in {}",
                path.display()
            );
        }
    }
    assert!(
        scanned > 10_000,
        "scanned the database, WAL and seal key ({scanned} bytes)"
    );
}

/// Moving ciphertext between rows (items, users) fails cleanly: never the other row's
/// plaintext.
#[tokio::test]
async fn swapped_rows_fail_cleanly() {
    let s = TestServer::start().await;
    let a = s.signup("ivan").await;
    let ivan = s.session("ivan", PASSWORD).await;
    let first = s
        .create_item(&ivan, &a.vault, "first", json!("FIRST-PLAINTEXT"))
        .await;
    let second = s
        .create_item(&ivan, &a.vault, "second", json!("SECOND-PLAINTEXT"))
        .await;
    let b = s.signup("judy").await;
    let judy = s.session("judy", PASSWORD).await;
    let judys = s
        .create_item(&judy, &b.vault, "judy's", json!("JUDY-PLAINTEXT"))
        .await;
    let db = s.db().await;

    // Copy the second item's value (and then its whole ciphertext set) onto the first.
    sqlx::query("UPDATE items SET value = (SELECT value FROM items WHERE id = ?) WHERE id = ?")
        .bind(hex(&second))
        .bind(hex(&first))
        .execute(&db)
        .await
        .unwrap();
    let r = s
        .get(&format!("/v1/vaults/{}/items/{first}", a.vault), &ivan)
        .await;
    assert!(
        !r.status.is_success() && !r.text.contains("SECOND-PLAINTEXT"),
        "{}",
        r.text
    );
    sqlx::query("UPDATE items SET value = (SELECT value FROM items WHERE id = ?), name = (SELECT name FROM items WHERE id = ?), wrapped_item_key = (SELECT wrapped_item_key FROM items WHERE id = ?) WHERE id = ?")
        .bind(hex(&second)).bind(hex(&second)).bind(hex(&second)).bind(hex(&first)).execute(&db).await.unwrap();
    let r = s
        .get(&format!("/v1/vaults/{}/items/{first}", a.vault), &ivan)
        .await;
    assert!(
        !r.status.is_success() && !r.text.contains("SECOND-PLAINTEXT"),
        "{}",
        r.text
    );
    // The listing fails cleanly too rather than showing another item's name.
    let r = s.get(&format!("/v1/vaults/{}/items", a.vault), &ivan).await;
    assert!(
        !r.status.is_success() && !r.text.contains("second"),
        "{}",
        r.text
    );

    // Another user's item moved into Ivan's vault does not open with Ivan's keys.
    sqlx::query("UPDATE items SET vault_id = ?, user_id = ? WHERE id = ?")
        .bind(hex(&a.vault))
        .bind(hex(&a.user_id))
        .bind(hex(&judys))
        .execute(&db)
        .await
        .unwrap();
    let r = s
        .get(&format!("/v1/vaults/{}/items/{judys}", a.vault), &ivan)
        .await;
    assert!(
        !r.status.is_success() && !r.text.contains("JUDY-PLAINTEXT"),
        "{}",
        r.text
    );
    assert!(
        r.status == StatusCode::INTERNAL_SERVER_ERROR && !r.text.contains("crypto"),
        "no internals: {}",
        r.text
    );
}

#[tokio::test]
async fn csrf_is_required_for_unsafe_cookie_requests_and_refusals_change_nothing() {
    let s = TestServer::start().await;
    let a = s.signup("kim").await;
    let session = s.session("kim", PASSWORD).await;
    let plain = session.session();
    let items = format!("/v1/vaults/{}/items", a.vault);
    let attempts = [
        Auth::SessionNoCsrf(plain.clone()),
        Auth::SessionCsrf(plain.clone(), "wrong".into()),
        Auth::SessionCsrf(plain.clone(), String::new()),
    ];
    for auth in &attempts {
        s.post(&items, auth, json!({"name": "forged", "value": 1}))
            .await
            .problem(StatusCode::FORBIDDEN);
        s.post("/v1/vaults", auth, json!({"name": "forged"}))
            .await
            .problem(StatusCode::FORBIDDEN);
        s.post(
            "/v1/tokens",
            auth,
            json!({"name": "forged", "vaults": "*", "permissions": ["read"]}),
        )
        .await
        .problem(StatusCode::FORBIDDEN);
        s.post("/v1/logout", auth, json!({}))
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    // Another session's CSRF token does not fit this session.
    let other = s.session("kim", PASSWORD).await.session();
    s.post(
        &items,
        &Auth::SessionCsrf(plain.clone(), other.csrf),
        json!({"name": "forged", "value": 1}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    // A cross-site request is refused even with the right token (Sec-Fetch-Site / Origin).
    let cross = s
        .http
        .post(s.url(&items))
        .header("cookie", format!("__Host-keyslot={}", plain.cookie))
        .header("x-csrf-token", &plain.csrf)
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .json(&json!({"name": "forged", "value": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    assert_eq!(
        s.get(&items, &session).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        s.get("/v1/vaults", &session).await.body["vaults"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.get("/v1/tokens", &session).await.body["tokens"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        s.get("/v1/me", &session).await.status,
        StatusCode::OK,
        "still logged in"
    );
    // With the token, the same request works.
    s.create_item(&session, &a.vault, "real", json!(1)).await;
}

#[tokio::test]
async fn the_audit_log_records_changes_and_reads_without_secrets() {
    let s = TestServer::start().await;
    let a = s.signup("liam").await;
    s.login("liam", "wrong password, quite long")
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let session = s.session("liam", PASSWORD).await;
    let item = s
        .create_item(
            &session,
            &a.vault,
            "AUDIT-CANARY-NAME",
            json!("AUDIT-CANARY-VALUE"),
        )
        .await;
    let (id, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    s.get(
        &format!("/v1/vaults/{}/items/{item}", a.vault),
        &Auth::Token(token.clone()),
    )
    .await;
    s.delete(&format!("/v1/tokens/{id}"), &session).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let log = s.get("/v1/audit", &session).await;
    let actions: Vec<&str> = log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "signup",
        "login",
        "item.create",
        "token.mint",
        "item.read",
        "token.revoke",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let failed = log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "login" && e["outcome"] == "failed");
    assert!(failed.is_some(), "failed login audited: {}", log.text);
    for secret in ["AUDIT-CANARY", PASSWORD, &token[4..30]] {
        assert!(!log.text.contains(secret), "{secret} in the audit log");
    }
    // Another user sees none of it.
    s.signup("mia").await;
    let mia = s.session("mia", PASSWORD).await;
    let theirs = s.get("/v1/audit", &mia).await;
    assert!(!theirs.text.contains(&a.user_id) && !theirs.text.contains(&item));
}

fn hex(id: &str) -> Vec<u8> {
    (0..id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&id[i..i + 2], 16).unwrap())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
