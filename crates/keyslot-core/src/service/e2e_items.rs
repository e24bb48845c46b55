//! Vaults and items for a caller that does its own crypto ([`Principal::Client`]: an
//! end-to-end session, or any token presented as `ksa_`; docs/END-TO-END.md §6, §9).
//!
//! The server opens nothing here: it finds the caller's own slot (or pending grant) the
//! way server mode does, checks scope, role and permission the same way, and hands back
//! envelopes; writes store the envelopes the client made after checking their sizes and
//! that they are under the vault's current key version. A rotation that is due is never
//! run here (the server holds no key to run it with): writes answer 409 `rotation-due`
//! until a client holding the vault key rotates.

use keyslot_crypto::item::SealedItem;
use keyslot_crypto::{
    Envelope, Id, IdentityPublic, PublicKey, RecipientKind, Signature, public_key_mac,
};

use super::client_views::{
    ClientChainLink, ClientItem, ClientItemList, ClientSlot, ClientVault, ClientWrite,
    NewClientVault,
};
use super::lifecycle::holder_of;
use super::{Keyslot, now};
use crate::client_store::RawItem;
use crate::keystore::{Grant, Holder, VaultAccess};
use crate::memberstore::Role;
use crate::model::{ItemRecord, Outcome, VaultRecord};
use crate::store::StoreError;
use crate::{ClientActor, Error, FieldError, Principal, Result};

/// Largest wrapped key (an item key under a vault key, a vault key under a wrap key): an
/// envelope of a 32-byte key is under 100 bytes; the rest is headroom for format changes.
pub(super) const MAX_WRAPPED_KEY: usize = 512;
/// Largest sealed name: 256 characters of up to 4 bytes each, plus the envelope.
pub(super) const MAX_SEALED_NAME: usize = 1024 + 256;
/// The envelope's overhead over its plaintext (header, nonce, tag: FORMAT §4).
const ENVELOPE_OVERHEAD: usize = keyslot_crypto::envelope::MIN_LEN;
/// A blind name index is one HMAC-SHA256 (FORMAT §11.3).
const NAME_INDEX_LEN: usize = 32;
/// An Ed25519 signature.
pub(super) const SIGNATURE_LEN: usize = 64;

/// What a client caller reaches of one vault: the vault's state and role, and the slot
/// (or grant) it opens the vault key with.
struct DataAccess {
    access: VaultAccess,
    slot: ClientSlot,
}

impl DataAccess {
    fn owner(&self) -> Id {
        self.access.state.owner
    }
}

impl Keyslot {
    /// The caller's slot for `vault`: its own at the current version, else a pending
    /// grant at least that new (a client converts it with [`Self::client_put_slot`]).
    /// `NotFound` when it holds neither, whether or not the vault exists, as in server
    /// mode; a deposit token gets 403 in its scope and 404 outside it.
    async fn data_access(&self, principal: &Principal, vault: &Id) -> Result<DataAccess> {
        let Principal::Client { user, actor, .. } = principal else {
            return Err(Error::Forbidden("this route answers end-to-end callers"));
        };
        if let ClientActor::Token {
            token,
            deposit: true,
            ..
        } = actor
        {
            return Err(if self.store.deposit_scope(token).await?.contains(vault) {
                Error::Forbidden("a deposit token may only deposit")
            } else {
                Error::NotFound
            });
        }
        let holder = holder_of(principal);
        let access = self
            .store
            .vault_access(user, vault, holder)
            .await?
            .ok_or(Error::NotFound)?;
        let held = access.slot.clone().ok_or(Error::NotFound)?;
        let current = access.state.key_version;
        let slot = if held.key_version >= current {
            match holder {
                Holder::User(_) => ClientSlot::Member {
                    key_version: held.key_version,
                    wrapped_vault_key: held.wrapped_vault_key,
                },
                Holder::Token(_) => ClientSlot::Token {
                    key_version: held.key_version,
                    wrapped_vault_key: held.wrapped_vault_key,
                },
            }
        } else {
            // As in server mode: only a grant of the current version gives access; a
            // holder left out of the last rotation holds no key of the vault now.
            match self.store.newest_grant(holder, vault).await? {
                Some(grant) if grant.key_version >= current => ClientSlot::Grant {
                    key_version: grant.key_version,
                    sealed: grant.sealed,
                },
                _ => return Err(Error::NotFound),
            }
        };
        Ok(DataAccess { access, slot })
    }

    /// The chain links from `from` down to `down_to`, newest first, each as the wire
    /// names it: the key of `key_version` wrapped under the next one's.
    async fn data_chain(
        &self,
        vault: &Id,
        from: u32,
        down_to: u32,
    ) -> Result<Vec<ClientChainLink>> {
        if down_to >= from {
            return Ok(Vec::new());
        }
        let links = self.store.chain_links(vault, from, down_to).await?;
        Ok(links
            .into_iter()
            .map(|link| ClientChainLink {
                key_version: link.key_version.saturating_sub(1),
                wrapped: link.chain,
            })
            .collect())
    }

    async fn data_vault_view(&self, vault: &Id, access: DataAccess) -> Result<ClientVault> {
        let state = &access.access.state;
        let signed = self
            .store
            .signed_vault_key(vault, state.key_version)
            .await?
            .unwrap_or_default();
        Ok(ClientVault {
            id: *vault,
            owner_id: state.owner,
            role: access.access.role.as_str(),
            key_version: state.key_version,
            rotation_due: state.is_due(now()),
            sealed_name: state.name.clone(),
            public_key: signed.public_key,
            public_key_signature: signed.signature,
            slot: access.slot,
        })
    }

    /// The vaults the caller holds a slot or a pending grant for, as envelopes.
    pub async fn client_vaults(&self, principal: &Principal) -> Result<Vec<ClientVault>> {
        let ids: Vec<Id> = match principal {
            Principal::Client {
                actor: ClientActor::Token { deposit: true, .. },
                ..
            } => return Err(Error::Forbidden("a deposit token may only deposit")),
            Principal::Client {
                actor: ClientActor::Token { token, .. },
                ..
            } => self
                .store
                .token_vault_slots(token)
                .await?
                .into_iter()
                .map(|slot| slot.vault_id)
                .collect(),
            Principal::Client { user, .. } => self.store.member_vaults(user).await?,
            _ => return Err(Error::Forbidden("this route answers end-to-end callers")),
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.data_access(principal, &id).await {
                Ok(access) => out.push(self.data_vault_view(&id, access).await?),
                // Lost between the listing and the look (deleted, access ended).
                Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        self.audit
            .record(principal.event("vault.list", Outcome::Ok, format!("count={}", out.len())))
            .await?;
        Ok(out)
    }

    /// One vault as envelopes.
    pub async fn client_vault(&self, principal: &Principal, vault: &Id) -> Result<ClientVault> {
        let access = self.data_access(principal, vault).await?;
        let view = self.data_vault_view(vault, access).await?;
        self.audit
            .record(principal.event("vault.read", Outcome::Ok, format!("vault={vault}")))
            .await?;
        Ok(view)
    }

    /// Create a vault an end-to-end session's client made: its first key (version 1)
    /// wrapped under the user key, its sealed name, and its public key signed by the
    /// owner's identity. A grant to each of the user's live `"*"` tokens must come with
    /// it (sealed by the client to each token's verified key), as in server mode.
    pub async fn client_create_vault(
        &self,
        principal: &Principal,
        new: NewClientVault,
    ) -> Result<ClientVault> {
        let Principal::Client {
            user,
            actor: ClientActor::Session { .. },
            ..
        } = principal
        else {
            return Err(Error::Forbidden(
                "this route needs a session, not an API token",
            ));
        };
        let mut problems = vec![
            envelope_field("wrapped_vault_key", &new.wrapped_vault_key, MAX_WRAPPED_KEY),
            envelope_field("sealed_name", &new.sealed_name, MAX_SEALED_NAME),
            exact_len(
                "public_key_signature",
                &new.public_key_signature,
                SIGNATURE_LEN,
            ),
        ];
        if PublicKey::from_slice(&new.public_key).is_err() {
            problems.push(Some(FieldError::new(
                "public_key",
                "must be an X25519 public key (32 bytes)",
            )));
        }
        for (i, (_, sealed)) in new.token_grants.iter().enumerate() {
            if sealed.is_empty() || sealed.len() > MAX_WRAPPED_KEY {
                problems.push(Some(FieldError::new(
                    format!("token_grants[{i}].sealed"),
                    format!("must be 1 to {MAX_WRAPPED_KEY} bytes"),
                )));
            }
        }
        crate::policy::collect(problems)?;
        let identity = self.identity_of(user).await?;
        let signed = Signature::from_slice(&new.public_key_signature).and_then(|signature| {
            identity.verify_vault_key(
                &new.id,
                1,
                &PublicKey::from_slice(&new.public_key)?,
                &signature,
            )
        });
        if signed.is_err() {
            return Err(Error::invalid(
                "public_key_signature",
                "does not verify under your identity key",
            ));
        }
        let at = now();
        let record = VaultRecord {
            id: new.id,
            user_id: *user,
            key_version: 1,
            wrapped_vault_key: new.wrapped_vault_key,
            name: new.sealed_name,
            created_at: at,
        };
        let grants = new
            .token_grants
            .into_iter()
            .map(|(token, sealed)| Grant {
                holder: Holder::Token(token),
                vault_id: new.id,
                key_version: 1,
                sealed,
            })
            .collect();
        // The server's MAC binds the key to this vault for the server-mode checks that
        // read it; clients trust the owner's signature instead (END-TO-END §5).
        let public_key = PublicKey::from_slice(&new.public_key)?;
        let (vault, owner) = (new.id, *user);
        let mac = self
            .seal_calls
            .run(move |seal| {
                Ok(public_key_mac(
                    seal,
                    RecipientKind::Vault,
                    &vault,
                    &owner,
                    Some(&vault),
                    Some(1),
                    &public_key,
                )?)
            })
            .await?;
        let audit = principal.event("vault.create", Outcome::Ok, format!("vault={vault}"));
        match self
            .store
            .create_client_vault(
                record,
                grants,
                &new.public_key,
                &mac,
                &new.public_key_signature,
                audit,
            )
            .await
        {
            Ok(()) => {}
            Err(StoreError::KeyVersionMoved) => {
                return Err(Error::invalid(
                    "token_grants",
                    "must hold one grant for each of the account's live \"*\" tokens, and no other",
                ));
            }
            Err(StoreError::Conflict) => {
                return Err(Error::Conflict("a vault with this id exists"));
            }
            Err(e) => return Err(e.into()),
        }
        self.client_vault(principal, &vault).await
    }

    /// A vault's items as envelopes (only those whose blind index is one of
    /// `name_indexes`, when given), with the caller's slot and the chain down to the
    /// oldest key version listed.
    pub async fn client_items(
        &self,
        principal: &Principal,
        vault: &Id,
        name_indexes: &[Vec<u8>],
    ) -> Result<ClientItemList> {
        let access = self.data_access(principal, vault).await?;
        let items = self
            .store
            .raw_items(&access.owner(), vault, name_indexes)
            .await?;
        let top = access.slot.key_version();
        let lowest = items
            .iter()
            .map(|i| i.record.key_version)
            .min()
            .unwrap_or(top);
        let chain = self.data_chain(vault, top, lowest).await?;
        self.audit
            .record(principal.event(
                "item.list",
                Outcome::Ok,
                format!("vault={vault} count={}", items.len()),
            ))
            .await?;
        Ok(ClientItemList {
            items,
            slot: access.slot,
            chain,
        })
    }

    /// One item as envelopes, with the caller's slot and the chain down to its key
    /// version.
    pub async fn client_item(
        &self,
        principal: &Principal,
        vault: &Id,
        item: &Id,
    ) -> Result<ClientItem> {
        let access = self.data_access(principal, vault).await?;
        let owner = access.owner();
        let raw = self
            .store
            .raw_item(&owner, vault, item)
            .await?
            .ok_or(Error::NotFound)?;
        let chain = self
            .data_chain(vault, access.slot.key_version(), raw.record.key_version)
            .await?;
        self.audit
            .record(principal.event(
                "item.read",
                Outcome::Ok,
                format!("vault={vault} item={item}"),
            ))
            .await?;
        Ok(ClientItem {
            item: raw,
            owner_id: owner,
            slot: access.slot,
            chain,
        })
    }

    /// Store the first version of an item a client sealed.
    pub async fn client_create_item(
        &self,
        principal: &Principal,
        vault: &Id,
        write: ClientWrite,
    ) -> Result<(Id, u64)> {
        let access = self.data_access(principal, vault).await?;
        client_may_write(principal, access.access.role)?;
        let id = write
            .id
            .ok_or_else(|| Error::invalid("id", "is required"))?;
        if write.version != 1 {
            return Err(Error::invalid("version", "must be 1 for a new item"));
        }
        let raw = self.data_record(principal, &access, *vault, id, write, None)?;
        self.check_item_signature(principal, &raw).await?;
        let audit = principal.event(
            "item.create",
            Outcome::Ok,
            format!("vault={vault} item={id}"),
        );
        match self.store.create_raw_item(raw, audit).await {
            Ok(()) => Ok((id, 1)),
            Err(StoreError::Conflict) => Err(Error::Conflict("an item with this id exists")),
            Err(StoreError::KeyVersionMoved) => Err(self.data_not_writable(principal, vault).await),
            Err(e) => Err(e.into()),
        }
    }

    /// Store the next version of an item a client sealed. `write.version` must be the
    /// current version + 1 (the item key's AAD binds it), and `if_match`, when given, the
    /// current version: 412 otherwise.
    pub async fn client_update_item(
        &self,
        principal: &Principal,
        vault: &Id,
        item: &Id,
        write: ClientWrite,
        if_match: Option<u64>,
    ) -> Result<u64> {
        let access = self.data_access(principal, vault).await?;
        let current = self
            .store
            .raw_item(&access.owner(), vault, item)
            .await?
            .ok_or(Error::NotFound)?;
        client_may_write(principal, access.access.role)?;
        if write.id.is_some_and(|id| id != *item) {
            return Err(Error::invalid("id", "must be the item's id, or left out"));
        }
        let expected = if_match.unwrap_or(current.record.version);
        if expected != current.record.version || write.version != expected + 1 {
            return Err(Error::PreconditionFailed {
                expected: write.version.saturating_sub(1),
            });
        }
        let version = write.version;
        let raw = self.data_record(
            principal,
            &access,
            *vault,
            *item,
            write,
            Some(current.record.created_at),
        )?;
        self.check_item_signature(principal, &raw).await?;
        let audit = principal.event(
            "item.update",
            Outcome::Ok,
            format!("vault={vault} item={item} version={version}"),
        );
        match self.store.update_raw_item(raw, audit).await {
            Ok(()) => Ok(version),
            Err(StoreError::Conflict) => Err(Error::PreconditionFailed {
                expected: version - 1,
            }),
            Err(StoreError::KeyVersionMoved) => Err(self.data_not_writable(principal, vault).await),
            Err(e) => Err(e.into()),
        }
    }

    /// Delete an item (no key needed: the same checks as any write).
    pub async fn client_delete_item(
        &self,
        principal: &Principal,
        vault: &Id,
        item: &Id,
    ) -> Result<()> {
        let access = self.data_access(principal, vault).await?;
        client_may_write(principal, access.access.role)?;
        let audit = principal.event(
            "item.delete",
            Outcome::Ok,
            format!("vault={vault} item={item}"),
        );
        match self
            .store
            .delete_item(&access.owner(), vault, item, audit)
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::KeyVersionMoved) => Err(self.data_not_writable(principal, vault).await),
            Err(e) => Err(e.into()),
        }
    }

    /// Turn the caller's pending grant into its own slot: `wrapped_vault_key` is the
    /// grant's key, which the client opened, wrapped under its user key (member) or its
    /// wrap key (token). The server cannot check the wrap; a client that stores garbage
    /// in its own slot loses its own access, nobody else's.
    pub async fn client_put_slot(
        &self,
        principal: &Principal,
        vault: &Id,
        key_version: u32,
        wrapped_vault_key: Vec<u8>,
    ) -> Result<()> {
        crate::policy::collect([envelope_field(
            "wrapped_vault_key",
            &wrapped_vault_key,
            MAX_WRAPPED_KEY,
        )])?;
        let access = self.data_access(principal, vault).await?;
        let ClientSlot::Grant {
            key_version: granted,
            sealed,
        } = access.slot
        else {
            return if access.slot.key_version() == key_version {
                // Converted already (by this client's earlier try, or another of its
                // requests): the same answer as the first time.
                Ok(())
            } else {
                Err(Error::Conflict(
                    "no pending grant at this key version: read the vault again",
                ))
            };
        };
        if granted != key_version {
            return Err(Error::Conflict(
                "the pending grant is at another key version: read the vault again",
            ));
        }
        let grant = Grant {
            holder: holder_of(principal),
            vault_id: *vault,
            key_version,
            sealed,
        };
        self.store.convert_grant(&grant, wrapped_vault_key).await?;
        self.audit
            .record(principal.event(
                "vault.slot",
                Outcome::Ok,
                format!("vault={vault} key_version={key_version}"),
            ))
            .await?;
        Ok(())
    }

    /// The Ed25519 identity of an end-to-end user: what their signatures are checked
    /// against before anything signed is stored (clients check them again on every read;
    /// the server refusing a bad one keeps garbage out, and proves nothing to a client).
    pub(super) async fn identity_of(&self, user: &Id) -> Result<IdentityPublic> {
        let identity = self
            .store
            .e2e_identity(user)
            .await?
            .ok_or(Error::Forbidden(
                "this account has no identity key: only an end-to-end account signs",
            ))?;
        Ok(IdentityPublic::from_slice(&identity.identity_public)?)
    }

    /// A member's write carries their signature over exactly this version; it must verify
    /// under their identity (422 otherwise, nothing written).
    async fn check_item_signature(&self, principal: &Principal, raw: &RawItem) -> Result<()> {
        let (Some(signer), Some(signature)) = (&raw.signer, &raw.signature) else {
            return Ok(());
        };
        let identity = self.identity_of(signer).await?;
        let r = &raw.record;
        let sealed = SealedItem {
            wrapped_item_key: r.wrapped_item_key.clone(),
            sealed_name: r.name.clone(),
            sealed_value: r.value.clone(),
        };
        let verified = Signature::from_slice(signature).and_then(|signature| {
            identity.verify_item(&r.vault_id, &r.id, r.version, &sealed, &signature)
        });
        debug_assert_eq!(signer, principal.user());
        verified.map_err(|_| Error::invalid("signature", "does not verify under your identity key"))
    }

    /// Why a write under the version the caller named did not commit: a rotation is due,
    /// the version moved, or the writer's role changed meanwhile.
    async fn data_not_writable(&self, principal: &Principal, vault: &Id) -> Error {
        match self.data_access(principal, vault).await {
            Ok(access) if access.access.state.is_due(now()) => rotation_due(),
            Ok(access) => match client_may_write(principal, access.access.role) {
                Err(e) => e,
                Ok(()) => Error::StaleKeyVersion {
                    current: access.access.state.key_version,
                },
            },
            Err(e) => e,
        }
    }

    /// Check a client's write and build the row it stores.
    fn data_record(
        &self,
        principal: &Principal,
        access: &DataAccess,
        vault: Id,
        id: Id,
        write: ClientWrite,
        created_at: Option<i64>,
    ) -> Result<RawItem> {
        let state = &access.access.state;
        let signs = matches!(
            principal,
            Principal::Client {
                actor: ClientActor::Session { .. },
                ..
            }
        );
        let mut problems = vec![
            envelope_field("wrapped_item_key", &write.wrapped_item_key, MAX_WRAPPED_KEY),
            envelope_field("sealed_name", &write.sealed_name, MAX_SEALED_NAME),
            exact_len("name_index", &write.name_index, NAME_INDEX_LEN),
        ];
        match (&write.signature, signs) {
            (Some(signature), true) => {
                problems.push(exact_len("signature", signature, SIGNATURE_LEN));
            }
            (None, true) => problems.push(Some(FieldError::new(
                "signature",
                "is required: a member's write is signed with their identity key",
            ))),
            (Some(_), false) => problems.push(Some(FieldError::new(
                "signature",
                "must be left out: a token has no identity key",
            ))),
            (None, false) => {}
        }
        if Envelope::from_bytes(&write.sealed_value).is_err() {
            problems.push(Some(FieldError::new(
                "sealed_value",
                "must be an envelope (FORMAT §4)",
            )));
        }
        crate::policy::collect(problems)?;
        let limit = self.config.max_value_bytes + ENVELOPE_OVERHEAD;
        if write.sealed_value.len() > limit {
            return Err(Error::invalid(
                "sealed_value",
                format!("is larger than {limit} bytes"),
            ));
        }
        if state.is_due(now()) {
            return Err(rotation_due());
        }
        if write.key_version != state.key_version {
            return Err(Error::StaleKeyVersion {
                current: state.key_version,
            });
        }
        let at = now();
        Ok(RawItem {
            record: ItemRecord {
                id,
                vault_id: vault,
                user_id: state.owner,
                version: write.version,
                key_version: write.key_version,
                wrapped_item_key: write.wrapped_item_key,
                name: write.sealed_name,
                value: write.sealed_value,
                name_index: Some(write.name_index),
                created_at: created_at.unwrap_or(at),
                updated_at: at,
            },
            signer: write.signature.is_some().then(|| *principal.user()),
            signature: write.signature,
        })
    }
}

/// The role and the token's permission allow writing.
fn client_may_write(principal: &Principal, role: Role) -> Result<()> {
    if !role.can_write() {
        return Err(Error::Forbidden("your role in this vault is read-only"));
    }
    match principal {
        Principal::Client {
            actor: ClientActor::Token {
                can_write: false, ..
            },
            ..
        } => Err(Error::Forbidden("this token is read-only")),
        _ => Ok(()),
    }
}

fn rotation_due() -> Error {
    Error::RotationDue {
        retry_after: 5,
        detail: "the vault key must rotate first: a client holding it runs POST /v1/vaults/{vault}/rotate",
    }
}

/// A well-formed envelope of at most `max` bytes.
pub(super) fn envelope_field(field: &'static str, bytes: &[u8], max: usize) -> Option<FieldError> {
    if bytes.is_empty() || bytes.len() > max {
        return Some(FieldError::new(field, format!("must be 1 to {max} bytes")));
    }
    Envelope::from_bytes(bytes)
        .is_err()
        .then(|| FieldError::new(field, "must be an envelope (FORMAT §4)"))
}

/// Exactly `len` bytes.
pub(super) fn exact_len(field: &'static str, bytes: &[u8], len: usize) -> Option<FieldError> {
    (bytes.len() != len).then(|| FieldError::new(field, format!("must be {len} bytes")))
}
