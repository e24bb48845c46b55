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

use keyslot_crypto::{
    Envelope, Id, Password, PasswordSlot, PublicKey, RecipientKind, RecoveryCode, RecoveryKeyPair,
    SealedKey, SessionCredential, UnlockedCredential, UserKey, UserKeyPair, open_from,
    public_key_mac, seal_to, user_key_grant_aad, verify_public_key_mac,
};
use zeroize::Zeroizing;

use super::lifecycle::{Trigger, VERSION_RETRIES};
use super::{Keyslot, event, now, user_key_swap};
use crate::keystore::Holder;
use crate::model::{AuditEvent, Outcome, RecoveryRecord, UserRecord};
use crate::store::StoreError;
use crate::user_key_store::{RecoveryKeys, RecoveryRekey, UserKeySwap};
use crate::{Error, Principal, Result};

/// What a user-key rotation did, for the answer.
#[derive(Debug)]
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
        let due = std::mem::take(&mut done.1);
        for vault in &due {
            if self.rotate_for_user_key(&rekeyed, vault).await? {
                done.0.vaults_rotated += 1;
            } else {
                done.0.vaults_due += 1;
            }
        }
        Ok(done.0)
    }

    /// The login hook: when a user-key rotation is due (a token that held the user key
    /// ended), run it before anything else, with the password the login was given. The
    /// login then goes on with the returned (re-read) user. A wrong password changes
    /// nothing here (the login fails as it would have); a rotation that cannot run now
    /// stays due for the next login.
    pub(super) async fn rotate_user_key_if_due(
        &self,
        user: UserRecord,
        password: Password,
        ip: &str,
    ) -> Result<(UserRecord, Password)> {
        if !self.store.user_key_rotation_due(&user.id, now()).await? {
            return Ok((user, password));
        }
        let mut audit = event(
            Some(&user.id),
            "user.keys.rotate",
            "password".into(),
            Outcome::Ok,
            String::new(),
        );
        audit.ip = Some(ip.to_owned());
        let copy = Password::new(password.expose_secret());
        match self
            .rotate_with_password(&user, copy, false, audit, "due")
            .await
        {
            Ok(Some(_)) => {
                let user = self
                    .store
                    .user(&user.id)
                    .await?
                    .ok_or(Error::Unauthorized)?;
                Ok((user, password))
            }
            Ok(None) => Ok((user, password)),
            Err(e) => {
                tracing::warn!(error = %e, "the due user-key rotation did not run at login");
                Ok((user, password))
            }
        }
    }

    /// Recover with the recovery code, then rotate the user key ("sign out everywhere
    /// and rotate keys", offered after a recovery): the new recovery code, and what the
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
        let done = self
            .rotate_with_password(&user, password, false, audit, "recovery")
            .await?
            // The password was set by this very request: only a concurrent change of it
            // makes it wrong now.
            .ok_or(Error::Conflict(
                "the password changed while the keys were rotating; nothing was rotated",
            ))?;
        Ok((new_code, done))
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

    /// The recovery slot for the new user key: sealed to the current code's public key
    /// once its MAC checks out; otherwise (no public key stored, or one that fails its
    /// MAC, which is audited) a fresh code that wraps it.
    async fn rekey_recovery(
        &self,
        user: &Id,
        new: &UserKey,
        held: &crate::user_key_store::UserKeyHoldings,
    ) -> Result<(RecoveryRekey, Option<RecoveryCode>)> {
        let replaces = held.recovery.as_ref().map(|(slot, _)| slot.credential_id);
        if let Some((slot, keys)) = &held.recovery
            && let Some(public_key) = self.checked_recovery_key(user, slot, keys).await?
        {
            let sealed = seal_to(
                &public_key,
                new,
                &user_key_grant_aad(user, &slot.credential_id),
            )?;
            return Ok((
                RecoveryRekey::Sealed {
                    credential_id: slot.credential_id,
                    sealed_user_key: sealed.to_bytes(),
                },
                None,
            ));
        }
        let (record, code) = super::accounts::new_recovery(user, new)?;
        let (public_key, public_key_mac) = self.recovery_public_key(user, &record, &code).await?;
        Ok((
            RecoveryRekey::Fresh {
                replaces,
                record,
                public_key,
                public_key_mac,
            },
            Some(code),
        ))
    }

    /// The recovery code's stored public key, if it has one whose MAC is right. A wrong
    /// MAC seals nothing (a key planted in the row must not receive the user key) and
    /// leaves an audit event; the caller then issues a fresh code.
    async fn checked_recovery_key(
        &self,
        user: &Id,
        slot: &RecoveryRecord,
        keys: &RecoveryKeys,
    ) -> Result<Option<PublicKey>> {
        let (Some(public_key), Some(mac)) = (&keys.public_key, &keys.public_key_mac) else {
            return Ok(None);
        };
        let public_key = PublicKey::from_slice(public_key)?;
        let (user_id, credential, mac_bytes) = (*user, slot.credential_id, mac.clone());
        let valid = self
            .seal_calls
            .run(move |seal| {
                Ok(verify_public_key_mac(
                    seal,
                    RecipientKind::RecoveryCode,
                    &credential,
                    &user_id,
                    None,
                    None,
                    &public_key,
                    &mac_bytes,
                )
                .is_ok())
            })
            .await?;
        if !valid {
            let audit = event(
                Some(user),
                "key.public_key_mac",
                "server".into(),
                Outcome::Failed,
                format!(
                    "holder={} kind={} mac=mismatch",
                    slot.credential_id,
                    RecipientKind::RecoveryCode.as_u8()
                ),
            );
            self.store.append_audit(&[audit]).await?;
            return Ok(None);
        }
        Ok(Some(public_key))
    }

    /// A recovery code's public key and its MAC, as stored beside its slot.
    async fn recovery_public_key(
        &self,
        user: &Id,
        record: &RecoveryRecord,
        code: &RecoveryCode,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let public_key = RecoveryKeyPair::derive(code, &record.credential_id).public_key();
        let (user, credential) = (*user, record.credential_id);
        let mac = self
            .seal_calls
            .run(move |seal| {
                Ok(public_key_mac(
                    seal,
                    RecipientKind::RecoveryCode,
                    &credential,
                    &user,
                    None,
                    None,
                    &public_key,
                )?
                .to_vec())
            })
            .await?;
        Ok((public_key.as_bytes().to_vec(), mac))
    }

    /// After sign-up or a recovery wrote the slot of `code`: store the code's public key
    /// and MAC, so a later rotation can seal the user key to it. Best effort: the slot
    /// works without it (a rotation then issues a fresh code), so a failure only logs.
    pub(super) async fn publish_recovery_public_key(&self, user: &Id, code: &RecoveryCode) {
        let publish = async {
            let Some(slot) = self.store.recovery(user).await? else {
                return Ok(false);
            };
            // Only the code this slot is for (a concurrent recovery may have replaced it).
            if code
                .unlock(slot.credential_id)
                .check(&keyslot_crypto::Verifier::from_slice(&slot.verifier)?)
                .is_err()
            {
                return Ok(false);
            }
            let (public_key, mac) = self.recovery_public_key(user, &slot, code).await?;
            Ok::<_, Error>(
                self.store
                    .set_recovery_public_key(user, &slot.credential_id, &public_key, &mac)
                    .await?,
            )
        };
        if let Err(e) = publish.await {
            tracing::warn!(error = %e, "recovery code public key not stored");
        }
    }

    /// At recovery: the user key the code's slot holds, wrapped under the code's wrap key,
    /// or — after a user-key rotation — sealed to the code's public key (a grant).
    pub(super) async fn open_recovery_slot(
        &self,
        user: &Id,
        code: &RecoveryCode,
        unlocked: &UnlockedCredential,
        slot: &RecoveryRecord,
    ) -> Result<UserKey> {
        let keys = self.store.recovery_keys(user).await?.unwrap_or_default();
        match keys.sealed_user_key {
            Some(sealed) => {
                let pair = RecoveryKeyPair::derive(code, &slot.credential_id);
                Ok(open_from(
                    &pair,
                    &SealedKey::from_bytes(&sealed)?,
                    &user_key_grant_aad(user, &slot.credential_id),
                )?)
            }
            None => {
                Ok(unlocked.open_user_key(user, &Envelope::from_bytes(&slot.wrapped_user_key)?)?)
            }
        }
    }

    /// Rotate one vault after a user-key swap, with the re-keyed session; `false` when it
    /// stays due (it kept moving, or the user lost access meanwhile).
    async fn rotate_for_user_key(&self, principal: &Principal, vault: &Id) -> Result<bool> {
        for _ in 0..VERSION_RETRIES {
            let ring = match self.open_current(principal, vault, false).await {
                Ok(ring) => ring,
                Err(Error::NotFound) => return Ok(false),
                Err(e) => return Err(e),
            };
            if !ring.state.rotation_due {
                // Another request ran the due rotation first: rotated all the same.
                return Ok(true);
            }
            if self.rotate_with(principal, &ring, Trigger::UserKey).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn changed_meanwhile() -> Error {
    Error::Conflict(
        "the password, recovery code or keys changed while the keys were rotating; nothing was changed",
    )
}
