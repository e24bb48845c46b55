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

use canary::{Canary, assert_none_found, found, search};
use e2e_harness::{Backend, Recorded, User, random_text};
use keyslot_crypto::{E2eTokenCredential, RecoveryCode, TokenCredential};

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
    let (secret, unlocked) = match TokenCredential::parse(text) {
        Ok(token) => (*token.expose_secret(), token.unlock()),
        Err(_) => {
            let token = E2eTokenCredential::parse(text).unwrap();
            (*token.expose_secret(), token.unlock())
        }
    };
    // The text's base62 is one big-endian number of id ‖ secret: its first 24 digits
    // are the id's (public, and the same in the `ksa_` proof, which is id ‖ auth); the
    // rest depends on the secret.
    vec![
        Canary::text("the token's text", &text[4 + 24..]),
        Canary::bytes("the token's secret", &secret),
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
    let me = alice.json(&["whoami"], None);
    assert_eq!(me["end_to_end"], false);
    assert_eq!(me["username"], "alice");
    assert!(me.get("fingerprint").is_none());
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

/// What stays on the client of an end-to-end account, collected as the story goes: its
/// passwords and their wrap keys, recovery codes and theirs, each session's unlock
/// secret and its wrap key.
#[derive(Default)]
struct ClientSecrets(Vec<Canary>);

impl ClientSecrets {
    /// `password` (of `who`) and the wrap key it derives with the account's current
    /// password slot, whose salt and parameters prelogin tells (asked of the server
    /// directly, not through the proxy: the answer is public, and the recording stays the
    /// client's own traffic).
    fn password(&mut self, server: &Recorded, who: &str, password: &str) {
        let n = self.0.len();
        self.0
            .push(Canary::text(format!("{who}'s password #{n}"), password));
        let pre = e2e_harness::prelogin(&server.direct, who);
        let unlocked = keyslot_crypto::Password::new(password)
            .unlock_client(
                pre.params,
                &pre.salt,
                pre.credential_id,
                &keyslot_crypto::KdfPolicy::default(),
            )
            .unwrap();
        self.0.push(Canary::bytes(
            format!("{who}'s password wrap key #{n}"),
            unlocked.expose_wrap_key().expose_secret(),
        ));
    }

    /// A recovery code (text and its 16 bytes) and the wrap key of its slot.
    fn recovery_code(&mut self, server: &Recorded, who: &str, code: &str) {
        let n = self.0.len();
        self.0
            .push(Canary::text(format!("{who}'s recovery code #{n}"), code));
        let parsed = RecoveryCode::parse(code).unwrap();
        self.0.push(Canary::bytes(
            format!("{who}'s recovery code bytes #{n}"),
            parsed.expose_secret(),
        ));
        let pre = e2e_harness::prelogin(&server.direct, who);
        let unlocked = parsed.unlock(pre.recovery_credential_id.unwrap());
        self.0.push(Canary::bytes(
            format!("{who}'s recovery wrap key #{n}"),
            unlocked.expose_wrap_key().expose_secret(),
        ));
    }

    /// The unlock secret in `user`'s session file, and the wrap key it derives.
    fn session(&mut self, user: &User, who: &str) {
        let n = self.0.len();
        // Its id is sent (the server files the wrapped user key under it); its secret
        // bytes never are.
        let (id, secret, _) = e2e_harness::unlock_secret(user);
        self.0.push(Canary::bytes(
            format!("{who}'s unlock secret #{n}"),
            &secret,
        ));
        let unlocked = keyslot_crypto::UnlockedCredential::from_session_unlock(id, &secret);
        self.0.push(Canary::bytes(
            format!("{who}'s session wrap key #{n}"),
            unlocked.expose_wrap_key().expose_secret(),
        ));
    }
}

impl ClientSecrets {
    /// `who`'s user key and the vault keys of their member slots, opened the way their
    /// client opens them (the session's unlock slot with the unlock secret in its session
    /// file, then each slot under the user key), asked of the server directly.
    fn keys(&mut self, server: &Recorded, user: &User, who: &str) {
        use keyslot_crypto::{Envelope, VaultKey, Wraps as _};
        let n = self.0.len();
        let (unlock_id, secret, _) = e2e_harness::unlock_secret(user);
        let me = e2e_harness::as_session(user, &server.direct, "/v1/me");
        let user_id = e2e_harness::wire_id(me["user_id"].as_str().unwrap());
        let slot = e2e_harness::as_session(user, &server.direct, "/v1/session/key");
        let envelope = |v: &serde_json::Value| {
            Envelope::from_bytes(&e2e_harness::base64url_decode(v.as_str().unwrap())).unwrap()
        };
        let user_key = keyslot_crypto::UnlockedCredential::from_session_unlock(unlock_id, &secret)
            .open_user_key(&user_id, &envelope(&slot["wrapped_user_key"]))
            .unwrap();
        self.0.push(Canary::bytes(
            format!("{who}'s user key #{n}"),
            user_key.expose_secret(),
        ));
        let vaults = e2e_harness::as_session(user, &server.direct, "/v1/vaults");
        let mut opened = 0;
        for v in vaults["vaults"].as_array().unwrap() {
            let slot = &v["slot"];
            if slot["kind"] != "member" {
                continue;
            }
            opened += 1;
            let version = u32::try_from(slot["key_version"].as_u64().unwrap()).unwrap();
            let aad = keyslot_crypto::slot::vault_key_for_user_aad(
                &e2e_harness::wire_id(v["owner_id"].as_str().unwrap()),
                &e2e_harness::wire_id(v["id"].as_str().unwrap()),
                version,
            );
            let key: VaultKey = user_key
                .unwrap_key(&envelope(&slot["wrapped_vault_key"]), &aad)
                .unwrap();
            self.0.push(Canary::bytes(
                format!("{who}'s vault key {} v{version} #{n}", v["id"]),
                key.expose_secret(),
            ));
        }
        assert!(
            opened > 0,
            "{who} holds no member slot to take vault keys from"
        );
    }
}

/// An end-to-end account's whole story through the CLI and the recording proxy: sign
/// up, log in, store, mint a token and read with it, change the password, recover, share
/// with a second end-to-end user (fingerprint confirmed), revoke the token (its vault
/// rotated by the owner's client). Then not one secret may be in the recording.
fn end_to_end_story(backend: Backend) {
    let Some(server) = Recorded::start(backend, "e2e story") else {
        return;
    };
    let s = Secrets::new();
    let mut kept = ClientSecrets::default();
    let line = |text: &str| format!("{text}\n");
    let alice = server.user("alice");

    // Sign up and log in; the mode is remembered, so the login needs no flag.
    let signed = alice.json(
        &["signup", "alice", "--end-to-end", "--password-stdin"],
        Some(&line(&s.password)),
    );
    assert_eq!(signed["end_to_end"], true);
    let alice_fingerprint = signed["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(
        alice_fingerprint.split(' ').count(),
        5,
        "{alice_fingerprint}"
    );
    let first_code = signed["recovery_code"].as_str().unwrap().to_owned();
    kept.password(&server, "alice", &s.password);
    kept.recovery_code(&server, "alice", &first_code);
    alice.ok(
        &["login", "alice", "--password-stdin"],
        Some(&line(&s.password)),
    );
    kept.session(&alice, "alice");
    let me = alice.json(&["whoami"], None);
    assert_eq!(me["end_to_end"], true);
    assert_eq!(me["fingerprint"], alice_fingerprint.as_str());

    // Store and read back.
    alice.ok(&["vault", "create", &s.vault], None);
    assert!(alice.ok(&["vault", "list"], None).contains(&s.vault));
    alice.ok(
        &["item", "set", &s.vault, &s.item, "--stdin"],
        Some(&s.value),
    );
    assert_eq!(
        alice.ok(&["item", "get", &s.vault, &s.item], None),
        format!("{}\n", s.value)
    );
    assert!(
        alice
            .ok(&["item", "list", &s.vault], None)
            .contains(&s.item)
    );
    kept.keys(&server, &alice, "alice");

    // A token, minted here, read with from the CLI.
    let minted = alice.json(
        &[
            "token",
            "create",
            "--name",
            &s.token_name,
            "--vault",
            &s.vault,
            "--password-stdin",
        ],
        Some(&line(&s.password)),
    );
    let token = minted["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("kse_"), "an end-to-end token: {token}");
    let token_id = minted["id"].as_str().unwrap().to_owned();
    assert!(alice.ok(&["token", "list"], None).contains(&s.token_name));
    let mut script = server.user("script");
    script.token = Some(token.clone());
    let reference = format!("ks://{}/{}", s.vault, s.item);
    assert_eq!(
        script.ok(&["read", &reference], None),
        format!("{}\n", s.value)
    );
    assert_eq!(script.json(&["whoami"], None)["end_to_end"], true);

    // Change the password: the old one stops working.
    let second = random_text("pw two ");
    alice.ok(
        &["password", "change", "--password-stdin"],
        Some(&format!("{}\n{second}\n", s.password)),
    );
    kept.password(&server, "alice", &second);
    alice.ok(&["logout"], None);
    alice.fails(
        &["login", "alice", "--password-stdin"],
        Some(&line(&s.password)),
        3,
    );
    alice.ok(
        &["login", "alice", "--password-stdin"],
        Some(&line(&second)),
    );
    kept.session(&alice, "alice");

    // Recover with the code: a new password and a new code.
    let third = random_text("pw three ");
    let new_code = alice
        .ok(
            &["recover", "alice", "--password-stdin"],
            Some(&format!("{first_code}\n{third}\n")),
        )
        .trim()
        .to_owned();
    assert_ne!(new_code, first_code);
    kept.password(&server, "alice", &third);
    kept.recovery_code(&server, "alice", &new_code);
    alice.fails(
        &["login", "alice", "--password-stdin"],
        Some(&line(&second)),
        3,
    );
    alice.ok(&["login", "alice", "--password-stdin"], Some(&line(&third)));
    kept.session(&alice, "alice");
    assert_eq!(
        alice.ok(&["read", &reference], None),
        format!("{}\n", s.value)
    );

    // Share with a second end-to-end user, whose fingerprint alice confirms.
    let bob = server.user("bob");
    let bob_password = random_text("bob pw ");
    let bob_signed = bob.json(
        &["signup", "bob", "--end-to-end", "--password-stdin"],
        Some(&line(&bob_password)),
    );
    kept.password(&server, "bob", &bob_password);
    kept.recovery_code(
        &server,
        "bob",
        bob_signed["recovery_code"].as_str().unwrap(),
    );
    bob.ok(
        &["login", "bob", "--password-stdin"],
        Some(&line(&bob_password)),
    );
    kept.session(&bob, "bob");
    let bob_fingerprint = bob.json(&["whoami"], None)["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    // A fingerprint that is not bob's: nothing is shared.
    let wrong = alice_fingerprint.clone();
    alice.fails(
        &[
            "vault",
            "share",
            &s.vault,
            "bob",
            "--role",
            "write",
            "--fingerprint",
            &wrong,
        ],
        None,
        3,
    );
    bob.fails(&["read", &reference], None, 2);
    alice.ok(
        &[
            "vault",
            "share",
            &s.vault,
            "bob",
            "--role",
            "write",
            "--fingerprint",
            &bob_fingerprint,
        ],
        None,
    );
    // Bob's client opens the grant once he has confirmed alice's identity.
    bob.ok(
        &["trust", "alice", "--fingerprint", &alice_fingerprint],
        None,
    );
    assert_eq!(
        bob.ok(&["read", &reference], None),
        format!("{}\n", s.value)
    );

    // Revoke the token: the owner's client rotates its vault; the token reads nothing,
    // the member reads what is written next.
    let revoked = alice.json(&["token", "revoke", &token_id], None);
    assert_eq!(revoked["rotated"][0]["key_version"], 2, "{revoked}");
    script.fails(&["read", &reference], None, 3);
    let later = format!("{}\"\\é{}", random_text("later-"), random_text(""));
    alice.ok(&["item", "set", &s.vault, &s.item, "--stdin"], Some(&later));
    assert_eq!(bob.ok(&["read", &reference], None), format!("{later}\n"));
    kept.keys(&server, &alice, "alice");
    kept.keys(&server, &bob, "bob");

    let mut canaries = s.canaries();
    canaries.push(Canary::text("the later value", &later));
    canaries.extend(token_canaries(&token));
    canaries.extend(kept.0);
    assert_none_found(&server.proxy.recording(), &canaries);
    // And the recording is the story's: its logins, its token's proofs and its writes.
    let all = String::from_utf8_lossy(&server.proxy.all_bytes()).to_ascii_lowercase();
    for expected in [
        "post /v1/prelogin",
        "post /v1/login",
        "authorization: bearer ksa_",
        "post /v1/tokens",
        "/rotate",
    ] {
        assert!(all.contains(expected), "{expected} not recorded");
    }
}

#[test]
fn sqlite_the_server_sees_no_secret_of_an_end_to_end_account() {
    end_to_end_story(Backend::Sqlite);
}

#[test]
fn postgres_the_server_sees_no_secret_of_an_end_to_end_account() {
    end_to_end_story(Backend::Postgres);
}
