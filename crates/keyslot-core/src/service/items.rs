//! Vaults and items. Every route first finds the vault key through the caller's own slots
//! (scope), then checks permission: a vault outside a token's scope is 404 because the
//! token holds no key for it, before any permission question arises.

use keyslot_crypto::slot::{item_key_aad, vault_key_for_user_aad};
use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, ItemKey, NameIndexKey, Purpose, UnlockedCredential, UserKey,
    VaultKey, Wraps,
};
use zeroize::Zeroizing;

use super::accounts::{new_vault, vault_name_aad};
use super::lifecycle::{KeyRing, Trigger, VERSION_RETRIES};
use super::views::{Item, ItemSummary, Vault, VaultInfo};
use super::{Keyslot, now};
use crate::memberstore::Role;
use crate::model::{ItemRecord, Outcome, TokenVaultSlot};
use crate::store::StoreError;
use crate::{Error, Principal, Result, policy};

/// How many times a PUT without `If-Match` retries when a concurrent write wins.
const LAST_WRITER_RETRIES: usize = 3;

/// A vault key opened for this request.
pub(super) struct OpenVault {
    pub(super) id: Id,
    pub(super) key_version: u32,
    pub(super) key: VaultKey,
}

impl OpenVault {
    /// The vault key as the user key wraps it (sessions, a vault just made).
    pub(super) fn from_user_key(
        user_key: &UserKey,
        user: &Id,
        vault: &Id,
        key_version: u32,
        wrapped: &[u8],
    ) -> Result<Self> {
        let key = user_key.unwrap_key(
            &Envelope::from_bytes(wrapped)?,
            &vault_key_for_user_aad(user, vault, key_version),
        )?;
        Ok(Self {
            id: *vault,
            key_version,
            key,
        })
    }

    /// The vault key from a token's own slot for that vault.
    pub(super) fn from_token_slot(
        credential: &UnlockedCredential,
        user: &Id,
        vault: &Id,
        slot: &TokenVaultSlot,
    ) -> Result<Self> {
        let key = credential.open_vault_key(
            user,
            vault,
            slot.key_version,
            &Envelope::from_bytes(&slot.wrapped_vault_key)?,
        )?;
        Ok(Self {
            id: *vault,
            key_version: slot.key_version,
            key,
        })
    }
}

impl Keyslot {
    /// Vaults the caller can open, with their names.
    pub async fn list_vaults(&self, principal: &Principal) -> Result<Vec<Vault>> {
        if principal.is_deposit() {
            return Err(Error::Forbidden("a deposit token may only create items"));
        }
        let user = principal.user();
        // A token's are the vaults it holds a slot (or a pending grant beside an empty
        // slot) for, `"*"` or not: never its user's memberships as such.
        let ids: Vec<Id> = match principal {
            Principal::Token { token, .. } => self
                .store
                .token_vault_slots(token)
                .await?
                .into_iter()
                .map(|slot| slot.vault_id)
                .collect(),
            // Owned and shared alike: every vault the user is a member of.
            _ => self.store.member_vaults(user).await?,
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let ring = match self.open_current(principal, &id, true).await {
                Ok(ring) => ring,
                // Lost between the listing and the opening (deleted, or access ended).
                Err(Error::NotFound) => continue,
                Err(e) => return Err(e),
            };
            out.push(Vault {
                id,
                name: vault_name(&ring)?,
                role: ring.role.as_str(),
            });
        }
        self.audit
            .record(principal.event("vault.list", Outcome::Ok, format!("count={}", out.len())))
            .await?;
        Ok(out)
    }

    /// Create a vault (sessions only).
    pub async fn create_vault(&self, principal: &Principal, name: &str) -> Result<Vault> {
        let (user, user_key) = principal.require_session()?;
        policy::collect([policy::name("name", name)])?;
        let record = new_vault(user, user_key, name)?;
        let id = record.id;
        let audit = principal.event("vault.create", Outcome::Ok, format!("vault={id}"));
        // Granted to the user's "*" tokens in the same transaction.
        self.store_vault_with_star_grants(principal, user_key, record, audit)
            .await?;
        Ok(Vault {
            id,
            name: name.to_owned(),
            role: Role::Owner.as_str(),
        })
    }

    /// One vault as its caller sees it: name, role, key version and lifecycle state.
    pub async fn vault_info(&self, principal: &Principal, vault: &Id) -> Result<VaultInfo> {
        let ring = self.open_current(principal, vault, true).await?;
        let info = VaultInfo {
            id: *vault,
            name: vault_name(&ring)?,
            // A token acts within its user's role.
            role: ring.role.as_str(),
            key_version: ring.current.key_version,
            rotation_due: ring.state.is_due(now()),
            rewrap_pending: ring.state.rewrap_pending,
        };
        self.audit
            .record(principal.event("vault.read", Outcome::Ok, format!("vault={vault}")))
            .await?;
        Ok(info)
    }

    /// Rotate a vault's key now (its owner's session): returns the new key version.
    pub async fn rotate_vault(&self, principal: &Principal, vault: &Id) -> Result<u32> {
        principal.require_session()?;
        for _ in 0..VERSION_RETRIES {
            let ring = self.open_current(principal, vault, false).await?;
            if ring.role != Role::Owner {
                return Err(Error::Forbidden("rotating a vault needs the owner role"));
            }
            if self.rotate_with(principal, &ring, Trigger::Asked).await? {
                let mut ring = self.open_current(principal, vault, false).await?;
                let version = ring.current.key_version;
                // The first batch of the re-wrap, with the new key, after the answer: a
                // rotation costs O(holders) whatever the vault holds (a batch of 500
                // items made rotating a 100,000-item vault 4-8x slower than a 10-item
                // one in bench/run --scenario rotation). Later writes carry on.
                let this = self.clone();
                tokio::spawn(async move { this.advance_rewrap(&mut ring).await });
                return Ok(version);
            }
        }
        Err(StoreError::KeyVersionMoved.into())
    }

    /// Items of a vault, names decrypted.
    pub async fn list_items(&self, principal: &Principal, vault: &Id) -> Result<Vec<ItemSummary>> {
        let mut out = Vec::new();
        for _ in 0..VERSION_RETRIES {
            let mut ring = self.open_current(principal, vault, true).await?;
            // Items are stored and bound (AAD) under the vault's owner, whoever reads.
            let owner = ring.owner;
            let user = &owner;
            out.clear();
            let mut moved = false;
            // Deposits waiting for a reader become ordinary items first.
            self.claim_deposits(principal, &mut ring, None).await?;
            for record in self.store.items(user, vault).await? {
                if record.key_version > ring.current.key_version {
                    moved = true;
                    break;
                }
                let Some(key) = open_item_key(user, &mut ring, self, &record).await? else {
                    // Moved to a newer version by the re-wrap since the listing: again.
                    moved = true;
                    break;
                };
                let name = open_text(
                    &key,
                    &content_aad(Purpose::ItemName, user, &record),
                    &record.name,
                )?;
                out.push(ItemSummary {
                    id: record.id,
                    name,
                    version: record.version,
                    updated_at: record.updated_at,
                });
            }
            if moved {
                continue;
            }
            self.audit
                .record(principal.event(
                    "item.list",
                    Outcome::Ok,
                    format!("vault={vault} count={}", out.len()),
                ))
                .await?;
            return Ok(out);
        }
        Err(StoreError::KeyVersionMoved.into())
    }

    /// Read one item, through the chain when it is under an older key version.
    pub async fn get_item(&self, principal: &Principal, vault: &Id, item: &Id) -> Result<Item> {
        for _ in 0..VERSION_RETRIES {
            let mut ring = self.open_current(principal, vault, true).await?;
            let owner = ring.owner;
            let user = &owner;
            let record = self.store.item(user, vault, item).await?;
            let Some(record) = record else {
                // A deposit not read yet becomes an ordinary item, then is read.
                if self
                    .claim_deposits(principal, &mut ring, Some(item))
                    .await?
                {
                    continue;
                }
                return Err(Error::NotFound);
            };
            if record.key_version > ring.current.key_version {
                // Written under a version rotated in after this request opened its key.
                continue;
            }
            let Some(key) = open_item_key(user, &mut ring, self, &record).await? else {
                // Moved to a newer version by the re-wrap since it was read: read it again.
                continue;
            };
            return self.open_read_item(principal, *vault, key, &record).await;
        }
        Err(StoreError::KeyVersionMoved.into())
    }

    /// Decrypt an item with its opened item key, and record the read before answering it
    /// (a read whose event finds no room in the buffer is refused, see [`crate::audit`]).
    pub(super) async fn open_read_item(
        &self,
        principal: &Principal,
        vault: Id,
        key: ItemKey,
        record: &ItemRecord,
    ) -> Result<Item> {
        // The vault's owner, whom the item's AAD names (a member reads it too).
        let user = &record.user_id;
        let item = record.id;
        let name = open_text(
            &key,
            &content_aad(Purpose::ItemName, user, record),
            &record.name,
        )?;
        let value_bytes = key.open_content(
            &content_aad(Purpose::ItemValue, user, record),
            &Envelope::from_bytes(&record.value)?,
        )?;
        let value = serde_json::from_slice(&value_bytes)
            .map_err(|_| Error::Internal("item value is not JSON".into()))?;
        self.audit
            .record(principal.event(
                "item.read",
                Outcome::Ok,
                format!("vault={vault} item={item}"),
            ))
            .await?;
        Ok(Item {
            id: record.id,
            name,
            value,
            version: record.version,
            updated_at: record.updated_at,
        })
    }

    /// Create an item (version 1), under the vault's current key version: a rotation that
    /// is due runs first, and a rotation that commits meanwhile makes it re-wrap and retry.
    pub async fn create_item(
        &self,
        principal: &Principal,
        vault: &Id,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<(Id, u64)> {
        if principal.is_deposit() {
            // Sealed to the vault's public key: the token holds no vault key.
            return self.deposit_item(principal, vault, name, value).await;
        }
        let mut ring = self.open_current(principal, vault, true).await?;
        require_write(principal, ring.role)?;
        let value = self.encode_value(name, value)?;
        let owner = ring.owner;
        let user = &owner;
        let id = Id::random()?;
        for _ in 0..VERSION_RETRIES {
            let at = now();
            let record = seal_item(user, &ring.current, id, 1, name, &value, at, at)?;
            let audit = principal.event(
                "item.create",
                Outcome::Ok,
                format!("vault={vault} item={id}"),
            );
            match self.store.create_item(record, audit).await {
                Ok(()) => {
                    self.advance_rewrap(&mut ring).await;
                    return Ok((id, 1));
                }
                Err(StoreError::KeyVersionMoved) => {
                    ring = self.open_current(principal, vault, true).await?;
                    // The store also refuses a writer demoted or removed since the
                    // opening: the role read again says which.
                    require_write(principal, ring.role)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::KeyVersionMoved.into())
    }

    /// Write the next version of an item. With `if_match`, only if that is the current
    /// version (`PreconditionFailed` otherwise); without, the last writer wins.
    pub async fn update_item(
        &self,
        principal: &Principal,
        vault: &Id,
        item: &Id,
        name: &str,
        value: &serde_json::Value,
        if_match: Option<u64>,
    ) -> Result<u64> {
        let mut ring = self.open_current(principal, vault, true).await?;
        let owner = ring.owner;
        let user = &owner;
        // A deposit not read yet becomes an ordinary item first.
        let mut found = self.store.item(user, vault, item).await?;
        if found.is_none()
            && self
                .claim_deposits(principal, &mut ring, Some(item))
                .await?
        {
            found = self.store.item(user, vault, item).await?;
        }
        let mut current = found.ok_or(Error::NotFound)?;
        require_write(principal, ring.role)?;
        let value = self.encode_value(name, value)?;
        for _ in 0..LAST_WRITER_RETRIES + VERSION_RETRIES {
            if let Some(expected) = if_match
                && expected != current.version
            {
                return Err(Error::PreconditionFailed { expected });
            }
            let version = current.version + 1;
            let record = seal_item(
                user,
                &ring.current,
                *item,
                version,
                name,
                &value,
                current.created_at,
                now(),
            )?;
            let audit = principal.event(
                "item.update",
                Outcome::Ok,
                format!("vault={vault} item={item} version={version}"),
            );
            match self.store.update_item(record, audit).await {
                Ok(()) => {
                    self.advance_rewrap(&mut ring).await;
                    return Ok(version);
                }
                Err(StoreError::Conflict) => {
                    current = self
                        .store
                        .item(user, vault, item)
                        .await?
                        .ok_or(Error::NotFound)?;
                }
                Err(StoreError::KeyVersionMoved) => {
                    ring = self.open_current(principal, vault, true).await?;
                    require_write(principal, ring.role)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::PreconditionFailed {
            expected: if_match.unwrap_or(current.version),
        })
    }

    /// Delete an item (a write: a due rotation runs first).
    pub async fn delete_item(&self, principal: &Principal, vault: &Id, item: &Id) -> Result<()> {
        let mut ring = self.open_current(principal, vault, true).await?;
        let owner = ring.owner;
        let user = &owner;
        // A deposit not read yet becomes an ordinary item first.
        if self.store.item(user, vault, item).await?.is_none()
            && !self
                .claim_deposits(principal, &mut ring, Some(item))
                .await?
        {
            return Err(Error::NotFound);
        }
        require_write(principal, ring.role)?;
        let audit = principal.event(
            "item.delete",
            Outcome::Ok,
            format!("vault={vault} item={item}"),
        );
        for _ in 0..VERSION_RETRIES {
            match self
                .store
                .delete_item(user, vault, item, audit.clone())
                .await
            {
                Ok(()) => {
                    self.advance_rewrap(&mut ring).await;
                    return Ok(());
                }
                // Demoted or removed since the opening: the role read again says which.
                Err(StoreError::KeyVersionMoved) => {
                    ring = self.open_current(principal, vault, true).await?;
                    require_write(principal, ring.role)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::KeyVersionMoved.into())
    }

    /// Validate the name and serialize the value within the size limit.
    pub(super) fn encode_value(
        &self,
        name: &str,
        value: &serde_json::Value,
    ) -> Result<Zeroizing<Vec<u8>>> {
        policy::collect([policy::name("name", name)])?;
        let bytes = Zeroizing::new(
            serde_json::to_vec(value).map_err(|_| Error::invalid("value", "is not valid JSON"))?,
        );
        if bytes.len() > self.config.max_value_bytes {
            return Err(Error::invalid(
                "value",
                format!("is larger than {} bytes", self.config.max_value_bytes),
            ));
        }
        Ok(bytes)
    }
}

/// A write needs both the caller's role in the vault (a token's user's role bounds the
/// token) and, for a token, its own write permission.
fn require_write(principal: &Principal, role: Role) -> Result<()> {
    if !role.can_write() {
        return Err(Error::Forbidden("your role in this vault is read-only"));
    }
    match principal {
        Principal::Token {
            can_write: false, ..
        } => Err(Error::Forbidden("this token is read-only")),
        _ => Ok(()),
    }
}

fn vault_name(ring: &KeyRing) -> Result<String> {
    open_text(
        &ring.current.key,
        &vault_name_aad(&ring.owner, &ring.current.id, ring.current.key_version),
        &ring.state.name,
    )
}

pub(super) fn content_aad(purpose: Purpose, user: &Id, record: &ItemRecord) -> Aad {
    Aad::new(purpose)
        .user(user)
        .vault(&record.vault_id)
        .item(&record.id)
        .item_version(record.version)
        .key_version(record.key_version)
}

/// An item's key, under whichever version wraps it (older ones through the chain).
///
/// `None` when the item moved since `record` was read: the re-wrap moved it to a newer
/// version and, in the same commit, deleted the chain links nothing was under any more,
/// so the chain no longer reaches the version read. The caller reads the item again
/// (a read racing the re-wrap answered 500 before). A chain that does not reach an item
/// still under that version is broken: 500.
pub(super) async fn open_item_key(
    user: &Id,
    ring: &mut KeyRing,
    ks: &Keyslot,
    record: &ItemRecord,
) -> Result<Option<ItemKey>> {
    let aad = item_key_aad(
        user,
        &record.vault_id,
        &record.id,
        record.version,
        record.key_version,
    );
    let Some(vault_key) = ring.key_at_or_moved(ks, record.key_version).await? else {
        let now = ks.store.item(user, &record.vault_id, &record.id).await?;
        if now.is_some_and(|i| i.version == record.version && i.key_version == record.key_version) {
            return Err(Error::Internal("vault key chain has a gap".into()));
        }
        return Ok(None);
    };
    Ok(Some(vault_key.unwrap_key(
        &Envelope::from_bytes(&record.wrapped_item_key)?,
        &aad,
    )?))
}

pub(super) fn open_text<K: ContentKey>(key: &K, aad: &Aad, bytes: &[u8]) -> Result<String> {
    let plain = key.open_content(aad, &Envelope::from_bytes(bytes)?)?;
    String::from_utf8(plain.to_vec()).map_err(|_| Error::Internal("name is not UTF-8".into()))
}

/// Seal one item version under a fresh item key.
#[allow(clippy::too_many_arguments)]
pub(super) fn seal_item(
    user: &Id,
    open: &OpenVault,
    id: Id,
    version: u64,
    name: &str,
    value: &[u8],
    created_at: i64,
    updated_at: i64,
) -> Result<ItemRecord> {
    let key = ItemKey::generate()?;
    let mut record = ItemRecord {
        id,
        vault_id: open.id,
        user_id: *user,
        version,
        key_version: open.key_version,
        wrapped_item_key: open
            .key
            .wrap(
                &key,
                &item_key_aad(user, &open.id, &id, version, open.key_version),
            )?
            .to_bytes(),
        name: Vec::new(),
        value: Vec::new(),
        // The blind index end-to-end readers look the name up by (FORMAT §11.3): the
        // server holds the vault key in server mode, so every write (and the re-wrap,
        // which re-seals through here under the new version) computes it, and a `ksa_`
        // client finds server-mode items by name as well as its own.
        name_index: Some(
            NameIndexKey::derive(&open.key, &open.id, open.key_version)
                .index(name)
                .to_vec(),
        ),
        created_at,
        updated_at,
    };
    record.name = key
        .seal_content(
            &content_aad(Purpose::ItemName, user, &record),
            name.as_bytes(),
        )?
        .to_bytes();
    record.value = key
        .seal_content(&content_aad(Purpose::ItemValue, user, &record), value)?
        .to_bytes();
    Ok(record)
}
