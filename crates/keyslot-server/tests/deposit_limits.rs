//! What bounds deposits (issue 15 review): a listing moves at most
//! `Config::deposit_claim_batch` deposits into items, the next request the rest; a deposit
//! token deposits at most `Config::deposits_per_minute` items a minute, then 429 with
//! `Retry-After`, storing nothing. And a reader's public key copied into another holder's
//! row while the vault is due: nothing sealed, 500, audited. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod deposit_raw;

use common::{Auth, PASSWORD, TestServer};
use deposit_raw::server;
use keyslot_crypto::Id;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id(text: &str) -> Id {
    text.parse().unwrap()
}

fn items_path(vault: &str) -> String {
    format!("/v1/vaults/{vault}/items")
}

async fn deposit(s: &TestServer, token: &Auth, vault: &str, value: Value) -> StatusCode {
    let r = s
        .post(
            &items_path(vault),
            token,
            json!({"name": "d", "value": value}),
        )
        .await;
    r.status
}

async fn listed(s: &TestServer, auth: &Auth, vault: &str) -> usize {
    let r = s.get(&items_path(vault), auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().unwrap().len()
}

async fn a_listing_moves_one_batch_of_deposits(postgres: bool) {
    let Some((s, raw)) = server(postgres, |c| c.core.deposit_claim_batch = 3).await else {
        return;
    };
    let a = s.signup("sven").await;
    let vault = id(&a.vault);
    let session = s.session("sven", PASSWORD).await;
    let (leaked, _) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (_, depositor) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    let depositor = Auth::Token(depositor);
    // Three sealed to the vault, then two to the readers (due after a revocation).
    for n in 0..3 {
        assert_eq!(
            deposit(&s, &depositor, &a.vault, json!(n)).await,
            StatusCode::CREATED
        );
    }
    let r = s
        .delete(&format!("/v1/tokens/{leaked}?rotate=false"), &session)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    for n in 3..5 {
        assert_eq!(
            deposit(&s, &depositor, &a.vault, json!(n)).await,
            StatusCode::CREATED
        );
    }
    assert_eq!(raw.deposits(&vault).await.len(), 5);
    assert_eq!(listed(&s, &session, &a.vault).await, 3, "one batch moved");
    assert_eq!(raw.deposits(&vault).await.len(), 2, "the rest wait");
    assert_eq!(
        listed(&s, &session, &a.vault).await,
        5,
        "the next listing moves the rest"
    );
    assert!(raw.deposits(&vault).await.is_empty());
    assert!(raw.copies(&vault).await.is_empty());
}

#[tokio::test]
async fn a_listing_moves_one_batch_of_deposits_sqlite() {
    a_listing_moves_one_batch_of_deposits(false).await;
}

#[tokio::test]
async fn a_listing_moves_one_batch_of_deposits_postgres() {
    a_listing_moves_one_batch_of_deposits(true).await;
}

async fn a_deposit_token_past_its_rate_gets_429(postgres: bool) {
    const RATE: u32 = 4;
    let Some((s, raw)) = server(postgres, |c| c.core.deposits_per_minute = RATE).await else {
        return;
    };
    let a = s.signup("tove").await;
    let vault = id(&a.vault);
    let session = s.session("tove", PASSWORD).await;
    let (_, first) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    let (_, second) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    // One instant for the whole burst, so no window boundary falls inside it.
    s.keyslot.freeze_attempt_clock(Some(1_900_000_000));
    let first = Auth::Token(first);
    for n in 0..RATE {
        assert_eq!(
            deposit(&s, &first, &a.vault, json!(n)).await,
            StatusCode::CREATED
        );
    }
    let r = s
        .post(
            &items_path(&a.vault),
            &first,
            json!({"name": "d", "value": "over"}),
        )
        .await;
    r.problem(StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(
        raw.deposits(&vault).await.len(),
        RATE as usize,
        "nothing stored past the rate"
    );
    // Outside the token's scope it is still 404, not a use of its budget.
    let other = s.create_vault(&session, "Other").await;
    let r = s
        .post(
            &items_path(&other),
            &first,
            json!({"name": "d", "value": 1}),
        )
        .await;
    r.problem(StatusCode::NOT_FOUND);
    // Another deposit token has its own budget; a minute later the first has one again.
    assert_eq!(
        deposit(&s, &Auth::Token(second), &a.vault, json!("b")).await,
        StatusCode::CREATED
    );
    s.keyslot.freeze_attempt_clock(Some(1_900_000_061));
    assert_eq!(
        deposit(&s, &first, &a.vault, json!("later")).await,
        StatusCode::CREATED
    );
    s.keyslot.freeze_attempt_clock(None);
}

#[tokio::test]
async fn a_deposit_token_past_its_rate_gets_429_sqlite() {
    a_deposit_token_past_its_rate_gets_429(false).await;
}

#[tokio::test]
async fn a_deposit_token_past_its_rate_gets_429_postgres() {
    a_deposit_token_past_its_rate_gets_429(true).await;
}

/// A member copies their own public key and its MAC into a reader token's row: the MAC
/// names its holder, so the deposit seals to no one, answers 500 and is audited.
async fn a_public_key_copied_into_another_readers_row_seals_nothing(postgres: bool) {
    let Some((s, raw)) = server(postgres, |_| {}).await else {
        return;
    };
    let a = s.signup("ulla").await;
    let b = s.signup("vera").await;
    let vault = id(&a.vault);
    let session = s.session("ulla", PASSWORD).await;
    let r = s
        .post(
            &format!("/v1/vaults/{}/members", a.vault),
            &session,
            json!({"username": "vera", "role": "read"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (reader, _) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (leaked, _) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (_, depositor) = s.mint(&session, json!([a.vault]), json!(["deposit"])).await;
    let r = s
        .delete(&format!("/v1/tokens/{leaked}?rotate=false"), &session)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    raw.execute(
        "UPDATE tokens SET x25519_public = (SELECT x25519_public FROM users WHERE id = $1), \
         public_key_mac = (SELECT x25519_public_mac FROM users WHERE id = $1) WHERE id = $2",
        &[id(&b.user_id).as_bytes(), id(&reader).as_bytes()],
    )
    .await;
    let r = s
        .post(
            &items_path(&a.vault),
            &Auth::Token(depositor),
            json!({"name": "x", "value": "secret"}),
        )
        .await;
    r.problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!r.text.contains("public key"), "no internals: {}", r.text);
    assert!(raw.deposits(&vault).await.is_empty(), "nothing stored");
    assert!(raw.copies(&vault).await.is_empty(), "nothing sealed");
    let audit = s.get("/v1/audit?action=key.public_key_mac", &session).await;
    let events = audit.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", audit.text);
    assert_eq!(events[0]["outcome"], "failed");
    assert!(
        events[0]["detail"].as_str().unwrap().contains(&reader),
        "{}",
        audit.text
    );
}

#[tokio::test]
async fn a_public_key_copied_into_another_readers_row_seals_nothing_sqlite() {
    a_public_key_copied_into_another_readers_row_seals_nothing(false).await;
}

#[tokio::test]
async fn a_public_key_copied_into_another_readers_row_seals_nothing_postgres() {
    a_public_key_copied_into_another_readers_row_seals_nothing(true).await;
}
