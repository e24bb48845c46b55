//! Tokens whose secret stays in the client (docs/END-TO-END.md §1, §7): authenticating
//! their `ksa_` proof, treating a `kse_` secret that reached the server as disclosed, and
//! minting one an end-to-end session's client made.
//!
//! A `ksa_` proof is id ‖ `auth`; the server compares `SHA-256(auth)` with the token's
//! verifier in constant time, exactly as for the `auth` it derives from a `kst_` secret, so
//! a token of either kind of account may authenticate this way: the caller becomes a
//! [`Principal::Client`] and gets ciphertext. The proof unlocks nothing — the wrap key is
//! derived from the secret by another HKDF label — so the server cannot read what the
//! token reads.

use std::net::IpAddr;

use keyslot_crypto::{AuthProof, E2eTokenCredential, Id, PublicKey, Signature, Verifier};

use super::client_views::{ClientItem, ClientMint, ClientSlot, ClientToken};
use super::e2e_accounts::{e2e_session, parse_auth};
use super::e2e_items::{
    MAX_SEALED_NAME, MAX_WRAPPED_KEY, SIGNATURE_LEN, envelope_field, exact_len,
};
use super::lifecycle::holder_of;
use super::views::Scope;
use super::{Keyslot, now};
use crate::client_store::RawItem;
use crate::keystore::Holder;
use crate::model::{Outcome, TokenRecord, TokenVaultSlot};
use crate::store::StoreError;
use crate::{ClientActor, Error, FieldError, Principal, Result, policy};

/// Largest number of vaults one token may be scoped to (as in server mode).
const MAX_TOKEN_VAULTS: usize = 256;

impl Keyslot {
    /// Authenticate `Authorization: Bearer ksa_…` presented from `ip`: the same checks as
    /// a `kst_` token (row, user enabled, expiry, verifier in constant time) and the same
    /// single 401 for every failure.
    pub async fn authenticate_auth_proof(
        &self,
        text: &str,
        ip: Option<IpAddr>,
    ) -> Result<Principal> {
        let proof = AuthProof::parse(text).map_err(|_| Error::Unauthorized)?;
        let record = self
            .store
            .token(proof.id())
            .await?
            .ok_or(Error::Unauthorized)?;
        self.proof_principal(&proof, &record, ip)
    }

    /// Read one item with a `ksa_` proof in a single store round trip (the `kst_` hot
    /// path's shape, `Store::token_read`): the same checks as
    /// [`Self::authenticate_auth_proof`] then [`Self::client_item`], with the same answers.
    /// Anything but the common case — the token's own slot at the vault's current version,
    /// the item under it, the vault its user's — takes the general path.
    pub async fn client_item_with_proof(
        &self,
        text: &str,
        ip: Option<IpAddr>,
        vault: &Id,
        item: &Id,
    ) -> Result<ClientItem> {
        let proof = AuthProof::parse(text).map_err(|_| Error::Unauthorized)?;
        let found = self
            .store
            .client_token_read(proof.id(), vault, item)
            .await?
            .ok_or(Error::Unauthorized)?;
        let principal = self.proof_principal(&proof, &found.read.token, ip)?;
        let read = found.read;
        let fast = match (&read.slot, read.vault_now, &read.item) {
            (Some(slot), Some((current, _, _)), Some(record))
                if !read.token.deposit
                    && slot.key_version >= current
                    && record.key_version == slot.key_version =>
            {
                Some((slot.clone(), record.clone()))
            }
            _ => None,
        };
        let Some((slot, record)) = fast else {
            return self.client_item(&principal, vault, item).await;
        };
        self.audit
            .record(principal.event(
                "item.read",
                Outcome::Ok,
                format!("vault={vault} item={item}"),
            ))
            .await?;
        Ok(ClientItem {
            item: RawItem {
                record,
                signer: found.signer,
                signature: found.signature,
            },
            owner_id: read.token.user_id,
            slot: ClientSlot::Token {
                key_version: slot.key_version,
                wrapped_vault_key: slot.wrapped_vault_key,
            },
            chain: Vec::new(),
        })
    }

    /// The checks of a `ksa_` proof once its token's row is found: expiry, then the
    /// verifier in constant time.
    fn proof_principal(
        &self,
        proof: &AuthProof,
        record: &TokenRecord,
        ip: Option<IpAddr>,
    ) -> Result<Principal> {
        let at = now();
        if at >= record.expires_at {
            return Err(Error::Unauthorized);
        }
        Verifier::from_slice(&record.verifier)?
            .check(&proof.verifier())
            .map_err(|_| Error::Unauthorized)?;
        self.audit.token_used(record.id, at);
        Ok(Principal::Client {
            user: record.user_id,
            actor: ClientActor::Token {
                token: record.id,
                can_write: record.can_write,
                deposit: record.deposit,
                all_vaults: record.all_vaults,
            },
            ip,
        })
    }

    /// `Authorization: Bearer kse_…`: the token's secret reached the server, which must
    /// never see it. If it is a live token's (its secret checks out against the verifier,
    /// so no one can revoke a token by naming its id), the token is revoked — its vaults
    /// become due, as at any revocation — and `token.disclosed` audited: 403. Anything
    /// else is the usual 401. Returns the error to answer with.
    pub async fn token_disclosed(&self, text: &str, ip: Option<IpAddr>) -> Error {
        match self.revoke_disclosed(text, ip).await {
            Ok(()) => disclosed(),
            Err(e) => e,
        }
    }

    async fn revoke_disclosed(&self, text: &str, ip: Option<IpAddr>) -> Result<()> {
        let token = E2eTokenCredential::parse(text).map_err(|_| Error::Unauthorized)?;
        let record = self
            .store
            .token(token.id())
            .await?
            .ok_or(Error::Unauthorized)?;
        if now() >= record.expires_at {
            return Err(Error::Unauthorized);
        }
        token
            .unlock()
            .check(&Verifier::from_slice(&record.verifier)?)
            .map_err(|_| Error::Unauthorized)?;
        self.revoke_as_disclosed(&record, ip).await
    }

    /// An end-to-end account's token whose secret (checked already) reached the server as
    /// `kst_`: revoked as disclosed, like a `kse_`. Returns the error to answer with.
    pub(super) async fn secret_disclosed(&self, record: &TokenRecord, ip: Option<IpAddr>) -> Error {
        match self.revoke_as_disclosed(record, ip).await {
            Ok(()) => disclosed(),
            Err(e) => e,
        }
    }

    async fn revoke_as_disclosed(&self, record: &TokenRecord, ip: Option<IpAddr>) -> Result<()> {
        let mut audit = super::event(
            Some(&record.user_id),
            "token.disclosed",
            format!("token:{}", record.id),
            Outcome::Ok,
            format!("token={}", record.id),
        );
        audit.ip = ip.map(|ip| ip.to_string());
        match self
            .store
            .revoke_token(&record.user_id, &record.id, audit)
            .await
        {
            // Revoked by this request, or by a concurrent one: either way it is gone.
            Ok(_) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Mint a token an end-to-end session's client made (END-TO-END §7). `auth` proves the
    /// password, counted and audited like `current_password` in server mode. The slots
    /// are the client's: one per listed vault at its current key version (for `"*"`, one
    /// per vault the user is a member of: a missing one is 422). Returns the id and
    /// expiry; the token's text never existed here.
    pub async fn mint_client_token(
        &self,
        principal: &Principal,
        mint: ClientMint,
    ) -> Result<(Id, i64)> {
        let session = e2e_session(principal)?;
        let user = *principal.user();
        let lifetime = mint
            .expires_in_seconds
            .unwrap_or(self.config.token_default_secs);
        let mut problems = vec![
            envelope_field("name_key", &mint.name_key, MAX_WRAPPED_KEY),
            envelope_field("sealed_name", &mint.sealed_name, MAX_SEALED_NAME),
            exact_len("verifier", &mint.verifier, 32),
            exact_len(
                "public_key_signature",
                &mint.public_key_signature,
                SIGNATURE_LEN,
            ),
        ];
        if PublicKey::from_slice(&mint.x25519_public).is_err() {
            problems.push(Some(FieldError::new(
                "x25519_public",
                "must be an X25519 public key (32 bytes)",
            )));
        }
        if lifetime < 1 || lifetime > self.config.token_max_secs {
            problems.push(Some(FieldError::new(
                "expires_in_seconds",
                format!(
                    "must be between 1 and {} seconds",
                    self.config.token_max_secs
                ),
            )));
        }
        if let Scope::Vaults(ids) = &mint.vaults
            && (ids.is_empty() || ids.len() > MAX_TOKEN_VAULTS)
        {
            problems.push(Some(FieldError::new(
                "vaults",
                format!("must list 1 to {MAX_TOKEN_VAULTS} vault ids, or be \"*\""),
            )));
        }
        if mint.deposit && mint.vaults == Scope::All {
            problems.push(Some(FieldError::new(
                "vaults",
                "a deposit token must list the vaults it deposits into (\"*\" is not offered)",
            )));
        }
        if mint.deposit && !mint.slots.is_empty() {
            problems.push(Some(FieldError::new(
                "slots",
                "a deposit token holds no vault key: send no slots",
            )));
        }
        for (i, (_, _, wrapped)) in mint.slots.iter().enumerate() {
            if let Some(mut problem) = envelope_field("wrapped_vault_key", wrapped, MAX_WRAPPED_KEY)
            {
                problem.field = format!("slots[{i}].wrapped_vault_key");
                problems.push(Some(problem));
            }
        }
        policy::collect(problems)?;
        let identity = self.identity_of(&user).await?;
        let signed = Signature::from_slice(&mint.public_key_signature).and_then(|signature| {
            identity.verify_token_key(
                &user,
                &mint.id,
                &PublicKey::from_slice(&mint.x25519_public)?,
                &signature,
            )
        });
        if signed.is_err() {
            return Err(Error::invalid(
                "public_key_signature",
                "does not verify under your identity key",
            ));
        }
        let presented = parse_auth("auth", &mint.auth)?;
        // The id is the client's choice, and a vault's holders are told apart by id
        // alone (a rotation's grants name them so): a token claiming a user's id — a
        // member's, say — would make that vault's grants unformable and leave it due
        // for good. Any id already in use is refused (review R1 finding 9).
        if self.store.user(&mint.id).await?.is_some() || self.store.token(&mint.id).await?.is_some()
        {
            return Err(Error::Conflict(
                "this token id is already in use: generate another token",
            ));
        }
        let deposit_vaults = self.check_client_slots(principal, &mint).await?;
        self.confirm_auth(principal, &presented, "token.mint")
            .await?;

        let holder = Holder::Token(mint.id);
        let public_key_mac = self
            .holder_public_key_mac(holder, &user, &mint.x25519_public)
            .await?;
        let user_record = self.store.user(&user).await?.ok_or(Error::Unauthorized)?;
        let at = now();
        let record = TokenRecord {
            id: mint.id,
            user_id: user,
            name_key: mint.name_key,
            name: mint.sealed_name,
            verifier: mint.verifier,
            can_write: mint.can_write && !mint.deposit,
            deposit: mint.deposit,
            all_vaults: mint.vaults == Scope::All && !mint.deposit,
            wrapped_user_key: None,
            x25519_public: mint.x25519_public,
            public_key_mac: Some(public_key_mac),
            created_at: at,
            expires_at: at + lifetime,
            last_used_at: None,
            end_to_end: user_record.end_to_end,
        };
        let slots: Vec<TokenVaultSlot> = mint
            .slots
            .into_iter()
            .map(|(vault, key_version, wrapped)| TokenVaultSlot {
                token_id: mint.id,
                vault_id: vault,
                key_version,
                wrapped_vault_key: wrapped,
            })
            .collect();
        let scope = match &mint.vaults {
            Scope::All => "*".to_owned(),
            Scope::Vaults(ids) => ids
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        };
        let audit = principal.event(
            "token.mint",
            Outcome::Ok,
            if record.deposit {
                format!("token={} vaults={scope} deposit=true", mint.id)
            } else {
                format!(
                    "token={} vaults={scope} write={}",
                    mint.id, record.can_write
                )
            },
        );
        let expires_at = record.expires_at;
        match self
            .store
            .create_client_token(
                record,
                slots,
                &deposit_vaults,
                &mint.public_key_signature,
                &session,
                &user_record.x25519_public,
                audit,
            )
            .await
        {
            Ok(()) => Ok((mint.id, expires_at)),
            // The session ended while this ran (logout, password change, recovery).
            Err(StoreError::Conflict) => Err(Error::Unauthorized),
            Err(StoreError::KeyVersionMoved) => Err(Error::Conflict(
                "a vault key or the account's keys moved while this mint ran; nothing was minted: \
                 read the vaults again and retry",
            )),
            Err(StoreError::NotFound) => Err(Error::invalid(
                "vaults",
                "names a vault that is not in this account",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// An end-to-end session's tokens, names sealed (its client opens them with the user
    /// key).
    pub async fn list_client_tokens(&self, principal: &Principal) -> Result<Vec<ClientToken>> {
        e2e_session(principal)?;
        let mut out = Vec::new();
        for record in self.store.tokens(principal.user()).await? {
            let vaults = if record.deposit {
                Scope::Vaults(self.store.deposit_scope(&record.id).await?)
            } else if record.all_vaults {
                Scope::All
            } else {
                Scope::Vaults(
                    self.store
                        .token_vault_slots(&record.id)
                        .await?
                        .into_iter()
                        .map(|s| s.vault_id)
                        .collect(),
                )
            };
            out.push(ClientToken {
                id: record.id,
                sealed_name: record.name,
                name_key: record.name_key,
                vaults,
                can_write: record.can_write,
                deposit: record.deposit,
                expires_at: record.expires_at,
                last_used_at: record.last_used_at,
            });
        }
        self.audit
            .record(principal.event("token.list", Outcome::Ok, format!("count={}", out.len())))
            .await?;
        Ok(out)
    }

    /// The client's slots name exactly the token's vaults, each one the user reaches, at
    /// its current key version; returns a deposit token's vaults (owned by the user).
    async fn check_client_slots(
        &self,
        principal: &Principal,
        mint: &ClientMint,
    ) -> Result<Vec<Id>> {
        let user = principal.user();
        let wanted: Vec<Id> = match &mint.vaults {
            Scope::All => self.store.member_vaults(user).await?,
            Scope::Vaults(ids) => {
                let mut unique = ids.clone();
                unique.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
                unique.dedup();
                unique
            }
        };
        let holder = holder_of(principal);
        for vault in &wanted {
            let access = self
                .store
                .vault_access(user, vault, holder)
                .await?
                .ok_or_else(|| {
                    Error::invalid("vaults", format!("no vault {vault} in this account"))
                })?;
            if mint.deposit {
                if access.state.owner != *user {
                    return Err(Error::invalid(
                        "vaults",
                        format!(
                            "vault {vault} is not yours: a deposit token deposits into vaults you own"
                        ),
                    ));
                }
                continue;
            }
            match mint.slots.iter().filter(|(v, _, _)| v == vault).count() {
                1 => {}
                0 => {
                    return Err(Error::invalid(
                        "slots",
                        format!(
                            "has no slot for vault {vault}: a token needs one for each vault it reaches"
                        ),
                    ));
                }
                _ => {
                    return Err(Error::invalid(
                        "slots",
                        format!("has more than one slot for vault {vault}"),
                    ));
                }
            }
            let (_, key_version, _) = mint
                .slots
                .iter()
                .find(|(v, _, _)| v == vault)
                .ok_or_else(|| Error::invalid("slots", "is incomplete"))?;
            if *key_version != access.state.key_version {
                return Err(Error::StaleKeyVersion {
                    current: access.state.key_version,
                });
            }
        }
        if let Some((extra, _, _)) = mint.slots.iter().find(|(v, _, _)| !wanted.contains(v)) {
            return Err(Error::invalid(
                "slots",
                format!("holds a slot for vault {extra}, which the token does not reach"),
            ));
        }
        Ok(if mint.deposit { wanted } else { Vec::new() })
    }

    /// `auth` proves the end-to-end account's current password: admitted, counted and
    /// audited like a `current_password` check (403 when wrong).
    async fn confirm_auth(
        &self,
        principal: &Principal,
        presented: &Verifier,
        action: &str,
    ) -> Result<()> {
        let user = self
            .store
            .user(principal.user())
            .await?
            .ok_or(Error::Unauthorized)?;
        let ip = principal
            .ip()
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let admitted = self
            .admit_confirmation(principal, &user, action, &ip)
            .await?;
        let slot = self.unseal_password_slot(&user).await?;
        if slot.verifier().check(presented).is_err() {
            self.audit_failure(principal, action, "wrong auth", &ip)
                .await?;
            return Err(Error::Forbidden("the current password is wrong"));
        }
        self.attempt_succeeded(&admitted, &ip).await;
        Ok(())
    }
}

fn disclosed() -> Error {
    Error::Forbidden(
        "this token's secret was sent to the server, which must never see it: the token is \
         revoked and its vaults rotate; mint a new one and send only its ksa_ proof",
    )
}
