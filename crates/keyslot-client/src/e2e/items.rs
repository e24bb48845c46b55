//! Items of an end-to-end vault: listing (names opened here), reading, finding by name
//! through the blind index, writing (sealed here, signed by a member's identity), and
//! deleting (END-TO-END.md §6, §9). Shared by sessions and [`super::TokenClient`].

use core::fmt;

use keyslot_core::policy;
use keyslot_crypto::Id;
use keyslot_crypto::identity::{IdentityKeyPair, IdentityPublic};
use keyslot_crypto::item::{SealedItem, open_item, open_item_name, seal_item};
use keyslot_crypto::name_index::NameIndexKey;
use reqwest::Method;

use super::account::{E2eSession, to_json};
use super::checks::Refusal;
use super::keyring::{Keyring, Opener};
use super::vaults::{keyring, vault_row};
use super::wire::{self, B64, WireId};
use super::{E2eError, E2eResult, check_input};
use crate::{Client, segment};

/// An item as listed, its name opened here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItemSummary {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// Version.
    pub version: u64,
    /// Last write (RFC 3339).
    pub updated_at: String,
    /// The vault key version its item key is under.
    pub key_version: u32,
}

/// Who wrote an item version, as far as this client can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// No signature (a token's write, or a server-mode write).
    Unsigned,
    /// Signed by this user, whose identity verified the signature.
    Verified(Id),
    /// Signed by a user whose identity this client does not know (not pinned): the
    /// signature was not checked.
    Unchecked(Id),
}

/// An item with its value, opened here. Its `Debug` never shows the value.
#[derive(Clone, PartialEq)]
pub struct OpenItem {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// Value (JSON, as in server mode: data written either way reads either way).
    pub value: serde_json::Value,
    /// Version.
    pub version: u64,
    /// Last write (RFC 3339).
    pub updated_at: String,
    /// The vault key version its item key is under.
    pub key_version: u32,
    /// Its writer's signature.
    pub signed: Signed,
}

impl fmt::Debug for OpenItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenItem")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .field("version", &self.version)
            .field("signed", &self.signed)
            .finish_non_exhaustive()
    }
}

/// A caller that reads and writes items: its HTTP client, how it opens slots, and (for
/// members) the identity that signs its writes and the identities it verifies reads with.
pub(crate) struct Actor<'a> {
    pub client: &'a Client,
    pub opener: Opener<'a>,
    pub signer: Option<(&'a Id, &'a IdentityKeyPair)>,
    pub known: Vec<(Id, IdentityPublic)>,
}

impl E2eSession {
    pub(crate) fn actor(&self) -> Actor<'_> {
        Actor {
            client: &self.client,
            opener: self.opener(),
            signer: Some((&self.user, &self.identity)),
            known: vec![(self.user, self.identity.public())],
        }
    }

    /// `GET /v1/vaults/{vault}/items`, every name opened here.
    pub async fn items(&self, vault: &Id) -> E2eResult<Vec<OpenItemSummary>> {
        list(&self.actor(), vault, None, None).await
    }

    /// This session's actor, knowing every identity this user pinned: a read checks the
    /// writer's signature whoever of them wrote it.
    async fn actor_with_pins(&self) -> E2eResult<Actor<'_>> {
        let mut actor = self.actor();
        actor.known = self.pinned().await?.into_iter().collect();
        Ok(actor)
    }

    /// `GET …/items/{item}`, opened here; the writer's signature checked when this user
    /// pinned the writer (or is the writer).
    pub async fn item(&self, vault: &Id, item: &Id) -> E2eResult<OpenItem> {
        read(&self.actor_with_pins().await?, vault, item).await
    }

    /// The item named `name`, found through the blind index (one name downloaded, not
    /// all of them), or `None`.
    pub async fn find_item(&self, vault: &Id, name: &str) -> E2eResult<Option<OpenItem>> {
        find(&self.actor_with_pins().await?, vault, name).await
    }

    /// Create an item: sealed here under a fresh item key, indexed, signed.
    pub async fn create_item(
        &self,
        vault: &Id,
        name: &str,
        value: &serde_json::Value,
    ) -> E2eResult<(Id, u64)> {
        write(&self.actor(), vault, None, name, value).await
    }

    /// Replace an item's name and value; `read_version` is the version it replaces (the
    /// write is refused if another came in between).
    pub async fn update_item(
        &self,
        vault: &Id,
        item: &Id,
        read_version: u64,
        name: &str,
        value: &serde_json::Value,
    ) -> E2eResult<u64> {
        write(
            &self.actor(),
            vault,
            Some((*item, read_version)),
            name,
            value,
        )
        .await
        .map(|(_, v)| v)
    }

    /// `DELETE …/items/{item}`.
    pub async fn delete_item(&self, vault: &Id, item: &Id) -> E2eResult<()> {
        delete(self.client(), vault, item).await
    }
}

fn items_path(vault: &Id) -> String {
    format!("/v1/vaults/{}/items", segment(&vault.to_string()))
}

fn item_path(vault: &Id, item: &Id) -> String {
    format!(
        "/v1/vaults/{}/items/{}",
        segment(&vault.to_string()),
        segment(&item.to_string())
    )
}

/// The listing (optionally filtered by blind index) and the keys that open it.
async fn list_raw(
    actor: &Actor<'_>,
    vault: &Id,
    owner: Option<Id>,
    name_index: Option<&[u8; 32]>,
) -> E2eResult<(Vec<wire::ItemRow>, Keyring)> {
    let owner = match owner {
        Some(owner) => owner,
        None => vault_row(actor.client, vault).await?.owner_id.0,
    };
    let mut path = items_path(vault);
    if let Some(index) = name_index {
        path.push_str("?name_index=");
        path.push_str(&segment(&base64url(index)));
    }
    let list: wire::ItemList = actor.client.get(&path).await?;
    if let Some(o) = list.owner_id
        && o.0 != owner
    {
        return Err(Refusal::Mismatch {
            what: "the listing names another owner than the vault".into(),
        }
        .into());
    }
    let ring = keyring(
        actor.client,
        &actor.opener,
        &owner,
        vault,
        &list.slot,
        &list.chain,
    )
    .await?;
    Ok((list.items, ring))
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn summary(ring: &mut Keyring, row: &wire::ItemRow) -> E2eResult<OpenItemSummary> {
    let (owner, vault) = (ring.owner, ring.vault);
    let key = ring.at(row.key_version)?;
    let name = open_item_name(
        key,
        &owner,
        &vault,
        &row.id.0,
        row.version,
        row.key_version,
        &row.wrapped_item_key.0,
        &row.sealed_name.0,
    )?;
    Ok(OpenItemSummary {
        id: row.id.0,
        name,
        version: row.version,
        updated_at: row.updated_at.clone(),
        key_version: row.key_version,
    })
}

pub(crate) async fn list(
    actor: &Actor<'_>,
    vault: &Id,
    owner: Option<Id>,
    name_index: Option<&[u8; 32]>,
) -> E2eResult<Vec<OpenItemSummary>> {
    let (rows, mut ring) = list_raw(actor, vault, owner, name_index).await?;
    rows.iter().map(|row| summary(&mut ring, row)).collect()
}

pub(crate) async fn read(actor: &Actor<'_>, vault: &Id, item: &Id) -> E2eResult<OpenItem> {
    // The owner id comes with the item (else from the vault): it is bound into every AAD
    // below, so a wrong one opens nothing.
    let full: wire::ItemFull = actor.client.get(&item_path(vault, item)).await?;
    let owner = match full.owner_id {
        Some(owner) => owner.0,
        None => vault_row(actor.client, vault).await?.owner_id.0,
    };
    if full.id.0 != *item {
        return Err(Refusal::Mismatch {
            what: format!("asked for item {item}, got {}", full.id.0),
        }
        .into());
    }
    let mut ring = keyring(
        actor.client,
        &actor.opener,
        &owner,
        vault,
        &full.slot,
        &full.chain,
    )
    .await?;
    let sealed = SealedItem {
        wrapped_item_key: full.wrapped_item_key.0.clone(),
        sealed_name: full.sealed_name.0.clone(),
        sealed_value: full.sealed_value.0.clone(),
    };
    let key = ring.at(full.key_version)?;
    let (name, value) = open_item(
        key,
        &owner,
        vault,
        item,
        full.version,
        full.key_version,
        &sealed,
    )?;
    let value = serde_json::from_slice(&value)
        .map_err(|_| E2eError::protocol("the item's value is not JSON"))?;
    let signed = match (&full.signer, &full.signature) {
        (Some(signer), Some(signature)) => {
            match actor.known.iter().find(|(id, _)| *id == signer.0) {
                Some((_, identity)) => {
                    let signature = super::sig::parse(signature, "signature")?;
                    identity
                        .verify_item(vault, item, full.version, &sealed, &signature)
                        .map_err(|_| Refusal::UnverifiedKey {
                            what: format!("item {item}'s signature by {}", signer.0),
                        })?;
                    Signed::Verified(signer.0)
                }
                None => Signed::Unchecked(signer.0),
            }
        }
        _ => Signed::Unsigned,
    };
    Ok(OpenItem {
        id: *item,
        name,
        value,
        version: full.version,
        updated_at: full.updated_at,
        key_version: full.key_version,
        signed,
    })
}

/// Find by name: the blind index under the current key version first (one name comes
/// back); items whose index is under an older version (written before a rotation, not
/// re-indexed yet) are found by opening the listing's names instead.
pub(crate) async fn find(actor: &Actor<'_>, vault: &Id, name: &str) -> E2eResult<Option<OpenItem>> {
    let v = vault_row(actor.client, vault).await?;
    let ring = keyring(
        actor.client,
        &actor.opener,
        &v.owner_id.0,
        vault,
        &v.slot,
        &[],
    )
    .await?;
    let index = NameIndexKey::derive(ring.current()?, vault, ring.newest).index(name);
    let owner = Some(v.owner_id.0);
    let mut hits = list(actor, vault, owner, Some(&index)).await?;
    hits.retain(|s| s.name == name);
    if hits.is_empty() && ring.newest > 1 {
        hits = list(actor, vault, owner, None).await?;
        hits.retain(|s| s.name == name);
    }
    match hits.first() {
        Some(hit) => read(actor, vault, &hit.id).await.map(Some),
        None => Ok(None),
    }
}

pub(crate) async fn write(
    actor: &Actor<'_>,
    vault: &Id,
    replacing: Option<(Id, u64)>,
    name: &str,
    value: &serde_json::Value,
) -> E2eResult<(Id, u64)> {
    check_input([policy::name("name", name)])?;
    let value_bytes = zeroize::Zeroizing::new(
        serde_json::to_vec(value).map_err(|_| E2eError::protocol("the value is not JSON"))?,
    );
    let v = vault_row(actor.client, vault).await?;
    let owner = v.owner_id.0;
    let ring = keyring(actor.client, &actor.opener, &owner, vault, &v.slot, &[]).await?;
    if ring.newest != v.key_version {
        return Err(E2eError::protocol(format!(
            "this credential holds key version {} of the vault, not the current {}",
            ring.newest, v.key_version
        )));
    }
    let key = ring.current()?;
    let key_version = v.key_version;
    let (item, version) = match replacing {
        Some((item, read)) => (
            item,
            read.checked_add(1)
                .ok_or_else(|| E2eError::protocol("no item version follows"))?,
        ),
        None => (Id::random()?, 1),
    };
    let sealed = seal_item(
        key,
        &owner,
        vault,
        &item,
        version,
        key_version,
        name,
        &value_bytes,
    )?;
    let signature = actor
        .signer
        .map(|(_, identity)| super::sig::b64(&identity.sign_item(vault, &item, version, &sealed)));
    let body = wire::ItemWrite {
        id: replacing.is_none().then_some(WireId(item)),
        version,
        key_version,
        wrapped_item_key: B64::of(sealed.wrapped_item_key.clone()),
        sealed_name: B64::of(sealed.sealed_name.clone()),
        sealed_value: B64::of(sealed.sealed_value.clone()),
        name_index: B64::of(
            NameIndexKey::derive(key, vault, key_version)
                .index(name)
                .to_vec(),
        ),
        signature,
    };
    let body = to_json(&body)?;
    let written: wire::Written = match replacing {
        Some((_, read)) => {
            actor
                .client
                .call(
                    Method::PUT,
                    &item_path(vault, &item),
                    Some(&body),
                    Some(read),
                )
                .await?
                .0
        }
        None => {
            actor
                .client
                .send(Method::POST, &items_path(vault), &body)
                .await?
        }
    };
    if written.id.0 != item || written.version != version {
        return Err(Refusal::Mismatch {
            what: format!(
                "wrote item {item} version {version}, the server answered {} version {}",
                written.id.0, written.version
            ),
        }
        .into());
    }
    Ok((item, version))
}

pub(crate) async fn delete(client: &Client, vault: &Id, item: &Id) -> E2eResult<()> {
    client
        .call::<serde_json::Value>(Method::DELETE, &item_path(vault, item), None, None)
        .await?;
    Ok(())
}
