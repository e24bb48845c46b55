//! The `keyslot` CLI's habits with an end-to-end account, beside the secrecy story
//! (e2e_story.rs) and the malicious server (e2e_malicious.rs): what it keeps on disk,
//! what it refuses to do, and a vault rotation it runs itself when the server says one
//! is due.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "support/e2e_harness.rs"]
mod e2e_harness;
#[path = "support/recording_proxy.rs"]
mod recording_proxy;

use e2e_harness::{Backend, Recorded, User, random_text, session_request};
use reqwest::Method;
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

fn what_it_keeps_and_what_it_refuses(backend: Backend) {
    let Some(server) = Recorded::start(backend, "e2e cli habits") else {
        return;
    };
    let (alice, password) = signed_up(&server, "alice");

    // The session file: private, and holding the unlock secret beside the session.
    let session: Value =
        serde_json::from_slice(&std::fs::read(alice.config.join("session.json")).unwrap()).unwrap();
    assert_eq!(session["end_to_end"], true);
    assert!(session["unlock_secret"].as_str().unwrap().contains('.'));
    let known: Value =
        serde_json::from_slice(&std::fs::read(alice.config.join("accounts.json")).unwrap())
            .unwrap();
    let account = known["accounts"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(account["end_to_end"], true);
    assert_eq!(account["last_params"]["m_cost_kib"], 19 * 1024);
    #[cfg(unix)]
    for file in ["session.json", "accounts.json"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(alice.config.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }

    // Commands not built for end-to-end accounts refuse before asking for (or sending)
    // the password.
    let stderr = alice.fails(
        &["keys", "rotate", "--password-stdin"],
        Some(&format!("{password}\n")),
        10,
    );
    assert!(stderr.contains("end-to-end"), "{stderr}");
    // (Deposit tokens are built for end-to-end accounts: tests/e2e_cli_deposits.rs.)
    let recorded = String::from_utf8_lossy(&server.proxy.all_bytes()).into_owned();
    assert!(
        !recorded.contains(&password),
        "the password reached the server"
    );

    // A token's commands need a session; a kse_ token reads but does not mint.
    let token = alice.json(
        &[
            "token",
            "create",
            "--name",
            "ci-reader",
            "--all-vaults",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut script = server.user("script");
    script.token = Some(token);
    let stderr = script.fails(&["token", "list"], None, 3);
    assert!(stderr.contains("session"), "{stderr}");
    assert!(script.ok(&["vault", "list"], None).contains("Personal"));

    // A username this machine recorded as end-to-end that signs up again in server mode
    // (the server was reset, say) logs in as server-mode afterwards.
    let file = alice.config.join("accounts.json");
    let mut known: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let key = format!("{} dave", alice.addr);
    known["accounts"][&key] = serde_json::json!({"end_to_end": true});
    std::fs::write(&file, serde_json::to_vec(&known).unwrap()).unwrap();
    let dave = alice.at(&alice.addr);
    let dave_password = format!("{}\n", random_text("dave pw "));
    dave.ok(
        &["signup", "dave", "--password-stdin"],
        Some(&dave_password),
    );
    let known: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(known["accounts"][&key]["end_to_end"], false, "{known}");
    dave.ok(&["login", "dave", "--password-stdin"], Some(&dave_password));
    assert_eq!(dave.json(&["whoami"], None)["end_to_end"], false);
}

fn a_due_rotation_runs_in_the_client_before_a_write(backend: Backend) {
    let Some(server) = Recorded::start(backend, "e2e cli due rotation") else {
        return;
    };
    let (alice, password) = signed_up(&server, "alice");
    let vault = random_text("vault-");
    alice.ok(&["vault", "create", &vault], None);
    alice.ok(
        &["item", "set", &vault, "first-item-name", "--stdin"],
        Some("one"),
    );
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
    // Revoked elsewhere (as the web page or another client would): the server marks the
    // vault due and cannot rotate it.
    let (status, body) = session_request(
        &alice,
        &server.direct,
        Method::DELETE,
        &format!("/v1/tokens/{}", minted["id"].as_str().unwrap()),
    );
    assert!(status.is_success(), "{status} {body}");
    let shown = alice.json(&["vault", "show", &vault], None);
    assert_eq!(shown["end_to_end"], true);
    assert_eq!(shown["rotation_due"], true, "{shown}");
    assert_eq!(shown["key_version"], 1);
    // The next write rotates it here, then goes through.
    let out = alice.keyslot(
        &["item", "set", &vault, "second-item-name", "--stdin"],
        Some("two"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("rotated it to key version 2"));
    let shown = alice.json(&["vault", "show", &vault], None);
    assert_eq!(shown["rotation_due"], false, "{shown}");
    assert_eq!(shown["key_version"], 2);
    assert_eq!(
        alice.ok(&["read", &format!("ks://{vault}/first-item-name")], None),
        "one\n"
    );
    assert_eq!(
        alice.ok(&["read", &format!("ks://{vault}/second-item-name")], None),
        "two\n"
    );
}

/// `run`, `inject`, `export` and `import` work the same for an end-to-end account and
/// its `kse_` token: the values are opened here.
fn scripts_and_transfers(backend: Backend) {
    let Some(server) = Recorded::start(backend, "e2e cli scripts") else {
        return;
    };
    let (alice, password) = signed_up(&server, "alice");
    let vault = random_text("vault-");
    alice.ok(&["vault", "create", &vault], None);
    alice.ok(
        &[
            "item",
            "set",
            &vault,
            "db",
            "--value-json",
            r#"{"user":"app","password":"pw-123"}"#,
        ],
        None,
    );
    alice.ok(
        &["item", "set", &vault, "api-key", "--stdin"],
        Some("sk_live_e2e"),
    );
    let token = alice.json(
        &[
            "token",
            "create",
            "--name",
            "deploy",
            "--vault",
            &vault,
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut script = server.user("script");
    script.token = Some(token);
    let reference = format!("ks://{vault}/db/password");
    let out = script.ok(
        &[
            "run",
            "--no-masking",
            "--env",
            &format!("DB={reference}"),
            "--",
            "sh",
            "-c",
            "printf %s \"$DB\"",
        ],
        None,
    );
    assert_eq!(out, "pw-123");
    let rendered = script.ok(
        &["inject"],
        Some(&format!("key: {{{{ ks://{vault}/api-key }}}}\n")),
    );
    assert_eq!(rendered, "key: sk_live_e2e\n");

    let exported = alice.ok(&["export", &vault], None);
    assert_eq!(exported.lines().count(), 2, "{exported}");
    let copy = random_text("copy-");
    alice.ok(&["vault", "create", &copy], None);
    let file = server.dir.path().join("export.jsonl");
    std::fs::write(&file, &exported).unwrap();
    alice.ok(&["import", &copy, "--input", file.to_str().unwrap()], None);
    assert_eq!(
        alice.ok(&["read", &format!("ks://{copy}/db/user")], None),
        "app\n"
    );
    // Importing again updates the same names.
    alice.ok(&["import", &copy, "--input", file.to_str().unwrap()], None);
    let listed = alice.json(&["item", "list", &copy], None);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(listed.as_array().unwrap().iter().all(|i| i["version"] == 2));
}

/// Members of an end-to-end vault: listed, and removed with the rotation run here.
fn members_and_unshare(backend: Backend) {
    let Some(server) = Recorded::start(backend, "e2e cli members") else {
        return;
    };
    let (alice, _) = signed_up(&server, "alice");
    let (bob, _) = signed_up(&server, "bob");
    let vault = random_text("vault-");
    alice.ok(&["vault", "create", &vault], None);
    alice.ok(
        &["item", "set", &vault, "shared-item", "--stdin"],
        Some("before"),
    );
    let fingerprint = bob.json(&["whoami"], None)["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    alice.ok(
        &[
            "vault",
            "share",
            &vault,
            "bob",
            "--role",
            "read",
            "--fingerprint",
            &fingerprint,
        ],
        None,
    );
    let reference = format!("ks://{vault}/shared-item");
    // Bob's client opens alice's grant only once he has confirmed her identity (anyone
    // can seal a key to him; her signature over it is what counts): until then it is
    // refused, naming the command; `keyslot trust` pins her and the read works.
    let refused = bob.fails(&["read", &reference], None, 3);
    assert!(refused.contains("keyslot trust"), "{refused}");
    let alice_fingerprint = alice.json(&["whoami"], None)["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = bob.fails(&["trust", "alice", "--fingerprint", &fingerprint], None, 3);
    assert!(wrong.contains("fingerprint"), "{wrong}");
    let trusted = bob.json(
        &["trust", "alice", "--fingerprint", &alice_fingerprint],
        None,
    );
    assert_eq!(
        trusted["fingerprint"],
        alice_fingerprint.as_str(),
        "{trusted}"
    );
    assert_eq!(bob.ok(&["read", &reference], None), "before\n");
    let members = alice.json(&["vault", "members", &vault], None);
    let names: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"bob") && names.contains(&"alice"),
        "{members}"
    );
    alice.ok(&["vault", "unshare", &vault, "bob"], None);
    let shown = alice.json(&["vault", "show", &vault], None);
    assert_eq!(shown["key_version"], 2, "{shown}");
    assert_eq!(shown["rotation_due"], false, "{shown}");
    alice.ok(
        &["item", "set", &vault, "shared-item", "--stdin"],
        Some("after"),
    );
    bob.fails(&["read", &reference], None, 2);
    assert_eq!(alice.ok(&["read", &reference], None), "after\n");
}

#[test]
fn sqlite_members_and_unshare() {
    members_and_unshare(Backend::Sqlite);
}

#[test]
fn sqlite_scripts_and_transfers() {
    scripts_and_transfers(Backend::Sqlite);
}

#[test]
fn sqlite_what_it_keeps_and_what_it_refuses() {
    what_it_keeps_and_what_it_refuses(Backend::Sqlite);
}

#[test]
fn sqlite_a_due_rotation_runs_in_the_client_before_a_write() {
    a_due_rotation_runs_in_the_client_before_a_write(Backend::Sqlite);
}

#[test]
fn postgres_a_due_rotation_runs_in_the_client_before_a_write() {
    a_due_rotation_runs_in_the_client_before_a_write(Backend::Postgres);
}

/// A member's write to a vault whose rotation is due waits for the owner (only the owner's
/// session signs the next key) and says so; once the owner's client has rotated, the
/// member's write goes through under the new key.
fn a_members_write_to_a_due_vault_waits_for_its_owner(backend: Backend) {
    let Some(server) = Recorded::start(backend, "e2e cli member due write") else {
        return;
    };
    let (alice, password) = signed_up(&server, "alice");
    let (bob, _) = signed_up(&server, "bob");
    let vault = random_text("vault-");
    alice.ok(&["vault", "create", &vault], None);
    let bob_fingerprint = bob.json(&["whoami"], None)["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    alice.ok(
        &[
            "vault",
            "share",
            &vault,
            "bob",
            "--role",
            "write",
            "--fingerprint",
            &bob_fingerprint,
        ],
        None,
    );
    let alice_fingerprint = alice.json(&["whoami"], None)["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.json(
        &["trust", "alice", "--fingerprint", &alice_fingerprint],
        None,
    );
    bob.ok(
        &["item", "set", &vault, "bobs-item", "--stdin"],
        Some("one"),
    );
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
    let (status, body) = session_request(
        &alice,
        &server.direct,
        Method::DELETE,
        &format!("/v1/tokens/{}", minted["id"].as_str().unwrap()),
    );
    assert!(status.is_success(), "{status} {body}");
    let refused = bob.fails(
        &["item", "set", &vault, "bobs-item", "--stdin"],
        Some("two"),
        4,
    );
    assert!(
        refused.contains("only its owner can rotate it"),
        "{refused}"
    );
    assert_eq!(
        alice.json(&["vault", "show", &vault], None)["key_version"],
        1
    );
    alice.ok(
        &["item", "set", &vault, "alices-item", "--stdin"],
        Some("a"),
    );
    assert_eq!(
        alice.json(&["vault", "show", &vault], None)["key_version"],
        2
    );
    bob.ok(
        &["item", "set", &vault, "bobs-item", "--stdin"],
        Some("two"),
    );
    assert_eq!(
        alice.ok(&["read", &format!("ks://{vault}/bobs-item")], None),
        "two\n"
    );
}

#[test]
fn sqlite_a_members_write_to_a_due_vault_waits_for_its_owner() {
    a_members_write_to_a_due_vault_waits_for_its_owner(Backend::Sqlite);
}
