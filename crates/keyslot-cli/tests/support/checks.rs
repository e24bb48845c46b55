//! What the attacker's tests check and write, shared by their cases: the items an attack
//! must not have opened, the harness's positive control, the writes after a credential's
//! end, waiting out an expiry. The test that includes this file declares `attacker`,
//! `db_copy`, `deployment` and `support` beside it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::Duration;

use keyslot_crypto::Id;
use serde_json::json;

use crate::attacker::{Opened, attack};
use crate::db_copy::Copy;
use crate::deployment::{Deployment, now};
use crate::support::Session;

/// The items the attacker opened that it must not have: any written after the end.
pub fn leaked(opened: &Opened, after: &BTreeSet<Id>) -> Vec<String> {
    opened
        .items
        .iter()
        .filter(|(id, _)| after.contains(id))
        .map(|(id, (name, _))| format!("{id} ({name})"))
        .collect()
}

/// The harness opens a token's items before its end, and exactly those.
pub fn assert_opens_exactly(token: &str, copies: &[&Copy], expected: &BTreeSet<Id>, who: &str) {
    let opened = attack(token, copies);
    assert_eq!(
        &opened.item_ids(),
        expected,
        "{who}: the harness must open exactly what the token holds (keys reached: {:?})",
        opened.vault_keys
    );
    for (name, value) in opened.items.values() {
        assert_eq!(value["secret"], format!("{name}-value"), "{who}: {name}");
    }
}

/// A deposit token for `vault`: `(id, text)`.
pub async fn deposit_token(d: &Deployment, session: &Session, vault: &Id) -> (Id, String) {
    let (id, text, _) = d
        .mint_with(
            session,
            json!([vault.to_string()]),
            json!(["deposit"]),
            None,
        )
        .await;
    (id, text)
}

/// What is written after a credential's end: items by the session and by token `b`, and
/// deposits by token `e`, all at once (over two instances on PostgreSQL). When the vault
/// is still due (`rotated` false), a first round of session and `b` writes runs the
/// rotation before the deposits join: a deposit made while due answers 409 in this
/// version (DESIGN's sealing to each reader is not built), which is not what is tested here.
pub async fn after_the_end(
    d: &Deployment,
    sessions: &[Session],
    b: &str,
    e: &str,
    vault: &Id,
    rotated: bool,
) -> BTreeSet<Id> {
    let mut after = BTreeSet::new();
    if !rotated {
        after.extend(d.write_concurrently(sessions, &[b], vault, "due", 2).await);
    }
    after.extend(
        d.write_concurrently(sessions, &[b, e], vault, "after", 3)
            .await,
    );
    assert_eq!(after.len(), if rotated { 9 } else { 13 });
    after
}

/// Past `expires_at` (Unix seconds) by at least a second, with no sweeper to notice.
pub async fn wait_past(expires_at: u64) {
    while now() <= expires_at {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
}
