//! The server-side findings of security review R1 of end-to-end mode, each played as the
//! attacker would, on SQLite and on PostgreSQL:
//!
//! 1. an end-to-end token's `kse_` secret relabelled as `kst_` (the prefix is under a CRC,
//!    not a MAC) must not be a server-mode token: it is a disclosure (403, revoked, audited),
//!    and the server never generates the next key of an end-to-end vault itself;
//! 2. `/v1/recover/begin` never hands out a user key sealed to the code's public key;
//! 3. prelogin asks the store the same questions for every name, and is rate-limited;
//! 4. a server-mode `/v1/recover` aimed at an end-to-end account is audited under it.
//!
//! The test plays the end-to-end client with keyslot-crypto directly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod e2e_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Auth, Session, TestServer};
use keyslot_core::e2e_accounts::E2eSignup;
use keyslot_core::{Config, Keyslot, Principal, Store, StrengthCheckHook, TokenAccess};
use keyslot_crypto::item::ItemPlace;
use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{
    E2eTokenCredential, Envelope, Id, IdentityKeyPair, KdfPolicy, LocalSealKey, NameIndexKey,
    Password, RecoveryCode, RecoveryKeyPair, TokenCredential, TokenKeyPair, UserKey, VaultKey,
    Wraps,
};
use keyslot_store_tests::{Gate, Gated};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "an end-to-end passphrase 42";
const IP: &str = "127.0.0.1";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(value.as_str().expect("a base64url string"))
        .unwrap()
}

/// The server's database, for what the attacker plants below the API.
enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn execute(&self, sql: &'static str, a: Vec<u8>, b: Vec<u8>) {
        match self {
            Self::Sqlite(pool) => {
                sqlx::query(sql)
                    .bind(a)
                    .bind(b)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            Self::Postgres(pool) => {
                sqlx::query(sql)
                    .bind(a)
                    .bind(b)
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
    }
}

/// A server on SQLite or on a fresh PostgreSQL database (`None`: PostgreSQL is not
/// configured and this is not CI), tuned by `tune`, and its database.
async fn server(
    postgres: bool,
    name: &str,
    tune: impl FnOnce(&mut keyslot_server::ServerConfig),
) -> Option<(TestServer, Db)> {
    let url = if postgres {
        Some(keyslot_store_tests::postgres::fresh_database_url(name).await?)
    } else {
        None
    };
    let s = TestServer::start_with(|c| {
        c.database_url = url.clone();
        tune(c);
    })
    .await;
    let db = match &url {
        Some(url) => Db::Postgres(sqlx::PgPool::connect(url).await.unwrap()),
        None => Db::Sqlite(s.db().await),
    };
    Some((s, db))
}

/// An end-to-end account as its client knows it.
struct Owner {
    username: String,
    user: Id,
    uk: UserKey,
    identity: IdentityKeyPair,
    vault: Id,
    vk1: VaultKey,
    code: RecoveryCode,
    recovery_id: Id,
    auth: Auth,
}

/// The sign-up a client makes for `username` (every key its own), with the first vault.
fn signup_parts(username: &str) -> (E2eSignup, Owner, String) {
    let made = e2e_support::make_signup(username, Id::random().unwrap());
    let owner = Owner {
        username: username.into(),
        user: made.signup.user_id,
        uk: made.uk,
        identity: made.identity,
        vault: made.vault,
        vk1: made.vk1,
        code: made.code,
        recovery_id: made.recovery_id,
        auth: Auth::None,
    };
    (made.signup, owner, made.auth)
}

/// Sign up an end-to-end account on `keyslot` and log in.
async fn e2e_account(keyslot: &Keyslot, username: &str) -> Owner {
    let (signup, mut owner, auth) = signup_parts(username);
    keyslot.signup_e2e(signup, IP).await.unwrap();
    let logged_in = keyslot.login_auth(username, &auth, IP, None).await.unwrap();
    owner.auth = Auth::Session(Session {
        cookie: logged_in.session.to_string(),
        csrf: logged_in.csrf_token.to_string(),
        set_cookie: String::new(),
    });
    owner
}

/// The owner's client writes a signed item `name` = `value` into its first vault.
async fn write_item(s: &TestServer, owner: &Owner, name: &str, value: &str) -> Id {
    let item = Id::random().unwrap();
    let place = ItemPlace {
        owner: owner.user,
        vault: owner.vault,
        item,
        version: 1,
        key_version: 1,
    };
    let sealed = place.seal(&owner.vk1, name, value.as_bytes()).unwrap();
    let index = NameIndexKey::derive(&owner.vk1, &owner.vault, 1).index(name);
    let body = json!({
        "id": item.to_string(),
        "version": 1,
        "key_version": 1,
        "wrapped_item_key": b64(&sealed.wrapped_item_key),
        "sealed_name": b64(&sealed.sealed_name),
        "sealed_value": b64(&sealed.sealed_value),
        "name_index": b64(&index),
        "signature": b64(owner.identity.sign_item(&owner.vault, &item, 1, &sealed).as_bytes()),
    });
    let r = s
        .post(
            &format!("/v1/vaults/{}/items", owner.vault),
            &owner.auth,
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    item
}

/// A read-write token the owner's client mints for its first vault (slot at version 1).
async fn mint(s: &TestServer, owner: &Owner) -> E2eTokenCredential {
    let secret = E2eTokenCredential::generate().unwrap();
    let unlocked = secret.unlock();
    let public = TokenKeyPair::derive(&secret).public_key();
    let slot = unlocked
        .wrap_vault_key(&owner.user, &owner.vault, 1, &owner.vk1)
        .unwrap();
    let pre = s.keyslot.prelogin(&owner.username).await.unwrap();
    let auth = Password::new(PASSWORD)
        .unlock_client(
            pre.params,
            &pre.salt,
            pre.credential_id,
            &KdfPolicy::default(),
        )
        .unwrap()
        .auth_proof()
        .auth_base64url()
        .to_string();
    let aad = |purpose| {
        keyslot_crypto::Aad::new(purpose)
            .user(&owner.user)
            .credential(keyslot_crypto::CredentialKind::Token, secret.id())
    };
    let name_key = keyslot_crypto::ItemKey::generate().unwrap();
    let name = keyslot_crypto::ContentKey::seal_content(
        &name_key,
        &aad(keyslot_crypto::Purpose::TokenName),
        b"ci deploy",
    )
    .unwrap();
    let wrapped_name_key = owner
        .uk
        .wrap(&name_key, &aad(keyslot_crypto::Purpose::TokenNameKey))
        .unwrap();
    let body = json!({
        "id": secret.id().to_string(),
        "sealed_name": b64(&name.to_bytes()),
        "name_key": b64(&wrapped_name_key.to_bytes()),
        "verifier": b64(unlocked.auth_proof().verifier().as_bytes()),
        "x25519_public": b64(public.as_bytes()),
        "public_key_signature": b64(owner.identity.sign_token_key(&owner.user, secret.id(), &public).as_bytes()),
        "vaults": [owner.vault.to_string()],
        "permissions": ["read", "write"],
        "slots": [{"vault": owner.vault.to_string(), "key_version": 1,
                   "wrapped_vault_key": b64(&slot.to_bytes())}],
        "auth": auth,
    });
    let r = s.post("/v1/tokens", &owner.auth, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    secret
}

/// The `ksa_` proof a token's client sends.
fn proof(secret: &E2eTokenCredential) -> Auth {
    Auth::Token(secret.unlock().auth_proof().to_text().to_string())
}

/// The attacker's relabelling: the same id and secret under the `kst_` prefix, with the
/// CRC recomputed (the prefix is under a checksum only).
fn relabelled(secret: &E2eTokenCredential) -> TokenCredential {
    TokenCredential::from_parts(*secret.id(), *secret.expose_secret())
}

fn kst(token: &TokenCredential) -> Auth {
    Auth::Token(token.expose_text().to_string())
}

async fn vault_state(s: &TestServer, owner: &Owner) -> Value {
    let r = s
        .get(&format!("/v1/vaults/{}", owner.vault), &owner.auth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

// ---- 1. a kse_ relabelled as kst_ -------------------------------------------------------

async fn a_relabelled_secret_is_a_disclosure(postgres: bool) {
    let Some((s, _db)) = server(postgres, "review_fix_relabel", |_| {}).await else {
        return;
    };
    let alice = e2e_account(&s.keyslot, "alice").await;
    let item = write_item(&s, &alice, "deploy/key", "\"k1\"").await;
    let item_path = format!("/v1/vaults/{}/items/{item}", alice.vault);
    let reader = mint(&s, &alice).await;
    let lister = mint(&s, &alice).await;
    let r = s.get(&item_path, &proof(&reader)).await;
    assert_eq!(r.status, StatusCode::OK, "its ksa_ proof reads: {}", r.text);
    assert!(r.body.get("value").is_none(), "envelopes only: {}", r.text);

    // Naming the token's id with a wrong secret as kst_ revokes nothing: the usual 401.
    let forged = TokenCredential::from_parts(*reader.id(), [7; 32]);
    s.get(&item_path, &kst(&forged))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    s.get("/v1/vaults", &kst(&forged))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.get(&item_path, &proof(&reader)).await.status,
        StatusCode::OK
    );

    // The real secret as kst_, on the one-query item read: no plaintext, 403, revoked.
    let r = s.get(&item_path, &kst(&relabelled(&reader))).await;
    r.problem(StatusCode::FORBIDDEN);
    assert!(!r.text.contains("k1"), "no plaintext: {}", r.text);
    s.get(&item_path, &proof(&reader))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    // Again as kst_: the token is gone, so a plain 401 now.
    s.get(&item_path, &kst(&relabelled(&reader)))
        .await
        .problem(StatusCode::UNAUTHORIZED);

    // On any other route (the general token path): 403, revoked, and no item written by
    // the server under a key it would have unwrapped or generated.
    let r = s
        .post(
            &format!("/v1/vaults/{}/items", alice.vault),
            &kst(&relabelled(&lister)),
            json!({"name": "planted", "value": "by the server"}),
        )
        .await;
    r.problem(StatusCode::FORBIDDEN);
    s.get("/v1/vaults", &proof(&lister))
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let r = s
        .get(&format!("/v1/vaults/{}/items", alice.vault), &alice.auth)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.text);

    // Both audited as disclosures; the vault is due for its client to rotate, and still
    // at the version its owner made.
    let r = s.get("/v1/audit?action=token.disclosed", &alice.auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["events"].as_array().unwrap().len(), 2, "{}", r.text);
    let state = vault_state(&s, &alice).await;
    assert_eq!(state["rotation_due"], true, "{state}");
    assert_eq!(state["key_version"], 1, "{state}");

    // A server-mode account's kst_ token is what it always was.
    let bob = s.signup("bob").await;
    let session = s.session("bob", common::PASSWORD).await;
    let (_, token) = s
        .mint(&session, json!([bob.vault]), json!(["read", "write"]))
        .await;
    let id = s
        .create_item(&session, &bob.vault, "db/url", json!("postgres://"))
        .await;
    let r = s
        .get(
            &format!("/v1/vaults/{}/items/{id}", bob.vault),
            &Auth::Token(token.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["value"], "postgres://");
    assert_eq!(
        s.get("/v1/vaults", &Auth::Token(token)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_relabelled_secret_is_a_disclosure_sqlite() {
    a_relabelled_secret_is_a_disclosure(false).await;
}

#[tokio::test]
async fn a_relabelled_secret_is_a_disclosure_postgres() {
    a_relabelled_secret_is_a_disclosure(true).await;
}

/// Below the routes: even a token principal the server somehow built for an end-to-end
/// account's token (here by hand, as the relabelled `kst_` once did) cannot make the
/// server generate the next key of a due end-to-end vault and seal it to the holders.
async fn the_server_never_rotates_an_end_to_end_vault(postgres: bool) {
    let Some((s, _db)) = server(postgres, "review_fix_no_server_rotation", |_| {}).await else {
        return;
    };
    let alice = e2e_account(&s.keyslot, "alice").await;
    let token = mint(&s, &alice).await;
    // Another token's secret reached the server: revoked, the vault due.
    let other = mint(&s, &alice).await;
    s.get("/v1/vaults", &Auth::Token(other.expose_text().to_string()))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert_eq!(vault_state(&s, &alice).await["rotation_due"], true);

    let as_kst = relabelled(&token);
    let principal = Principal::Token {
        user: alice.user,
        token: *token.id(),
        access: TokenAccess {
            credential: as_kst.unlock(),
            all_vaults: false,
        },
        secret: as_kst,
        can_write: true,
        deposit: false,
        ip: None,
    };
    // A write to the due vault would run the server-mode rotation first.
    let written = s
        .keyslot
        .create_item(&principal, &alice.vault, "planted", &json!("by the server"))
        .await;
    assert!(
        matches!(written, Err(keyslot_core::Error::Forbidden(_))),
        "{written:?}"
    );
    let state = vault_state(&s, &alice).await;
    assert_eq!(state["key_version"], 1, "no key the server made: {state}");
    assert_eq!(state["rotation_due"], true, "{state}");
}

#[tokio::test]
async fn the_server_never_rotates_an_end_to_end_vault_sqlite() {
    the_server_never_rotates_an_end_to_end_vault(false).await;
}

#[tokio::test]
async fn the_server_never_rotates_an_end_to_end_vault_postgres() {
    the_server_never_rotates_an_end_to_end_vault(true).await;
}

// ---- 2 and 4. recovery ------------------------------------------------------------------

async fn recovery_hands_out_only_the_code_slot(postgres: bool) {
    let Some((s, db)) = server(postgres, "review_fix_recovery", |_| {}).await else {
        return;
    };
    let alice = e2e_account(&s.keyslot, "alice").await;
    // Someone with the database plants a user key of their own, sealed to the code's
    // public key (public in the database): anyone can seal to a public key.
    let planted = UserKey::generate().unwrap();
    let sealed = keyslot_crypto::seal_to(
        &RecoveryKeyPair::derive(&alice.code, &alice.recovery_id).public_key(),
        &planted,
        &keyslot_crypto::user_key_grant_aad(&alice.user, &alice.recovery_id),
    )
    .unwrap();
    db.execute(
        "UPDATE recovery_slots SET sealed_user_key = $1 WHERE user_id = $2",
        sealed.to_bytes(),
        alice.user.as_bytes().to_vec(),
    )
    .await;

    let auth = alice
        .code
        .unlock(alice.recovery_id)
        .auth_proof()
        .auth_base64url()
        .to_string();
    let r = s
        .post(
            "/v1/recover/begin",
            &Auth::None,
            json!({"username": "alice", "auth": auth}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body.get("sealed_user_key").is_none(),
        "a sealed user key is never handed out: {}",
        r.text
    );
    // What it hands out is the slot the code opens, holding the real user key.
    let opened = alice
        .code
        .unlock(alice.recovery_id)
        .open_user_key(
            &alice.user,
            &Envelope::from_bytes(&unb64(&r.body["wrapped_user_key"])).unwrap(),
        )
        .unwrap();
    let aad = vault_key_for_user_aad(&alice.user, &alice.vault, 9);
    let wrapped = alice.uk.wrap(&VaultKey::generate().unwrap(), &aad).unwrap();
    assert!(Wraps::<VaultKey>::unwrap_key(&opened, &wrapped, &aad).is_ok());
}

#[tokio::test]
async fn recovery_hands_out_only_the_code_slot_sqlite() {
    recovery_hands_out_only_the_code_slot(false).await;
}

#[tokio::test]
async fn recovery_hands_out_only_the_code_slot_postgres() {
    recovery_hands_out_only_the_code_slot(true).await;
}

/// The server-mode recovery with an end-to-end account's code: the same 401 as ever,
/// audited under that account like any failed recovery of it (its owner sees it).
async fn a_server_mode_recovery_attempt_is_audited_under_the_account(postgres: bool) {
    let Some((s, _db)) = server(postgres, "review_fix_recover_audit", |_| {}).await else {
        return;
    };
    let alice = e2e_account(&s.keyslot, "alice").await;
    let r = s
        .post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "alice", "recovery_code": alice.code.expose_text().as_str(),
                   "new_password": "a server-mode password 1234"}),
        )
        .await;
    r.problem(StatusCode::UNAUTHORIZED);
    let r = s.get("/v1/audit?action=recover", &alice.auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let events = r.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", r.text);
    assert_eq!(events[0]["outcome"], "failed", "{}", r.text);
}

#[tokio::test]
async fn a_server_mode_recovery_attempt_is_audited_under_the_account_sqlite() {
    a_server_mode_recovery_attempt_is_audited_under_the_account(false).await;
}

#[tokio::test]
async fn a_server_mode_recovery_attempt_is_audited_under_the_account_postgres() {
    a_server_mode_recovery_attempt_is_audited_under_the_account(true).await;
}

// ---- 3. prelogin ------------------------------------------------------------------------

async fn prelogin_is_rate_limited_per_source(postgres: bool) {
    let Some((s, _db)) = server(postgres, "review_fix_prelogin_limit", |c| {
        c.core.prelogins_per_minute = 3;
    })
    .await
    else {
        return;
    };
    s.keyslot.freeze_attempt_clock(Some(1_800_000_000));
    let _alice = e2e_account(&s.keyslot, "alice").await;
    s.signup("bob").await;
    for name in ["alice", "bob", "nobody"] {
        let r = s
            .post("/v1/prelogin", &Auth::None, json!({"username": name}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // The fourth from this address, whatever the name: 429 with the wait.
    for name in ["alice", "nobody"] {
        let r = s
            .post("/v1/prelogin", &Auth::None, json!({"username": name}))
            .await;
        r.problem(StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
    }
    // A minute later the budget is back.
    s.keyslot.freeze_attempt_clock(Some(1_800_000_061));
    let r = s
        .post("/v1/prelogin", &Auth::None, json!({"username": "alice"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn prelogin_is_rate_limited_per_source_sqlite() {
    prelogin_is_rate_limited_per_source(false).await;
}

#[tokio::test]
async fn prelogin_is_rate_limited_per_source_postgres() {
    prelogin_is_rate_limited_per_source(true).await;
}

/// What one prelogin asks: store look-ups by name, recovery-slot look-ups, attempt
/// admissions and seal-key calls.
#[derive(Debug, PartialEq, Eq)]
struct Asked {
    by_name: usize,
    recovery: usize,
    admissions: usize,
    seal_calls: usize,
}

async fn prelogin_asks_the_same_for_every_name(postgres: bool) {
    let url = if postgres {
        match keyslot_store_tests::postgres::fresh_database_url("review_fix_prelogin_shape").await {
            Some(url) => url,
            None => return,
        }
    } else {
        String::new()
    };
    let dir = tempfile::tempdir().unwrap();
    let url = if postgres {
        url
    } else {
        format!("sqlite://{}", dir.path().join("keyslot.db").display())
    };
    let inner: Arc<dyn Store> = Arc::new(
        keyslot_store::open(&url, keyslot_store::Schema::Migrate)
            .await
            .unwrap(),
    );
    let gated = Arc::new(Gated::new(inner, 1, &[]));
    let seal_calls = Arc::new(AtomicUsize::new(0));
    let counter = seal_calls.clone();
    let keyslot = Keyslot::open(
        gated.clone(),
        Arc::new(LocalSealKey::generate().unwrap()),
        Config {
            sweep_interval_secs: 0,
            seal_call_hook: Some(StrengthCheckHook(Arc::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }))),
            ..Config::default()
        },
    )
    .await
    .unwrap();
    let (signup, _, _) = signup_parts("erin");
    keyslot.signup_e2e(signup, IP).await.unwrap();
    keyslot
        .signup("sam", Password::new("a server-mode passphrase 99"), IP)
        .await
        .unwrap();

    let mut asked = Vec::new();
    for name in ["erin", "sam", "nobody"] {
        for gate in [Gate::UserByName, Gate::Recovery, Gate::AdmitAttempt] {
            gated.before(gate, usize::MAX, || Box::pin(async { None }));
        }
        let before = seal_calls.load(Ordering::SeqCst);
        keyslot.prelogin_from(name, IP).await.unwrap();
        asked.push(Asked {
            by_name: gated.disarm(Gate::UserByName),
            recovery: gated.disarm(Gate::Recovery),
            admissions: gated.disarm(Gate::AdmitAttempt),
            seal_calls: seal_calls.load(Ordering::SeqCst) - before,
        });
    }
    // The same questions whatever the name (an end-to-end account's prelogin once cost
    // an extra recovery look-up)...
    assert_eq!(asked[1], asked[0], "server mode vs end-to-end");
    assert_eq!(asked[2], asked[0], "no account vs end-to-end");
    // ...and these: one admission against the source's budget first, then the name.
    let expected = Asked {
        by_name: 1,
        recovery: 1,
        admissions: 1,
        seal_calls: 1,
    };
    for (name, asked) in ["erin (end-to-end)", "sam (server mode)", "nobody"]
        .iter()
        .zip(&asked)
    {
        assert_eq!(asked, &expected, "prelogin of {name}");
    }
    // And the answers have one shape: the end-to-end account's real ids, stand-ins else.
    let real = keyslot.prelogin("erin").await.unwrap();
    let stand_in = keyslot.prelogin("nobody").await.unwrap();
    assert_ne!(real.recovery_credential_id, stand_in.recovery_credential_id);
    assert_eq!(real.params, stand_in.params);
}

#[tokio::test]
async fn prelogin_asks_the_same_for_every_name_sqlite() {
    prelogin_asks_the_same_for_every_name(false).await;
}

#[tokio::test]
async fn prelogin_asks_the_same_for_every_name_postgres() {
    prelogin_asks_the_same_for_every_name(true).await;
}
