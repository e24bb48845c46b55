//! A deposit token from the `keyslot` CLI for an end-to-end account (END-TO-END.md §8):
//! `token create --deposit` mints it in the owner's session, `item set` with it in
//! KEYSLOT_TOKEN seals the item in the depositor's process, the token reads nothing back,
//! and the owner's next listing claims the deposit and reads it. The value never crosses
//! the wire in the clear.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "support/e2e_harness.rs"]
mod e2e_harness;
#[path = "support/recording_proxy.rs"]
mod recording_proxy;

use e2e_harness::{Backend, Recorded, random_text};

fn a_deposit_token_deposits_and_the_owner_reads_it(backend: Backend) {
    let Some(server) = Recorded::start(backend, "e2e cli deposits") else {
        return;
    };
    let alice = server.user("alice");
    let password = random_text("pw ");
    let line = format!("{password}\n");
    alice.ok(
        &["signup", "alice", "--end-to-end", "--password-stdin"],
        Some(&line),
    );
    alice.ok(&["login", "alice", "--password-stdin"], Some(&line));
    let vaults = alice.json(&["vault", "list"], None);
    let personal = vaults
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "Personal")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let minted = alice.json(
        &[
            "token",
            "create",
            "--name",
            "drop-box",
            "--deposit",
            "Personal",
            "--password-stdin",
        ],
        Some(&line),
    );
    let token = minted["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("kse_"), "{minted}");
    let listed = alice.json(&["token", "list"], None);
    assert_eq!(listed[0]["permissions"], serde_json::json!(["deposit"]));

    let mut depositor = server.user("depositor");
    depositor.token = Some(token.clone());
    let canary = random_text("deposited ");
    // A deposit token reads no vault names: a name is refused (usage), the id works.
    let stderr = depositor.fails(
        &["item", "set", "Personal", "ci-key", "--stdin"],
        Some(&canary),
        1,
    );
    assert!(stderr.contains("vault's id"), "{stderr}");
    let written = depositor.json(
        &["item", "set", &personal, "ci-key", "--stdin"],
        Some(&canary),
    );
    assert_eq!(written["version"], 1, "{written}");
    // It reads nothing back (permission: exit 3).
    depositor.fails(&["item", "list", &personal], None, 3);

    // The owner's listing claims it; then it reads like any item.
    let items = alice.json(&["item", "list", "Personal"], None);
    assert!(
        items
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "ci-key" && i["id"] == written["id"]),
        "{items}"
    );
    assert_eq!(
        alice
            .ok(&["item", "get", "Personal", "ci-key"], None)
            .trim(),
        canary
    );

    let recorded = String::from_utf8_lossy(&server.proxy.all_bytes()).into_owned();
    assert!(
        !recorded.contains(&canary),
        "the value crossed in the clear"
    );
    assert!(!recorded.contains(&token), "the token's secret was sent");
    assert!(!recorded.contains(&password), "the password was sent");
}

#[test]
fn sqlite_a_deposit_token_deposits_and_the_owner_reads_it() {
    a_deposit_token_deposits_and_the_owner_reads_it(Backend::Sqlite);
}

#[test]
fn postgres_a_deposit_token_deposits_and_the_owner_reads_it() {
    a_deposit_token_deposits_and_the_owner_reads_it(Backend::Postgres);
}
