//! What the server sees of an account's whole story, driven through the `keyslot` CLI
//! with a recording proxy in front of the server (tests/support/recording_proxy.rs),
//! then searched for every secret in every encoding it could travel in
//! (tests/support/canary.rs).
//!
//! The server-mode story is the control: there the client hands the server its password,
//! its token and its plaintext, and the search must find them, or the search proves
//! nothing about the end-to-end story.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "support/canary.rs"]
mod canary;
#[path = "support/e2e_harness.rs"]
mod e2e_harness;
#[path = "support/recording_proxy.rs"]
mod recording_proxy;

use canary::{Canary, found, search};
use e2e_harness::{Backend, Recorded, random_text};
use keyslot_crypto::TokenCredential;

/// The secrets of a story, made up fresh for each run.
struct Secrets {
    password: String,
    vault: String,
    item: String,
    value: String,
    token_name: String,
}

impl Secrets {
    fn new() -> Self {
        Self {
            password: random_text("pw "),
            vault: random_text("vault-"),
            item: random_text("item-"),
            // A quote, a backslash and a non-ASCII letter: the value must also not travel
            // JSON-escaped.
            value: format!("{}\"\\é{}", random_text("value-"), random_text("")),
            token_name: random_text("token-"),
        }
    }

    fn canaries(&self) -> Vec<Canary> {
        vec![
            Canary::text("the password", &self.password),
            Canary::text("the vault's name", &self.vault),
            Canary::text("the item's name", &self.item),
            Canary::text("the item's value", &self.value),
            Canary::text("the token's name", &self.token_name),
        ]
    }
}

/// The canaries of a `kst_`/`kse_` token the story minted: its text, its 32 secret bytes
/// and its wrap key.
fn token_canaries(text: &str) -> Vec<Canary> {
    let token = TokenCredential::parse(text).unwrap();
    let unlocked = token.unlock();
    vec![
        Canary::text("the token's text", text),
        Canary::bytes("the token's secret", token.expose_secret()),
        Canary::bytes(
            "the token's wrap key",
            unlocked.expose_wrap_key().expose_secret(),
        ),
    ]
}

/// A server-mode account's story through the recording proxy: sign up, log in, store,
/// mint a token, read with it.
fn server_mode_story(backend: Backend) {
    let Some(server) = Recorded::start(backend, "e2e story server mode") else {
        return;
    };
    let s = Secrets::new();
    let alice = server.user("alice");
    let password_line = format!("{}\n", s.password);
    alice.ok(
        &["signup", "alice", "--password-stdin"],
        Some(&password_line),
    );
    alice.ok(
        &["login", "alice", "--password-stdin"],
        Some(&password_line),
    );
    alice.ok(&["vault", "create", &s.vault], None);
    alice.ok(
        &["item", "set", &s.vault, &s.item, "--stdin"],
        Some(&s.value),
    );
    let token = alice
        .ok(
            &[
                "token",
                "create",
                "--name",
                &s.token_name,
                "--vault",
                &s.vault,
                "--password-stdin",
            ],
            Some(&password_line),
        )
        .trim()
        .to_owned();
    let mut script = server.user("script");
    script.token = Some(token.clone());
    let reference = format!("ks://{}/{}", s.vault, s.item);
    assert_eq!(
        script.ok(&["read", &reference], None),
        format!("{}\n", s.value)
    );

    let mut canaries = s.canaries();
    canaries.extend(token_canaries(&token));
    let recording = server.proxy.recording();
    let findings = search(&recording, &canaries);
    // The control: the server is handed all of these in server mode.
    for must in [
        "the password",
        "the vault's name",
        "the item's name",
        "the item's value",
        "the token's name",
        "the token's text",
    ] {
        assert!(
            found(&findings, must),
            "{must} not found in the server-mode recording: the search cannot be trusted \
             (findings: {findings:?})"
        );
    }
    // The recording holds requests and answers, headers included.
    let all = server.proxy.all_bytes();
    let all = String::from_utf8_lossy(&all);
    for expected in [
        "POST /v1/login",
        "authorization: Bearer kst_",
        "HTTP/1.1 200",
    ] {
        assert!(
            all.to_ascii_lowercase()
                .contains(&expected.to_ascii_lowercase()),
            "{expected} not recorded"
        );
    }
}

#[test]
fn sqlite_the_search_finds_a_server_mode_accounts_secrets() {
    server_mode_story(Backend::Sqlite);
}

#[test]
fn postgres_the_search_finds_a_server_mode_accounts_secrets() {
    server_mode_story(Backend::Postgres);
}
