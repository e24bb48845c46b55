//! End-to-end accounts (issue 16, docs/END-TO-END.md §2–§5), on SQLite and on PostgreSQL
//! (when `KEYSLOT_TEST_DATABASE_URL` is set; always in CI). The test plays the client with
//! `keyslot-crypto` alone: it makes every slot and key, derives `auth` from the prelogin's
//! answer and opens what the server hands back.
//!
//! What a user or an attacker would notice: the prelogin tells nothing about a username
//! (stand-ins stable across a restart, with the default parameters); `auth` logs in and the
//! wrapped user key it returns opens with the password alone; a wrong `auth`, `auth` for a
//! server-mode account and a password for an end-to-end one all get the same 401; an
//! end-to-end session cannot run server-mode key operations; a password change and a
//! recovery end the old credentials; no row the server keeps opens the user key with
//! anything the server ever saw.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Auth, PASSWORD, Session, TestServer};
use keyslot_core::Store;
use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{
    Aad, Argon2Params, ContentKey, Envelope, Id, IdentityKeyPair, KdfPolicy, Password, PublicKey,
    Purpose, RecoveryCode, RecoveryKeyPair, SessionCredential, UnlockedCredential, UserKey,
    UserKeyPair, VaultKey, Wraps, generate_salt,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const E2E_PASSWORD: &str = "an end-to-end passphrase 42";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < n {
        out.extend_from_slice(&generate_salt().unwrap());
    }
    out.truncate(n);
    out
}

/// What the client keeps of its account.
struct Client {
    username: String,
    user: Id,
    user_key: UserKey,
    vault: Id,
    recovery_code: RecoveryCode,
    recovery_credential: Id,
    password_credential: Id,
    salt: [u8; 16],
    identity_public: Vec<u8>,
}

/// A password slot's parts for `password`, made by the client.
fn password_parts(password: &str, user: &Id, user_key: &UserKey) -> (Value, Id, [u8; 16]) {
    let params = Argon2Params::default();
    let (salt, credential) = (generate_salt().unwrap(), Id::random().unwrap());
    let unlocked = Password::new(password)
        .unlock_client(params, &salt, credential, &KdfPolicy::default())
        .unwrap();
    let parts = json!({
        "credential_id": credential.to_string(),
        "salt": b64(&salt),
        "m_cost": params.m_cost_kib,
        "t_cost": params.t_cost,
        "p_cost": params.p_cost,
        "verifier": b64(unlocked.verifier().as_bytes()),
        "wrapped_user_key": b64(&unlocked.wrap_user_key(user, user_key).unwrap().to_bytes()),
    });
    (parts, credential, salt)
}

/// A new recovery code and its slot's parts.
fn recovery_parts(user: &Id, user_key: &UserKey) -> (Value, RecoveryCode, Id) {
    let code = RecoveryCode::generate().unwrap();
    let credential = Id::random().unwrap();
    let unlocked = code.unlock(credential);
    let parts = json!({
        "credential_id": credential.to_string(),
        "verifier": b64(unlocked.verifier().as_bytes()),
        "wrapped_user_key": b64(&unlocked.wrap_user_key(user, user_key).unwrap().to_bytes()),
        "x25519_public": b64(RecoveryKeyPair::derive(&code, &credential).public_key().as_bytes()),
    });
    (parts, code, credential)
}

/// The sign-up body of a new end-to-end account, and what its client keeps.
fn signup_body(username: &str) -> (Value, Client) {
    signup_body_as(username, Id::random().unwrap())
}

/// [`signup_body`] for a given user id (every signature and AAD binds it).
fn signup_body_as(username: &str, user: Id) -> (Value, Client) {
    let user_key = UserKey::generate().unwrap();
    let (password, password_credential, salt) = password_parts(E2E_PASSWORD, &user, &user_key);
    let (recovery, recovery_code, recovery_credential) = recovery_parts(&user, &user_key);
    let pair = UserKeyPair::generate().unwrap();
    let vault = Id::random().unwrap();
    let vault_key = VaultKey::generate().unwrap();
    let identity = IdentityKeyPair::generate().unwrap();
    let identity_public = identity.public().as_bytes().to_vec();
    let x25519_public = PublicKey::from(pair.public());
    let vault_public = PublicKey::from(UserKeyPair::generate().unwrap().public());
    let name_aad = Aad::new(Purpose::VaultName)
        .user(&user)
        .vault(&vault)
        .key_version(1);
    let body = json!({
        "username": username,
        "end_to_end": true,
        "user_id": user.to_string(),
        "password": password,
        "recovery": recovery,
        "x25519_public": b64(&pair.public()),
        "x25519_wrapped": b64(&pair.wrap(&user_key, &user).unwrap().to_bytes()),
        "x25519_signature": b64(identity.sign_user_x25519(&user, &x25519_public).as_bytes()),
        "identity_public": b64(&identity_public),
        "identity_wrapped": b64(&identity.wrap(&user_key, &user).unwrap().to_bytes()),
        "vault": {
            "id": vault.to_string(),
            "wrapped_vault_key": b64(&user_key.wrap(&vault_key, &vault_key_for_user_aad(&user, &vault, 1)).unwrap().to_bytes()),
            "sealed_name": b64(&vault_key.seal_content(&name_aad, b"Personal").unwrap().to_bytes()),
            "public_key": b64(vault_public.as_bytes()),
            "public_key_signature": b64(identity.sign_vault_key(&vault, 1, &vault_public).as_bytes()),
        },
    });
    let client = Client {
        username: username.to_owned(),
        user,
        user_key,
        vault,
        recovery_code,
        recovery_credential,
        password_credential,
        salt,
        identity_public,
    };
    (body, client)
}

async fn signup(s: &TestServer, username: &str) -> Client {
    let (body, client) = signup_body(username);
    let r = s.post("/v1/signup", &Auth::None, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.str("user_id"), client.user.to_string());
    assert_eq!(r.str("vault_id"), client.vault.to_string());
    assert!(r.body.get("recovery_code").is_none(), "{}", r.text);
    client
}

async fn prelogin(s: &TestServer, username: &str) -> Value {
    let r = s
        .post("/v1/prelogin", &Auth::None, json!({"username": username}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// `auth` of `password`, derived from the prelogin's answer as a client does.
fn auth_for(password: &str, pre: &Value) -> (String, UnlockedCredential) {
    let params = Argon2Params {
        m_cost_kib: u32::try_from(pre["m_cost"].as_u64().unwrap()).unwrap(),
        t_cost: u32::try_from(pre["t_cost"].as_u64().unwrap()).unwrap(),
        p_cost: u32::try_from(pre["p_cost"].as_u64().unwrap()).unwrap(),
    };
    let credential: Id = pre["credential_id"].as_str().unwrap().parse().unwrap();
    let unlocked = Password::new(password)
        .unlock_client(
            params,
            &unb64(pre["salt"].as_str().unwrap()),
            credential,
            &KdfPolicy::default(),
        )
        .unwrap();
    (unlocked.auth_proof().auth_base64url().to_string(), unlocked)
}

async fn login_auth(s: &TestServer, username: &str, auth: &str) -> common::Reply {
    s.post(
        "/v1/login",
        &Auth::None,
        json!({"username": username, "auth": auth}),
    )
    .await
}

fn session_of(r: &common::Reply) -> Auth {
    let set_cookie = r
        .headers
        .get("set-cookie")
        .expect("set-cookie")
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-keyslot=")
        .to_owned();
    Auth::Session(Session {
        cookie,
        csrf: r.str("csrf_token"),
        set_cookie,
    })
}

/// Log in as the client does: prelogin, Argon2id, `auth`; the user key opened from the
/// answer.
async fn login(s: &TestServer, c: &Client, password: &str) -> (Auth, UserKey) {
    let pre = prelogin(s, &c.username).await;
    let (auth, unlocked) = auth_for(password, &pre);
    let r = login_auth(s, &c.username, &auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["end_to_end"], true);
    assert_eq!(r.str("user_id"), c.user.to_string());
    let wrapped = Envelope::from_bytes(&unb64(&r.str("wrapped_user_key"))).unwrap();
    let user_key = unlocked.open_user_key(&c.user, &wrapped).unwrap();
    (session_of(&r), user_key)
}

/// Whether two user keys are the same key: one opens what the other wrapped.
fn same_key(a: &UserKey, b: &UserKey, user: &Id) -> bool {
    let aad = vault_key_for_user_aad(user, user, 7);
    let wrapped = a.wrap(&VaultKey::generate().unwrap(), &aad).unwrap();
    Wraps::<VaultKey>::unwrap_key(b, &wrapped, &aad).is_ok()
}

async fn server(postgres: bool, name: &str) -> Option<(TestServer, Arc<dyn Store>)> {
    common::with_store(postgres, name, |_| {}).await
}

macro_rules! both_backends {
    ($name:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            $name(false).await;
        }
        #[tokio::test]
        async fn $postgres() {
            $name(true).await;
        }
    };
}

async fn sign_up_log_in_and_keep_the_user_key_in_the_client(postgres: bool) {
    let Some((s, store)) = server(postgres, "e2e signup login").await else {
        return;
    };
    let c = signup(&s, "erin").await;

    // The prelogin answers the slot the client made.
    let pre = prelogin(&s, "ERIN").await;
    assert_eq!(pre["credential_id"], c.password_credential.to_string());
    assert_eq!(pre["salt"], b64(&c.salt));
    assert_eq!(
        pre["recovery_credential_id"],
        c.recovery_credential.to_string()
    );
    assert_eq!(pre["m_cost"], 19 * 1024);

    let (session, user_key) = login(&s, &c, E2E_PASSWORD).await;
    assert!(same_key(&user_key, &c.user_key, &c.user));
    let me = s.get("/v1/me", &session).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["end_to_end"], true);

    // The session authenticates only: a server-mode key operation is refused.
    let rotate = s
        .post(
            "/v1/keys/rotate",
            &session,
            json!({"current_password": E2E_PASSWORD}),
        )
        .await;
    rotate.problem(StatusCode::FORBIDDEN);
    assert!(
        rotate.str("detail").contains("end-to-end"),
        "{}",
        rotate.text
    );

    // The unlock slot: stored once, handed back, opened with the client's secret alone.
    assert_eq!(
        s.get("/v1/session/key", &session).await.status,
        StatusCode::NOT_FOUND
    );
    let unlock_id = Id::random().unwrap();
    let secret: [u8; 32] = random_bytes(32).try_into().unwrap();
    let unlock = UnlockedCredential::from_session_unlock(unlock_id, &secret);
    let slot = unlock.wrap_user_key(&c.user, &user_key).unwrap().to_bytes();
    let body = json!({"unlock_id": unlock_id.to_string(), "wrapped_user_key": b64(&slot)});
    let put = s.put("/v1/session/key", &session, body.clone()).await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text);
    s.put("/v1/session/key", &session, body)
        .await
        .problem(StatusCode::CONFLICT);
    let got = s.get("/v1/session/key", &session).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.str("unlock_id"), unlock_id.to_string());
    let reopened = unlock
        .open_user_key(
            &c.user,
            &Envelope::from_bytes(&unb64(&got.str("wrapped_user_key"))).unwrap(),
        )
        .unwrap();
    assert!(same_key(&reopened, &c.user_key, &c.user));

    // Own key material.
    let keys = s.get("/v1/keys", &session).await;
    assert_eq!(keys.status, StatusCode::OK, "{}", keys.text);
    assert_eq!(keys.str("identity_public"), b64(&c.identity_public));
    assert_eq!(
        keys.str("password_credential_id"),
        c.password_credential.to_string()
    );
    assert_eq!(
        keys.str("recovery_credential_id"),
        c.recovery_credential.to_string()
    );
    // No "*" token yet (keyslot-client's e2e_story mints one and sees it here).
    assert_eq!(keys.body["star_tokens"], json!([]));

    // What the server keeps opens nothing: the session row's slot is the client's (the
    // session credential, which the server made, does not open it), and the password
    // slot's envelope is under a wrap key the server never saw.
    let Auth::Session(cookie) = &session else {
        unreachable!()
    };
    let credential = SessionCredential::parse(&cookie.cookie).unwrap();
    let record = store.session(credential.id()).await.unwrap().unwrap();
    assert!(record.end_to_end);
    assert_eq!(record.wrapped_user_key, slot);
    assert!(
        credential
            .unlock()
            .open_user_key(
                &c.user,
                &Envelope::from_bytes(&record.wrapped_user_key).unwrap()
            )
            .is_err(),
        "the session credential opens the user key"
    );
    let user = store.user(&c.user).await.unwrap().unwrap();
    assert!(user.end_to_end);
    // The first vault's public key is stored with the server's MAC, as a vault the client
    // creates later is (server-mode checks read it; clients trust the signature).
    let (public, mac) = store.vault_public_key(&c.vault, 1).await.unwrap().unwrap();
    assert!(public.is_some() && mac.is_some());
    assert!(
        !contains(&user.password_slot, unlock.verifier().as_bytes())
            && !contains(&user.x25519_wrapped, &secret),
        "a row holds a secret of the client"
    );

    // Another user's public keys and a pin of them.
    let other = signup(&s, "frank").await;
    let theirs = s.get("/v1/users/Frank/keys", &session).await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.text);
    assert_eq!(theirs.str("user_id"), other.user.to_string());
    assert_eq!(theirs.body["end_to_end"], true);
    assert_eq!(theirs.str("identity_public"), b64(&other.identity_public));
    s.get("/v1/users/nobody-here/keys", &session)
        .await
        .problem(StatusCode::NOT_FOUND);
    let pin = random_bytes(32);
    let put = s
        .put(
            &format!("/v1/pins/{}", other.user),
            &session,
            json!({"identity_public": b64(&other.identity_public), "pin": b64(&pin)}),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text);
    let pins = s.get("/v1/pins", &session).await;
    assert_eq!(pins.body["pins"][0]["user_id"], other.user.to_string());
    assert_eq!(pins.body["pins"][0]["pin"], b64(&pin));
    s.put(
        &format!("/v1/pins/{}", other.user),
        &session,
        json!({"identity_public": b64(&other.identity_public), "pin": b64(&pin[..16])}),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);

    // The account's audit log reads from an end-to-end session, ids only.
    let log = s.get("/v1/audit?limit=100", &session).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let events = log.body["events"].as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["signup", "login", "pin.set", "user.keys"] {
        assert!(actions.contains(&action), "no {action} in {actions:?}");
    }
    assert!(!log.text.contains("frank") && !log.text.contains(&b64(&pin)));

    // Logout ends the session and its slot.
    let out = s.post("/v1/logout", &session, json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert!(store.session(credential.id()).await.unwrap().is_none());
}
both_backends!(
    sign_up_log_in_and_keep_the_user_key_in_the_client,
    sign_up_log_in_and_keep_the_user_key_in_the_client_sqlite,
    sign_up_log_in_and_keep_the_user_key_in_the_client_postgres
);

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn wrong_and_cross_mode_credentials_answer_alike(postgres: bool) {
    let Some((s, _store)) = server(postgres, "e2e cross mode").await else {
        return;
    };
    let c = signup(&s, "gina").await;
    s.signup("hank").await;

    let pre = prelogin(&s, "gina").await;
    let (wrong, _) = auth_for("not the passphrase at all", &pre);
    let wrong_auth = login_auth(&s, "gina", &wrong).await;
    // `auth` for a server-mode account, derived as a client would from its prelogin.
    let (hank_auth, _) = auth_for(PASSWORD, &prelogin(&s, "hank").await);
    let auth_on_server_mode = login_auth(&s, "hank", &hank_auth).await;
    let password_on_e2e = s.login("gina", E2E_PASSWORD).await;
    let unknown = login_auth(&s, "nobody-at-all", &wrong).await;
    for r in [
        &wrong_auth,
        &auth_on_server_mode,
        &password_on_e2e,
        &unknown,
    ] {
        r.problem(StatusCode::UNAUTHORIZED);
        assert_eq!(r.body, wrong_auth.body, "the 401 bodies differ");
        assert!(r.headers.get("set-cookie").is_none());
    }
    // The right ones still work.
    login(&s, &c, E2E_PASSWORD).await;
    let hank = s.session("hank", PASSWORD).await;
    // A server-mode session sees an end-to-end user's keys (and their mode, which sharing
    // needs); a token sees none.
    let keys = s.get("/v1/users/gina/keys", &hank).await;
    assert_eq!(keys.status, StatusCode::OK, "{}", keys.text);
    assert_eq!(keys.body["end_to_end"], true);
    assert_eq!(keys.str("identity_public"), b64(&c.identity_public));
    let hank_user = s.get("/v1/me", &hank).await;
    assert_eq!(hank_user.body["end_to_end"], false);
    // A server-mode session's own reads: its keys without an identity, no pins, and no
    // unlock slot (its session slot is the server's, never handed out).
    let own = s.get("/v1/keys", &hank).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    assert_eq!(own.body["end_to_end"], false);
    assert!(own.body.get("identity_public").is_none(), "{}", own.text);
    assert_eq!(s.get("/v1/pins", &hank).await.body, json!({"pins": []}));
    s.get("/v1/session/key", &hank)
        .await
        .problem(StatusCode::NOT_FOUND);
    // Nor may it store one: the server-mode session's key stays the server's.
    let unlock = Id::random().unwrap();
    let slot = UnlockedCredential::from_session_unlock(unlock, &[7; 32])
        .wrap_user_key(&unlock, &UserKey::generate().unwrap())
        .unwrap();
    s.put(
        "/v1/session/key",
        &hank,
        json!({"unlock_id": unlock.to_string(), "wrapped_user_key": b64(&slot.to_bytes())}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    let (_, token) = s.mint(&hank, json!("*"), json!(["read"])).await;
    s.get("/v1/users/gina/keys", &Auth::Token(token))
        .await
        .problem(StatusCode::FORBIDDEN);

    // A malformed `auth` is a 422 naming it, before anything is looked up.
    let r = login_auth(&s, "gina", "not base64!").await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["auth"]);

    // A server-mode recovery with an end-to-end account's code: refused like a wrong code
    // (the server would open the user key with it).
    let r = s
        .post(
            "/v1/recover",
            &Auth::None,
            json!({"username": "gina", "recovery_code": c.recovery_code.expose_text().as_str(), "new_password": "whatever new passphrase 9"}),
        )
        .await;
    r.problem(StatusCode::UNAUTHORIZED);
}
both_backends!(
    wrong_and_cross_mode_credentials_answer_alike,
    wrong_and_cross_mode_credentials_answer_alike_sqlite,
    wrong_and_cross_mode_credentials_answer_alike_postgres
);

async fn prelogin_stand_ins_are_stable_and_tell_nothing(postgres: bool) {
    let url = if postgres {
        match keyslot_store_tests::postgres::fresh_database_url("e2e prelogin").await {
            Some(url) => Some(url),
            None => return,
        }
    } else {
        None
    };
    let first_url = url.clone();
    let mut first = TestServer::start_with(|c| c.database_url = first_url).await;
    first.signup("ivan").await;
    let unknown = prelogin(&first, "nobody").await;
    let server_mode = prelogin(&first, "ivan").await;
    for answer in [&unknown, &server_mode] {
        assert_eq!(answer["m_cost"], 19 * 1024);
        assert_eq!(answer["t_cost"], 2);
        assert_eq!(answer["p_cost"], 1);
        assert_eq!(unb64(answer["salt"].as_str().unwrap()).len(), 16);
    }
    assert_ne!(unknown["salt"], server_mode["salt"]);
    assert_ne!(unknown["credential_id"], unknown["recovery_credential_id"]);
    assert_eq!(prelogin(&first, "NOBODY").await, unknown);
    let data_dir = first.data_dir.clone();
    first.stop().await;

    // A restart of the same deployment answers the same.
    let second = TestServer::start_with(move |c| {
        c.database_url = url;
        c.data_dir = data_dir;
    })
    .await;
    assert_eq!(prelogin(&second, "nobody").await, unknown);
    assert_eq!(prelogin(&second, "ivan").await, server_mode);
}
both_backends!(
    prelogin_stand_ins_are_stable_and_tell_nothing,
    prelogin_stand_ins_are_stable_and_tell_nothing_sqlite,
    prelogin_stand_ins_are_stable_and_tell_nothing_postgres
);

async fn password_change_and_recovery_end_the_old_credentials(postgres: bool) {
    let Some((s, _store)) = server(postgres, "e2e password recovery").await else {
        return;
    };
    let c = signup(&s, "judy").await;
    let (session, user_key) = login(&s, &c, E2E_PASSWORD).await;
    let (other_session, _) = login(&s, &c, E2E_PASSWORD).await;
    let old_pre = prelogin(&s, "judy").await;
    let (old_auth, _) = auth_for(E2E_PASSWORD, &old_pre);

    // A wrong current_auth: 403, nothing changes.
    let (wrong, _) = auth_for("not the passphrase at all", &old_pre);
    let (parts, _, _) = password_parts("a second passphrase 77", &c.user, &user_key);
    s.post(
        "/v1/password",
        &session,
        json!({"current_auth": wrong, "password": parts, "end_other_sessions": true}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);

    // Parameters below the floor: 422 naming them.
    let mut cheap = parts.clone();
    cheap["m_cost"] = json!(1024);
    let r = s
        .post(
            "/v1/password",
            &session,
            json!({"current_auth": old_auth, "password": cheap, "end_other_sessions": true}),
        )
        .await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["password.m_cost"]);

    let changed = s
        .post(
            "/v1/password",
            &session,
            json!({"current_auth": old_auth, "password": parts, "end_other_sessions": true}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    assert_eq!(
        s.get("/v1/me", &other_session).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(s.get("/v1/me", &session).await.status, StatusCode::OK);
    login_auth(&s, "judy", &old_auth)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let (_, reopened) = login(&s, &c, "a second passphrase 77").await;
    assert!(same_key(&reopened, &c.user_key, &c.user));

    // Recovery, step one: the code's auth (with the prelogin's recovery id) buys the slot.
    let pre = prelogin(&s, "judy").await;
    assert_eq!(
        pre["recovery_credential_id"],
        c.recovery_credential.to_string()
    );
    let code_auth = c
        .recovery_code
        .unlock(c.recovery_credential)
        .auth_proof()
        .auth_base64url()
        .to_string();
    let wrong_code = RecoveryCode::generate()
        .unwrap()
        .unlock(c.recovery_credential)
        .auth_proof()
        .auth_base64url()
        .to_string();
    s.post(
        "/v1/recover/begin",
        &Auth::None,
        json!({"username": "judy", "auth": wrong_code}),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    let begun = s
        .post(
            "/v1/recover/begin",
            &Auth::None,
            json!({"username": "judy", "auth": code_auth}),
        )
        .await;
    assert_eq!(begun.status, StatusCode::OK, "{}", begun.text);
    let recovered_key = c
        .recovery_code
        .unlock(c.recovery_credential)
        .open_user_key(
            &c.user,
            &Envelope::from_bytes(&unb64(&begun.str("wrapped_user_key"))).unwrap(),
        )
        .unwrap();
    assert!(same_key(&recovered_key, &c.user_key, &c.user));

    // Step two: new password slot and new code; every session ends, the old code dies.
    let (password, _, _) = password_parts("a third passphrase 333", &c.user, &recovered_key);
    let (recovery, new_code, new_credential) = recovery_parts(&c.user, &recovered_key);
    let finished = s
        .post(
            "/v1/recover/finish",
            &Auth::None,
            json!({"username": "judy", "auth": code_auth, "password": password, "recovery": recovery}),
        )
        .await;
    assert_eq!(finished.status, StatusCode::NO_CONTENT, "{}", finished.text);
    assert_eq!(
        s.get("/v1/me", &session).await.status,
        StatusCode::UNAUTHORIZED
    );
    s.post(
        "/v1/recover/begin",
        &Auth::None,
        json!({"username": "judy", "auth": code_auth}),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);
    let (_, after) = login(&s, &c, "a third passphrase 333").await;
    assert!(same_key(&after, &c.user_key, &c.user));
    assert_eq!(
        prelogin(&s, "judy").await["recovery_credential_id"],
        new_credential.to_string()
    );
    let new_auth = new_code
        .unlock(new_credential)
        .auth_proof()
        .auth_base64url()
        .to_string();
    let again = s
        .post(
            "/v1/recover/begin",
            &Auth::None,
            json!({"username": "judy", "auth": new_auth}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
}
both_backends!(
    password_change_and_recovery_end_the_old_credentials,
    password_change_and_recovery_end_the_old_credentials_sqlite,
    password_change_and_recovery_end_the_old_credentials_postgres
);

async fn bad_sign_ups_are_refused_naming_the_field(postgres: bool) {
    let Some((s, store)) = server(postgres, "e2e bad signups").await else {
        return;
    };
    let (mut body, _) = signup_body("kate");
    body["password"]["m_cost"] = json!(8);
    body["x25519_signature"] = json!("@@@");
    let r = s.post("/v1/signup", &Auth::None, body).await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["x25519_signature"]);

    let (mut body, _) = signup_body("kate");
    body["password"]["m_cost"] = json!(8);
    body["identity_public"] = json!(b64(&random_bytes(31)));
    let r = s.post("/v1/signup", &Auth::None, body).await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["password.m_cost", "identity_public"]);

    // Signatures the identity did not make: refused, so no client meets such an account.
    let (mut body, _) = signup_body("kate");
    let (other, _) = signup_body("someone-else");
    body["x25519_signature"] = other["x25519_signature"].clone();
    body["vault"]["public_key_signature"] = other["vault"]["public_key_signature"].clone();
    let r = s.post("/v1/signup", &Auth::None, body).await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.fields(),
        vec!["x25519_signature", "vault.public_key_signature"]
    );
    let (mut body, _) = signup_body("kate");
    body["identity_public"] = json!(b64(&[0; 32]));
    let r = s.post("/v1/signup", &Auth::None, body).await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["identity_public"]);

    let (mut body, _) = signup_body("kate");
    body["unexpected"] = json!(1);
    let r = s.post("/v1/signup", &Auth::None, body).await;
    r.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.fields(), vec!["unexpected"]);
    assert!(store.user_by_name("kate").await.unwrap().is_none());

    // Taken username, taken user id: 409, nothing written.
    let first = signup(&s, "kate").await;
    let (body, _) = signup_body("KATE");
    s.post("/v1/signup", &Auth::None, body)
        .await
        .problem(StatusCode::CONFLICT);
    let (body, _) = signup_body_as("leo", first.user);
    s.post("/v1/signup", &Auth::None, body)
        .await
        .problem(StatusCode::CONFLICT);
    assert!(store.user_by_name("leo").await.unwrap().is_none());
}
both_backends!(
    bad_sign_ups_are_refused_naming_the_field,
    bad_sign_ups_are_refused_naming_the_field_sqlite,
    bad_sign_ups_are_refused_naming_the_field_postgres
);

/// Whole seconds now: admissions are frozen at it, so the back-off's waits are exact.
fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Guessing `auth` online is defended like guessing a password: six wrong ones from one
/// source, at an end-to-end account, a server-mode one and a name that is none, get the
/// same five 401s and the same sixth 429 (body and Retry-After), and then the right
/// `auth` waits too. No `auth` costs an Argon2 run on the server, for any of them; a
/// password sent to an end-to-end account costs one, as a wrong one does anywhere.
async fn guessing_auth_backs_off_like_guessing_a_password(postgres: bool) {
    let Some((s, _store)) = server(postgres, "e2e guessing").await else {
        return;
    };
    let c = signup(&s, "mona").await;
    s.signup("ned").await;
    s.keyslot.freeze_attempt_clock(Some(unix_now()));
    let before = s.keyslot.argon2_runs();
    let wrong = b64(&random_bytes(32));
    let mut sixth = Vec::new();
    for name in ["mona", "ned", "nobody-4b1d"] {
        for n in 1..=5 {
            let r = login_auth(&s, name, &wrong).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name} {n}: {}", r.text);
        }
        let r = login_auth(&s, name, &wrong).await;
        r.problem(StatusCode::TOO_MANY_REQUESTS);
        let retry = r.headers.get("retry-after").expect("Retry-After").clone();
        sixth.push((r.text.clone(), retry));
    }
    assert_eq!(
        sixth[0], sixth[1],
        "an end-to-end and a server-mode account differ"
    );
    assert_eq!(
        sixth[0], sixth[2],
        "an account and a name that is none differ"
    );
    assert_eq!(s.keyslot.argon2_runs(), before, "an auth login ran Argon2");
    // The right auth waits as well: the back-off is the name's from this source.
    let pre = prelogin(&s, "mona").await;
    let (right, _) = auth_for(E2E_PASSWORD, &pre);
    login_auth(&s, "mona", &right)
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS);
    s.keyslot.freeze_attempt_clock(None);
    assert_eq!(s.keyslot.argon2_runs(), before);

    // A password for an end-to-end account: one Argon2, like any wrong password.
    let other = signup(&s, "otto").await;
    let before = s.keyslot.argon2_runs();
    s.login("otto", E2E_PASSWORD)
        .await
        .problem(StatusCode::UNAUTHORIZED);
    assert_eq!(s.keyslot.argon2_runs(), before + 1);
    login(&s, &other, E2E_PASSWORD).await;
    drop(c);
}
both_backends!(
    guessing_auth_backs_off_like_guessing_a_password,
    guessing_auth_backs_off_like_guessing_a_password_sqlite,
    guessing_auth_backs_off_like_guessing_a_password_postgres
);

/// A login with `auth` makes the same seal-key calls for an end-to-end account (a wrong
/// `auth`), a server-mode account and a name that is none, and the same 401: the work
/// does not tell the modes, nor existence, apart.
async fn an_auth_login_costs_the_same_for_every_name(postgres: bool) {
    let seal_calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seal_calls.clone();
    let Some((s, _store)) = common::with_store(postgres, "e2e login shape", move |c| {
        c.core.seal_call_hook = Some(keyslot_core::StrengthCheckHook(Arc::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })));
    })
    .await
    else {
        return;
    };
    signup(&s, "pia").await;
    s.signup("quin").await;
    let wrong = b64(&random_bytes(32));
    let mut costs = Vec::new();
    for name in ["pia", "quin", "nobody-9c2e"] {
        let before = seal_calls.load(std::sync::atomic::Ordering::SeqCst);
        login_auth(&s, name, &wrong)
            .await
            .problem(StatusCode::UNAUTHORIZED);
        costs.push(seal_calls.load(std::sync::atomic::Ordering::SeqCst) - before);
    }
    assert_eq!(costs[0], costs[1], "end-to-end vs server mode: {costs:?}");
    assert_eq!(costs[0], costs[2], "an account vs no account: {costs:?}");
}
both_backends!(
    an_auth_login_costs_the_same_for_every_name,
    an_auth_login_costs_the_same_for_every_name_sqlite,
    an_auth_login_costs_the_same_for_every_name_postgres
);
