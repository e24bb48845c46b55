//! `keyslot vault show` and `keyslot vault rotate` against a real `keyslot serve`: the key
//! version a person sees move, the JSON a script reads, and who is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/cli_server.rs"]
mod cli_server;
mod support;

use cli_server::{PASSWORD, Server};

#[test]
fn the_owner_sees_and_rotates_the_key_version_and_a_token_cannot_rotate() {
    let server = Server::start();
    let ann = server.user("ann");
    ann.ok(&["vault", "create", "work"], None);
    ann.ok(&["item", "set", "work", "db", "hunter2"], None);
    let id = ann
        .json(&["vault", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "work")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let shown = ann.json(&["vault", "show", "work"]);
    assert_eq!(shown["id"], id.as_str());
    assert_eq!(shown["role"], "owner");
    assert_eq!(shown["key_version"], 1);
    assert_eq!(shown["rotation_due"], false);
    let table = ann.ok(&["vault", "show", "work"], None);
    assert!(
        table.contains("KEY VERSION") && table.contains("owner"),
        "{table}"
    );

    // --json is exactly {vault, key_version}, by vault name or id.
    let rotated = ann.json(&["vault", "rotate", "work"]);
    assert_eq!(rotated, serde_json::json!({"vault": id, "key_version": 2}));
    assert_eq!(
        ann.ok(&["vault", "rotate", &id], None),
        "vault work now has key version 3\n"
    );
    assert_eq!(ann.json(&["vault", "show", &id])["key_version"], 3);
    // The item written under version 1 still reads.
    assert_eq!(ann.ok(&["item", "get", "work", "db"], None), "hunter2\n");

    // A token (even its owner's) is refused with the permission exit code and told why;
    // the version does not move.
    let token = ann
        .ok(
            &[
                "token",
                "create",
                "--name",
                "ci",
                "--vault",
                "work",
                "--write",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
        .trim()
        .to_owned();
    let mut script = server.user("script");
    script.token = Some(token.clone());
    let stderr = script.fails(&["vault", "rotate", "work"], 3);
    assert!(
        stderr.contains("owner") && stderr.contains("keyslot login") && !stderr.contains(&token),
        "{stderr}"
    );
    assert_eq!(ann.json(&["vault", "show", "work"])["key_version"], 3);

    // Another user cannot reach the vault; an unknown name says how to find one.
    let bob = server.user("bob");
    bob.fails(&["vault", "rotate", &id], 2);
    let stderr = ann.fails(&["vault", "rotate", "nope"], 2);
    assert!(stderr.contains("keyslot vault list"), "{stderr}");

    // Revoking the token rotates the vault before the command returns: show says so.
    let tokens = ann.json(&["token", "list"]);
    let token_id = tokens[0]["id"].as_str().unwrap().to_owned();
    ann.ok(&["token", "revoke", &token_id], None);
    assert_eq!(ann.json(&["vault", "show", "work"])["key_version"], 4);
}
