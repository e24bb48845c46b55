//! The recovery code across a user-key rotation (DESIGN §3.1, `docs/FORMAT.md` §9.5).
//!
//! The rotation cannot wrap the new user key under the code's wrap key (it does not have
//! the code), and nothing is ever sealed to a password. So the code has an X25519 pair of
//! its own, derived from it (HKDF label `keyslot/v1/recovery/x25519`), whose public key
//! (with its MAC) is stored beside the slot while the server has the code: after sign-up
//! and after each recovery. A rotation seals the new user key to it, turning the slot into
//! a grant that the next recovery opens. A slot with no public key — from before this, or
//! left by a crash between the slot's write and its key's — gets a fresh code instead.

use keyslot_crypto::{
    Envelope, Id, PublicKey, RecipientKind, RecoveryCode, RecoveryKeyPair, SealedKey,
    UnlockedCredential, UserKey, open_from, public_key_mac, seal_to, user_key_grant_aad,
    verify_public_key_mac,
};

use super::{Keyslot, event};
use crate::model::{Outcome, RecoveryRecord};
use crate::user_key_store::{RecoveryKeys, RecoveryRekey, UserKeyHoldings};
use crate::{Error, Result};

impl Keyslot {
    /// The recovery slot for the new user key: sealed to the current code's public key
    /// once its MAC checks out; otherwise (no public key stored, or one that fails its
    /// MAC, which is audited) a fresh code that wraps it.
    pub(super) async fn rekey_recovery(
        &self,
        user: &Id,
        new: &UserKey,
        held: &UserKeyHoldings,
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
}
