//! End-to-end password change and recovery (docs/END-TO-END.md §3): the client proves the
//! old credential with its `auth` and sends the new slots it made; the server checks the
//! proof against its verifier, seals the new password slot, and replaces the slots in the
//! same store transactions as server mode (same conditions, same sessions ended, same
//! attempt limits and audit events).

use keyslot_crypto::{Id, PasswordSlot, Verifier};

use super::e2e_accounts::{
    PasswordSlotParts, RecoverySlotParts, e2e_session, envelope, parse_auth,
};
use super::{Keyslot, event};
use crate::e2e_store::{E2ePasswordChange, E2eRecoveryRecord};
use crate::model::{Outcome, RecoveryRecord, UserRecord};
use crate::store::StoreError;
use crate::{Error, Principal, Result, policy};

/// What the first step of an end-to-end recovery answers: the recovery slot's user key,
/// for the client to open with the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryBegun {
    /// The user (bound into the slot's AAD).
    pub user_id: Id,
    /// The recovery credential's id.
    pub recovery_credential_id: Id,
    /// The user key wrapped under the code's wrap key: the only user key recovery hands
    /// out. Never a user key *sealed* to the code's public key (server mode's user-key
    /// rotation makes those, and it refuses end-to-end callers): anyone can seal to a
    /// public key, so a sealed key would be the server's word for the user key.
    pub wrapped_user_key: Vec<u8>,
}

/// The second step: the new slots the client made with the user key it opened.
#[derive(Debug)]
pub struct E2eRecovery {
    /// The new password slot (the account's password credential id).
    pub password: PasswordSlotParts,
    /// The new recovery slot (a new credential id).
    pub recovery: RecoverySlotParts,
    /// Also revoke every token.
    pub revoke_tokens: bool,
}

impl Keyslot {
    /// Change an end-to-end account's password: `current_auth` proves the current one
    /// (counted like a login, 403 when wrong, as in server mode), `new` is the slot the
    /// client made for the same user key; other sessions end when asked.
    pub async fn change_password_e2e(
        &self,
        principal: &Principal,
        current_auth: &str,
        new: PasswordSlotParts,
        end_other_sessions: bool,
        revoke_tokens: bool,
    ) -> Result<()> {
        let session = e2e_session(principal)?;
        let presented = parse_auth("current_auth", current_auth)?;
        let user = self
            .store
            .user(principal.user())
            .await?
            .ok_or(Error::Unauthorized)?;
        let recovery = self
            .store
            .recovery(&user.id)
            .await?
            .map(|r| r.credential_id);
        self.check_new_password_slot("password", recovery, &new)?;
        let ip = principal
            .ip()
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let admitted = self
            .admit_confirmation(principal, &user, "password.change", &ip)
            .await?;
        let slot = self.unseal_password_slot(&user).await?;
        if slot.verifier().check(&presented).is_err() {
            self.audit_failure(principal, "password.change", "wrong current_auth", &ip)
                .await?;
            return Err(Error::Forbidden("the current password is wrong"));
        }
        let credential_id = new.credential_id;
        let sealed = self.seal_parts(new, user.id).await?;
        let audit = principal.event(
            "password.change",
            Outcome::Ok,
            format!("end_other_sessions={end_other_sessions} revoke_tokens={revoke_tokens}"),
        );
        self.store
            .change_password_e2e(E2ePasswordChange {
                user: user.id,
                expected_password_slot: user.password_slot.clone(),
                credential_id,
                password_slot: sealed,
                end_other_sessions,
                session,
                revoke_tokens,
                audit,
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict => Error::Unauthorized,
                StoreError::KeyVersionMoved => Error::Conflict(
                    "the password changed while this change ran; nothing was changed: try again",
                ),
                e => e.into(),
            })?;
        self.attempt_succeeded(&admitted, &ip).await;
        Ok(())
    }

    /// Recovery, first step: the recovery code's `auth` (derived by the client with the
    /// prelogin's `recovery_credential_id`) buys the recovery slot's envelope. Admitted,
    /// counted and audited like server-mode recovery; a server-mode or unknown account
    /// fails like a wrong code.
    pub async fn recover_begin(
        &self,
        username: &str,
        recovery_auth: &str,
        ip: &str,
    ) -> Result<RecoveryBegun> {
        let presented = parse_auth("recovery_auth", recovery_auth)?;
        let (user, record) = self.check_recovery(username, &presented, ip).await?;
        // A `sealed_user_key` beside the slot (one a tampered database planted) is not
        // sent: see `RecoveryBegun::wrapped_user_key`.
        Ok(RecoveryBegun {
            user_id: user.id,
            recovery_credential_id: record.credential_id,
            wrapped_user_key: record.wrapped_user_key,
        })
    }

    /// Recovery, second step: the same proof again, and the new slots. The recovery slot
    /// is replaced only if it is still the one the proof opened (a concurrent recovery
    /// wins), and only while the user key is the one it held; every session ends.
    pub async fn recover_finish(
        &self,
        username: &str,
        recovery_auth: &str,
        new: E2eRecovery,
        ip: &str,
    ) -> Result<()> {
        let presented = parse_auth("recovery_auth", recovery_auth)?;
        let (user, record) = self.check_recovery(username, &presented, ip).await?;
        self.check_new_password_slot("password", Some(new.recovery.credential_id), &new.password)?;
        policy::collect([
            envelope("recovery.wrapped_user_key", &new.recovery.wrapped_user_key),
            (new.recovery.credential_id == record.credential_id).then(|| {
                crate::FieldError::new(
                    "recovery.credential_id",
                    "must be a new id, not the old code's",
                )
            }),
        ])?;
        let new_credential = new.recovery.credential_id;
        let public_key = new.recovery.x25519_public;
        let mac = self
            .recovery_key_mac(user.id, new_credential, public_key)
            .await?;
        let password_credential = new.password.credential_id;
        let sealed = self.seal_parts(new.password, user.id).await?;
        let new_record = RecoveryRecord {
            user_id: user.id,
            credential_id: new_credential,
            verifier: new.recovery.verifier.as_bytes().to_vec(),
            wrapped_user_key: new.recovery.wrapped_user_key.to_bytes(),
        };
        let mut audit = event(
            Some(&user.id),
            "recover",
            "recovery-code".into(),
            Outcome::Ok,
            format!("revoke_tokens={} mode=end-to-end", new.revoke_tokens),
        );
        audit.ip = Some(ip.to_owned());
        self.store
            .recover_e2e(E2eRecoveryRecord {
                user: user.id,
                expected_recovery: record.credential_id,
                expected_public_key: user.x25519_public.clone(),
                credential_id: password_credential,
                password_slot: sealed,
                recovery: new_record,
                revoke_tokens: new.revoke_tokens,
                audit,
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict => Error::Unauthorized,
                StoreError::KeyVersionMoved => Error::Conflict(
                    "the keys were rotated while this recovery ran; nothing was changed: try again",
                ),
                e => e.into(),
            })?;
        // As after a server-mode recovery: best effort, the slot works without it.
        if let Err(e) = self
            .store
            .set_recovery_public_key(&user.id, &new_credential, public_key.as_bytes(), &mac)
            .await
        {
            tracing::warn!(error = %e, "recovery code public key not stored");
        }
        Ok(())
    }

    /// Admit a recovery attempt on `username` and check the code's proof; the account
    /// and its recovery slot. Anything but an end-to-end account with this code: 401,
    /// counted and audited as a failed recovery.
    async fn check_recovery(
        &self,
        username: &str,
        presented: &Verifier,
        ip: &str,
    ) -> Result<(UserRecord, RecoveryRecord)> {
        let (user, admitted) = self.admit_attempt(username, ip, None, true).await?;
        // The same look-up whatever the name (a server-mode user's slot, or none under the
        // zero id), as the prelogin does: the round trips do not tell the modes apart.
        let record = self
            .store
            .recovery(&user.as_ref().map_or(super::e2e_accounts::NO_USER, |u| u.id))
            .await?;
        let (user, record) = match (user, record) {
            (Some(user), Some(record)) if user.end_to_end => (user, record),
            (user, _) => {
                return Err(self
                    .fail_attempt(user.as_ref().map(|u| &u.id), "recover", ip)
                    .await);
            }
        };
        if Verifier::from_slice(&record.verifier)?
            .check(presented)
            .is_err()
        {
            return Err(self.fail_attempt(Some(&user.id), "recover", ip).await);
        }
        self.attempt_succeeded(&admitted, ip).await;
        Ok((user, record))
    }

    /// A new password slot obeys the policy's Argon2 bounds and its envelope is bounded
    /// in size. Its credential id may be new (the client makes one with each new salt),
    /// but never the recovery code's.
    fn check_new_password_slot(
        &self,
        field: &'static str,
        recovery_credential: Option<Id>,
        parts: &PasswordSlotParts,
    ) -> Result<()> {
        policy::collect([
            self.kdf_params(field, &parts.params),
            envelope(
                &format!("{field}.wrapped_user_key"),
                &parts.wrapped_user_key,
            ),
            (Some(parts.credential_id) == recovery_credential).then(|| {
                crate::FieldError::new(
                    format!("{field}.credential_id"),
                    "must not be the recovery code's credential id",
                )
            }),
        ])
    }

    /// Seal a client-made password slot for storage.
    async fn seal_parts(&self, parts: PasswordSlotParts, user: Id) -> Result<Vec<u8>> {
        let credential = parts.credential_id;
        let slot = PasswordSlot::from_parts(
            parts.params,
            parts.salt,
            parts.verifier,
            parts.wrapped_user_key,
        );
        self.seal_password_slot(slot, user, credential).await
    }
}
