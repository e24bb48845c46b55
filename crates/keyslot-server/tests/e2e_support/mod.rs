//! Helpers of the end-to-end lifecycle tests (`e2e_lifecycle.rs`, `e2e_deposits.rs`): the
//! test plays an end-to-end account's client with `keyslot-crypto` alone — it makes every
//! key, seals every grant and wraps every slot — and the server only stores and checks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyslot_core::Store;
use keyslot_core::e2e_accounts::{E2eSignup, FirstVault, PasswordSlotParts, RecoverySlotParts};
use keyslot_crypto::item::{SealedItem, open_item, seal_item, seal_vault_name};
use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{
    Argon2Params, E2eTokenCredential, Envelope, Id, IdentityKeyPair, KdfPolicy, NameIndexKey,
    Password, PublicKey, RecipientKind, RecoveryCode, RecoveryKeyPair, TokenKeyPair, UserKey,
    UserKeyPair, VaultKey, VaultKeyPair, Wraps, grant_aad, seal_to,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, Auth, Session, TestServer};

pub const PASSWORD: &str = "an end-to-end passphrase 42";
pub const IP: &str = "127.0.0.1";

pub async fn server(postgres: bool, name: &str) -> Option<(TestServer, Arc<dyn Store>)> {
    common::with_store(postgres, name, |_| {}).await
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// A stand-in member-list signature: the server stores it and never checks it (clients
/// do, under the owner's pinned identity), so any 64 bytes exercise it.
pub fn signature() -> String {
    b64(&[7; 64])
}

/// An end-to-end account as its own client knows it.
pub struct Client {
    pub username: String,
    pub user: Id,
    pub uk: UserKey,
    pub pair: UserKeyPair,
    /// The Ed25519 identity: signs the user's keys, its tokens' keys and vault keys.
    pub identity: IdentityKeyPair,
    /// The first vault and its version-1 key.
    pub vault: Id,
    pub vk1: VaultKey,
    pub auth: Auth,
}

impl Client {
    pub fn public(&self) -> PublicKey {
        PublicKey::from_slice(&self.pair.public()).unwrap()
    }
}

/// Sign up an end-to-end account (the sign-up's crypto done here, as a client does; the
/// account made through the use case H3's route calls) and log in with `auth`.
pub async fn e2e_account(s: &TestServer, username: &str) -> Client {
    e2e_account_claiming(s, username, Id::random().unwrap())
        .await
        .unwrap()
}

/// [`e2e_account`] with `user` as the client's chosen user id, and the sign-up's answer.
pub async fn e2e_account_claiming(
    s: &TestServer,
    username: &str,
    user: Id,
) -> keyslot_core::Result<Client> {
    let made = make_signup(username, user);
    s.keyslot.signup_e2e(made.signup, IP).await?;
    let logged_in = s
        .keyslot
        .login_auth(username, &made.auth, IP, None)
        .await
        .unwrap();
    Ok(Client {
        username: username.into(),
        user,
        uk: made.uk,
        pair: made.pair,
        identity: made.identity,
        vault: made.vault,
        vk1: made.vk1,
        auth: Auth::Session(Session {
            cookie: logged_in.session.to_string(),
            csrf: logged_in.csrf_token.to_string(),
            set_cookie: String::new(),
        }),
    })
}

/// What an end-to-end client makes at sign-up — every key its own, [`PASSWORD`] with the
/// default Argon2 parameters, a recovery code, the first vault "Personal" — and the sign-up
/// it sends. The end-to-end test files share it (e2e_data, e2e_review_fixes, the lifecycle
/// tests) so the sign-up is written once.
pub struct MadeSignup {
    pub signup: E2eSignup,
    pub uk: UserKey,
    pub pair: UserKeyPair,
    pub identity: IdentityKeyPair,
    pub vault: Id,
    pub vk1: VaultKey,
    pub code: RecoveryCode,
    pub recovery_id: Id,
    /// The password's proof (base64url), as a login sends it.
    pub auth: String,
}

/// The sign-up an end-to-end client makes for `username` under the user id `user`.
pub fn make_signup(username: &str, user: Id) -> MadeSignup {
    let uk = UserKey::generate().unwrap();
    let params = Argon2Params::OWASP;
    let salt = keyslot_crypto::generate_salt().unwrap();
    let credential_id = Id::random().unwrap();
    let password = Password::new(PASSWORD)
        .unlock_client(params, &salt, credential_id, &KdfPolicy::default())
        .unwrap();
    let code = RecoveryCode::generate().unwrap();
    let recovery_id = Id::random().unwrap();
    let recovery = code.unlock(recovery_id);
    let pair = UserKeyPair::generate().unwrap();
    let identity = IdentityKeyPair::generate().unwrap();
    let x25519_public = PublicKey::from_slice(&pair.public()).unwrap();
    let vault = Id::random().unwrap();
    let vk1 = VaultKey::generate().unwrap();
    let signup = E2eSignup {
        username: username.into(),
        user_id: user,
        password: PasswordSlotParts {
            credential_id,
            salt,
            params,
            verifier: password.auth_proof().verifier(),
            wrapped_user_key: password.wrap_user_key(&user, &uk).unwrap(),
        },
        recovery: RecoverySlotParts {
            credential_id: recovery_id,
            verifier: recovery.auth_proof().verifier(),
            wrapped_user_key: recovery.wrap_user_key(&user, &uk).unwrap(),
            x25519_public: RecoveryKeyPair::derive(&code, &recovery_id).public_key(),
        },
        x25519_public,
        x25519_wrapped: pair.wrap(&uk, &user).unwrap(),
        x25519_signature: identity
            .sign_user_x25519(&user, &x25519_public)
            .as_bytes()
            .to_vec(),
        identity_public: identity.public().as_bytes().to_vec(),
        identity_wrapped: identity.wrap(&uk, &user).unwrap(),
        vault: FirstVault {
            id: vault,
            wrapped_vault_key: uk
                .wrap(&vk1, &vault_key_for_user_aad(&user, &vault, 1))
                .unwrap(),
            sealed_name: Envelope::from_bytes(
                &seal_vault_name(&vk1, &user, &vault, 1, "Personal").unwrap(),
            )
            .unwrap(),
            public_key: VaultKeyPair::derive(&vk1, &vault, 1).public_key(),
            public_key_signature: identity
                .sign_vault_key(
                    &vault,
                    1,
                    &VaultKeyPair::derive(&vk1, &vault, 1).public_key(),
                )
                .as_bytes()
                .to_vec(),
        },
    };
    let auth = password.auth_proof().auth_base64url().to_string();
    MadeSignup {
        signup,
        uk,
        pair,
        identity,
        vault,
        vk1,
        code,
        recovery_id,
        auth,
    }
}

pub fn members_path(vault: &Id) -> String {
    format!("/v1/vaults/{vault}/members")
}

/// The owner's client shares `vault` at `key_version` (key `vk`) with `member`.
pub fn share_body(
    owner: &Client,
    vault: &Id,
    vk: &VaultKey,
    key_version: u32,
    member: &Client,
) -> Value {
    let sealed = seal_to(
        &member.public(),
        vk,
        &grant_aad(
            &owner.user,
            vault,
            key_version,
            RecipientKind::User,
            &member.user,
        ),
    )
    .unwrap();
    json!({
        "username": member.username,
        "role": "write",
        "key_version": key_version,
        "grant": b64(&sealed.to_bytes()),
        "members_signature": signature(),
    })
}

pub async fn holders(s: &TestServer, auth: &Auth, vault: &Id) -> Value {
    let r = s.get(&format!("/v1/vaults/{vault}/holders"), auth).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// An item sealed by a client under `vk` at `key_version`, as `POST …/items` takes it.
/// Signed by `writer`'s identity, as a member's write is (the server checks it).
pub fn item_body(
    writer: &IdentityKeyPair,
    owner: &Id,
    vault: &Id,
    (vk, key_version): (&VaultKey, u32),
    item: &Id,
    name: &str,
    value: &Value,
) -> Value {
    let sealed = seal_item(
        vk,
        owner,
        vault,
        item,
        1,
        key_version,
        name,
        value.to_string().as_bytes(),
    )
    .unwrap();
    json!({
        "id": item.to_string(),
        "version": 1,
        "key_version": key_version,
        "wrapped_item_key": b64(&sealed.wrapped_item_key),
        "sealed_name": b64(&sealed.sealed_name),
        "sealed_value": b64(&sealed.sealed_value),
        "name_index": b64(&NameIndexKey::derive(vk, vault, key_version).index(name)),
        "signature": writer.sign_item(vault, item, 1, &sealed).to_base64(),
    })
}

/// The value of an item as `GET …/items/{item}` returned it, opened with `vk`.
pub fn open_read(body: &Value, owner: &Id, vault: &Id, vk: &VaultKey) -> Option<Value> {
    let sealed = SealedItem {
        wrapped_item_key: unb64(body["wrapped_item_key"].as_str()?),
        sealed_name: unb64(body["sealed_name"].as_str()?),
        sealed_value: unb64(body["sealed_value"].as_str()?),
    };
    let item: Id = body["id"].as_str()?.parse().ok()?;
    let (_, value) = open_item(
        vk,
        owner,
        vault,
        &item,
        body["version"].as_u64()?,
        u32::try_from(body["key_version"].as_u64()?).ok()?,
        &sealed,
    )
    .ok()?;
    serde_json::from_slice(&value).ok()
}

/// A token the owner's client minted: its secret stays here.
pub struct Token {
    pub id: Id,
    pub secret: E2eTokenCredential,
}

impl Token {
    pub fn auth(&self) -> Auth {
        Auth::Token(self.secret.unlock().auth_proof().to_text().to_string())
    }

    pub fn public(&self) -> PublicKey {
        TokenKeyPair::derive(&self.secret).public_key()
    }
}

async fn mint_as(
    s: &TestServer,
    owner: &Client,
    vault: &Id,
    vk: &VaultKey,
    key_version: u32,
    deposit: bool,
) -> Token {
    let (r, token) = mint_claiming(s, owner, vault, vk, key_version, deposit, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    token
}

/// A mint as [`mint`] makes it, but sending `claimed` as the token's id when given (its
/// signature made over that id), and the server's answer whatever it is.
pub async fn mint_claiming(
    s: &TestServer,
    owner: &Client,
    vault: &Id,
    vk: &VaultKey,
    key_version: u32,
    deposit: bool,
    claimed: Option<Id>,
) -> (common::Reply, Token) {
    let secret = E2eTokenCredential::generate().unwrap();
    let unlocked = secret.unlock();
    let id = claimed.unwrap_or(*secret.id());
    let slot = unlocked
        .wrap_vault_key(&owner.user, vault, key_version, vk)
        .unwrap();
    let password = Password::new(PASSWORD);
    let prelogin = s.keyslot.prelogin(&owner.username).await.unwrap();
    let auth = password
        .unlock_client(
            prelogin.params,
            &prelogin.salt,
            prelogin.credential_id,
            &KdfPolicy::default(),
        )
        .unwrap()
        .auth_proof()
        .auth_base64url();
    // Name and name key: any envelopes (the server stores them).
    let placeholder = b64(&owner.pair.wrap(&owner.uk, &owner.user).unwrap().to_bytes());
    let mut body = json!({
        "id": id.to_string(),
        "sealed_name": placeholder,
        "name_key": placeholder,
        "verifier": b64(unlocked.auth_proof().verifier().as_bytes()),
        "x25519_public": b64(TokenKeyPair::derive(&secret).public_key().as_bytes()),
        "public_key_signature": owner
            .identity
            .sign_token_key(&owner.user, &id, &TokenKeyPair::derive(&secret).public_key())
            .to_base64(),
        "vaults": [vault.to_string()],
        "permissions": ["read", "write"],
        "slots": [{"vault": vault.to_string(), "key_version": key_version,
                   "wrapped_vault_key": b64(&slot.to_bytes())}],
        "auth": auth.as_str(),
    });
    if deposit {
        // A deposit token holds no key: no slot.
        body["permissions"] = json!(["deposit"]);
        body["slots"] = json!([]);
    }
    let r = s.post("/v1/tokens", &owner.auth, body).await;
    (r, Token { id, secret })
}

/// A read-write token with a slot of `vault` at `key_version`.
pub async fn mint(
    s: &TestServer,
    owner: &Client,
    vault: &Id,
    vk: &VaultKey,
    key_version: u32,
) -> Token {
    mint_as(s, owner, vault, vk, key_version, false).await
}

/// A deposit token scoped to `vault` (no slot).
pub async fn mint_deposit(s: &TestServer, owner: &Client, vault: &Id) -> Token {
    let placeholder_key = VaultKey::generate().unwrap();
    mint_as(s, owner, vault, &placeholder_key, 1, true).await
}
