//! End-to-end accounts (docs/END-TO-END.md §2–§5): prelogin, sign-up with the client's
//! keys, login with `auth`, the session's unlock slot, the caller's and other users' key
//! material, and pins. Password change and recovery are in `e2e_recovery`.
//!
//! The client does every key operation; the server checks sizes, its own rules (username,
//! fresh ids, Argon2 parameters within the policy) and hashes (`SHA-256(auth)` against a
//! verifier), then stores what it was sent. Nothing it stores opens the user key: the
//! password slot's envelope is under the client's wrap key, the session's unlock slot
//! under an unlock secret that never leaves the client.

use keyslot_crypto::prelogin::fake_parameters;
use keyslot_crypto::{
    Argon2Params, AuthProof, Envelope, Id, IdentityPublic, PasswordSlot, PublicKey,
    SessionCredential, Signature, Verifier, public_key_mac,
};
use zeroize::Zeroizing;

mod types;

pub use types::{
    E2eLoggedIn, E2eSignup, FirstVault, OwnKeys, PasswordSlotParts, Prelogin, RecoverySlotParts,
    StarTokenKey, UserPublicKeys,
};

use super::{Keyslot, event, now};
use crate::e2e_store::{E2eIdentity, NewE2eAccount, PinRecord};
use crate::keystore::Holder;
use crate::model::{Outcome, RecoveryRecord, SessionRecord, UserRecord, VaultRecord};
use crate::store::{NewLogin, StoreError};
use crate::{ClientActor, Error, Principal, Result, policy};

/// Largest wrapped key or sealed name the server keeps (an envelope of a 32-byte key is
/// under 100 bytes; a sealed vault name of 128 characters under 600).
pub const MAX_ENVELOPE_BYTES: usize = 1024;
/// Ed25519 public keys and pins are 32 bytes; signatures 64.
const KEY_BYTES: usize = 32;
const SIGNATURE_BYTES: usize = 64;
/// The user id a prelogin looks a recovery slot up under when the name has no account
/// (no user has it: ids are random 128-bit values).
pub(super) const NO_USER: Id = Id::from_bytes([0; 16]);

impl Keyslot {
    /// The prelogin: for an end-to-end account, its real salt, parameters and credential
    /// ids; for anything else (unknown, disabled, server-mode) stand-ins computed from the
    /// username under the seal key's prelogin key, with the current target parameters —
    /// the same on every instance and after every restart, so repeating the question
    /// tells nothing (docs/END-TO-END.md §3).
    ///
    /// Every path makes the same store calls (the name, then a recovery slot) and one
    /// seal-key call, so the round trips do not tell an end-to-end account from the rest.
    /// Not rate-limited here: [`Self::prelogin_from`] is what the route calls.
    pub async fn prelogin(&self, username: &str) -> Result<Prelogin> {
        let user = self
            .store
            .user_by_name(username)
            .await?
            .filter(|u| u.disabled_at.is_none());
        // An end-to-end account's answer needs its recovery credential id; every other
        // name asks for a recovery slot too (a server-mode user's own, or none at all for
        // an unknown name) and drops it.
        let recovery = self
            .store
            .recovery(&user.as_ref().map_or(NO_USER, |u| u.id))
            .await?;
        if let Some(user) = user.filter(|u| u.end_to_end) {
            let slot = self.unseal_password_slot(&user).await?;
            let recovery = recovery
                .ok_or_else(|| Error::Internal("end-to-end account without recovery".into()))?;
            return Ok(Prelogin {
                credential_id: user.password_credential,
                salt: *slot.salt(),
                params: *slot.params(),
                recovery_credential_id: recovery.credential_id,
            });
        }
        let name = policy::username_key(username);
        let (salt, credential_id, recovery_credential_id) = self
            .seal_calls
            .run(move |seal| {
                let (salt, credential_id) = fake_parameters(seal, &name)?;
                // The recovery id under its own input: NUL is never part of a username.
                let (_, recovery) = fake_parameters(seal, &format!("{name}\0recovery"))?;
                Ok((salt, credential_id, recovery))
            })
            .await?;
        Ok(Prelogin {
            credential_id,
            salt,
            params: self.config.kdf.target,
            recovery_credential_id,
        })
    }

    /// [`Self::prelogin`] asked from `ip`: admitted first against the source's prelogin
    /// budget (429 with the wait past it), whatever the name.
    pub async fn prelogin_from(&self, username: &str, ip: &str) -> Result<Prelogin> {
        self.admit_prelogin(ip).await?;
        self.prelogin(username).await
    }

    /// End-to-end sign-up: the client sent every slot and key; the server checks the
    /// username, sizes, fresh ids and the Argon2 parameters, seals the password slot as
    /// for any account, MACs the public keys as server mode does, and stores it all in one
    /// transaction. The password policy is the client's (the server never sees it).
    pub async fn signup_e2e(&self, s: E2eSignup, ip: &str) -> Result<Id> {
        self.admit_signup(ip).await?;
        policy::collect([
            policy::username(&s.username),
            self.kdf_params("password", &s.password.params),
            exact("identity_public", &s.identity_public, KEY_BYTES),
            exact("x25519_signature", &s.x25519_signature, SIGNATURE_BYTES),
            exact(
                "vault.public_key_signature",
                &s.vault.public_key_signature,
                SIGNATURE_BYTES,
            ),
            envelope("password.wrapped_user_key", &s.password.wrapped_user_key),
            envelope("recovery.wrapped_user_key", &s.recovery.wrapped_user_key),
            envelope("x25519_wrapped", &s.x25519_wrapped),
            envelope("identity_wrapped", &s.identity_wrapped),
            envelope("vault.wrapped_vault_key", &s.vault.wrapped_vault_key),
            envelope("vault.sealed_name", &s.vault.sealed_name),
            (s.password.credential_id == s.recovery.credential_id).then(|| {
                crate::FieldError::new("recovery.credential_id", "must differ from the password's")
            }),
        ])?;
        policy::collect(signatures(&s))?;
        if self.store.user_by_name(&s.username).await?.is_some() {
            return Err(Error::UsernameTaken);
        }
        // A token's id counts too: a vault's holders are told apart by id alone (review
        // R1 finding 9; a mint refuses a user's id the same way).
        if self.store.user(&s.user_id).await?.is_some()
            || self.store.token(&s.user_id).await?.is_some()
        {
            return Err(Error::Conflict("user_id is taken: generate another"));
        }
        let user = s.user_id;
        let slot = PasswordSlot::from_parts(
            s.password.params,
            s.password.salt,
            s.password.verifier,
            s.password.wrapped_user_key,
        );
        let password_slot = self
            .seal_password_slot(slot, user, s.password.credential_id)
            .await?;
        let x25519_public = s.x25519_public.as_bytes().to_vec();
        let user_public_key_mac = self
            .holder_public_key_mac(Holder::User(user), &user, &x25519_public)
            .await?;
        let recovery_mac = self
            .recovery_key_mac(user, s.recovery.credential_id, s.recovery.x25519_public)
            .await?;
        let vault_id = s.vault.id;
        // The server's MAC binds the first key's public key to the vault for the
        // server-mode checks that read it, as for a vault the client creates later;
        // clients trust the owner's signature instead (END-TO-END §5).
        let vault_public = s.vault.public_key;
        let vault_mac = self
            .seal_calls
            .run(move |seal| {
                Ok(public_key_mac(
                    seal,
                    keyslot_crypto::RecipientKind::Vault,
                    &vault_id,
                    &user,
                    Some(&vault_id),
                    Some(1),
                    &vault_public,
                )?
                .to_vec())
            })
            .await?;
        let at = now();
        let mut audit = event(
            Some(&user),
            "signup",
            "password".into(),
            Outcome::Ok,
            format!("vault={vault_id} mode=end-to-end"),
        );
        audit.ip = Some(ip.to_owned());
        let account = NewE2eAccount {
            user: UserRecord {
                id: user,
                username: s.username.clone(),
                created_at: at,
                password_credential: s.password.credential_id,
                password_slot,
                x25519_public,
                x25519_wrapped: s.x25519_wrapped.to_bytes(),
                failed_logins: 0,
                locked_until: None,
                disabled_at: None,
                end_to_end: true,
            },
            user_public_key_mac,
            identity: E2eIdentity {
                identity_public: s.identity_public,
                identity_wrapped: s.identity_wrapped.to_bytes(),
                x25519_signature: s.x25519_signature,
            },
            recovery: RecoveryRecord {
                user_id: user,
                credential_id: s.recovery.credential_id,
                verifier: s.recovery.verifier.as_bytes().to_vec(),
                wrapped_user_key: s.recovery.wrapped_user_key.to_bytes(),
            },
            recovery_public_key: (s.recovery.x25519_public.as_bytes().to_vec(), recovery_mac),
            vault: VaultRecord {
                id: vault_id,
                user_id: user,
                key_version: 1,
                wrapped_vault_key: s.vault.wrapped_vault_key.to_bytes(),
                name: s.vault.sealed_name.to_bytes(),
                created_at: at,
            },
            vault_public_key: (
                s.vault.public_key.as_bytes().to_vec(),
                s.vault.public_key_signature,
                vault_mac,
            ),
            audit,
        };
        match self.store.create_e2e_account(account).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict) => {
                if self.store.user_by_name(&s.username).await?.is_some() {
                    Err(Error::UsernameTaken)
                } else {
                    Err(Error::Conflict(
                        "user_id or vault.id is taken: generate others",
                    ))
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Log in to an end-to-end account with `auth` (base64url): admitted and counted like
    /// every login, checked against the sealed password slot's verifier in constant time.
    /// `auth` for a server-mode account, or for no account, fails exactly like a wrong
    /// one. The session authenticates only: its slot is empty until the client stores its
    /// unlock slot (`PUT /v1/session/key`).
    pub async fn login_auth(
        &self,
        username: &str,
        auth: &str,
        ip: &str,
        device: Option<&str>,
    ) -> Result<E2eLoggedIn> {
        // Its form is checked before anything is looked up, so a malformed one says
        // nothing about the account.
        let presented = parse_auth("auth", auth)?;
        let (user, admitted) = self.admit_attempt(username, ip, device, false).await?;
        // One seal-key call whatever the name: the account's slot is unsealed (a
        // server-mode account's too, then dropped), a name that is none costs its
        // stand-in MAC. So neither the work nor the round trips tell an end-to-end
        // account from a server-mode one or from no account.
        let slot = match &user {
            Some(user) => Some(self.unseal_password_slot(user).await?),
            None => {
                let name = policy::username_key(username);
                self.seal_calls
                    .run(move |seal| Ok(fake_parameters(seal, &name).map(drop)?))
                    .await?;
                None
            }
        };
        let (user, slot) = match (user, slot) {
            (Some(user), Some(slot)) if user.end_to_end => (user, slot),
            (user, _) => {
                return Err(self
                    .fail_attempt(user.as_ref().map(|u| &u.id), "login", ip)
                    .await);
            }
        };
        if slot.verifier().check(&presented).is_err() {
            return Err(self.fail_attempt(Some(&user.id), "login", ip).await);
        }
        let device_cookie = Zeroizing::new(self.device_cookie(&user.id).await?);
        let session = SessionCredential::generate()?;
        let at = now();
        let expires_at = at + self.config.session_absolute_secs;
        let record = SessionRecord {
            id: *session.id(),
            user_id: user.id,
            verifier: session.unlock().verifier().as_bytes().to_vec(),
            wrapped_user_key: Vec::new(),
            created_at: at,
            last_seen_at: at,
            expires_at,
            end_to_end: true,
        };
        let mut audit = event(
            Some(&user.id),
            "login",
            "password".into(),
            Outcome::Ok,
            format!("session={} mode=end-to-end", session.id()),
        );
        audit.ip = Some(ip.to_owned());
        let login = NewLogin {
            session: record,
            verified_password_slot: user.password_slot.clone(),
            upgraded_password_slot: None,
            max_sessions: self.config.max_sessions_per_user,
            audit,
        };
        match self.store.record_login(login).await {
            Ok(()) => {}
            // The password changed meanwhile: the proof it checked is no longer the account's.
            Err(StoreError::Conflict) => return Err(Error::Unauthorized),
            Err(e) => return Err(e.into()),
        }
        self.attempt_succeeded(&admitted, ip).await;
        Ok(E2eLoggedIn {
            session: session.expose_text(),
            csrf_token: session.csrf_token(),
            expires_at,
            device_cookie,
            user_id: user.id,
            password_credential_id: user.password_credential,
            wrapped_user_key: slot.wrapped_user_key().to_bytes(),
        })
    }

    /// Store this end-to-end session's unlock slot, once (docs/END-TO-END.md §4).
    pub async fn put_session_key(
        &self,
        principal: &Principal,
        unlock_id: Id,
        wrapped_user_key: &Envelope,
    ) -> Result<()> {
        let session = e2e_session(principal)?;
        policy::collect([envelope("wrapped_user_key", wrapped_user_key)])?;
        match self
            .store
            .set_session_unlock(&session, &unlock_id, &wrapped_user_key.to_bytes())
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict) => Err(Error::Conflict(
                "this session already stored its unlock slot: log in again for a new one",
            )),
            Err(StoreError::NotFound) => Err(Error::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }

    /// This end-to-end session's unlock slot: `(unlock_id, wrapped_user_key)`.
    /// A server-mode session has none to give (its slot is under its own credential, and
    /// the server never hands it out): 404, as before an end-to-end session stores one.
    pub async fn session_key(&self, principal: &Principal) -> Result<(Id, Vec<u8>)> {
        any_session(principal)?;
        let Principal::Client {
            actor: ClientActor::Session { session },
            ..
        } = principal
        else {
            return Err(Error::NotFound);
        };
        self.store
            .session_unlock(session)
            .await?
            .ok_or(Error::NotFound)
    }

    /// The caller's mode, with its id and username (`GET /v1/me`).
    pub async fn me_with_mode(&self, principal: &Principal) -> Result<(Id, String, bool)> {
        let user = self
            .store
            .user(principal.user())
            .await?
            .ok_or(Error::Unauthorized)?;
        Ok((user.id, user.username, user.end_to_end))
    }

    /// The caller's own key material (`GET /v1/keys`): a session of either mode; the
    /// identity is an end-to-end account's only.
    pub async fn own_keys(&self, principal: &Principal) -> Result<OwnKeys> {
        any_session(principal)?;
        let user = self
            .store
            .user(principal.user())
            .await?
            .ok_or(Error::Unauthorized)?;
        let identity = if user.end_to_end {
            Some(
                self.store
                    .e2e_identity(&user.id)
                    .await?
                    .ok_or_else(|| Error::Internal("end-to-end account without identity".into()))?,
            )
        } else {
            None
        };
        let recovery = self
            .store
            .recovery(&user.id)
            .await?
            .ok_or_else(|| Error::Internal("account without recovery".into()))?;
        let star_tokens = self.star_token_keys(&user).await?;
        Ok(OwnKeys {
            star_tokens,
            user_id: user.id,
            username: user.username,
            end_to_end: user.end_to_end,
            password_credential_id: user.password_credential,
            recovery_credential_id: recovery.credential_id,
            x25519_public: user.x25519_public,
            x25519_wrapped: user.x25519_wrapped,
            identity,
        })
    }

    /// Another user's public keys, for a session (of either mode) about to share: like
    /// sharing itself, it tells a logged-in user whether a username exists, so it is
    /// counted against the same per-user hourly budget of username look-ups (429 past
    /// it) before the look-up, and audited with ids only. Disabled and unknown users are
    /// both 404.
    pub async fn user_public_keys(
        &self,
        principal: &Principal,
        username: &str,
    ) -> Result<UserPublicKeys> {
        any_session(principal)?;
        self.admit_share_lookup(principal.user(), super::members::SHARE_LOOKUPS_PER_HOUR)
            .await?;
        let found = self
            .store
            .user_by_name(username)
            .await?
            .filter(|u| u.disabled_at.is_none());
        let audit = match &found {
            Some(u) => principal.event("user.keys", Outcome::Ok, format!("user={}", u.id)),
            None => principal.event(
                "user.keys",
                Outcome::Failed,
                "reason=unknown_username".into(),
            ),
        };
        self.store.append_audit(&[audit]).await?;
        let user = found.ok_or(Error::NotFound)?;
        let identity = if user.end_to_end {
            self.store
                .e2e_identity(&user.id)
                .await?
                .map(|i| (i.identity_public, i.x25519_signature))
        } else {
            None
        };
        let star_tokens = self.star_token_keys(&user).await?;
        Ok(UserPublicKeys {
            star_tokens,
            user_id: user.id,
            username: user.username,
            end_to_end: user.end_to_end,
            x25519_public: user.x25519_public,
            identity,
        })
    }

    /// Store (or replace) the caller's pin of `pinned`'s identity key. The server checks
    /// sizes only: the pin is a MAC under a key it does not have.
    pub async fn put_pin(
        &self,
        principal: &Principal,
        pinned: Id,
        identity_public: Vec<u8>,
        pin: Vec<u8>,
    ) -> Result<()> {
        e2e_session(principal)?;
        policy::collect([
            exact("identity_public", &identity_public, KEY_BYTES),
            exact("pin", &pin, KEY_BYTES),
        ])?;
        let audit = principal.event("pin.set", Outcome::Ok, format!("pinned={pinned}"));
        let record = PinRecord {
            user_id: *principal.user(),
            pinned_user_id: pinned,
            identity_public,
            pin,
            updated_at: now(),
        };
        self.store.put_pin(record, audit).await.map_err(Error::from)
    }

    /// The caller's pins.
    /// The caller's pins (a server-mode session has none: it pins nothing).
    pub async fn pins(&self, principal: &Principal) -> Result<Vec<PinRecord>> {
        any_session(principal)?;
        Ok(self.store.pins(principal.user()).await?)
    }

    /// An end-to-end account's live `"*"` tokens with their signed public keys (none for a
    /// server-mode account: its tokens' keys are the server's to seal to). A token without
    /// a signature is left out: no client could verify it, so none would seal to it.
    async fn star_token_keys(&self, user: &UserRecord) -> Result<Vec<StarTokenKey>> {
        if !user.end_to_end {
            return Ok(Vec::new());
        }
        let mut keys = Vec::new();
        for holder in self.store.star_tokens(&user.id, now()).await? {
            let Holder::Token(id) = holder.holder else {
                continue;
            };
            if let Some(signature) = self.store.token_public_key_signature(&id).await? {
                keys.push(StarTokenKey {
                    id,
                    x25519_public: holder.public_key,
                    public_key_signature: signature,
                });
            }
        }
        Ok(keys)
    }

    /// Whether `params` lie within the policy's floor and ceiling (an end-to-end client
    /// hashes with them at every login; below the floor is a cheap hash to attack, above
    /// the ceiling a cost no client should accept).
    pub(super) fn kdf_params(
        &self,
        field: &str,
        params: &Argon2Params,
    ) -> Option<crate::FieldError> {
        self.config.kdf.check(params).err().map(|_| {
            let (floor, ceiling) = (self.config.kdf.floor, self.config.kdf.ceiling);
            crate::FieldError::new(
                format!("{field}.m_cost"),
                format!(
                    "Argon2 parameters must lie between m={} t={} p={} and m={} t={} p={}",
                    floor.m_cost_kib,
                    floor.t_cost,
                    floor.p_cost,
                    ceiling.m_cost_kib,
                    ceiling.t_cost,
                    ceiling.p_cost
                ),
            )
        })
    }

    /// The MAC of a recovery code's public key, as server mode stores beside its slot.
    pub(super) async fn recovery_key_mac(
        &self,
        user: Id,
        credential: Id,
        public_key: PublicKey,
    ) -> Result<Vec<u8>> {
        self.seal_calls
            .run(move |seal| {
                Ok(public_key_mac(
                    seal,
                    keyslot_crypto::RecipientKind::RecoveryCode,
                    &credential,
                    &user,
                    None,
                    None,
                    &public_key,
                )?
                .to_vec())
            })
            .await
    }
}

/// The identity key is a usable Ed25519 key and signs the user's X25519 key and the first
/// vault key's public key. Clients verify these themselves (the server could plant
/// anything); checking them here only stops a broken client from storing an account whose
/// keys no other client would ever accept.
fn signatures(s: &E2eSignup) -> Vec<Option<crate::FieldError>> {
    let Ok(identity) = IdentityPublic::from_slice(&s.identity_public) else {
        return vec![Some(crate::FieldError::new(
            "identity_public",
            "must be an Ed25519 public key (32 bytes, a point of large order)",
        ))];
    };
    let bad = |field: &str| {
        Some(crate::FieldError::new(
            field,
            "does not verify under identity_public",
        ))
    };
    let x25519 = Signature::from_slice(&s.x25519_signature)
        .and_then(|sig| identity.verify_user_x25519(&s.user_id, &s.x25519_public, &sig));
    let vault = Signature::from_slice(&s.vault.public_key_signature)
        .and_then(|sig| identity.verify_vault_key(&s.vault.id, 1, &s.vault.public_key, &sig));
    vec![
        x25519.is_err().then(|| bad("x25519_signature")).flatten(),
        vault
            .is_err()
            .then(|| bad("vault.public_key_signature"))
            .flatten(),
    ]
}

/// The session id of an end-to-end session; anything else is refused (403).
pub(super) fn e2e_session(principal: &Principal) -> Result<Id> {
    match principal {
        Principal::Client {
            actor: ClientActor::Session { session },
            ..
        } => Ok(*session),
        Principal::Session { .. } => Err(Error::Forbidden(
            "this route is for end-to-end accounts; this account is server-mode",
        )),
        _ => Err(Error::Forbidden(
            "this route needs a session, not an API token",
        )),
    }
}

/// A session of either mode, for what needs no key (the account's audit log, another
/// user's public keys); tokens are refused (403).
pub(super) fn any_session(principal: &Principal) -> Result<&Id> {
    match principal {
        Principal::Session { user, .. }
        | Principal::Client {
            user,
            actor: ClientActor::Session { .. },
            ..
        } => Ok(user),
        _ => Err(Error::Forbidden(
            "this route needs a session, not an API token",
        )),
    }
}

/// `auth` as base64url of 32 bytes, as its verifier; a 422 naming `field` otherwise.
pub(super) fn parse_auth(field: &'static str, auth: &str) -> Result<Verifier> {
    AuthProof::from_base64url(Id::from_bytes([0; 16]), auth)
        .map(|proof| proof.verifier())
        .map_err(|_| Error::invalid(field, "must be 32 bytes in base64url (no padding)"))
}

fn exact(field: &str, bytes: &[u8], len: usize) -> Option<crate::FieldError> {
    (bytes.len() != len).then(|| crate::FieldError::new(field, format!("must be {len} bytes")))
}

pub(super) fn envelope(field: &str, e: &Envelope) -> Option<crate::FieldError> {
    (e.to_bytes().len() > MAX_ENVELOPE_BYTES).then(|| {
        crate::FieldError::new(field, format!("must be at most {MAX_ENVELOPE_BYTES} bytes"))
    })
}
