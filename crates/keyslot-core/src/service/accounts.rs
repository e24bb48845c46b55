//! Accounts and sessions: sign-up, login, session authentication, logout, password change,
//! recovery, and the account's audit log.

use std::net::IpAddr;

use keyslot_crypto::slot::password::{Argon2Memory, derive_with};
use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, Password, PasswordSlot, Purpose, RecoveryCode,
    SessionCredential, UserKey, UserKeyPair, VaultKey, Verifier, Wraps,
};
use subtle::ConstantTimeEq;

use super::views::{AuditEntry, LoggedIn, SignedUp};
use super::{Keyslot, event, now};
use crate::model::{AuditEvent, Outcome, RecoveryRecord, SessionRecord, UserRecord, VaultRecord};
use crate::store::{NewAccount, NewLogin, StoreError};
use crate::{Error, Principal, Result, policy};

/// The name of the vault every account starts with.
pub const DEFAULT_VAULT_NAME: &str = "Personal";

/// A session is touched in the store at most this often.
const TOUCH_INTERVAL_SECS: i64 = 60;

impl Keyslot {
    /// Sign up: user key, default vault, X25519 pair, password and recovery slots. One
    /// Argon2id. Returns the recovery code, to be shown once.
    /// `ip` is the client's address, for the audit event.
    pub async fn signup(&self, username: &str, password: Password, ip: &str) -> Result<SignedUp> {
        // Counted per source before any work: sign-ups cost an Argon2 and a strength check,
        // and a flood of throwaway accounts is a flood of rows.
        self.admit_signup(ip).await?;
        let strength = self
            .password_strength("password", &password, username)
            .await?;
        policy::collect([policy::username(username), strength])?;
        if self.store.user_by_name(username).await?.is_some() {
            return Err(Error::UsernameTaken);
        }
        let (user, password_credential) = (Id::random()?, Id::random()?);
        let user_key = UserKey::generate()?;
        let (slot, user_key) = self
            .hash(password, move |password, kdf, memory| {
                let slot = PasswordSlot::create_with(
                    memory,
                    &password,
                    &kdf,
                    &user,
                    password_credential,
                    &user_key,
                );
                (slot, user_key)
            })
            .await?;
        let password_slot = self
            .seal_password_slot(slot?, user, password_credential)
            .await?;

        let (recovery, code) = new_recovery(&user, &user_key)?;
        let pair = UserKeyPair::generate()?;
        // The user public key's MAC, computed before the account exists and inserted with
        // the user's row: no user is stored without it (docs/SECURITY.md).
        let user_public_key_mac = self
            .holder_public_key_mac(crate::keystore::Holder::User(user), &user, &pair.public())
            .await?;
        let vault = new_vault(&user, &user_key, DEFAULT_VAULT_NAME)?;
        let vault_id = vault.id;
        let at = now();
        let account = NewAccount {
            user: UserRecord {
                id: user,
                username: username.to_owned(),
                created_at: at,
                password_credential,
                password_slot,
                x25519_public: pair.public().to_vec(),
                x25519_wrapped: pair.wrap(&user_key, &user)?.to_bytes(),
                failed_logins: 0,
                locked_until: None,
                disabled_at: None,
                end_to_end: false,
            },
            user_public_key_mac: Some(user_public_key_mac),
            recovery,
            vault,
            audit: AuditEvent {
                ip: Some(ip.to_owned()),
                ..event(
                    Some(&user),
                    "signup",
                    "password".into(),
                    Outcome::Ok,
                    format!("vault={vault_id}"),
                )
            },
        };
        match self.store.create_account(account).await {
            Err(StoreError::Conflict) => Err(Error::UsernameTaken),
            other => other.map_err(Error::from),
        }?;
        self.publish_recovery_public_key(&user, &code).await;
        Ok(SignedUp {
            user_id: user,
            vault_id,
            recovery_code: code.expose_text(),
        })
    }

    /// Log in with a password: the attempt is admitted (counted) first, then one Argon2id,
    /// then a new session and a fresh known-device cookie. `device` is the device cookie
    /// the client presented, if any: it exempts the owner's browser from the per-username
    /// ceiling (`attempts`).
    pub async fn login(
        &self,
        username: &str,
        password: Password,
        ip: &str,
        device: Option<&str>,
    ) -> Result<LoggedIn> {
        let (user, admitted) = self.admit_attempt(username, ip, device, false).await?;
        let Some(user) = user else {
            // Unknown user: spend the same Argon2 as a real check so timing tells nothing.
            self.hash(password, |password, kdf, memory| {
                let _ = derive_with(
                    memory,
                    &password,
                    &[0; 16],
                    &kdf.target,
                    Id::from_bytes([0; 16]),
                );
            })
            .await?;
            return Err(self.fail_attempt(None, "login", ip).await);
        };
        if user.end_to_end {
            // A password never opens an end-to-end account (its slot checks `auth`): the
            // same Argon2 and the same answer as a wrong password.
            let uid = user.id;
            self.hash(password, move |password, kdf, memory| {
                let _ = derive_with(memory, &password, &[0; 16], &kdf.target, uid);
            })
            .await?;
            return Err(self.fail_attempt(Some(&user.id), "login", ip).await);
        }
        // A due user-key rotation runs here, with the password, before anything else. It is
        // decided before the Argon2 run, which it shares: a wrong password costs one run and
        // fails exactly as at a login with nothing due, and changes nothing.
        let rotation_due = self.store.user_key_rotation_due(&user.id, now()).await?;
        let new_user_key = if rotation_due {
            Some(UserKey::generate()?)
        } else {
            None
        };
        let slot = self.unseal_password_slot(&user).await?;
        let (uid, cred) = (user.id, user.password_credential);
        let (opened, rewritten) = self
            .hash(password, move |password, kdf, memory| {
                let opened = slot.unlock_with(memory, &password, &kdf, &uid, cred);
                let rewritten = match (&opened, new_user_key) {
                    // Due: the slot is made again, for the new user key (at today's policy).
                    (Ok(_), Some(new)) => {
                        PasswordSlot::create_with(memory, &password, &kdf, &uid, cred, &new)
                            .ok()
                            .map(|slot| (slot, Some(new)))
                    }
                    // Policy rose since this slot was written: rewrite it at the new target.
                    (Ok(uk), None) if kdf.needs_upgrade(slot.params()) => {
                        PasswordSlot::create_with(memory, &password, &kdf, &uid, cred, uk)
                            .ok()
                            .map(|slot| (slot, None))
                    }
                    _ => None,
                };
                (opened, rewritten)
            })
            .await?;
        let mut user_key = match opened {
            Ok(key) => key,
            Err(keyslot_crypto::Error::WrongCredential) => {
                return Err(self.fail_attempt(Some(&user.id), "login", ip).await);
            }
            Err(other) => return Err(other.into()),
        };
        let mut user = user;
        let mut upgraded = None;
        let mut recovery_code = None;
        match rewritten {
            Some((slot, Some(new))) => {
                let sealed = self
                    .seal_password_slot(slot, user.id, user.password_credential)
                    .await?;
                match self
                    .rotate_at_login(&user, &user_key, new, sealed, ip)
                    .await
                {
                    Ok((rotated, new, code)) => {
                        (user, user_key, recovery_code) = (rotated, new, code);
                    }
                    // Not now (a concurrent change): it stays due for the next login.
                    Err(e) => {
                        tracing::warn!(error = %e, "the due user-key rotation did not run at login");
                    }
                }
            }
            Some((slot, None)) => {
                upgraded = Some(
                    self.seal_password_slot(slot, user.id, user.password_credential)
                        .await?,
                );
            }
            None => {}
        }
        // Made before anything is written: a seal key that cannot MAC fails the login here.
        let device_cookie = zeroize::Zeroizing::new(self.device_cookie(&user.id).await?);
        let session = SessionCredential::generate()?;
        let unlocked = session.unlock();
        let at = now();
        let expires_at = at + self.config.session_absolute_secs;
        let record = SessionRecord {
            id: *session.id(),
            user_id: user.id,
            verifier: unlocked.verifier().as_bytes().to_vec(),
            wrapped_user_key: unlocked.wrap_user_key(&user.id, &user_key)?.to_bytes(),
            created_at: at,
            last_seen_at: at,
            expires_at,
            end_to_end: false,
        };
        let mut audit = event(
            Some(&user.id),
            "login",
            "password".into(),
            Outcome::Ok,
            format!("session={}", session.id()),
        );
        audit.ip = Some(ip.to_owned());
        let login = NewLogin {
            session: record,
            verified_password_slot: user.password_slot.clone(),
            upgraded_password_slot: upgraded,
            max_sessions: self.config.max_sessions_per_user,
            audit,
        };
        match self.store.record_login(login).await {
            Ok(()) => {}
            // The password changed (or was recovered) while this login ran Argon2: the
            // password it verified is no longer the account's, so it yields nothing.
            Err(StoreError::Conflict) => return Err(Error::Unauthorized),
            Err(e) => return Err(e.into()),
        }
        self.attempt_succeeded(&admitted, ip).await;
        self.grant_missing_star_slots(user.id, *session.id(), user_key, ip)
            .await;
        Ok(LoggedIn {
            session: session.expose_text(),
            csrf_token: session.csrf_token(),
            expires_at,
            device_cookie,
            recovery_code,
        })
    }

    /// Authenticate a `kss_…` session credential (from the cookie) presented from `ip`.
    pub async fn authenticate_session(&self, text: &str, ip: Option<IpAddr>) -> Result<Principal> {
        let credential = SessionCredential::parse(text).map_err(|_| Error::Unauthorized)?;
        let record = self
            .store
            .session(credential.id())
            .await?
            .ok_or(Error::Unauthorized)?;
        let at = now();
        if at >= record.expires_at || at >= record.last_seen_at + self.config.session_idle_secs {
            return Err(Error::Unauthorized);
        }
        let unlocked = credential.unlock();
        unlocked
            .check(&Verifier::from_slice(&record.verifier)?)
            .map_err(|_| Error::Unauthorized)?;
        if at - record.last_seen_at >= TOUCH_INTERVAL_SECS {
            self.store.touch_session(&record.id, at).await?;
        }
        // An end-to-end account's session authenticates only: its slot is the client's
        // unlock slot, which the server cannot open (docs/END-TO-END.md §4).
        if record.end_to_end {
            return Ok(Principal::Client {
                user: record.user_id,
                actor: crate::ClientActor::Session { session: record.id },
                ip,
            });
        }
        let user_key = unlocked.open_user_key(
            &record.user_id,
            &Envelope::from_bytes(&record.wrapped_user_key)?,
        )?;
        Ok(Principal::Session {
            user: record.user_id,
            session: record.id,
            user_key,
            ip,
        })
    }

    /// Whether `presented` is the CSRF token of the session `session_text`; constant time.
    pub fn csrf_matches(session_text: &str, presented: &str) -> bool {
        let Ok(credential) = SessionCredential::parse(session_text) else {
            return false;
        };
        bool::from(
            credential
                .csrf_token()
                .as_bytes()
                .ct_eq(presented.as_bytes()),
        )
    }

    /// The CSRF token of the session `session_text`, for pages that embed it in forms.
    pub fn csrf_token(session_text: &str) -> Option<zeroize::Zeroizing<String>> {
        SessionCredential::parse(session_text)
            .ok()
            .map(|c| c.csrf_token())
    }

    /// Log out: the session row goes; its slot with it.
    pub async fn logout(&self, principal: &Principal) -> Result<()> {
        let (Principal::Session { session, .. }
        | Principal::Client {
            actor: crate::ClientActor::Session { session },
            ..
        }) = principal
        else {
            return Err(Error::Forbidden(
                "this route needs a session, not an API token",
            ));
        };
        let audit = principal.event("logout", Outcome::Ok, String::new());
        self.store
            .delete_session(session, audit)
            .await
            .map_err(Error::from)
    }

    /// The caller's user id and username.
    pub async fn me(&self, principal: &Principal) -> Result<(Id, String)> {
        let user = self
            .store
            .user(principal.user())
            .await?
            .ok_or(Error::Unauthorized)?;
        Ok((user.id, user.username))
    }

    /// Change the password: needs the current one; re-wraps the user key only (no data is
    /// touched, tokens keep working); ends the other sessions unless asked not to.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: Password,
        new: Password,
        end_other_sessions: bool,
        revoke_tokens: bool,
    ) -> Result<()> {
        let (user_id, _) = principal.require_session()?;
        let Principal::Session { session, .. } = principal else {
            return Err(Error::Unauthorized);
        };
        let user = self.store.user(user_id).await?.ok_or(Error::Unauthorized)?;
        policy::collect([self
            .password_strength("new_password", &new, &user.username)
            .await?])?;
        let slot = self.unseal_password_slot(&user).await?;
        // The current password is guessed like a login, so it is counted like one.
        let ip = principal
            .ip()
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let admitted = self
            .admit_confirmation(principal, &user, "password.change", &ip)
            .await?;
        let (uid, cred) = (user.id, user.password_credential);
        let new_slot = match self
            .hash(current, move |current, kdf, memory| {
                let user_key = slot.unlock_with(memory, &current, &kdf, &uid, cred)?;
                PasswordSlot::create_with(memory, &new, &kdf, &uid, cred, &user_key)
            })
            .await?
        {
            Ok(slot) => slot,
            Err(keyslot_crypto::Error::WrongCredential) => {
                self.audit_failure(principal, "password.change", "wrong current_password", &ip)
                    .await?;
                return Err(Error::Forbidden("the current password is wrong"));
            }
            Err(other) => return Err(other.into()),
        };
        let sealed = self
            .seal_password_slot(new_slot, user.id, user.password_credential)
            .await?;
        let audit = principal.event(
            "password.change",
            Outcome::Ok,
            format!("end_other_sessions={end_other_sessions} revoke_tokens={revoke_tokens}"),
        );
        self.store
            .change_password(
                &user.id,
                Some(&user.password_slot),
                sealed,
                end_other_sessions,
                Some(session),
                revoke_tokens,
                audit,
            )
            .await
            .map_err(|e| match e {
                // This session was ended (a recovery) while the change ran Argon2.
                StoreError::Conflict => Error::Unauthorized,
                // The slot it opened was replaced meanwhile (a user-key rotation, a
                // recovery or another change): nothing changed; the client may try again.
                StoreError::KeyVersionMoved => Error::Conflict(
                    "the password or keys changed while this change ran; nothing was changed: try again",
                ),
                e => e.into(),
            })?;
        self.attempt_succeeded(&admitted, &ip).await;
        Ok(())
    }

    /// Recover with the recovery code: new password slot, new recovery code (the old one
    /// dies), every session ends; data and tokens are untouched.
    pub async fn recover(
        &self,
        username: &str,
        code: &str,
        new_password: Password,
        revoke_tokens: bool,
        ip: &str,
    ) -> Result<String> {
        let code = RecoveryCode::parse(code).map_err(|_| {
            Error::invalid(
                "recovery_code",
                "is not a recovery code: 26 characters, groups of four",
            )
        })?;
        // The per-username ceiling does not apply: the right code must get the owner in
        // while an attacker holds the ceiling down, and 128 bits are not guessed by trying.
        let (user, admitted) = self.admit_attempt(username, ip, None, true).await?;
        let user = match user {
            Some(user) if !user.end_to_end => user,
            // An end-to-end account recovers in its client (`recover_begin`): a code sent
            // here would let the server open the user key. Refused with the same 401, and
            // audited under that user like any failed recovery of theirs, so the owner
            // sees the attempt in their log.
            Some(user) => return Err(self.fail_attempt(Some(&user.id), "recover", ip).await),
            None => return Err(self.fail_attempt(None, "recover", ip).await),
        };
        let record = self
            .store
            .recovery(&user.id)
            .await?
            .ok_or(Error::Unauthorized)?;
        let unlocked = code.unlock(record.credential_id);
        if unlocked
            .check(&Verifier::from_slice(&record.verifier)?)
            .is_err()
        {
            return Err(self.fail_attempt(Some(&user.id), "recover", ip).await);
        }
        let user_key = self
            .open_recovery_slot(&user.id, &code, &unlocked, &record)
            .await?;
        policy::collect([self
            .password_strength("new_password", &new_password, &user.username)
            .await?])?;
        let (uid, cred) = (user.id, user.password_credential);
        let (slot, user_key) = self
            .hash(new_password, move |password, kdf, memory| {
                (
                    PasswordSlot::create_with(memory, &password, &kdf, &uid, cred, &user_key),
                    user_key,
                )
            })
            .await?;
        let sealed = self
            .seal_password_slot(slot?, user.id, user.password_credential)
            .await?;
        let (new_record, new_code) = new_recovery(&user.id, &user_key)?;
        let mut audit = event(
            Some(&user.id),
            "recover",
            "recovery-code".into(),
            Outcome::Ok,
            format!("revoke_tokens={revoke_tokens}"),
        );
        audit.ip = Some(ip.to_owned());
        match self
            .store
            .recover(
                &user.id,
                &record.credential_id,
                // Read before the recovery slot: if the user key moved since, the key the
                // slot gave may be dead, and the store refuses.
                Some(&user.x25519_public),
                sealed,
                new_record,
                revoke_tokens,
                audit,
            )
            .await
        {
            Err(StoreError::Conflict) => Err(Error::Unauthorized),
            // A user-key rotation committed while this recovery ran: nothing changed, the
            // code still works; the client may try again.
            Err(StoreError::KeyVersionMoved) => Err(Error::Conflict(
                "the keys were rotated while this recovery ran; nothing was changed: try again",
            )),
            other => other.map_err(Error::from),
        }?;
        self.attempt_succeeded(&admitted, ip).await;
        self.publish_recovery_public_key(&user.id, &new_code).await;
        Ok(new_code.expose_text().to_string())
    }

    /// The account's audit events, newest first (sessions of either mode only).
    pub async fn audit_log(&self, principal: &Principal, limit: u32) -> Result<Vec<AuditEntry>> {
        let user = super::e2e_accounts::any_session(principal)?;
        let events = self.store.audit_events(user, limit.clamp(1, 1000)).await?;
        Ok(events
            .into_iter()
            .map(|e| AuditEntry {
                at: e.at,
                action: e.action,
                actor: e.actor,
                outcome: e.outcome.as_str().into(),
                ip: e.ip,
                detail: e.detail,
            })
            .collect())
    }

    /// Re-authentication inside a session, before an action that grants more than the
    /// session itself (minting a token): `password` must be the account's current one.
    ///
    /// Guessed like a login, so defended like one: the account's back-off and the
    /// address's budget are checked before any Argon2 runs, and a wrong password is
    /// recorded as a failure of `action` (counted for both, audited) and answered 403.
    pub(super) async fn confirm_password(
        &self,
        principal: &Principal,
        password: Password,
        action: &str,
        ip: &str,
    ) -> Result<()> {
        let (user_id, _) = principal.require_session()?;
        let user = self.store.user(user_id).await?.ok_or(Error::Unauthorized)?;
        let admitted = self
            .admit_confirmation(principal, &user, action, ip)
            .await?;
        let slot = self.unseal_password_slot(&user).await?;
        let (uid, cred) = (user.id, user.password_credential);
        let opened = self
            .hash(password, move |password, kdf, memory| {
                slot.unlock_with(memory, &password, &kdf, &uid, cred)
                    .map(drop)
            })
            .await?;
        match opened {
            Ok(()) => {
                self.attempt_succeeded(&admitted, ip).await;
                Ok(())
            }
            Err(keyslot_crypto::Error::WrongCredential) => {
                self.audit_failure(principal, action, "wrong current_password", ip)
                    .await?;
                Err(Error::Forbidden("the current password is wrong"))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The password strength check ([`policy::password`]), run on the blocking pool behind
    /// the Argon2 admission: it is milliseconds of CPU on input anyone can send (sign-up
    /// needs no account), so on the async runtime a burst of sign-ups would stall every
    /// other request, token reads included, and unbounded it would be a cheap flood. Past
    /// the admission queue it answers 503 like a login would.
    async fn password_strength(
        &self,
        field: &'static str,
        password: &Password,
        username: &str,
    ) -> Result<Option<crate::FieldError>> {
        let password = Password::new(password.expose_secret());
        let username = username.to_owned();
        let hook = self.config.strength_check_hook.clone();
        self.gate
            .run_cpu(move || {
                if let Some(hook) = hook {
                    (hook.0)();
                }
                policy::password(field, password.expose_secret(), &username)
            })
            .await
    }

    /// Run an Argon2 job through the admission gate with the password and policy.
    pub(super) async fn hash<T, F>(&self, password: Password, job: F) -> Result<T>
    where
        F: FnOnce(Password, keyslot_crypto::KdfPolicy, &mut Argon2Memory) -> T + Send + 'static,
        T: Send + 'static,
    {
        let kdf = self.config.kdf;
        self.gate
            .run(move |memory| job(password, kdf, memory))
            .await
    }

    /// Admit a login or recovery on `username` from `ip` (`attempts`), before any Argon2
    /// runs; the account, if the name is one. Whether it is changes nothing the client
    /// sees: the name is counted and refused alike.
    pub(super) async fn admit_attempt(
        &self,
        username: &str,
        ip: &str,
        device: Option<&str>,
        recovery: bool,
    ) -> Result<(Option<UserRecord>, super::attempts::Admitted)> {
        // A disabled account answers exactly like an unknown one.
        let user = self
            .store
            .user_by_name(username)
            .await?
            .filter(|u| u.disabled_at.is_none());
        let known_device = match &user {
            Some(u) => self.is_known_device(device, &u.id).await?,
            None => false,
        };
        let admitted = self
            .admit(username, ip, !(recovery || known_device))
            .await?;
        Ok((user, admitted))
    }

    /// Admit a `current_password` check of `user` (a password change, a token mint) like
    /// a login from `ip`; a refusal is audited as a failure of `action`.
    pub(super) async fn admit_confirmation(
        &self,
        principal: &Principal,
        user: &UserRecord,
        action: &str,
        ip: &str,
    ) -> Result<super::attempts::Admitted> {
        // A session is itself a recent login, so the per-username ceiling is not applied:
        // the back-off per source and the source's budget are.
        match self.admit(&user.username, ip, false).await {
            Err(refused @ Error::TooManyAttempts { .. }) => {
                self.audit_failure(principal, action, "too many attempts", ip)
                    .await?;
                Err(refused)
            }
            other => other,
        }
    }

    /// Audit a failed re-authentication of `principal` (written now, not buffered).
    pub(super) async fn audit_failure(
        &self,
        principal: &Principal,
        action: &str,
        detail: &str,
        ip: &str,
    ) -> Result<()> {
        let mut audit = event(
            Some(principal.user()),
            action,
            principal.actor(),
            Outcome::Failed,
            detail.into(),
        );
        audit.ip = Some(ip.to_owned());
        Ok(self.store.append_audit(&[audit]).await?)
    }

    /// Audit a failed login or recovery (already counted when it was admitted) and return
    /// the error to answer with.
    pub(super) async fn fail_attempt(&self, user: Option<&Id>, action: &str, ip: &str) -> Error {
        let actor = if action == "recover" {
            "recovery-code"
        } else {
            "password"
        };
        let mut audit = event(user, action, actor.into(), Outcome::Failed, String::new());
        audit.ip = Some(ip.to_owned());
        match self.store.append_audit(&[audit]).await {
            Ok(()) => Error::Unauthorized,
            Err(e) => e.into(),
        }
    }
}

/// A fresh recovery code and its slot.
pub(super) fn new_recovery(
    user: &Id,
    user_key: &UserKey,
) -> Result<(RecoveryRecord, RecoveryCode)> {
    let code = RecoveryCode::generate()?;
    let credential_id = Id::random()?;
    let unlocked = code.unlock(credential_id);
    let record = RecoveryRecord {
        user_id: *user,
        credential_id,
        verifier: unlocked.verifier().as_bytes().to_vec(),
        wrapped_user_key: unlocked.wrap_user_key(user, user_key)?.to_bytes(),
    };
    Ok((record, code))
}

/// A new vault record: fresh vault key wrapped under the user key, name under the vault key.
pub(super) fn new_vault(user: &Id, user_key: &UserKey, name: &str) -> Result<VaultRecord> {
    let id = Id::random()?;
    let key = VaultKey::generate()?;
    let key_version = 1;
    Ok(VaultRecord {
        id,
        user_id: *user,
        key_version,
        wrapped_vault_key: user_key
            .wrap(
                &key,
                &keyslot_crypto::slot::vault_key_for_user_aad(user, &id, key_version),
            )?
            .to_bytes(),
        name: key
            .seal_content(&vault_name_aad(user, &id, key_version), name.as_bytes())?
            .to_bytes(),
        created_at: now(),
    })
}

/// AAD of a vault's name.
pub(super) fn vault_name_aad(user: &Id, vault: &Id, key_version: u32) -> Aad {
    Aad::new(Purpose::VaultName)
        .user(user)
        .vault(vault)
        .key_version(key_version)
}
