//! Write-only deposit tokens in server mode (DESIGN §3.1, "Write-only deposit tokens").
//!
//! A deposit token holds no vault key. A deposit seals a fresh item key to the public key
//! of the vault's *current* key version (the X25519 pair derived from `VK_v`,
//! [`VaultKeyPair`]), after checking that key's MAC; the name and value go under the item
//! key as for any item. So the depositor — or anyone with only its secret and a copy of
//! the database — can never read it back: opening it needs `VK_v`.
//!
//! The public key of a version is published by a holder of `VK_v`: when a deposit token
//! is minted (the minting session opens each vault of its scope), after each rotation,
//! and whenever a holder lists the vault and finds it missing.
//!
//! While the vault's rotation is due (a holder ended, so `VK_v` is within reach of a
//! revoked, removed or expired credential), or before any holder published the current
//! version's public key, the deposit does not wait and is not refused: it seals its item
//! key to each remaining reader's own public key instead (`deposit_readers`) — every
//! member and their live tokens holding a slot of the vault, exactly the holders a
//! rotation would seal to, each key MAC-checked first — and the store commits it only if
//! those are still exactly the holders under the vault's lock. Nothing is ever sealed to
//! a key an ended credential can derive.
//!
//! The deposit waits in its own table until a reader lists or reads the vault: a deposit
//! sealed to the vault is opened through the pair of its version (through the backward
//! chain if the vault rotated since), one sealed to the readers through the reader's own
//! copy; either way the item is written into `items` wrapped under the then-current key
//! like any other item (marked with the token that deposited it), and the deposit (with
//! every reader's copy) is deleted. A request moves at most
//! [`Config::deposit_claim_batch`](super::Config::deposit_claim_batch) deposits; the rest
//! wait for the next listing, so no single listing is made arbitrarily slow by a pile of
//! deposits. Later reads are the ordinary path.
//!
//! A deposit token deposits at most
//! [`Config::deposits_per_minute`](super::Config::deposits_per_minute) items a minute
//! (counted in the database, across instances), then 429 with `Retry-After`: a leaked
//! deposit token cannot fill the database at line rate.

use std::collections::HashMap;

use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, ItemKey, PublicKey, Purpose, RecipientKind, SealedKey, VaultKey,
    VaultKeyPair, deposit_aad, open_from, public_key_mac, seal_to, verify_public_key_mac,
};
use zeroize::Zeroizing;

use super::deposit_readers::{DepositContent, ReaderPair};
use super::items::seal_item;
use super::lifecycle::{KeyRing, VERSION_RETRIES, holder_of};
use super::views::ItemSummary;
use super::{Keyslot, now};
use crate::Principal;
use crate::deposit_store::DepositTarget;
use crate::model::{AuditEvent, Outcome, TokenRecord};
use crate::store::StoreError;
use crate::{Error, Result};

/// The context of a deposited item's name or value (the item's own, at version 1 and the
/// key version it was deposited under).
pub(super) fn content_aad(
    purpose: Purpose,
    owner: &Id,
    vault: &Id,
    item: &Id,
    key_version: u32,
) -> Aad {
    Aad::new(purpose)
        .user(owner)
        .vault(vault)
        .item(item)
        .item_version(1)
        .key_version(key_version)
}

impl Keyslot {
    /// A deposit token's `POST /v1/vaults/{vault}/items`: seal the item to the vault's
    /// current public key, or to each reader's while the rotation is due or that key is
    /// not published. 404 outside the token's scope; 429 past the token's rate; 500
    /// (nothing sealed, audited) if a public key's MAC does not match.
    pub(super) async fn deposit_item(
        &self,
        principal: &Principal,
        vault: &Id,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(Id, u64)> {
        let Principal::Token { token, .. } = principal else {
            return Err(Error::NotFound);
        };
        let value = self.encode_value(name, value)?;
        // Scope first (404 outside it, like any token), then the token's rate.
        let mut target = self
            .store
            .deposit_target(token, vault)
            .await?
            .ok_or(Error::NotFound)?;
        self.admit_deposit(token, self.config.deposits_per_minute)
            .await?;
        let id = Id::random()?;
        let mut to_readers = false;
        for _ in 0..VERSION_RETRIES {
            let at = now();
            let content = DepositContent::seal(&target, vault, id, name, &value, *token, at)?;
            let to_vault = !to_readers
                && !target.is_due(at)
                && target.public_key.is_some()
                && target.public_key_mac.is_some();
            let stored = if to_vault {
                self.deposit_to_vault(principal, vault, &target, content)
                    .await?
            } else {
                self.deposit_to_readers(principal, vault, content).await?
            };
            match stored {
                Ok(()) => return Ok((id, 1)),
                // Due (or unpublished) by the time it committed: to the readers instead.
                Err(StoreError::Conflict) if to_vault => to_readers = true,
                // The version or the holders moved: seal again.
                Err(StoreError::KeyVersionMoved) => {}
                Err(StoreError::NotFound) => return Err(Error::NotFound),
                Err(e) => return Err(e.into()),
            }
            target = self
                .store
                .deposit_target(token, vault)
                .await?
                .ok_or(Error::NotFound)?;
        }
        Err(StoreError::KeyVersionMoved.into())
    }

    /// Seal `content`'s item key to the vault's current public key, once its MAC (a
    /// seal-key call, off the runtime) says it is this vault's, and store it.
    async fn deposit_to_vault(
        &self,
        principal: &Principal,
        vault: &Id,
        target: &DepositTarget,
        content: DepositContent,
    ) -> Result<std::result::Result<(), StoreError>> {
        let (Some(pk), Some(mac)) = (&target.public_key, &target.public_key_mac) else {
            return Ok(Err(StoreError::Conflict));
        };
        let (owner, version) = (target.owner, target.key_version);
        let public_key = PublicKey::from_slice(pk)?;
        let (holder, mac) = (*vault, mac.clone());
        let valid = self
            .seal_calls
            .run(move |seal| {
                Ok(verify_public_key_mac(
                    seal,
                    RecipientKind::Vault,
                    &holder,
                    &owner,
                    Some(&holder),
                    Some(version),
                    &public_key,
                    &mac,
                )
                .is_ok())
            })
            .await?;
        if !valid {
            let event = principal.event(
                "key.public_key_mac",
                Outcome::Failed,
                format!("holder={vault} kind={}", RecipientKind::Vault.as_u8()),
            );
            self.store.append_audit(&[event]).await?;
            return Err(Error::Internal(format!(
                "the public key stored for vault {vault} version {version} does not carry its MAC: nothing was sealed to it"
            )));
        }
        let mut record = content.record;
        record.sealed_item_key = seal_to(
            &public_key,
            &content.key,
            &deposit_aad(&owner, vault, &record.id, 1, version),
        )?
        .to_bytes();
        let audit = principal.event(
            "item.deposit",
            Outcome::Ok,
            format!(
                "vault={vault} item={} token={} key_version={version}",
                record.id, record.token_id
            ),
        );
        Ok(self.store.create_deposit(record, content.at, audit).await)
    }

    /// Write a deposit token minted by `session`: scoped to `ids` (vaults the caller owns),
    /// no slot. Each vault is opened with the session's keys first, which runs a due
    /// rotation and publishes the current version's public key, so deposits can start.
    pub(super) async fn mint_deposit(
        &self,
        principal: &Principal,
        session: &Id,
        user_public_key: &[u8],
        record: TokenRecord,
        ids: &[Id],
        audit: AuditEvent,
    ) -> Result<()> {
        let mut vaults: Vec<Id> = Vec::with_capacity(ids.len());
        for vault in ids {
            if vaults.contains(vault) {
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
            if ring.owner != record.user_id {
                return Err(Error::invalid(
                    "vaults",
                    format!(
                        "vault {vault} is not yours: a deposit token deposits into vaults you own"
                    ),
                ));
            }
            self.publish_deposit_key(
                &ring.owner,
                vault,
                ring.current.key_version,
                &ring.current.key,
            )
            .await?;
            vaults.push(*vault);
        }
        match self
            .store
            .create_deposit_token(record, &vaults, Some(session), Some(user_public_key), audit)
            .await
        {
            Ok(()) => Ok(()),
            // A user-key rotation of this session committed meanwhile: the name key is
            // under a dead user key, so nothing was minted.
            Err(StoreError::KeyVersionMoved) => Err(super::tokens::keys_rotated_meanwhile()),
            // The minting session ended while the mint ran: no token outlives it.
            Err(StoreError::Conflict) => Err(Error::Unauthorized),
            Err(StoreError::NotFound) => {
                Err(Error::invalid("vaults", "names a vault that is not yours"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// What a deposit token gets for anything but a deposit: 403 in its scope, 404 outside
    /// it (as for any token, scope is checked before permission).
    pub(super) async fn deposit_refusal(&self, principal: &Principal, vault: &Id) -> Error {
        let Principal::Token { token, .. } = principal else {
            return Error::NotFound;
        };
        match self.store.deposit_scope(token).await {
            Ok(scope) if scope.contains(vault) => {
                Error::Forbidden("a deposit token may only create items")
            }
            Ok(_) => Error::NotFound,
            Err(e) => e.into(),
        }
    }

    /// Publish the public key of `vault`'s key version `version` (derived from `key`)
    /// with its MAC, if none is stored yet.
    pub(super) async fn publish_deposit_key(
        &self,
        owner: &Id,
        vault: &Id,
        version: u32,
        key: &VaultKey,
    ) -> Result<()> {
        match self.store.vault_public_key(vault, version).await? {
            Some((Some(_), Some(_))) | None => return Ok(()),
            Some(_) => {}
        }
        let public_key = VaultKeyPair::derive(key, vault, version).public_key();
        // A seal-key call: off the runtime, like every other (`seal_calls`).
        let (holder, owner_id) = (*vault, *owner);
        let mac = self
            .seal_calls
            .run(move |seal| {
                Ok(public_key_mac(
                    seal,
                    RecipientKind::Vault,
                    &holder,
                    &owner_id,
                    Some(&holder),
                    Some(version),
                    &public_key,
                )?)
            })
            .await?;
        self.store
            .set_vault_public_key(vault, version, public_key.as_bytes(), &mac)
            .await?;
        Ok(())
    }

    /// Move the vault's waiting deposits that `principal` can open (only `item`, when
    /// given) into `items`, wrapped under `ring`'s current key: at most
    /// [`Config::deposit_claim_batch`](super::Config::deposit_claim_batch) of them, oldest
    /// first; the rest wait for the next request. Publish the current version's public
    /// key if it is missing. Returns whether any deposit was moved (by this call or a
    /// concurrent one).
    pub(super) async fn claim_deposits(
        &self,
        principal: &Principal,
        ring: &mut KeyRing,
        item: Option<&Id>,
    ) -> Result<bool> {
        let (owner, vault) = (ring.owner, ring.current.id);
        if item.is_none() {
            self.publish_deposit_key(&owner, &vault, ring.current.key_version, &ring.current.key)
                .await?;
        }
        let limit = if item.is_some() {
            1
        } else {
            self.config.deposit_claim_batch.max(1)
        };
        let pending = self
            .store
            .pending_deposits(&vault, holder_of(principal), item, limit)
            .await?;
        let mut reader: Option<Option<ReaderPair>> = None;
        let mut moved = false;
        for d in pending {
            if d.user_id != owner {
                continue;
            }
            let sealed = SealedKey::from_bytes(&d.sealed_item_key)?;
            let key: ItemKey = if d.to_readers {
                if reader.is_none() {
                    reader = Some(self.reader_pair(principal).await?);
                }
                let Some(Some(pair)) = &reader else {
                    // This caller cannot open a reader's copy (see `reader_pair`).
                    continue;
                };
                match pair.open(&owner, &d, &sealed) {
                    Ok(key) => key,
                    Err(e) => {
                        // Sealed to a pair this reader no longer has (a user-key rotation
                        // made a new one): another reader's copy still opens it, and a
                        // listing never fails for it.
                        tracing::warn!(deposit = %d.id, error = %e, "a deposit copy does not open with this reader's key: left to another reader");
                        continue;
                    }
                }
            } else {
                if d.key_version > ring.current.key_version {
                    // Sealed under a version rotated in after this request opened its key.
                    continue;
                }
                let vault_key = ring.key_at(self, d.key_version).await?;
                let pair = VaultKeyPair::derive(vault_key, &vault, d.key_version);
                open_from(
                    &pair,
                    &sealed,
                    &deposit_aad(&owner, &vault, &d.id, 1, d.key_version),
                )?
            };
            let name = key.open_content(
                &content_aad(Purpose::ItemName, &owner, &vault, &d.id, d.key_version),
                &Envelope::from_bytes(&d.name)?,
            )?;
            let name = String::from_utf8(name.to_vec())
                .map_err(|_| Error::Internal("deposited name is not UTF-8".into()))?;
            let value = Zeroizing::new(
                key.open_content(
                    &content_aad(Purpose::ItemValue, &owner, &vault, &d.id, d.key_version),
                    &Envelope::from_bytes(&d.value)?,
                )?
                .to_vec(),
            );
            let record = seal_item(
                &owner,
                &ring.current,
                d.id,
                1,
                &name,
                &value,
                d.created_at,
                d.created_at,
            )?;
            match self.store.claim_deposit(&d.id, record, &d.token_id).await {
                Ok(_) => moved = true,
                // A rotation committed meanwhile: the next reader moves it under the new key.
                Err(StoreError::KeyVersionMoved) => break,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(moved)
    }

    /// A vault's items, as [`Keyslot::list_items`] lists them, each with the deposit token
    /// that made it (`None`: written by a session or an ordinary token).
    pub async fn list_items_with_depositors(
        &self,
        principal: &Principal,
        vault: &Id,
    ) -> Result<Vec<(ItemSummary, Option<Id>)>> {
        let items = self.list_items(principal, vault).await?;
        let marks: HashMap<Id, Id> = self.store.depositors(vault).await?.into_iter().collect();
        Ok(items
            .into_iter()
            .map(|i| {
                let by = marks.get(&i.id).copied();
                (i, by)
            })
            .collect())
    }
}
