//! What the `keyslot` CLI records about an end-to-end account beside its Argon2
//! parameters, and what it refuses with it (review R1 findings 3 and 4):
//!
//! - the account's own identity fingerprint, recorded at sign-up: a session (or a login)
//!   whose identity differs is refused — the server substituted the account's keys;
//! - the tokens it revoked and the members it removed, handed to every later session so
//!   a server that lists them again as holders gets nothing sealed to them (the refusal
//!   itself is keyslot-client's e2e_ended_holders test).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "support/e2e_harness.rs"]
mod e2e_harness;
#[path = "support/recording_proxy.rs"]
mod recording_proxy;

use e2e_harness::{Backend, Recorded, User, random_text};
use serde_json::Value;

fn signed_up(server: &Recorded, name: &str) -> (User, String) {
    let user = server.user(name);
    let password = random_text("pw ");
    let line = format!("{password}\n");
    user.ok(
        &["signup", name, "--end-to-end", "--password-stdin"],
        Some(&line),
    );
    user.ok(&["login", name, "--password-stdin"], Some(&line));
    (user, password)
}

fn known(user: &User) -> Value {
    let file: Value =
        serde_json::from_slice(&std::fs::read(user.config.join("accounts.json")).unwrap()).unwrap();
    let accounts = file["accounts"].as_object().unwrap();
    assert_eq!(accounts.len(), 1, "{file}");
    accounts.values().next().unwrap().clone()
}

fn edit_known(user: &User, edit: impl FnOnce(&mut Value)) {
    let path = user.config.join("accounts.json");
    let mut file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let account = file["accounts"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    edit(account);
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
}

fn the_record_and_its_refusals(backend: Backend) {
    let Some(server) = Recorded::start(backend, "e2e cli known record") else {
        return;
    };
    let (alice, password) = signed_up(&server, "alice");
    let fingerprint = alice.json(&["whoami"], None)["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(known(&alice)["fingerprint"], fingerprint.as_str());

    // Another identity than the recorded one (as if the server had substituted the
    // account's keys: the record is changed here instead): every session command and the
    // login refuse it, and the login saves no session.
    let real = known(&alice);
    let other = "00000000 00000000 00000000 00000000 00000000";
    edit_known(&alice, |a| a["fingerprint"] = Value::from(other));
    let refused = alice.fails(&["vault", "list"], None, 3);
    assert!(
        refused.contains(other) && refused.contains(&fingerprint),
        "{refused}"
    );
    std::fs::remove_file(alice.config.join("session.json")).unwrap();
    let refused = alice.fails(
        &["login", "alice", "--password-stdin"],
        Some(&format!("{password}\n")),
        3,
    );
    assert!(refused.contains("substituted"), "{refused}");
    assert!(!alice.config.join("session.json").exists());
    edit_known(&alice, |a| *a = real.clone());
    alice.ok(
        &["login", "alice", "--password-stdin"],
        Some(&format!("{password}\n")),
    );
    alice.ok(&["vault", "list"], None);

    // A revoked token is recorded; a login keeps the record.
    let vault = random_text("vault-");
    alice.ok(&["vault", "create", &vault], None);
    let minted = alice.json(
        &[
            "token",
            "create",
            "--name",
            "a-reader",
            "--vault",
            &vault,
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    let id = minted["id"].as_str().unwrap().to_owned();
    alice.ok(&["token", "revoke", &id], None);
    assert_eq!(known(&alice)["revoked_tokens"], serde_json::json!([id]));
    alice.ok(
        &["login", "alice", "--password-stdin"],
        Some(&format!("{password}\n")),
    );
    assert_eq!(known(&alice)["revoked_tokens"], serde_json::json!([id]));
    assert_eq!(known(&alice)["fingerprint"], fingerprint.as_str());
}

/// `item get` shows who signed an item (review R1 finding 6): alice's own write is
/// verified under her identity; a token's write is unsigned, flagged on stderr.
fn the_signing_status_is_shown(backend: Backend) {
    let Some(server) = Recorded::start(backend, "e2e cli signing status") else {
        return;
    };
    let (alice, password) = signed_up(&server, "alice");
    let me = alice.json(&["whoami"], None);
    let vault = random_text("vault-");
    alice.ok(&["vault", "create", &vault], None);
    alice.ok(
        &["item", "set", &vault, "mine", "--stdin"],
        Some("by-alice"),
    );
    let got = alice.keyslot(&["--json", "item", "get", &vault, "mine"], None);
    assert!(got.status.success());
    let item: Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(
        item["signed"],
        format!("verified:{}", me["user_id"].as_str().unwrap()).as_str(),
        "{item}"
    );
    assert!(
        got.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );

    let minted = alice.json(
        &[
            "token",
            "create",
            "--name",
            "a-writer",
            "--vault",
            &vault,
            "--write",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    let mut script = server.user("script");
    script.token = Some(minted["token"].as_str().unwrap().to_owned());
    script.ok(
        &["item", "set", &vault, "by-token", "--stdin"],
        Some("from-ci"),
    );
    let got = alice.keyslot(&["--json", "item", "get", &vault, "by-token"], None);
    assert!(got.status.success());
    let item: Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(item["signed"], "unsigned", "{item}");
    assert_eq!(item["value"], "from-ci", "{item}");
    let note = String::from_utf8_lossy(&got.stderr);
    assert!(note.contains("unsigned"), "{note}");
}

#[test]
fn sqlite_the_signing_status_is_shown() {
    the_signing_status_is_shown(Backend::Sqlite);
}

#[test]
fn postgres_the_signing_status_is_shown() {
    the_signing_status_is_shown(Backend::Postgres);
}

#[test]
fn sqlite_the_record_and_its_refusals() {
    the_record_and_its_refusals(Backend::Sqlite);
}

#[test]
fn postgres_the_record_and_its_refusals() {
    the_record_and_its_refusals(Backend::Postgres);
}
