//! `keyslot vault share|unshare|members` against a real `keyslot serve`: a person shares a
//! vault, the member reads it within the role, and unsharing rotates the key before the
//! command returns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/cli_server.rs"]
mod cli_server;
mod support;

use cli_server::Server;

#[test]
fn the_owner_shares_changes_the_role_and_unshares_and_the_key_rotates() {
    let server = Server::start();
    let ann = server.user("ann");
    let bob = server.user("bob");
    ann.ok(&["vault", "create", "work"], None);
    ann.ok(&["item", "set", "work", "db", "hunter2"], None);

    // Shared read: bob lists it with his role and reads; he cannot write.
    let shared = ann.json(&["vault", "share", "work", "bob", "--role", "read"]);
    assert_eq!(shared["role"], "read");
    let members = ann.json(&["vault", "members", "work"]);
    let names: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["username"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(names, vec![("ann", "owner"), ("bob", "read")]);
    let listed = bob.json(&["vault", "list"]);
    let id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "work")
        .expect("bob lists the shared vault")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(bob.ok(&["item", "get", &id, "db"], None), "hunter2\n");
    assert_eq!(bob.json(&["vault", "show", &id])["role"], "read");
    bob.fails(&["item", "set", &id, "x", "1"], 3);
    // A read member changes no members, and is told why.
    let stderr = bob.fails(&["vault", "share", &id, "ann", "--role", "read"], 3);
    assert!(stderr.contains("owner"), "{stderr}");

    // Sharing again changes the role: bob writes.
    let table = ann.ok(&["vault", "share", "work", "bob", "--role", "write"], None);
    assert!(table.contains("bob") && table.contains("write"), "{table}");
    bob.ok(&["item", "set", &id, "x", "1"], None);

    // Unsharing rotates before it returns; bob reaches nothing.
    let before = ann.json(&["vault", "show", "work"])["key_version"]
        .as_u64()
        .unwrap();
    let out = ann.ok(&["vault", "unshare", "work", "bob"], None);
    assert!(out.contains("rotated"), "{out}");
    assert_eq!(
        ann.json(&["vault", "show", "work"])["key_version"],
        before + 1
    );
    bob.fails(&["item", "get", &id, "db"], 2);
    let stderr = ann.fails(&["vault", "unshare", "work", "bob"], 2);
    assert!(stderr.contains("keyslot vault members"), "{stderr}");
    // A bad role is refused by the command line itself.
    let out = ann.keyslot(&["vault", "share", "work", "bob", "--role", "admin"], None);
    assert!(!out.status.success() && out.stdout.is_empty());
}
