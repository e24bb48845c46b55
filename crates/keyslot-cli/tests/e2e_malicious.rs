//! A malicious server against the `keyslot` CLI of an end-to-end account: a proxy
//! (tests/support/rewriting_proxy.rs) rewrites the server's answers — Argon2 parameters
//! below the floor or below the last ones seen, a member's X25519 key or whole identity
//! replaced by the server's own (at sharing, and at rotation after the member was
//! pinned), the pins swapped, a token's or a vault's public key replaced — and the
//! CLI must refuse (a clear message, exit code 3) before it sends what the rewritten
//! answer was meant to get: no `auth` at login, no sealed grant, no rotation, no item.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "support/e2e_harness.rs"]
mod e2e_harness;
#[path = "support/recording_proxy.rs"]
mod recording_proxy;
#[path = "support/rewriting_proxy.rs"]
mod rewriting_proxy;

use std::sync::Arc;

use e2e_harness::{Backend, Recorded, User, base64url, random_key, random_text};
use keyslot_crypto::{Id, IdentityKeyPair};
use rewriting_proxy::{Rewrite, RewritingProxy};
use serde_json::Value;

/// A server, and in front of it the proxy the users talk to: honest until a test
/// turns it malicious.
struct Setup {
    server: Recorded,
    proxy: RewritingProxy,
}

impl Setup {
    fn start(backend: Backend, test: &str) -> Option<Self> {
        let server = Recorded::start(backend, test)?;
        let proxy = RewritingProxy::start(&server.direct);
        Some(Self { server, proxy })
    }

    fn user(&self, name: &str) -> User {
        self.server.user(name).at(&self.proxy.addr)
    }
}

/// Turn the server malicious: `rewrite` from now on.
fn turn(setup: &Setup, rewrite: Arc<Rewrite>) -> &RewritingProxy {
    setup.proxy.set(rewrite);
    &setup.proxy
}

/// An end-to-end account, signed up and logged in while the server is honest.
fn account(setup: &Setup, name: &str) -> (User, String, Value) {
    let user = setup.user(name);
    let password = random_text("pw ");
    let line = format!("{password}\n");
    let signed = user.json(
        &["signup", name, "--end-to-end", "--password-stdin"],
        Some(&line),
    );
    user.ok(&["login", name, "--password-stdin"], Some(&line));
    (user, password, signed)
}

fn refused(stderr: &str) {
    assert!(stderr.contains("refused"), "no refusal in: {stderr}");
}

fn prelogin_with(m_cost: u64) -> Arc<Rewrite> {
    Arc::new(
        move |method: &str, path: &str, status: u16, body: &mut Value| {
            if method == "POST" && path == "/v1/prelogin" && status == 200 {
                body["m_cost"] = Value::from(m_cost);
                return true;
            }
            false
        },
    )
}

fn parameters_below_the_floor_are_refused_before_any_auth_is_sent(backend: Backend) {
    let Some(setup) = Setup::start(backend, "e2e malicious floor") else {
        return;
    };
    let (alice, password, _) = account(&setup, "alice");
    // 8 MiB: below the client's 19 MiB floor, cheap to guess the password from `auth`.
    let evil = &alice;
    let proxy = turn(&setup, prelogin_with(8 * 1024));
    let stderr = evil.fails(
        &["login", "alice", "--password-stdin"],
        Some(&format!("{password}\n")),
        3,
    );
    refused(&stderr);
    assert!(stderr.contains("floor"), "{stderr}");
    assert!(proxy.rewrites() >= 1);
    assert!(proxy.sent("POST", "/v1/prelogin", ""));
    assert!(
        !proxy.sent("POST", "/v1/login", ""),
        "the client sent its auth after refusing the parameters"
    );
    // The honest server's parameters still log in.
    setup.proxy.honest();
    alice.ok(
        &["login", "alice", "--password-stdin"],
        Some(&format!("{password}\n")),
    );
}

fn parameters_below_the_last_seen_are_refused(backend: Backend) {
    let Some(setup) = Setup::start(backend, "e2e malicious last seen") else {
        return;
    };
    let (alice, password, _) = account(&setup, "alice");
    // The account's slot was at 64 MiB when this machine last saw it (recorded in the
    // CLI's accounts file, as a login after an upgrade would have): the server now
    // answers the default, above the floor but a downgrade.
    let file = alice.config.join("accounts.json");
    let mut known: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let accounts = known["accounts"].as_object_mut().unwrap();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    for account in accounts.values_mut() {
        assert_eq!(account["end_to_end"], true);
        account["last_params"]["m_cost_kib"] = Value::from(64 * 1024);
    }
    std::fs::write(&file, serde_json::to_vec(&known).unwrap()).unwrap();
    let evil = &alice;
    let proxy = turn(&setup, Arc::new(|_: &str, _: &str, _, _: &mut Value| false));
    let stderr = evil.fails(
        &["login", "alice", "--password-stdin"],
        Some(&format!("{password}\n")),
        3,
    );
    refused(&stderr);
    assert!(stderr.contains("lower than last time"), "{stderr}");
    assert!(!proxy.sent("POST", "/v1/login", ""));
    // And the flag is not needed for the CLI to know the account is end-to-end: without
    // it, it never sent the password either.
    assert!(
        proxy
            .requests()
            .iter()
            .all(|r| !String::from_utf8_lossy(&r.body).contains(&password)),
        "the password was sent"
    );
}

/// Alice owns a vault; bob is an end-to-end user whose fingerprint alice has.
struct Sharing {
    setup: Setup,
    alice: User,
    alice_password: String,
    vault: String,
    bob_id: Id,
    bob_fingerprint: String,
}

fn sharing(backend: Backend, test: &str) -> Option<Sharing> {
    let setup = Setup::start(backend, test)?;
    let (alice, alice_password, _) = account(&setup, "alice");
    let (bob, _, bob_signed) = account(&setup, "bob");
    let vault = random_text("vault-");
    alice.ok(&["vault", "create", &vault], None);
    alice.ok(
        &["item", "set", &vault, "item-one-canary", "--stdin"],
        Some("v"),
    );
    let bob_fingerprint = bob.json(&["whoami"], None)["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_id = e2e_harness::wire_id(bob_signed["user_id"].as_str().unwrap());
    Some(Sharing {
        setup,
        alice,
        alice_password,
        vault,
        bob_id,
        bob_fingerprint,
    })
}

fn bobs_keys(rewrite: impl Fn(&mut Value) + Send + Sync + 'static) -> Arc<Rewrite> {
    Arc::new(
        move |method: &str, path: &str, status: u16, body: &mut Value| {
            if method == "GET" && path == "/v1/users/bob/keys" && status == 200 {
                rewrite(body);
                return true;
            }
            false
        },
    )
}

fn share_through(s: &Sharing, rewrite: Arc<Rewrite>) -> String {
    let evil = &s.alice;
    let proxy = turn(&s.setup, rewrite);
    let stderr = evil.fails(
        &[
            "vault",
            "share",
            &s.vault,
            "bob",
            "--role",
            "read",
            "--fingerprint",
            &s.bob_fingerprint,
        ],
        None,
        3,
    );
    refused(&stderr);
    assert!(proxy.rewrites() >= 1, "nothing was rewritten");
    assert!(
        !proxy.sent("POST", "/v1/vaults/", "/members"),
        "a grant was sent after the refusal"
    );
    assert!(!proxy.sent("PUT", "/v1/pins/", ""), "a pin was stored");
    stderr
}

fn a_members_key_replaced_by_the_servers_own_gets_no_grant(backend: Backend) {
    let Some(s) = sharing(backend, "e2e malicious member key") else {
        return;
    };
    // The server's own X25519 key, under bob's real identity and signature.
    let key = base64url(&random_key());
    let stderr = share_through(
        &s,
        bobs_keys(move |body| body["x25519_public"] = Value::from(key.clone())),
    );
    assert!(stderr.contains("substituted"), "{stderr}");
    // A whole identity of the server's making, consistent in itself: its signature over
    // its key verifies, but its fingerprint is not the one bob read out.
    let identity = IdentityKeyPair::generate().unwrap();
    let key = random_key();
    let signature = identity
        .sign_user_x25519(&s.bob_id, &keyslot_crypto::x25519::PublicKey::from(key))
        .to_base64();
    let public = base64url(identity.public().as_bytes());
    let stderr = share_through(
        &s,
        bobs_keys(move |body| {
            body["identity_public"] = Value::from(public.clone());
            body["x25519_public"] = Value::from(base64url(&key));
            body["x25519_signature"] = Value::from(signature.clone());
        }),
    );
    assert!(stderr.contains("fingerprint"), "{stderr}");
    // Through the honest server, the same command shares.
    s.setup.proxy.honest();
    s.alice.ok(
        &[
            "vault",
            "share",
            &s.vault,
            "bob",
            "--role",
            "read",
            "--fingerprint",
            &s.bob_fingerprint,
        ],
        None,
    );
}

fn holders_with(kind: &'static str) -> Arc<Rewrite> {
    let key = base64url(&random_key());
    Arc::new(
        move |method: &str, path: &str, status: u16, body: &mut Value| {
            if method != "GET" || !path.ends_with("/holders") || status != 200 {
                return false;
            }
            let mut changed = false;
            for holder in body["holders"].as_array_mut().into_iter().flatten() {
                if holder["kind"] == kind {
                    holder["public_key"] = Value::from(key.clone());
                    changed = true;
                }
            }
            changed
        },
    )
}

fn a_tokens_or_members_key_replaced_is_refused_at_rotation(backend: Backend) {
    let Some(s) = sharing(backend, "e2e malicious token key") else {
        return;
    };
    s.alice.ok(
        &[
            "vault",
            "share",
            &s.vault,
            "bob",
            "--role",
            "read",
            "--fingerprint",
            &s.bob_fingerprint,
        ],
        None,
    );
    for kind in ["user", "token"] {
        if kind == "token" {
            mint_token(&s);
        }
        let evil = &s.alice;
        let proxy = turn(&s.setup, holders_with(kind));
        let stderr = evil.fails(&["vault", "rotate", &s.vault], None, 3);
        refused(&stderr);
        assert!(stderr.contains("substituted"), "{stderr}");
        assert!(proxy.rewrites() >= 1, "no {kind} holder was rewritten");
        assert!(
            !proxy.sent("POST", "/v1/vaults/", "/rotate"),
            "a rotation with a grant to the server's {kind} key was sent"
        );
    }
    // A whole identity of the server's making for bob, consistent in itself (its
    // signature over its key verifies under the identity it presents): refused, because
    // alice pinned bob's real identity when she shared with him.
    let identity = IdentityKeyPair::generate().unwrap();
    let key = random_key();
    let bob = s.bob_id;
    let forged = Value::from(
        identity
            .sign_user_x25519(&bob, &keyslot_crypto::x25519::PublicKey::from(key))
            .to_base64(),
    );
    let public = Value::from(base64url(identity.public().as_bytes()));
    let key = Value::from(base64url(&key));
    let proxy = turn(
        &s.setup,
        Arc::new(
            move |method: &str, path: &str, status: u16, body: &mut Value| {
                if method != "GET" || !path.ends_with("/holders") || status != 200 {
                    return false;
                }
                let mut changed = false;
                for holder in body["holders"].as_array_mut().into_iter().flatten() {
                    if holder["user_id"].as_str().map(e2e_harness::wire_id) == Some(bob)
                        && holder["kind"] == "user"
                    {
                        holder["identity_public"] = public.clone();
                        holder["public_key"] = key.clone();
                        holder["signature"] = forged.clone();
                        changed = true;
                    }
                }
                changed
            },
        ),
    );
    let stderr = s.alice.fails(&["vault", "rotate", &s.vault], None, 3);
    refused(&stderr);
    assert!(stderr.contains("not the one pinned earlier"), "{stderr}");
    assert!(
        proxy.rewrites() >= 1,
        "bob's holder entry was not rewritten"
    );
    assert!(!proxy.sent("POST", "/v1/vaults/", "/rotate"));
    // The server drops the pins (or swaps bob's for its identity): a pin is a MAC under
    // alice's user key, so it cannot make one that checks.
    let public = Value::from(base64url(
        IdentityKeyPair::generate().unwrap().public().as_bytes(),
    ));
    let proxy = turn(
        &s.setup,
        Arc::new(
            move |method: &str, path: &str, status: u16, body: &mut Value| {
                if method != "GET" || path != "/v1/pins" || status != 200 {
                    return false;
                }
                for pin in body["pins"].as_array_mut().into_iter().flatten() {
                    pin["identity_public"] = public.clone();
                }
                true
            },
        ),
    );
    let stderr = s.alice.fails(&["vault", "rotate", &s.vault], None, 3);
    refused(&stderr);
    assert!(stderr.contains("pinned earlier"), "{stderr}");
    assert!(proxy.rewrites() >= 1);
    assert!(!proxy.sent("POST", "/v1/vaults/", "/rotate"));

    // Through the honest server, the same rotation goes through.
    s.setup.proxy.honest();
    let rotated = s.alice.json(&["vault", "rotate", &s.vault], None);
    assert_eq!(rotated["key_version"], 2, "{rotated}");
}

/// A token on alice's vault.
fn mint_token(s: &Sharing) {
    s.alice.ok(
        &[
            "token",
            "create",
            "--name",
            "a-token-on-the-vault",
            "--vault",
            &s.vault,
            "--password-stdin",
        ],
        Some(&format!("{}\n", s.alice_password)),
    );
}

fn a_vaults_public_key_replaced_is_refused(backend: Backend) {
    let Some(setup) = Setup::start(backend, "e2e malicious vault key") else {
        return;
    };
    let (alice, _, _) = account(&setup, "alice");
    let vault = random_text("vault-");
    alice.ok(&["vault", "create", &vault], None);
    let key = base64url(&random_key());
    let rewrite: Arc<Rewrite> = Arc::new(
        move |method: &str, path: &str, status: u16, body: &mut Value| {
            if method != "GET" || !path.starts_with("/v1/vaults") || status != 200 {
                return false;
            }
            let mut changed = false;
            let mut replace = |v: &mut Value| {
                if v.get("public_key").is_some() {
                    v["public_key"] = Value::from(key.clone());
                    changed = true;
                }
            };
            match body.get_mut("vaults").and_then(Value::as_array_mut) {
                Some(vaults) => vaults.iter_mut().for_each(&mut replace),
                None => replace(body),
            }
            changed
        },
    );
    let evil = &alice;
    let proxy = turn(&setup, rewrite);
    let stderr = evil.fails(&["item", "set", &vault, "an-item-name", "--stdin"], None, 3);
    refused(&stderr);
    // Refused either because the key does not derive from the vault key, or because it
    // is not signed by the owner's identity: both name the vault's key.
    assert!(
        stderr.contains("vault")
            && (stderr.contains("public key") || stderr.contains("substituted")),
        "{stderr}"
    );
    assert!(proxy.rewrites() >= 1);
    assert!(
        !proxy.sent("POST", "/v1/vaults/", "/items"),
        "an item was written to a vault whose key the server replaced"
    );
}

#[test]
fn sqlite_parameters_below_the_floor_are_refused_before_any_auth_is_sent() {
    parameters_below_the_floor_are_refused_before_any_auth_is_sent(Backend::Sqlite);
}

#[test]
fn sqlite_parameters_below_the_last_seen_are_refused() {
    parameters_below_the_last_seen_are_refused(Backend::Sqlite);
}

#[test]
fn sqlite_a_members_key_replaced_by_the_servers_own_gets_no_grant() {
    a_members_key_replaced_by_the_servers_own_gets_no_grant(Backend::Sqlite);
}

#[test]
fn sqlite_a_tokens_or_members_key_replaced_is_refused_at_rotation() {
    a_tokens_or_members_key_replaced_is_refused_at_rotation(Backend::Sqlite);
}

#[test]
fn sqlite_a_vaults_public_key_replaced_is_refused() {
    a_vaults_public_key_replaced_is_refused(Backend::Sqlite);
}

#[test]
fn postgres_a_members_key_replaced_by_the_servers_own_gets_no_grant() {
    a_members_key_replaced_by_the_servers_own_gets_no_grant(Backend::Postgres);
}

#[test]
fn postgres_a_tokens_or_members_key_replaced_is_refused_at_rotation() {
    a_tokens_or_members_key_replaced_is_refused_at_rotation(Backend::Postgres);
}
