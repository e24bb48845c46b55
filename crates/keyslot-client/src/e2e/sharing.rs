//! Sharing with another end-to-end user (END-TO-END.md §5, §8): their keys are fetched,
//! their identity's fingerprint compared with the one the user confirmed out of band, the
//! identity pinned (a MAC under this user's key, stored on the server and checked at every
//! later use), their X25519 key verified by their identity's signature, and only then is
//! the vault key sealed to it.

use std::collections::HashMap;

use keyslot_crypto::identity::IdentityPublic;
use keyslot_crypto::{Id, PublicKey, RecipientKind, SealedKey, VaultKey, grant_aad, seal_to};
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
    star_tokens: Vec<wire::StarToken>,
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
    async fn confirm(
        &self,
        keys: &UserKeys,
        fingerprint: &str,
    ) -> E2eResult<(IdentityPublic, PublicKey)> {
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
        Ok((identity, x25519))
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
        let (identity, x25519) = self.confirm(&keys, confirmed_fingerprint).await?;
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
        for t in &keys.star_tokens {
            self.refuse_ended_token(&t.id.0)?;
        }
        let token_grants = star_token_grants(
            &identity,
            &keys.user_id,
            &keys.star_tokens,
            &owner,
            vault,
            v.key_version,
            ring.current()?,
        )?;
        let holders = super::rotation::holders(&self.client, vault).await?;
        self.note_member_added(*vault, keys.user_id);
        self.refuse_ended(vault, &holders)?;
        let pinned = self.pinned().await?;
        let mut members = super::rotation::member_list(&holders, &pinned);
        members.retain(|(id, _, _)| *id != keys.user_id);
        members.push((keys.user_id, super::rotation::role_byte(role), identity));
        let signature = self.identity.sign_members(vault, v.key_version, &members)?;
        let body = wire::Share {
            username,
            role,
            key_version: v.key_version,
            grant: B64::sealed(&grant),
            members_signature: super::sig::b64(&signature),
            token_grants: token_grants
                .iter()
                .map(|(token, sealed)| wire::Grant {
                    holder: wire::WireId(*token),
                    sealed: B64::sealed(sealed),
                })
                .collect(),
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

impl E2eSession {
    /// Change a member's role (an owner), with this user's signature over the changed
    /// member list (each member whose identity this user pinned).
    pub async fn set_member_role(&self, vault: &Id, member: &Id, role: &str) -> E2eResult<()> {
        let holders = super::rotation::holders(&self.client, vault).await?;
        let pinned = self.pinned().await?;
        let mut members = super::rotation::member_list(&holders, &pinned);
        for entry in &mut members {
            if entry.0 == *member {
                entry.1 = super::rotation::role_byte(role);
            }
        }
        let signature = self
            .identity
            .sign_members(vault, holders.key_version, &members)?;
        self.client
            .send::<serde_json::Value>(
                Method::PATCH,
                &format!(
                    "/v1/vaults/{}/members/{}",
                    segment(&vault.to_string()),
                    member
                ),
                &serde_json::json!({
                    "role": role,
                    "members_signature": signature.to_base64(),
                }),
            )
            .await?;
        Ok(())
    }

    /// Remove a member (an owner), or leave (`member` = this user). The server takes
    /// their keys and marks the vault due; it cannot rotate, so when `rotate` (and this
    /// user is the vault's owner) the rotation runs here at once, sealing the new key to
    /// the remaining holders only. Returns the new key version when it rotated.
    pub async fn remove_member(
        &self,
        vault: &Id,
        member: &Id,
        rotate: bool,
    ) -> E2eResult<Option<u32>> {
        if *member != self.user {
            // Remembered first: a server listing them again as a holder is refused.
            self.note_removed_member(*vault, *member);
        }
        self.client
            .call::<serde_json::Value>(
                Method::DELETE,
                &format!(
                    "/v1/vaults/{}/members/{}",
                    segment(&vault.to_string()),
                    member
                ),
                None,
                None,
            )
            .await?;
        // Only the vault's owner rotates (END-TO-END §8); a co-owner's removal leaves the
        // vault due for the owner's client.
        if rotate && *member != self.user && self.vault(vault).await?.owner_id == self.user {
            return self.rotate_vault(vault).await.map(Some);
        }
        Ok(None)
    }
}

/// `key` sealed to each of `user`'s live `"*"` tokens (which must receive every vault key
/// their user gets), each token's key verified first under `identity` — `user`'s own,
/// confirmed or pinned. One unverified key refuses them all.
pub(crate) fn star_token_grants(
    identity: &IdentityPublic,
    user: &Id,
    tokens: &[wire::StarToken],
    owner: &Id,
    vault: &Id,
    key_version: u32,
    key: &VaultKey,
) -> E2eResult<Vec<(Id, SealedKey)>> {
    let mut out = Vec::with_capacity(tokens.len());
    for t in tokens {
        let token = t.id.0;
        let unverified = || Refusal::UnverifiedKey {
            what: format!("\"*\" token {token}'s key"),
        };
        let public = t
            .x25519_public
            .to_public("x25519_public")
            .map_err(|_| unverified())?;
        let signature = super::sig::parse(&t.public_key_signature, "public_key_signature")
            .map_err(|_| unverified())?;
        identity
            .verify_token_key(user, &token, &public, &signature)
            .map_err(|_| unverified())?;
        let aad = grant_aad(owner, vault, key_version, RecipientKind::Token, &token);
        out.push((token, seal_to(&public, key, &aad)?));
    }
    Ok(out)
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
        star_tokens: keys.star_tokens,
        username: keys.username,
    })
}

#[cfg(test)]
mod tests {
    use keyslot_crypto::identity::IdentityKeyPair;
    use keyslot_crypto::{TokenKeyPair, UserKeyPair};

    use super::*;

    fn keys(identity: &IdentityKeyPair, key: &PublicKey, signer: &IdentityKeyPair) -> UserKeys {
        let user = Id::from_bytes([7; 16]);
        UserKeys {
            user_id: user,
            username: "bob".into(),
            end_to_end: true,
            identity: Some(identity.public()),
            x25519_public: *key,
            x25519_signature: Some(B64::of(
                signer.sign_user_x25519(&user, key).as_bytes().to_vec(),
            )),
            star_tokens: Vec::new(),
        }
    }

    #[test]
    fn a_members_key_is_used_only_with_the_confirmed_fingerprint_and_its_signature() {
        let bob = IdentityKeyPair::generate().unwrap();
        let pair = UserKeyPair::generate().unwrap();
        let k = keys(&bob, &pair.public_key(), &bob);
        let fingerprint = bob.public().fingerprint();
        // Case and spacing do not matter.
        let spaced = fingerprint.to_uppercase().replace(' ', "  ");
        assert_eq!(k.verify(&spaced).unwrap().1, pair.public_key());

        let server = IdentityKeyPair::generate().unwrap();
        let r = k.verify(&server.public().fingerprint());
        assert!(
            matches!(r, Err(Refusal::FingerprintMismatch { .. })),
            "{r:?}"
        );

        // The server substitutes its own X25519 key under bob's identity: the signature
        // does not cover it.
        let theirs = UserKeyPair::generate().unwrap().public_key();
        let mut swapped = k.clone();
        swapped.x25519_public = theirs;
        let r = swapped.verify(&fingerprint);
        assert!(matches!(r, Err(Refusal::UnverifiedKey { .. })), "{r:?}");
        // ... or its own identity and key, signed consistently: the fingerprint differs.
        let r = keys(&server, &theirs, &server).verify(&fingerprint);
        assert!(
            matches!(r, Err(Refusal::FingerprintMismatch { .. })),
            "{r:?}"
        );

        let mut server_mode = k.clone();
        server_mode.end_to_end = false;
        assert!(matches!(
            server_mode.verify(&fingerprint),
            Err(Refusal::NotEndToEnd { .. })
        ));
    }

    #[test]
    fn star_tokens_get_the_key_only_when_their_user_signed_them() {
        let bob = IdentityKeyPair::generate().unwrap();
        let user = Id::from_bytes([7; 16]);
        let token = keyslot_crypto::E2eTokenCredential::generate().unwrap();
        let public = TokenKeyPair::derive(&token).public_key();
        let star = |key: &PublicKey, signer: &IdentityKeyPair| wire::StarToken {
            id: wire::WireId(*token.id()),
            x25519_public: B64::public(key),
            public_key_signature: B64::of(
                signer
                    .sign_token_key(&user, token.id(), key)
                    .as_bytes()
                    .to_vec(),
            ),
        };
        let (owner, vault) = (Id::from_bytes([1; 16]), Id::from_bytes([2; 16]));
        let key = VaultKey::generate().unwrap();
        let grants = star_token_grants(
            &bob.public(),
            &user,
            &[star(&public, &bob)],
            &owner,
            &vault,
            3,
            &key,
        )
        .unwrap();
        // The token opens it under the grant context.
        let opened: VaultKey = keyslot_crypto::open_from(
            &TokenKeyPair::derive(&token),
            &grants[0].1,
            &grant_aad(&owner, &vault, 3, RecipientKind::Token, token.id()),
        )
        .unwrap();
        assert_eq!(opened.expose_secret(), key.expose_secret());

        let server = IdentityKeyPair::generate().unwrap();
        let theirs = UserKeyPair::generate().unwrap().public_key();
        // The server's key signed by the server's identity, and the server's key under the
        // signature bob made for his token's real key.
        let mut swapped = star(&public, &bob);
        swapped.x25519_public = B64::public(&theirs);
        for forged in [star(&theirs, &server), swapped] {
            let r = star_token_grants(&bob.public(), &user, &[forged], &owner, &vault, 3, &key);
            assert!(
                matches!(r, Err(E2eError::Refused(Refusal::UnverifiedKey { .. }))),
                "{r:?}"
            );
        }
    }
}
