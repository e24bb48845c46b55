//! Sign-up, login, session resume, password change and recovery for an end-to-end
//! account (END-TO-END.md §3, §4, §9).
//!
//! The password goes through Argon2id here, with parameters this client checked
//! ([`ParamsCheck`]); only `auth` (the HKDF split's half whose SHA-256 the server stores)
//! is sent. Argon2id runs on the calling thread (tens of milliseconds at the default
//! parameters): callers on a busy async runtime may wrap the call in `spawn_blocking`.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyslot_core::policy;
use keyslot_crypto::identity::IdentityKeyPair;
use keyslot_crypto::pins::PinKey;
use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::x25519::RecoveryKeyPair;
use keyslot_crypto::{
    Argon2Params, Id, Password, RecoveryCode, UnlockedCredential, UserKey, UserKeyPair, VaultKey,
    VaultKeyPair, Wraps,
};
use reqwest::Method;
use zeroize::Zeroizing;

use super::checks::{ParamsCheck, Refusal};
use super::wire::{self, B64, PasswordParts, RecoveryParts, WireId};
use super::{E2eError, E2eResult, check_input};
use crate::{Client, Credential};

/// The name of the vault every account starts with (as in server mode).
pub const DEFAULT_VAULT_NAME: &str = "Personal";

/// What an end-to-end sign-up made. Its `Debug` never shows the recovery code.
pub struct SignedUpE2e {
    /// The new user's id.
    pub user_id: Id,
    /// The first vault ("Personal").
    pub vault_id: Id,
    /// The recovery code, made here and shown once: the server never saw it.
    pub recovery_code: Zeroizing<String>,
    /// The new identity key's fingerprint, for others to confirm before sharing.
    pub fingerprint: String,
    /// The Argon2 parameters the password slot was made with (the CLI remembers them as
    /// the last seen for this username).
    pub params: Argon2Params,
}

impl fmt::Debug for SignedUpE2e {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedUpE2e")
            .field("user_id", &self.user_id)
            .field("vault_id", &self.vault_id)
            .field("recovery_code", &"<redacted>")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// A session's unlock secret (END-TO-END.md §4): an id and 32 random bytes, kept by the
/// client (the CLI's 0600 session file), never sent. It opens the user key the session
/// stores on the server, so a later command needs no password.
pub struct UnlockSecret {
    id: Id,
    secret: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for UnlockSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnlockSecret({}, ***)", self.id)
    }
}

impl UnlockSecret {
    fn generate() -> E2eResult<Self> {
        let mut secret = Zeroizing::new([0u8; 32]);
        getrandom::fill(secret.as_mut()).map_err(|_| keyslot_crypto::Error::Rng)?;
        Ok(Self {
            id: Id::random()?,
            secret,
        })
    }

    fn credential(&self) -> UnlockedCredential {
        UnlockedCredential::from_session_unlock(self.id, &self.secret)
    }

    /// The text to keep in the session file: `<id hex>.<secret base64url>`.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{}.{}",
            self.id,
            URL_SAFE_NO_PAD.encode(self.secret.as_ref())
        ))
    }

    /// Parse [`UnlockSecret::to_text`]'s form. The error names no part of the input.
    pub fn parse(text: &str) -> E2eResult<Self> {
        let malformed = || E2eError::Invalid(vec![("unlock_secret".into(), "is malformed".into())]);
        let (id, secret) = text.trim().split_once('.').ok_or_else(malformed)?;
        let id: Id = id.parse().map_err(|_| malformed())?;
        let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(secret).map_err(|_| malformed())?);
        let mut out = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(malformed());
        }
        out.copy_from_slice(&bytes);
        Ok(Self { id, secret: out })
    }
}

/// A logged-in end-to-end session: the session cookie, and the keys the client opened
/// with the password (or the unlock secret). Dropping it zeroizes the keys.
pub struct E2eSession {
    pub(crate) client: Client,
    pub(crate) user: Id,
    pub(crate) username: String,
    pub(crate) user_key: UserKey,
    pub(crate) identity: IdentityKeyPair,
    pub(crate) pair: UserKeyPair,
    pub(crate) pin_key: PinKey,
    /// Tokens revoked and members removed by this user ([`super::ended`]).
    pub(crate) ended: std::sync::Mutex<super::EndedHolders>,
    /// The highest Argon2 parameters seen for this account (at login, or handed over by
    /// the caller): prelogin's answer for a password change or a token mint may not be
    /// lower (review R1 finding 8).
    pub(crate) params_seen: std::sync::Mutex<Option<Argon2Params>>,
}

impl fmt::Debug for E2eSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("E2eSession")
            .field("user", &self.user)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl E2eSession {
    /// The user's id.
    pub fn user_id(&self) -> &Id {
        &self.user
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The HTTP client, holding the session credential (to persist it, or log out).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// This user's identity fingerprint (5 groups of 8 hex digits), for others to confirm.
    pub fn fingerprint(&self) -> String {
        self.identity.public().fingerprint()
    }

    /// Change the password (END-TO-END.md §9): proves the current one with its `auth`,
    /// sends a new password slot (new salt, the default parameters or the account's if
    /// higher). Other sessions end when `end_other_sessions`. Returns the parameters of
    /// the new slot (the caller remembers them as the last seen).
    pub async fn change_password(
        &self,
        current: &str,
        new: &str,
        end_other_sessions: bool,
    ) -> E2eResult<Argon2Params> {
        check_input([policy::password("new_password", new, &self.username)])?;
        let (prelogin, params) =
            prelogin(&self.client, &self.username, &self.params_check()).await?;
        let current_cred = password_credential(current, &prelogin, params)?;
        let new_params = at_least_default(params);
        let parts = password_parts(new, new_params, &self.user, &self.user_key)?;
        let body = wire::ChangePassword {
            current_auth: current_cred.auth_proof().auth_base64url().to_string(),
            password: parts,
            end_other_sessions,
        };
        self.client
            .send::<serde_json::Value>(Method::POST, "/v1/password", &to_json(&body)?)
            .await?;
        self.params_seen(new_params);
        Ok(new_params)
    }

    /// Raise the Argon2 parameters this session holds as the last seen (the caller's
    /// record, e.g. after a resume); lower ones are ignored.
    pub fn params_seen(&self, seen: Argon2Params) {
        let mut mine = self.params_seen.lock().unwrap_or_else(|p| p.into_inner());
        *mine = Some(match *mine {
            Some(held) => Argon2Params {
                m_cost_kib: held.m_cost_kib.max(seen.m_cost_kib),
                t_cost: held.t_cost.max(seen.t_cost),
                p_cost: held.p_cost.max(seen.p_cost),
            },
            None => seen,
        });
    }

    /// The check for this account's prelogin answers: the floor, the ceiling and the
    /// last parameters seen.
    pub(crate) fn params_check(&self) -> ParamsCheck {
        ParamsCheck::after(*self.params_seen.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Sign up an end-to-end account: every key and slot is made here (END-TO-END.md §9).
/// The password policy and name rules run first, as the server runs them in server mode.
pub async fn signup(client: &Client, username: &str, password: &str) -> E2eResult<SignedUpE2e> {
    check_input([
        policy::username(username),
        policy::password("password", password, username),
    ])?;
    let user = Id::random()?;
    let user_key = UserKey::generate()?;
    let params = Argon2Params::default();
    let password_parts = password_parts(password, params, &user, &user_key)?;
    let (recovery_parts, code) = recovery_parts(&user, &user_key)?;
    let pair = UserKeyPair::generate()?;
    let identity = IdentityKeyPair::generate()?;
    let vault = Id::random()?;
    let vault_key = VaultKey::generate()?;
    let vault_public = VaultKeyPair::derive(&vault_key, &vault, 1).public_key();
    let body = wire::Signup {
        username,
        end_to_end: true,
        user_id: WireId(user),
        password: password_parts,
        recovery: recovery_parts,
        x25519_public: B64::public(&pair.public_key()),
        x25519_wrapped: B64::envelope(&pair.wrap(&user_key, &user)?),
        x25519_signature: super::sig::b64(&identity.sign_user_x25519(&user, &pair.public_key())),
        identity_public: B64::of(identity.public().as_bytes().to_vec()),
        identity_wrapped: B64::envelope(&identity.wrap(&user_key, &user)?),
        vault: wire::NewVault {
            id: WireId(vault),
            wrapped_vault_key: B64::envelope(
                &user_key.wrap(&vault_key, &vault_key_for_user_aad(&user, &vault, 1))?,
            ),
            sealed_name: B64::of(keyslot_crypto::item::seal_vault_name(
                &vault_key,
                &user,
                &vault,
                1,
                DEFAULT_VAULT_NAME,
            )?),
            public_key: B64::public(&vault_public),
            public_key_signature: super::sig::b64(&identity.sign_vault_key(
                &vault,
                1,
                &vault_public,
            )),
            token_grants: Vec::new(),
        },
    };
    let answer: wire::SignedUp = client
        .send(Method::POST, "/v1/signup", &to_json(&body)?)
        .await?;
    if answer.user_id.0 != user || answer.vault_id.0 != vault {
        return Err(Refusal::Mismatch {
            what: "the sign-up answered other ids than the ones sent".into(),
        }
        .into());
    }
    Ok(SignedUpE2e {
        user_id: user,
        vault_id: vault,
        recovery_code: code.expose_text(),
        fingerprint: identity.public().fingerprint(),
        params,
    })
}

/// Log in (END-TO-END.md §3, §4): prelogin, the parameter check, Argon2id, `auth`, then
/// the user key from the password slot; a session unlock slot is stored for later
/// commands. Returns the session, its unlock secret (for the caller to keep beside the
/// session credential) and the parameters seen (to remember as the last seen).
pub async fn login(
    client: &Client,
    username: &str,
    password: &str,
    check: &ParamsCheck,
) -> E2eResult<(E2eSession, UnlockSecret, Argon2Params)> {
    let (prelogin, params) = prelogin(client, username, check).await?;
    let credential = password_credential(password, &prelogin, params)?;
    let body = serde_json::json!({
        "username": username,
        "auth": credential.auth_proof().auth_base64url().as_str(),
    });
    let (logged, headers): (wire::LoggedIn, _) = client
        .call(Method::POST, "/v1/login", Some(&body), None)
        .await?;
    if !logged.end_to_end {
        return Err(Refusal::NotEndToEnd {
            user: username.to_owned(),
        }
        .into());
    }
    if let Some(id) = logged.password_credential_id
        && id.0 != prelogin.credential_id.0
    {
        return Err(Refusal::Mismatch {
            what: "the login's password credential is not prelogin's".into(),
        }
        .into());
    }
    let session = crate::session_cookie(&headers)
        .ok_or_else(|| E2eError::protocol("login answered without a session cookie"))?;
    let session_client = client.with_credential(Credential::Session {
        session: Zeroizing::new(session),
        csrf: Zeroizing::new(logged.csrf_token.clone()),
    });
    let user = logged.user_id.0;
    let wrapped = logged.wrapped_user_key.to_envelope("wrapped_user_key")?;
    let user_key = credential.open_user_key(&user, &wrapped)?;
    let unlock = UnlockSecret::generate()?;
    let slot = wire::SessionKey {
        unlock_id: WireId(unlock.id),
        wrapped_user_key: B64::envelope(&unlock.credential().wrap_user_key(&user, &user_key)?),
    };
    session_client
        .send::<serde_json::Value>(Method::PUT, "/v1/session/key", &to_json(&slot)?)
        .await?;
    let session = open_session(session_client, user, username, user_key).await?;
    session.params_seen(params);
    Ok((session, unlock, params))
}

/// Resume a session from its credential and unlock secret (END-TO-END.md §4): the user
/// key comes from the session's unlock slot, opened here.
pub async fn resume(session_client: &Client, unlock: &UnlockSecret) -> E2eResult<E2eSession> {
    let me = session_client.me().await?;
    let user = wire::parse_id(&me.user_id)
        .ok_or_else(|| E2eError::protocol("/v1/me answered a malformed user id"))?;
    let slot: wire::SessionKey = session_client.get("/v1/session/key").await?;
    if slot.unlock_id.0 != unlock.id {
        return Err(Refusal::Mismatch {
            what: "the session's unlock slot is for another unlock secret".into(),
        }
        .into());
    }
    let wrapped = slot.wrapped_user_key.to_envelope("wrapped_user_key")?;
    let user_key = unlock.credential().open_user_key(&user, &wrapped)?;
    open_session(session_client.clone(), user, &me.username, user_key).await
}

/// The session's own keys (`GET /v1/keys`), opened under the user key: the identity and
/// X25519 private halves are AEAD-bound to the user, so the server cannot swap them; the
/// public halves it sends must be the ones the private halves give.
async fn open_session(
    client: Client,
    user: Id,
    username: &str,
    user_key: UserKey,
) -> E2eResult<E2eSession> {
    let keys: wire::OwnKeys = client.get("/v1/keys").await?;
    if keys.user_id.0 != user {
        return Err(Refusal::Mismatch {
            what: "GET /v1/keys answered another user's keys".into(),
        }
        .into());
    }
    let identity = IdentityKeyPair::open(
        &user_key,
        &user,
        &keys.identity_wrapped.to_envelope("identity_wrapped")?,
    )?;
    if identity.public().as_bytes().as_slice() != keys.identity_public.0.as_slice() {
        return Err(Refusal::Mismatch {
            what: "the identity public key is not the wrapped identity's".into(),
        }
        .into());
    }
    let pair = UserKeyPair::unwrap(
        &user_key,
        &user,
        &keys.x25519_wrapped.to_envelope("x25519_wrapped")?,
    )?;
    if pair.public().as_slice() != keys.x25519_public.0.as_slice() {
        return Err(Refusal::Mismatch {
            what: "the X25519 public key is not the wrapped pair's".into(),
        }
        .into());
    }
    // The server stores the signature over our own X25519 key for others to verify;
    // check it here too, so a wrong one shows at login rather than at someone's share.
    if let Some(signature) = &keys.x25519_signature {
        let signature = super::sig::parse(signature, "x25519_signature")?;
        identity
            .public()
            .verify_user_x25519(&user, &pair.public_key(), &signature)
            .map_err(|_| Refusal::UnverifiedKey {
                what: "this user's own X25519 key".into(),
            })?;
    }
    let pin_key = PinKey::derive(&user_key, &user);
    Ok(E2eSession {
        client,
        user,
        username: username.to_owned(),
        user_key,
        identity,
        pair,
        pin_key,
        ended: Default::default(),
        params_seen: Default::default(),
    })
}

/// A recovery after its first step: the code opened the user key. [`Self::finish`] sets
/// the new password and a new recovery code. Its `Debug` shows no secret.
pub struct RecoveryStarted {
    client: Client,
    username: String,
    user: Id,
    user_key: UserKey,
    auth: Zeroizing<String>,
}

impl fmt::Debug for RecoveryStarted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryStarted")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Recovery, first step (END-TO-END.md §9): the code's `auth` (with prelogin's recovery
/// credential id) → the recovery slot, opened here with the code's wrap key. A user key
/// sealed to the code's public key instead is refused (see the body).
pub async fn recover_begin(
    client: &Client,
    username: &str,
    recovery_code: &str,
) -> E2eResult<RecoveryStarted> {
    let code = RecoveryCode::parse(recovery_code).map_err(|_| {
        E2eError::Invalid(vec![(
            "recovery_code".into(),
            "is not a recovery code (26 characters in groups of four)".into(),
        )])
    })?;
    let (prelogin, _) = prelogin(client, username, &ParamsCheck::default()).await?;
    let credential_id = prelogin
        .recovery_credential_id
        .ok_or_else(|| E2eError::protocol("prelogin gave no recovery credential id"))?
        .0;
    let unlocked = code.unlock(credential_id);
    let auth = unlocked.auth_proof().auth_base64url();
    let body = serde_json::json!({"username": username, "auth": auth.as_str()});
    let begun: wire::RecoveryBegun = client
        .send(Method::POST, "/v1/recover/begin", &body)
        .await?;
    if let Some(id) = begun.recovery_credential_id
        && id.0 != credential_id
    {
        return Err(Refusal::Mismatch {
            what: "the recovery slot is not prelogin's recovery credential".into(),
        }
        .into());
    }
    // A user key sealed to the code's public key is refused, never opened: the public
    // key is public, so anyone — the server included — can seal a key of its choosing to
    // it, and a client that adopted it would wrap its new slots around a key the server
    // knows. Only the slot wrapped under the code's wrap key (which only the code
    // derives) is authentic. End-to-end accounts never get a sealed one (END-TO-END §9).
    if begun.sealed_user_key.is_some() {
        return Err(Refusal::UnverifiedKey {
            what: "a user key sealed to the recovery code's public key (anyone can make one)"
                .into(),
        }
        .into());
    }
    let user = begun.user_id.0;
    let user_key = unlocked.open_user_key(
        &user,
        &begun.wrapped_user_key.to_envelope("wrapped_user_key")?,
    )?;
    Ok(RecoveryStarted {
        client: client.clone(),
        username: username.to_owned(),
        user,
        user_key,
        auth,
    })
}

impl RecoveryStarted {
    /// Recovery, second step: a new password slot and a new recovery code for the same
    /// user key. Returns the new recovery code (shown once) and the new slot's parameters.
    pub async fn finish(self, new_password: &str) -> E2eResult<(Zeroizing<String>, Argon2Params)> {
        check_input([policy::password(
            "new_password",
            new_password,
            &self.username,
        )])?;
        let params = Argon2Params::default();
        let password = password_parts(new_password, params, &self.user, &self.user_key)?;
        let (recovery, code) = recovery_parts(&self.user, &self.user_key)?;
        let body = wire::RecoveryFinish {
            username: &self.username,
            auth: self.auth.to_string(),
            password,
            recovery,
        };
        self.client
            .send::<serde_json::Value>(Method::POST, "/v1/recover/finish", &to_json(&body)?)
            .await?;
        Ok((code.expose_text(), params))
    }
}

/// `POST /v1/prelogin`, with the parameter check.
pub(crate) async fn prelogin(
    client: &Client,
    username: &str,
    check: &ParamsCheck,
) -> E2eResult<(wire::Prelogin, Argon2Params)> {
    let prelogin: wire::Prelogin = client
        .send(
            Method::POST,
            "/v1/prelogin",
            &serde_json::json!({"username": username}),
        )
        .await?;
    let params = Argon2Params {
        m_cost_kib: prelogin.m_cost,
        t_cost: prelogin.t_cost,
        p_cost: prelogin.p_cost,
    };
    check.check(params)?;
    Ok((prelogin, params))
}

/// Argon2id of `password` with prelogin's salt and credential id (parameters already
/// checked; `unlock_client` checks the floor and ceiling again before hashing).
fn password_credential(
    password: &str,
    prelogin: &wire::Prelogin,
    params: Argon2Params,
) -> E2eResult<UnlockedCredential> {
    let salt = prelogin.salt.to_array::<16>("salt")?;
    Ok(Password::new(password).unlock_client(
        params,
        &salt,
        prelogin.credential_id.0,
        &keyslot_crypto::KdfPolicy::default(),
    )?)
}

/// The password's `auth` (base64url) for a proof of the current password.
pub(crate) fn password_auth(
    password: &str,
    prelogin: &wire::Prelogin,
    params: Argon2Params,
) -> E2eResult<Zeroizing<String>> {
    Ok(password_credential(password, prelogin, params)?
        .auth_proof()
        .auth_base64url())
}

/// A new password slot's parts: new credential id, new salt, Argon2id at `params`.
pub(crate) fn password_parts(
    password: &str,
    params: Argon2Params,
    user: &Id,
    user_key: &UserKey,
) -> E2eResult<PasswordParts> {
    let credential_id = Id::random()?;
    let salt = keyslot_crypto::generate_salt()?;
    let unlocked = Password::new(password).unlock_client(
        params,
        &salt,
        credential_id,
        &keyslot_crypto::KdfPolicy::default(),
    )?;
    Ok(PasswordParts {
        credential_id: WireId(credential_id),
        salt: B64::of(salt.to_vec()),
        m_cost: params.m_cost_kib,
        t_cost: params.t_cost,
        p_cost: params.p_cost,
        verifier: B64::of(unlocked.verifier().as_bytes().to_vec()),
        wrapped_user_key: B64::envelope(&unlocked.wrap_user_key(user, user_key)?),
    })
}

/// A new recovery code and its slot's parts (with the code's derived public key).
fn recovery_parts(user: &Id, user_key: &UserKey) -> E2eResult<(RecoveryParts, RecoveryCode)> {
    let code = RecoveryCode::generate()?;
    let credential_id = Id::random()?;
    let unlocked = code.unlock(credential_id);
    let parts = RecoveryParts {
        credential_id: WireId(credential_id),
        verifier: B64::of(unlocked.verifier().as_bytes().to_vec()),
        wrapped_user_key: B64::envelope(&unlocked.wrap_user_key(user, user_key)?),
        x25519_public: B64::public(&RecoveryKeyPair::derive(&code, &credential_id).public_key()),
    };
    Ok((parts, code))
}

/// The default parameters, raised to `seen` wherever it is higher: a password change
/// never lowers an account's cost.
fn at_least_default(seen: Argon2Params) -> Argon2Params {
    let d = Argon2Params::default();
    Argon2Params {
        m_cost_kib: d.m_cost_kib.max(seen.m_cost_kib),
        t_cost: d.t_cost.max(seen.t_cost),
        p_cost: d.p_cost.max(seen.p_cost),
    }
}

pub(crate) fn to_json(body: &impl serde::Serialize) -> E2eResult<serde_json::Value> {
    serde_json::to_value(body).map_err(|e| E2eError::protocol(format!("encoding a body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlock_secret_round_trips_as_text_and_never_prints() {
        let secret = UnlockSecret::generate().unwrap();
        let text = secret.to_text();
        let back = UnlockSecret::parse(&text).unwrap();
        assert_eq!(back.id, secret.id);
        assert_eq!(*back.secret, *secret.secret);
        let shown = format!("{secret:?}");
        let (_, secret_part) = text.split_once('.').unwrap();
        assert!(!shown.contains(secret_part), "{shown}");
        // The same secret opens what it wrapped; another does not.
        let user = Id::random().unwrap();
        let key = UserKey::generate().unwrap();
        let wrapped = secret.credential().wrap_user_key(&user, &key).unwrap();
        let opened = back.credential().open_user_key(&user, &wrapped).unwrap();
        assert_eq!(opened.expose_secret(), key.expose_secret());
        let other = UnlockSecret::generate().unwrap();
        assert!(other.credential().open_user_key(&user, &wrapped).is_err());
        for bad in ["", "x.y", &format!("{}.AAAA", secret.id), "not-an-id.AAAA"] {
            let e = UnlockSecret::parse(bad).unwrap_err();
            assert!(!e.to_string().contains("AAAA"), "{e}");
        }
    }

    #[test]
    fn a_password_change_never_lowers_the_parameters() {
        let high = Argon2Params {
            m_cost_kib: 64 * 1024,
            t_cost: 1,
            p_cost: 4,
        };
        let d = Argon2Params::default();
        assert_eq!(
            at_least_default(high),
            Argon2Params {
                m_cost_kib: 64 * 1024,
                t_cost: d.t_cost,
                p_cost: 4
            }
        );
        assert_eq!(at_least_default(d), d);
    }
}
