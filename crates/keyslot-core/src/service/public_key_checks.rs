//! Checking holders' public keys before anything is sealed to them (DESIGN §3.1 "Public
//! keys are bound to their holder"; `crate::public_key_store` for the passes that write
//! MACs in bulk).
//!
//! A stored public key is used only when its MAC, under the seal key, matches its holder.
//! A key without a MAC is refused exactly like a key with a wrong one: the backfill gave
//! every row from before public-key MACs its MAC at the server's start, and every row
//! made since has its MAC in the same INSERT as the row (a token's and a user's) or in
//! the same UPDATE as the key (a vault key version's), so a missing one means the row was
//! written behind the server's back (a key put in a victim's row with its MAC cleared).
//! Either way nothing is sealed to it: the request answers 500 and the
//! vault's owner gets a `key.public_key_mac` audit event.
//!
//! The MACs are seal-key calls (HSM calls, with an HSM), so they run off the runtime,
//! bounded like every other seal call a request makes (`seal_calls`): one blocking job
//! for all the holders of a rotation, and one for the MAC a mint or sign-up writes with
//! its row.

use keyslot_crypto::{PublicKey, RecipientKind, public_key_mac, verify_public_key_mac};

use super::Keyslot;
use crate::keystore::{Holder, PublicHolder};
use crate::model::Outcome;
use crate::{Error, Principal, Result};

fn kind_and_id(holder: Holder) -> (RecipientKind, keyslot_crypto::Id) {
    match holder {
        Holder::User(id) => (RecipientKind::User, id),
        Holder::Token(id) => (RecipientKind::Token, id),
    }
}

impl Keyslot {
    /// A holder's public key, once its MAC says it is the one stored for that holder.
    /// See the module docs: a missing or wrong MAC seals nothing (500, audited).
    pub(super) async fn checked_public_key(
        &self,
        principal: &Principal,
        holder: &PublicHolder,
    ) -> Result<PublicKey> {
        let mut keys = self
            .checked_public_keys(principal, std::slice::from_ref(holder))
            .await?;
        keys.pop()
            .ok_or_else(|| Error::Internal("no public key was checked".into()))
    }

    /// Every holder's public key, in order, once all their MACs are checked in one
    /// blocking job. The first holder whose MAC is missing or wrong fails the whole call
    /// (nothing is sealed to anyone by a rotation that meets one).
    pub(super) async fn checked_public_keys(
        &self,
        principal: &Principal,
        holders: &[PublicHolder],
    ) -> Result<Vec<PublicKey>> {
        if holders.is_empty() {
            return Ok(Vec::new());
        }
        let job = holders.to_vec();
        // Ok(keys), or Err(index of the first holder whose MAC failed).
        let checked = self
            .seal_calls
            .run(move |seal| {
                let mut keys = Vec::with_capacity(job.len());
                for (i, holder) in job.iter().enumerate() {
                    let public_key = PublicKey::from_slice(&holder.public_key)?;
                    let (kind, id) = kind_and_id(holder.holder);
                    let valid = holder.public_key_mac.as_deref().is_some_and(|mac| {
                        verify_public_key_mac(
                            seal,
                            kind,
                            &id,
                            &holder.user_id,
                            None,
                            None,
                            &public_key,
                            mac,
                        )
                        .is_ok()
                    });
                    if !valid {
                        return Ok(Err(i));
                    }
                    keys.push(public_key);
                }
                Ok(Ok(keys))
            })
            .await?;
        match checked {
            Ok(keys) => Ok(keys),
            Err(i) => {
                let (kind, id) = kind_and_id(holders[i].holder);
                let missing = holders[i].public_key_mac.is_none();
                let event = principal.event(
                    "key.public_key_mac",
                    Outcome::Failed,
                    format!(
                        "holder={id} kind={} mac={}",
                        kind.as_u8(),
                        if missing { "missing" } else { "mismatch" }
                    ),
                );
                self.store.append_audit(&[event]).await?;
                Err(Error::Internal(format!(
                    "the public key stored for holder {id} does not carry its MAC: nothing was sealed to it"
                )))
            }
        }
    }

    /// The MAC of a token's or user's public key as this server writes it, computed off
    /// the runtime like every seal-key call (`seal_calls`). Called before the holder's row
    /// is inserted, so the MAC goes into the same INSERT: no row is ever written without
    /// it.
    pub(super) async fn holder_public_key_mac(
        &self,
        holder: Holder,
        user: &keyslot_crypto::Id,
        public_key: &[u8],
    ) -> Result<Vec<u8>> {
        let (kind, id) = kind_and_id(holder);
        let pk = PublicKey::from_slice(public_key)?;
        let user = *user;
        self.seal_calls
            .run(move |seal| Ok(public_key_mac(seal, kind, &id, &user, None, None, &pk)?.to_vec()))
            .await
    }
}
