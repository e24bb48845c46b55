//! `keyslot keys rotate` against a real `keyslot serve`: what a person sees after
//! "sign out everywhere and rotate keys" — their data still opens, every vault's key moved
//! on, the recovery code keeps working — the JSON a script reads, and who is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/cli_server.rs"]
mod cli_server;
mod support;

use cli_server::{PASSWORD, Server};

#[test]
fn keys_rotate_renews_every_vault_key_and_keeps_the_data_open() {
    let server = Server::start();
    let ann = server.user("ann");
    ann.ok(&["vault", "create", "work"], None);
    ann.ok(&["item", "set", "work", "db", "hunter2"], None);
    let password = format!("{PASSWORD}\n");

    let out = ann.ok(&["keys", "rotate", "--password-stdin"], Some(&password));
    assert!(out.contains("Vaults rotated: 2."), "{out}");
    assert!(out.contains("Your recovery code keeps working."), "{out}");
    // The saved session was re-keyed: it reads what it wrote, under the new keys.
    assert_eq!(ann.ok(&["item", "get", "work", "db"], None), "hunter2\n");
    assert_eq!(ann.json(&["vault", "show", "work"])["key_version"], 2);

    // --json: what happened, for a script; no recovery code (the old one still works).
    let out = ann.ok(
        &["--json", "keys", "rotate", "--password-stdin"],
        Some(&password),
    );
    let done: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(done["vaults_rotated"], 2, "{done}");
    assert_eq!(done["vaults_due"], 0, "{done}");
    assert_eq!(done["tokens_revoked"], 0, "{done}");
    assert!(done.get("recovery_code").is_none(), "{done}");
    assert_eq!(ann.json(&["vault", "show", "work"])["key_version"], 3);

    // A wrong password: the permission exit code, told why, and nothing moves.
    let out = ann.keyslot(
        &["keys", "rotate", "--password-stdin"],
        Some("not the password at all\n"),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("current password"), "{stderr}");
    assert_eq!(ann.json(&["vault", "show", "work"])["key_version"], 3);
}

#[test]
fn a_token_cannot_rotate_and_revoke_tokens_ends_them() {
    let server = Server::start();
    let ann = server.user("bea");
    ann.ok(&["vault", "create", "work"], None);
    ann.ok(&["item", "set", "work", "db", "hunter2"], None);
    let password = format!("{PASSWORD}\n");
    let token = ann
        .ok(
            &[
                "token",
                "create",
                "--name",
                "ci",
                "--vault",
                "work",
                "--password-stdin",
            ],
            Some(&password),
        )
        .trim()
        .to_owned();
    let mut with_token = server.user("script");
    with_token.token = Some(token);
    let out = with_token.keyslot(&["keys", "rotate", "--password-stdin"], Some(&password));
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keyslot login"), "{stderr}");
    assert_eq!(
        with_token.ok(&["item", "get", "work", "db"], None),
        "hunter2\n"
    );

    let out = ann.ok(
        &[
            "--json",
            "keys",
            "rotate",
            "--revoke-tokens",
            "--password-stdin",
        ],
        Some(&password),
    );
    let done: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(done["tokens_revoked"], 1, "{done}");
    with_token.fails(&["item", "get", "work", "db"], 3);
}

/// An account whose recovery code predates recovery public keys, with a user-key rotation
/// due: `keyslot login` runs it, warns that the code was replaced, and prints the new one
/// (the only one that works now).
#[test]
fn login_prints_the_recovery_code_a_due_rotation_replaced() {
    let server = Server::start();
    let cal = server.user("cal");
    cal.ok(&["item", "set", "Personal", "db", "hunter2"], None);
    server.sql(&[
        "UPDATE recovery_slots SET x25519_public = NULL, x25519_public_mac = NULL",
        "UPDATE users SET user_key_rotation_due_at = 1",
    ]);
    let password = format!("{PASSWORD}\n");
    let out = cal.keyslot(&["login", "cal", "--password-stdin"], Some(&password));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("recovery code was replaced"), "{stderr}");
    assert!(stderr.contains("no longer works"), "{stderr}");
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(
        code.replace('-', "").len(),
        26,
        "one recovery code on stdout: {code}"
    );
    assert_eq!(
        cal.ok(&["item", "get", "Personal", "db"], None),
        "hunter2\n"
    );
    // A second login has nothing due: no code.
    let out = cal.ok(&["login", "cal", "--password-stdin"], Some(&password));
    assert!(out.is_empty(), "{out}");
}
