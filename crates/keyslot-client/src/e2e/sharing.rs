//! Sharing with another end-to-end user (END-TO-END.md §5, §8): their keys are fetched,
//! their identity's fingerprint compared with the one the user confirmed out of band, the
//! identity pinned (a MAC under this user's key, stored on the server and checked at every
//! later use), their X25519 key verified by their identity's signature, and only then is
//! the vault key sealed to it.

use std::collections::HashMap;

use keyslot_crypto::identity::IdentityPublic;
use keyslot_crypto::{Id, PublicKey, RecipientKind, grant_aad, seal_to};
use reqwest::Method;

use super::account::{E2eSession, to_json};
use super::checks::Refusal;
use super::wire::{self, B64};
use super::{E2eError, E2eResult};
use crate::segment;

/// Another user's keys as the server gave them (`GET /v1/users/{username}/keys`): not
/// trusted until [`UserKeys::verify`] passes.
#[derive(Debug, Clone)]
pub struct UserKeys {
    /// Their user id.
    pub user_id: Id,
    /// Their username.
    pub username: String,
    /// Whether theirs is an end-to-end account.
    pub end_to_end: bool,
    identity: Option<IdentityPublic>,
    x25519_public: PublicKey,
    x25519_signature: Option<B64>,
}

impl UserKeys {
    /// Their identity's fingerprint, to show the user (who compares it with the one the
    /// other person reads out), or `None` for an account without an identity key.
    pub fn fingerprint(&self) -> Option<String> {
        self.identity.as_ref().map(IdentityPublic::fingerprint)
    }

    /// Their X25519 key, once: the account is end-to-end, its identity's fingerprint is
    /// `confirmed` (spaces and case ignored), and the identity signed the key.
    pub fn verify(&self, confirmed: &str) -> Result<(IdentityPublic, PublicKey), Refusal> {
        if !self.end_to_end {
            return Err(Refusal::NotEndToEnd {
                user: self.username.clone(),
            });
        }
        let Some(identity) = self.identity else {
            return Err(Refusal::NotEndToEnd {
                user: self.username.clone(),
            });
        };
        let presented = identity.fingerprint();
        if normalise(&presented) != normalise(confirmed) {
            return Err(Refusal::FingerprintMismatch {
                presented,
                confirmed: confirmed.to_owned(),
            });
        }
        self.verify_under(&identity)?;
        Ok((identity, self.x25519_public))
    }

    /// Their X25519 key, verified under `identity` (one pinned earlier).
    fn verify_under(&self, identity: &IdentityPublic) -> Result<PublicKey, Refusal> {
        let unverified = || Refusal::UnverifiedKey {
            what: format!("{}'s X25519 key", self.username),
        };
        let signature = self.x25519_signature.as_ref().ok_or_else(unverified)?;
        let signature =
            super::sig::parse(signature, "x25519_signature").map_err(|_| unverified())?;
        identity
            .verify_user_x25519(&self.user_id, &self.x25519_public, &signature)
            .map_err(|_| unverified())?;
        Ok(self.x25519_public)
    }
}

fn normalise(fingerprint: &str) -> String {
    fingerprint
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

impl E2eSession {
    /// `GET /v1/users/{username}/keys`: another user's keys, not yet verified.
    pub async fn user_keys(&self, username: &str) -> E2eResult<UserKeys> {
        let keys: wire::OtherKeys = self
            .client
            .get(&format!("/v1/users/{}/keys", segment(username)))
            .await?;
        let mut keys = user_keys(keys)?;
        if keys.username.is_empty() {
            keys.username = username.to_owned();
        }
        Ok(keys)
    }

    /// The identities this user pinned, each pin checked under this user's key; a pin
    /// that does not check is refused (the server changed it).
    pub async fn pinned(&self) -> E2eResult<HashMap<Id, IdentityPublic>> {
        let pins: wire::Pins = self.client.get("/v1/pins").await?;
        let mut out = HashMap::new();
        for pin in pins.pins {
            let user = pin
                .user_id
                .ok_or_else(|| E2eError::protocol("a pin without its user id"))?
                .0;
            let identity = super::sig::identity(&pin.identity_public, "pin.identity_public")?;
            self.pin_key
                .check(&user, &identity, &pin.pin.0)
                .map_err(|_| Refusal::PinMismatch {
                    user: user.to_string(),
                })?;
            out.insert(user, identity);
        }
        out.insert(self.user, self.identity.public());
        Ok(out)
    }

    /// Confirm `username`'s identity (the fingerprint they read out) and pin it, without
    /// sharing anything: needed before this user can rotate a vault they hold with them.
    pub async fn confirm_user(&self, username: &str, fingerprint: &str) -> E2eResult<UserKeys> {
        let keys = self.user_keys(username).await?;
        self.confirm(&keys, fingerprint).await?;
        Ok(keys)
    }

    /// Verify and pin; refuses an identity that differs from one pinned earlier.
    async fn confirm(&self, keys: &UserKeys, fingerprint: &str) -> E2eResult<PublicKey> {
        let (identity, x25519) = keys.verify(fingerprint)?;
        let pinned = self.pinned().await?;
        match pinned.get(&keys.user_id) {
            Some(earlier) if earlier.as_bytes() != identity.as_bytes() => {
                return Err(Refusal::PinMismatch {
                    user: keys.username.clone(),
                }
                .into());
            }
            Some(_) => {}
            None => {
                let body = wire::Pin {
                    user_id: None,
                    identity_public: B64::of(identity.as_bytes().to_vec()),
                    pin: B64::of(self.pin_key.pin(&keys.user_id, &identity).to_vec()),
                };
                self.client
                    .send::<serde_json::Value>(
                        Method::PUT,
                        &format!("/v1/pins/{}", keys.user_id),
                        &to_json(&body)?,
                    )
                    .await?;
            }
        }
        Ok(x25519)
    }

    /// Share `vault` with `username` as `role` (`read`, `write` or `owner`), after
    /// checking their identity's fingerprint against `confirmed_fingerprint` (read out by
    /// them) and their X25519 key's signature; the vault key is sealed to that key as a
    /// pending grant. Returns their user id.
    pub async fn share_vault(
        &self,
        vault: &Id,
        username: &str,
        role: &str,
        confirmed_fingerprint: &str,
    ) -> E2eResult<Id> {
        let keys = self.user_keys(username).await?;
        let x25519 = self.confirm(&keys, confirmed_fingerprint).await?;
        let (v, ring) = self.keyring(vault).await?;
        if ring.newest != v.key_version {
            return Err(E2eError::protocol(
                "this user does not hold the vault's current key",
            ));
        }
        let owner = v.owner_id.0;
        let aad = grant_aad(
            &owner,
            vault,
            v.key_version,
            RecipientKind::User,
            &keys.user_id,
        );
        let grant = seal_to(&x25519, ring.current()?, &aad)?;
        let holders = super::rotation::holders(&self.client, vault).await?;
        let pinned = self.pinned().await?;
        let mut members = super::rotation::member_list(&holders, &pinned);
        if let Some(identity) = pinned.get(&keys.user_id) {
            members.retain(|(id, _, _)| *id != keys.user_id);
            members.push((keys.user_id, super::rotation::role_byte(role), *identity));
        }
        let signature = self.identity.sign_members(vault, v.key_version, &members)?;
        let body = wire::Share {
            username,
            role,
            key_version: v.key_version,
            grant: B64::sealed(&grant),
            members_signature: super::sig::b64(&signature),
        };
        let added: crate::MemberRole = self
            .client
            .send(
                Method::POST,
                &format!("/v1/vaults/{}/members", segment(&vault.to_string())),
                &to_json(&body)?,
            )
            .await?;
        if wire::parse_id(&added.user_id) != Some(keys.user_id) {
            return Err(Refusal::Mismatch {
                what: "the member added is not the user whose key was verified".into(),
            }
            .into());
        }
        Ok(keys.user_id)
    }
}

fn user_keys(keys: wire::OtherKeys) -> E2eResult<UserKeys> {
    Ok(UserKeys {
        user_id: keys.user_id.0,
        end_to_end: keys.end_to_end,
        identity: keys
            .identity_public
            .as_ref()
            .map(|b| super::sig::identity(b, "identity_public"))
            .transpose()?,
        x25519_public: keys.x25519_public.to_public("x25519_public")?,
        x25519_signature: keys.x25519_signature,
        username: keys.username,
    })
}
