//! The page's input rules (src/policy.rs) against keyslot-core's, on one corpus: the same
//! verdict and message for every password, name and username, so an end-to-end account's
//! page refuses exactly what the server refuses for a server-mode one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyslot_core::policy;
use keyslot_wasm::{name_problem, password_problem, username_problem};

fn passwords() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "short",
        "elevenchars",
        "twelve chars",
        "password1234",
        "Password1234!",
        "keyslotkeyslot",
        "vaultvaultvault",
        "alice-the-user",
        "ALICE-THE-USER",
        "correct horse battery staple",
        "a different long passphrase 7",
        "third passphrase of the day 42",
        "Tr0ub4dor&3xyzzy",
        "qwertyuiopasdfgh",
        "zyxwvutsrqponmlk",
        "mañana déjà vu über straße",
        "пароль пароль пароль",
        "🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("!".repeat(17) + "abcdefghijklmnopqrstuvwxyz");
    v.push("a".repeat(64) + "bcdefghijklmnop");
    v.push("4@8({[<369!1|70$5+%2".repeat(3));
    v.push("plain lowercase words only make a long enough passphrase ".repeat(3));
    v.push("x".repeat(1024));
    v.push("x".repeat(1025));
    v
}

#[test]
fn the_password_policy_is_the_servers() {
    for username in ["alice-the-user", "bob", "keyslot"] {
        for password in passwords() {
            let server = policy::password("password", &password, username).map(|e| e.message);
            assert_eq!(
                password_problem(&password, username),
                server,
                "password {password:?} for {username:?}"
            );
        }
    }
    // The corpus exercises every outcome.
    let outcomes: Vec<_> = passwords()
        .iter()
        .map(|p| password_problem(p, "alice-the-user"))
        .collect();
    assert!(outcomes.iter().any(Option::is_none));
    for start in [
        "must be at least",
        "must be at most",
        "must not be the username",
        "is too easy",
    ] {
        assert!(
            outcomes.iter().flatten().any(|m| m.starts_with(start)),
            "{start}"
        );
    }
}

#[test]
fn the_name_and_username_rules_are_the_servers() {
    let mut names: Vec<String> = [
        "",
        "db/password",
        "Production",
        "a",
        "tab\there",
        "new\nline",
        "invoice\u{202E}fdp.exe",
        "zero\u{200B}width",
        "soft\u{AD}hyphen",
        "line\u{2028}sep",
        "tag\u{E0041}",
        "emoji 🔑",
        "ok.name_with-punct@+",
        "ab",
        "üñí",
        "spa ce",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    names.push("n".repeat(256));
    names.push("n".repeat(257));
    names.push("u".repeat(128));
    names.push("u".repeat(129));
    for name in &names {
        assert_eq!(
            name_problem(name),
            policy::name("name", name).map(|e| e.message),
            "name {name:?}"
        );
        assert_eq!(
            username_problem(name),
            policy::username(name).map(|e| e.message),
            "username {name:?}"
        );
    }
}
