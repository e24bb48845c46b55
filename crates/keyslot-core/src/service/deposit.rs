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
//! The deposit waits in its own table until a holder of the vault key lists or reads the
//! vault: that holder derives the pair of the deposit's version (through the backward
//! chain if the vault rotated since), opens the item key, and writes the item into
//! `items` wrapped under the then-current key like any other item (marked with the token
//! that deposited it). Later reads are the ordinary path.
//!
//! While the vault's rotation is due, or before any holder published the current
//! version's public key, this version answers 409 `rotation-due` with `Retry-After`
//! rather than sealing to the readers' own keys: it never seals to a key that a revoked
//! or expired credential can derive.

use std::collections::HashMap;

use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, ItemKey, PublicKey, Purpose, RecipientKind, SealedKey, VaultKey,
    VaultKeyPair, deposit_aad, open_from, public_key_mac, seal_to, verify_public_key_mac,
};
use zeroize::Zeroizing;

use super::items::seal_item;
use super::lifecycle::{KeyRing, VERSION_RETRIES};
use super::views::ItemSummary;
use super::{Keyslot, now};
use crate::Principal;
use crate::deposit_store::DepositRecord;
use crate::model::{AuditEvent, Outcome, TokenRecord};
use crate::store::StoreError;
use crate::{Error, Result};

/// How long a depositor is told to wait when the vault must rotate first.
const DUE_RETRY_SECS: u64 = 30;

/// The context of a deposited item's name or value (the item's own, at version 1 and the
/// key version it was deposited under).
fn content_aad(purpose: Purpose, owner: &Id, vault: &Id, item: &Id, key_version: u32) -> Aad {
    Aad::new(purpose)
        .user(owner)
        .vault(vault)
        .item(item)
        .item_version(1)
        .key_version(key_version)
}

impl Keyslot {
    /// A deposit token's `POST /v1/vaults/{vault}/items`: seal the item to the vault's
    /// current public key. 404 outside the token's scope; 409 `rotation-due` while the
    /// vault must rotate first; 500 (nothing sealed, audited) if the public key's MAC
    /// does not match.
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
        let id = Id::random()?;
        for _ in 0..VERSION_RETRIES {
            let at = now();
            let target = self
                .store
                .deposit_target(token, vault)
                .await?
                .ok_or(Error::NotFound)?;
            if target.is_due(at) {
                return Err(due());
            }
            let (Some(pk), Some(mac)) = (&target.public_key, &target.public_key_mac) else {
                return Err(Error::RotationDue {
                    retry_after: DUE_RETRY_SECS,
                    detail: "this vault's current key has not published its deposit key yet: \
                             it is published when its owner next opens the vault",
                });
            };
            let (owner, version) = (target.owner, target.key_version);
            let public_key = PublicKey::from_slice(pk)?;
            if verify_public_key_mac(
                self.seal.as_ref(),
                RecipientKind::Vault,
                vault,
                &owner,
                Some(vault),
                Some(version),
                &public_key,
                mac,
            )
            .is_err()
            {
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
            let key = ItemKey::generate()?;
            let sealed = seal_to(
                &public_key,
                &key,
                &deposit_aad(&owner, vault, &id, 1, version),
            )?;
            let record = DepositRecord {
                id,
                vault_id: *vault,
                user_id: owner,
                key_version: version,
                sealed_item_key: sealed.to_bytes(),
                name: key
                    .seal_content(
                        &content_aad(Purpose::ItemName, &owner, vault, &id, version),
                        name.as_bytes(),
                    )?
                    .to_bytes(),
                value: key
                    .seal_content(
                        &content_aad(Purpose::ItemValue, &owner, vault, &id, version),
                        &value,
                    )?
                    .to_bytes(),
                token_id: *token,
                created_at: at,
            };
            let audit = principal.event(
                "item.deposit",
                Outcome::Ok,
                format!("vault={vault} item={id} token={token} key_version={version}"),
            );
            match self.store.create_deposit(record, at, audit).await {
                Ok(()) => return Ok((id, 1)),
                Err(StoreError::KeyVersionMoved) => continue,
                Err(StoreError::Conflict) => return Err(due()),
                Err(StoreError::NotFound) => return Err(Error::NotFound),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::KeyVersionMoved.into())
    }

    /// Write a deposit token minted by `session`: scoped to `ids` (vaults the caller owns),
    /// no slot. Each vault is opened with the session's keys first, which runs a due
    /// rotation and publishes the current version's public key, so deposits can start.
    pub(super) async fn mint_deposit(
        &self,
        principal: &Principal,
        session: &Id,
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
            .create_deposit_token(record, &vaults, Some(session), audit)
            .await
        {
            Ok(()) => Ok(()),
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
        let mac = public_key_mac(
            self.seal.as_ref(),
            RecipientKind::Vault,
            vault,
            owner,
            Some(vault),
            Some(version),
            &public_key,
        )?;
        self.store
            .set_vault_public_key(vault, version, public_key.as_bytes(), &mac)
            .await?;
        Ok(())
    }

    /// Move the vault's waiting deposits (only `item`, when given) into `items`, wrapped
    /// under `ring`'s current key; publish the current version's public key if it is
    /// missing. Returns whether any deposit was moved (by this call or a concurrent one).
    pub(super) async fn claim_deposits(
        &self,
        ring: &mut KeyRing,
        item: Option<&Id>,
    ) -> Result<bool> {
        let (owner, vault) = (ring.owner, ring.current.id);
        if item.is_none() {
            self.publish_deposit_key(&owner, &vault, ring.current.key_version, &ring.current.key)
                .await?;
        }
        let pending = self.store.pending_deposits(&vault, item).await?;
        let mut moved = false;
        for d in pending {
            if d.key_version > ring.current.key_version || d.user_id != owner {
                // Sealed under a version rotated in after this request opened its key.
                continue;
            }
            let vault_key = ring.key_at(self, d.key_version).await?;
            let pair = VaultKeyPair::derive(vault_key, &vault, d.key_version);
            let key: ItemKey = open_from(
                &pair,
                &SealedKey::from_bytes(&d.sealed_item_key)?,
                &deposit_aad(&owner, &vault, &d.id, 1, d.key_version),
            )?;
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

fn due() -> Error {
    Error::RotationDue {
        retry_after: DUE_RETRY_SECS,
        detail: "this vault's key must rotate before anything is sealed to it: \
                 it rotates at the next request of a holder of its key",
    }
}
