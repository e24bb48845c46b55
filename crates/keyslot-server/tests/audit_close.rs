//! Closing the audit buffer at shutdown (`Keyslot::flush_audit`): with the database
//! stalled it gives up at its bound and says how many events it did not write; once the
//! database takes writes again, what the closed buffer held is written, and reads after
//! the close are refused rather than answered unrecorded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Auth, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_with_the_database_stalled_counts_what_was_not_written() {
    let s = TestServer::start().await;
    let a = s.signup("cleo").await;
    let session = s.session("cleo", PASSWORD).await;
    let item = s.create_item(&session, &a.vault, "k", json!("v")).await;
    let (_, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let token = Auth::Token(token);
    let path = format!("/v1/vaults/{}/items/{item}", a.vault);
    let db = s.db().await;
    let reads_in_db = async || -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'item.read'")
            .fetch_one(&db)
            .await
            .unwrap()
    };

    // Five reads answered while the flusher cannot write (a stalled database).
    let hold = s.keyslot.hold_audit_flush().await;
    for _ in 0..5 {
        assert_eq!(s.get(&path, &token).await.status, StatusCode::OK);
    }
    let unwritten = s.keyslot.flush_audit(Duration::from_millis(500)).await;
    // Five events, and possibly the token's last-use marks still queued beside them.
    assert!(
        (5..=10).contains(&unwritten),
        "the close reports what it could not write: {unwritten}"
    );
    assert_eq!(reads_in_db().await, 0);
    // Closed: a read now cannot be recorded, so it is not served.
    let r = s.get(&path, &token).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);

    // The database comes back: the closed buffer's events are written, and a second close
    // finds nothing left.
    drop(hold);
    assert_eq!(s.keyslot.flush_audit(Duration::from_secs(10)).await, 0);
    assert_eq!(reads_in_db().await, 5);
}
