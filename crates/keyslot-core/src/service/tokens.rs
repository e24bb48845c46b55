//! API tokens: mint (sessions only), list, revoke, and authenticate.
//!
//! Every token holds one slot per vault it reaches: that vault's key wrapped under the
//! token's wrap key, and nothing else, so it cannot open another vault even if a policy
//! check were skipped. A scoped token's vaults are the ones it lists; a `"*"` token's are
//! every vault its user is a member of, including vaults created or shared later, which
//! reach it as pending grants (`star_tokens`). No token holds the user key: ending one
//! ends what it held, and a rotation of its vaults leaves its secret nothing newer.

use std::net::IpAddr;

use keyslot_crypto::{
    Aad, ContentKey, CredentialKind, Envelope, Id, ItemKey, Password, Purpose, TokenCredential,
    Verifier, Wraps,
};

use keyslot_crypto::UnlockedCredential;
use keyslot_crypto::slot::item_key_aad;

use super::items::OpenVault;
use super::lifecycle::VERSION_RETRIES;
use super::views::{self, Minted, Scope, Token, TokenRequest};
use super::{Keyslot, now};
use crate::keystore::Holder;
use crate::model::{Outcome, TokenRecord, TokenVaultSlot};
use crate::store::StoreError;
use crate::{Error, Principal, Result, TokenAccess, policy};

/// Largest number of vaults one token may be scoped to.
const MAX_TOKEN_VAULTS: usize = 256;

fn name_aad(purpose: Purpose, user: &Id, token: &Id) -> Aad {
    Aad::new(purpose)
        .user(user)
        .credential(CredentialKind::Token, token)
}

impl Keyslot {
    /// Mint a token. Only a session may, and only with the account's current password;
    /// the token text is returned once.
    ///
    /// The password is asked for because a token outlives the session that made it (up to
    /// a year) and is not ended by a password change: without it, a stolen session cookie
    /// alone could turn 30 minutes of access into a year of it. An empty
    /// `current_password` is a 422 naming the field; a wrong one is a 403, counted against the account's back-off and the address's budget like a failed
    /// login, and audited as a failed `token.mint`. `ip` is the client's address.
    pub async fn mint_token(
        &self,
        principal: &Principal,
        current_password: Password,
        request: TokenRequest,
        ip: &str,
    ) -> Result<Minted> {
        let (user, user_key) = principal.require_session()?;
        let mut problems = vec![policy::name("name", &request.name)];
        if current_password.expose_secret().is_empty() {
            problems.push(Some(crate::FieldError::new(
                "current_password",
                "is required to mint a token",
            )));
        }
        let lifetime = request
            .expires_in_seconds
            .unwrap_or(self.config.token_default_secs);
        if lifetime < 1 || lifetime > self.config.token_max_secs {
            problems.push(Some(crate::FieldError::new(
                "expires_in_seconds",
                format!(
                    "must be between 1 and {} seconds",
                    self.config.token_max_secs
                ),
            )));
        }
        if let Scope::Vaults(ids) = &request.vaults
            && (ids.is_empty() || ids.len() > MAX_TOKEN_VAULTS)
        {
            problems.push(Some(crate::FieldError::new(
                "vaults",
                format!("must list 1 to {MAX_TOKEN_VAULTS} vault ids, or be \"*\""),
            )));
        }
        if request.deposit && request.vaults == Scope::All {
            problems.push(Some(crate::FieldError::new(
                "vaults",
                "a deposit token must list the vaults it deposits into (\"*\" is not offered)",
            )));
        }
        policy::collect(problems)?;
        self.confirm_password(principal, current_password, "token.mint", ip)
            .await?;

        let token = TokenCredential::generate()?;
        let unlocked = token.unlock();
        let name_key = ItemKey::generate()?;
        let at = now();
        let expires_at = at + lifetime;
        // The public key's MAC, computed before the row exists and inserted with it: a
        // token is never stored without it (docs/SECURITY.md).
        let x25519_public = keyslot_crypto::x25519::token_public_key(&token).to_vec();
        let public_key_mac = self
            .holder_public_key_mac(Holder::Token(*token.id()), user, &x25519_public)
            .await?;
        let record = TokenRecord {
            id: *token.id(),
            user_id: *user,
            name_key: user_key
                .wrap(
                    &name_key,
                    &name_aad(Purpose::TokenNameKey, user, token.id()),
                )?
                .to_bytes(),
            name: name_key
                .seal_content(
                    &name_aad(Purpose::TokenName, user, token.id()),
                    request.name.as_bytes(),
                )?
                .to_bytes(),
            verifier: unlocked.verifier().as_bytes().to_vec(),
            can_write: request.can_write && !request.deposit,
            deposit: request.deposit,
            all_vaults: request.vaults == Scope::All && !request.deposit,
            wrapped_user_key: None,
            x25519_public,
            public_key_mac: Some(public_key_mac),
            created_at: at,
            expires_at,
            last_used_at: None,
            end_to_end: false,
        };
        let scope = match &request.vaults {
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
            if request.deposit {
                format!("token={} vaults={scope} deposit=true", token.id())
            } else {
                format!(
                    "token={} vaults={scope} write={}",
                    token.id(),
                    request.can_write
                )
            },
        );
        let Principal::Session { session, .. } = principal else {
            return Err(Error::Unauthorized);
        };
        // The user's public key, as it goes with the user key that wraps the name key: the
        // store mints only while the user still has it (a user-key rotation of this
        // session, committing meanwhile, would leave the name under a dead key).
        let public_key = self.public_key_of_user_key(user, user_key).await?;
        if request.deposit {
            let Scope::Vaults(ids) = &request.vaults else {
                return Err(Error::invalid("vaults", "must list vault ids"));
            };
            self.mint_deposit(principal, session, &public_key, record.clone(), ids, audit)
                .await?;
            return Ok(Self::finish_mint(&token, &record));
        }
        let mut minted = false;
        for _ in 0..VERSION_RETRIES {
            // Each vault's current key (a due rotation runs first, so the token starts
            // with the newest), wrapped under the token's key; the store refuses the mint
            // if a rotation commits between here and there, and it is made again.
            let slots = match &request.vaults {
                // A slot per vault of the user; the store checks, under the user's lock,
                // that none is missing.
                Scope::All => {
                    self.star_mint_slots(principal, &unlocked, token.id())
                        .await?
                }
                Scope::Vaults(ids) => {
                    self.mint_slots(principal, &unlocked, token.id(), ids)
                        .await?
                }
            };
            match self
                .store
                .create_token(
                    record.clone(),
                    slots,
                    Some(session),
                    Some(&public_key),
                    audit.clone(),
                )
                .await
            {
                Ok(()) => {
                    minted = true;
                    break;
                }
                Err(StoreError::KeyVersionMoved) => {
                    if self.public_key_of_user_key(user, user_key).await? != public_key {
                        return Err(keys_rotated_meanwhile());
                    }
                    continue;
                }
                // The session that asked was ended (recovery, password change, logout)
                // while the mint ran Argon2: no token outlives the credential that made it.
                Err(StoreError::Conflict) => return Err(Error::Unauthorized),
                Err(e) => return Err(e.into()),
            }
        }
        if !minted {
            return Err(StoreError::KeyVersionMoved.into());
        }
        Ok(Self::finish_mint(&token, &record))
    }

    /// The answer to a mint whose row (with its public key's MAC) is written.
    fn finish_mint(token: &TokenCredential, record: &TokenRecord) -> Minted {
        Minted {
            id: *token.id(),
            token: token.expose_text(),
            expires_at: record.expires_at,
        }
    }

    /// The caller's tokens (sessions only).
    pub async fn list_tokens(&self, principal: &Principal) -> Result<Vec<Token>> {
        let (user, user_key) = principal.require_session()?;
        let mut out = Vec::new();
        for record in self.store.tokens(user).await? {
            let key_aad = name_aad(Purpose::TokenNameKey, user, &record.id);
            let name_key: ItemKey =
                user_key.unwrap_key(&Envelope::from_bytes(&record.name_key)?, &key_aad)?;
            let name = name_key.open_content(
                &name_aad(Purpose::TokenName, user, &record.id),
                &Envelope::from_bytes(&record.name)?,
            )?;
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
            out.push(Token {
                id: record.id,
                name: String::from_utf8_lossy(&name).into_owned(),
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

    /// One slot per listed vault: its current key under the new token's wrap key.
    async fn mint_slots(
        &self,
        principal: &Principal,
        unlocked: &UnlockedCredential,
        token: &Id,
        ids: &[Id],
    ) -> Result<Vec<TokenVaultSlot>> {
        let mut slots: Vec<TokenVaultSlot> = Vec::with_capacity(ids.len());
        for vault in ids {
            if slots.iter().any(|s| s.vault_id == *vault) {
                continue;
            }
            let ring = match self.open_current(principal, vault, true).await {
                Ok(ring) => ring,
                Err(Error::NotFound) => {
                    return Err(Error::invalid(
                        "vaults",
                        format!("no vault {vault} in this account"),
                    ));
                }
                Err(e) => return Err(e),
            };
            let version = ring.current.key_version;
            slots.push(TokenVaultSlot {
                token_id: *token,
                vault_id: *vault,
                key_version: version,
                // Bound to the vault's owner, as every key of the vault is (a shared
                // vault's owner is not the token's user).
                wrapped_vault_key: unlocked
                    .wrap_vault_key(&ring.owner, vault, version, &ring.current.key)?
                    .to_bytes(),
            });
        }
        Ok(slots)
    }

    /// Revoke a token: its row, slots and pending grants are deleted, effective at the
    /// next request on every instance, and every vault it held a key of becomes due. With
    /// `rotate` (the default), those vaults are rotated now, with this session's keys, so
    /// their key version has moved when this returns; without, they rotate before their
    /// next write.
    pub async fn revoke_token(
        &self,
        principal: &Principal,
        token: &Id,
        rotate: bool,
    ) -> Result<()> {
        if principal.is_client_side() {
            // End-to-end: the vaults become due; a client rotates them (e2e_lifecycle).
            return self.revoke_token_client(principal, token).await;
        }
        let (user, _) = principal.require_session()?;
        let audit = principal.event(
            "token.revoke",
            Outcome::Ok,
            format!("token={token} rotate={rotate}"),
        );
        let revoked = self.store.revoke_token(user, token, audit).await?;
        if rotate {
            for vault in &revoked.vaults {
                // Opening with `run_due` runs the rotation the revocation made due.
                match self.open_current(principal, vault, true).await {
                    Ok(_) | Err(Error::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Authenticate a `kst_…` token (from `Authorization: Bearer`) presented from `ip`.
    pub async fn authenticate_token(&self, text: &str, ip: Option<IpAddr>) -> Result<Principal> {
        let token = TokenCredential::parse(text).map_err(|_| Error::Unauthorized)?;
        let record = self
            .store
            .token(token.id())
            .await?
            .ok_or(Error::Unauthorized)?;
        let principal = self.token_principal(token, &record, ip)?;
        if record.end_to_end {
            // An end-to-end account's token secret, sent whole (a `kse_` relabelled as
            // `kst_`: the prefix is under a CRC, not a MAC). The server must never see
            // it, let alone open slots with it: revoked like a `kse_` sent in a header
            // (docs/END-TO-END.md §1). The verifier matched above, so naming a token's
            // id alone revokes nothing.
            return Err(self.secret_disclosed(&record, ip).await);
        }
        if let Some(wrapped) = &record.wrapped_user_key {
            self.convert_legacy_star_token(&principal, wrapped).await?;
        }
        Ok(principal)
    }

    /// Read one item with a bearer token in a single store round trip: the same checks as
    /// [`Self::authenticate_token`] followed by [`Self::get_item`], with the same answers
    /// (401 for any credential failure, 404 for anything the token cannot open). The
    /// profile of a token read (bench/, docs/PERFORMANCE.md) is dominated by the cost of
    /// each query, so the hot path asks once.
    pub async fn get_item_with_token(
        &self,
        text: &str,
        ip: Option<IpAddr>,
        vault: &Id,
        item: &Id,
    ) -> Result<views::Item> {
        let token = TokenCredential::parse(text).map_err(|_| Error::Unauthorized)?;
        let read = self
            .store
            .token_read(token.id(), vault, item)
            .await?
            .ok_or(Error::Unauthorized)?;
        let principal = self.token_principal(token, &read.token, ip)?;
        if read.token.end_to_end {
            // As in `authenticate_token`: a disclosed end-to-end secret, never used.
            return Err(self.secret_disclosed(&read.token, ip).await);
        }
        if let Some(wrapped) = &read.token.wrapped_user_key {
            // A "*" token of the first schema: converted to slots now, then read as any.
            self.convert_legacy_star_token(&principal, wrapped).await?;
            return self.get_item(&principal, vault, item).await;
        }
        let user = *principal.user();
        // The common case in one query: the item is under the key version the token's
        // slot holds, that version is current, and no rotation is due.
        let Some(slot) = read.slot else {
            if principal.is_deposit() {
                // 403 in its scope, 404 outside.
                return Err(self.deposit_refusal(&principal, vault).await);
            }
            // No key of this vault at all: nothing to open, whether it exists or not.
            return Err(Error::NotFound);
        };
        let held = slot.key_version;
        let current = read
            .vault_now
            .filter(|(version, due, due_at)| {
                *version == held && !due && due_at.is_none_or(|at| at > now())
            })
            .is_some();
        let (Some(record), true) = (&read.item, current) else {
            // Another version, a pending grant or a due rotation: the general path.
            return self.get_item(&principal, vault, item).await;
        };
        if record.key_version != held {
            return self.get_item(&principal, vault, item).await;
        }
        let Principal::Token { access, .. } = &principal else {
            return Err(Error::Unauthorized);
        };
        let open = OpenVault::from_token_slot(&access.credential, &user, vault, &slot)?;
        let key: ItemKey = open.key.unwrap_key(
            &Envelope::from_bytes(&record.wrapped_item_key)?,
            &item_key_aad(&user, vault, &record.id, record.version, record.key_version),
        )?;
        self.open_read_item(&principal, *vault, key, record).await
    }

    /// The checks every token request makes once its row is found: expiry, the verifier in
    /// constant time, then the keys its slot opens.
    fn token_principal(
        &self,
        token: TokenCredential,
        record: &TokenRecord,
        ip: Option<IpAddr>,
    ) -> Result<Principal> {
        let at = now();
        if at >= record.expires_at {
            return Err(Error::Unauthorized);
        }
        let unlocked = token.unlock();
        unlocked
            .check(&Verifier::from_slice(&record.verifier)?)
            .map_err(|_| Error::Unauthorized)?;
        // Its slots only, `"*"` or not (a `"*"` token of the first schema is converted
        // by the caller before it opens anything).
        let access = TokenAccess {
            credential: unlocked,
            all_vaults: record.all_vaults,
        };
        self.audit.token_used(record.id, at);
        Ok(Principal::Token {
            user: record.user_id,
            token: record.id,
            secret: token,
            can_write: record.can_write,
            deposit: record.deposit,
            access,
            ip,
        })
    }
}

impl Keyslot {
    /// The user's stored X25519 public key, if `user_key` is still the user's key (it
    /// opens the stored private half); otherwise the keys were rotated since the request
    /// was authenticated: 409, try again.
    pub(super) async fn public_key_of_user_key(
        &self,
        user: &Id,
        user_key: &keyslot_crypto::UserKey,
    ) -> Result<Vec<u8>> {
        let record = self.store.user(user).await?.ok_or(Error::Unauthorized)?;
        let wrapped = Envelope::from_bytes(&record.x25519_wrapped)?;
        keyslot_crypto::UserKeyPair::unwrap(user_key, user, &wrapped)
            .map_err(|_| keys_rotated_meanwhile())?;
        Ok(record.x25519_public)
    }
}

pub(super) fn keys_rotated_meanwhile() -> Error {
    Error::Conflict(
        "the account's keys were rotated while this ran; nothing was changed: try again",
    )
}
