//! User-key rotation, "sign out everywhere and rotate keys" (DESIGN §3.1).
//!
//! A session and the password reach the user key (UK), so a leaked session cookie or an
//! old `"*"` token secret, together with any later copy of the database, would open every
//! vault the user ever holds. Rotating UK closes that: in one request that has the old UK
//! and the password,
//!
//! 1. a new UK and a new X25519 pair are made; the password slot is made again for the new
//!    UK (the password is present: nothing is ever sealed to a password);
//! 2. every member slot, every grant still pending to the old pair, and every token-name
//!    key is opened with the old UK and wrapped under the new one (`user_key_swap`);
//! 3. the new UK is sealed (HPKE) to the recovery code's public key, so the code the user
//!    holds keeps working and the recovery slot becomes a grant; a slot with no public key
//!    (made before it was stored) is replaced by a fresh code, returned once;
//! 4. all of that, the calling session re-keyed, every other session ended, the vaults
//!    marked due and the audit event, commit in **one** store transaction;
//! 5. then every vault the user holds a key to is rotated, whatever the role, each in its
//!    own transaction (`Trigger::UserKey`). A crash before they run leaves them due: the
//!    next write (or read) rotates them.
//!
//! After it, the old UK opens nothing written later: the live rows wrap only the new UK,
//! and every vault key moved on.

use keyslot_crypto::{Id, Password, PasswordSlot, SessionCredential, UserKey, UserKeyPair};
use zeroize::Zeroizing;

use super::lifecycle::VERSION_RETRIES;
use super::{Keyslot, event, user_key_swap, user_key_vaults};
use crate::keystore::Holder;
use crate::model::{AuditEvent, Outcome, UserRecord};
use crate::store::StoreError;
use crate::user_key_store::UserKeySwap;
use crate::{Error, Principal, Result};

/// What a user-key rotation did, for the answer. Its `Debug` never shows the recovery
/// code (only whether there is one).
pub struct KeysRotated {
    /// Vaults whose key was rotated by this request.
    pub vaults_rotated: usize,
    /// Vaults left due (rotated at their next use): a concurrent change kept them from
    /// rotating here, or no session was there to rotate them (at login, after recovery).
    pub vaults_due: usize,
    /// Other sessions ended.
    pub sessions_ended: u64,
    /// Tokens revoked (`revoke_tokens`).
    pub tokens_revoked: u64,
    /// A new recovery code, when the old one could not receive the new key (its slot
    /// predates public keys): shown once; the old code no longer works.
    pub recovery_code: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for KeysRotated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysRotated")
            .field("vaults_rotated", &self.vaults_rotated)
            .field("vaults_due", &self.vaults_due)
            .field("sessions_ended", &self.sessions_ended)
            .field("tokens_revoked", &self.tokens_revoked)
            .field(
                "recovery_code",
                &self.recovery_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// One rotation's inputs, once the password has been checked.
struct Rekey<'a> {
    /// The user as read before the password was checked: the swap commits only if its
    /// password slot and public key are still these.
    user: &'a UserRecord,
    old: &'a UserKey,
    new: UserKey,
    /// The new sealed password slot (wrapping `new`).
    password_slot: Vec<u8>,
    keep_session: Option<&'a SessionCredential>,
    revoke_tokens: bool,
    /// `user.keys.rotate` with its actor and address; the detail is filled in here.
    audit: AuditEvent,
}

impl Keyslot {
    /// `POST /v1/keys/rotate`: rotate the caller's user key (a session, with the current
    /// password). `session_text` is the session credential the request presented (its
    /// slot is re-wrapped; it must be `principal`'s). A wrong password is 403 and counted
    /// like a failed login, exactly as a token mint's.
    pub async fn rotate_user_key(
        &self,
        principal: &Principal,
        session_text: &str,
        current_password: Password,
        revoke_tokens: bool,
        ip: &str,
    ) -> Result<KeysRotated> {
        let (user_id, old) = principal.require_session()?;
        let Principal::Session { session, .. } = principal else {
            return Err(Error::Unauthorized);
        };
        if current_password.expose_secret().is_empty() {
            return Err(Error::invalid(
                "current_password",
                "is required to rotate the keys",
            ));
        }
        let credential = SessionCredential::parse(session_text).map_err(|_| Error::Unauthorized)?;
        if credential.id() != session {
            return Err(Error::Unauthorized);
        }
        // Read before the password is checked: the swap commits only while the slot is
        // still this one, so a password changed meanwhile is never overwritten.
        let user = self.store.user(user_id).await?.ok_or(Error::Unauthorized)?;
        let password = Password::new(current_password.expose_secret());
        self.confirm_password(principal, current_password, "user.keys.rotate", ip)
            .await?;
        let (new, password_slot) = self.new_password_slot(&user, password).await?;
        let mut audit = principal.event("user.keys.rotate", Outcome::Ok, String::new());
        audit.ip = Some(ip.to_owned());
        let rekey = Rekey {
            user: &user,
            old,
            new,
            password_slot,
            keep_session: Some(&credential),
            revoke_tokens,
            audit,
        };
        let (mut done, new) = self.swap_user_key(rekey, "asked").await?;
        // The vaults, each in its own transaction, with the calling session's new keys.
        let rekeyed = Principal::Session {
            user: *user_id,
            session: *session,
            user_key: new,
            ip: principal.ip(),
        };
        // From here on the swap has committed: the answer must reach the caller whatever
        // happens to the vault rotations (it may carry the only copy of a new recovery
        // code). A rotation that fails leaves its vault due, as the swap marked it, and
        // the next request that writes or reads it rotates it.
        let due = std::mem::take(&mut done.1);
        let old_pair = match user_key_vaults::old_pair(old, user_id, &user.x25519_wrapped) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "user-key rotation: the vaults are left due");
                done.0.vaults_due += due.len();
                return Ok(done.0);
            }
        };
        let Principal::Session { user_key: new, .. } = &rekeyed else {
            done.0.vaults_due += due.len();
            return Ok(done.0);
        };
        let keys = user_key_vaults::SwappedKeys {
            user: *user_id,
            old_pair: &old_pair,
            new,
        };
        for vault in &due {
            let rotated = self
                .rotate_for_user_key(&rekeyed, &keys, vault)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(vault = %vault, error = %e, "user-key rotation: vault left due");
                    false
                });
            if rotated {
                done.0.vaults_rotated += 1;
            } else {
                done.0.vaults_due += 1;
            }
        }
        Ok(done.0)
    }

    /// The login hook: a user-key rotation is due (a token that held the user key ended)
    /// and the login's one Argon2 run opened the password slot (`old`) and made the new
    /// one (`password_slot`, wrapping `new`). The swap runs before anything else; every
    /// session ends and the vaults are left due (they rotate at their next use). Returns
    /// the user as stored after it, the new user key, and a new recovery code when the
    /// old one could not receive the key (its slot predates recovery public keys): the
    /// login answer must show that code, as it is the only working one from then on. An
    /// error leaves the rotation due for the next login, and nothing changed.
    pub(super) async fn rotate_at_login(
        &self,
        user: &UserRecord,
        old: &UserKey,
        new: UserKey,
        password_slot: Vec<u8>,
        ip: &str,
    ) -> Result<(UserRecord, UserKey, Option<Zeroizing<String>>)> {
        let mut audit = event(
            Some(&user.id),
            "user.keys.rotate",
            "password".into(),
            Outcome::Ok,
            String::new(),
        );
        audit.ip = Some(ip.to_owned());
        let rekey = Rekey {
            user,
            old,
            new,
            password_slot,
            keep_session: None,
            revoke_tokens: false,
            audit,
        };
        let ((done, _due), new) = self.swap_user_key(rekey, "due").await?;
        let user = self
            .store
            .user(&user.id)
            .await?
            .ok_or(Error::Unauthorized)?;
        Ok((user, new, done.recovery_code))
    }

    /// Recover with the recovery code, then rotate the user key ("sign out everywhere
    /// and rotate keys", offered after a recovery): the one recovery code that works
    /// afterwards (`KeysRotated::recovery_code` is then always `None`), and what the
    /// rotation did. Every session ends with the recovery, so the vaults are left due and
    /// rotate at their next use.
    pub async fn recover_and_rotate(
        &self,
        username: &str,
        code: &str,
        new_password: Password,
        revoke_tokens: bool,
        ip: &str,
    ) -> Result<(String, KeysRotated)> {
        let password = Password::new(new_password.expose_secret());
        let new_code = self
            .recover(username, code, new_password, revoke_tokens, ip)
            .await?;
        let user = self
            .store
            .user_by_name(username)
            .await?
            .ok_or(Error::Unauthorized)?;
        let mut audit = event(
            Some(&user.id),
            "user.keys.rotate",
            "recovery-code".into(),
            Outcome::Ok,
            String::new(),
        );
        audit.ip = Some(ip.to_owned());
        let mut done = self
            .rotate_with_password(&user, password, false, audit, "recovery")
            .await?
            // The password was set by this very request: only a concurrent change of it
            // makes it wrong now.
            .ok_or(Error::Conflict(
                "the password changed while the keys were rotating; nothing was rotated",
            ))?;
        // The one code that works now: the recovery's, unless the rotation could not seal
        // to it (its public key was not stored) and replaced it.
        let live = match done.recovery_code.take() {
            Some(replaced) => replaced.to_string(),
            None => new_code,
        };
        Ok((live, done))
    }

    /// Rotate with a password and no session to keep (every session ends, the vaults are
    /// left due): `None` if `password` does not open `user`'s slot.
    async fn rotate_with_password(
        &self,
        user: &UserRecord,
        password: Password,
        revoke_tokens: bool,
        audit: AuditEvent,
        trigger: &str,
    ) -> Result<Option<KeysRotated>> {
        let slot = self.unseal_password_slot(user).await?;
        let new = UserKey::generate()?;
        let (uid, cred) = (user.id, user.password_credential);
        let made = self
            .hash(password, move |password, kdf, memory| {
                let old = slot.unlock_with(memory, &password, &kdf, &uid, cred)?;
                let slot = PasswordSlot::create_with(memory, &password, &kdf, &uid, cred, &new)?;
                Ok::<_, keyslot_crypto::Error>((old, new, slot))
            })
            .await?;
        let (old, new, slot) = match made {
            Ok(made) => made,
            Err(keyslot_crypto::Error::WrongCredential) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let password_slot = self.seal_password_slot(slot, uid, cred).await?;
        let rekey = Rekey {
            user,
            old: &old,
            new,
            password_slot,
            keep_session: None,
            revoke_tokens,
            audit,
        };
        let ((mut done, due), _) = self.swap_user_key(rekey, trigger).await?;
        done.vaults_due = due.len();
        Ok(Some(done))
    }

    /// A password slot for a fresh user key, with the password just checked.
    async fn new_password_slot(
        &self,
        user: &UserRecord,
        password: Password,
    ) -> Result<(UserKey, Vec<u8>)> {
        let new = UserKey::generate()?;
        let (uid, cred) = (user.id, user.password_credential);
        let (slot, new) = self
            .hash(password, move |password, kdf, memory| {
                let slot = PasswordSlot::create_with(memory, &password, &kdf, &uid, cred, &new);
                (slot, new)
            })
            .await?;
        Ok((new, self.seal_password_slot(slot?, uid, cred).await?))
    }

    /// Build the swap from what is stored now and commit it; read again and retry when a
    /// grant, slot or token moved meanwhile. Returns what it did, the vaults it made due,
    /// and the new user key.
    async fn swap_user_key(
        &self,
        rekey: Rekey<'_>,
        trigger: &str,
    ) -> Result<((KeysRotated, Vec<Id>), UserKey)> {
        let user = &rekey.user.id;
        for _ in 0..VERSION_RETRIES {
            let held = self
                .store
                .user_key_holdings(user)
                .await?
                .ok_or(Error::Unauthorized)?;
            if held.user.password_slot != rekey.user.password_slot
                || held.user.x25519_public != rekey.user.x25519_public
            {
                return Err(changed_meanwhile());
            }
            let pair = UserKeyPair::generate()?;
            let public_key_mac = self
                .holder_public_key_mac(Holder::User(*user), user, &pair.public())
                .await?;
            let wrapped = user_key_swap::rewrap(user, &held, rekey.old, &rekey.new, &pair)?;
            let (recovery, fresh_code) = self.rekey_recovery(user, &rekey.new, &held).await?;
            let keep_session = match rekey.keep_session {
                Some(credential) => Some((
                    *credential.id(),
                    credential
                        .unlock()
                        .wrap_user_key(user, &rekey.new)?
                        .to_bytes(),
                )),
                None => None,
            };
            let mut audit = rekey.audit.clone();
            audit.detail = format!(
                "trigger={trigger} vaults={} grants_converted={} revoke_tokens={} recovery={}",
                wrapped.members.len(),
                wrapped.grants.len(),
                rekey.revoke_tokens,
                if fresh_code.is_some() {
                    "new-code"
                } else {
                    "sealed"
                },
            );
            let swap = UserKeySwap {
                user: *user,
                old_password_slot: rekey.user.password_slot.clone(),
                password_slot: rekey.password_slot.clone(),
                old_public_key: rekey.user.x25519_public.clone(),
                public_key: pair.public().to_vec(),
                public_key_mac,
                wrapped_private_key: wrapped.wrapped_private_key,
                members: wrapped.members,
                grants: wrapped.grants,
                token_name_keys: wrapped.token_name_keys,
                deposit_copies: wrapped.deposit_copies,
                recovery,
                keep_session,
                revoke_tokens: rekey.revoke_tokens,
                audit,
            };
            match self.store.swap_user_key(swap).await {
                Ok(swapped) => {
                    let done = KeysRotated {
                        vaults_rotated: 0,
                        vaults_due: 0,
                        sessions_ended: swapped.sessions_ended,
                        tokens_revoked: swapped.tokens_revoked,
                        recovery_code: fresh_code.map(|c| c.expose_text()),
                    };
                    return Ok(((done, swapped.vaults), rekey.new));
                }
                Err(StoreError::KeyVersionMoved) => continue,
                Err(StoreError::Conflict) => return Err(changed_meanwhile()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::KeyVersionMoved.into())
    }
}

fn changed_meanwhile() -> Error {
    Error::Conflict(
        "the password, recovery code or keys changed while the keys were rotating; nothing was changed",
    )
}
