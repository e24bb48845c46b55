//! End-to-end deposits (END-TO-END §8; DESIGN §3.1 "Write-only deposit tokens", §8).
//!
//! An end-to-end deposit token holds no vault key, as in server mode, and now no server
//! seals for it either: its client seals a fresh item key in HPKE *auth* mode (FORMAT
//! §11.5), with the token's own X25519 pair as the sender, to the vault's current public
//! key — which it verified under the owner's identity pinned at mint — or, while a
//! rotation is due or before that key is published, to each remaining reader's verified
//! key. The server stores it as it stores deposits, under the same conditions checked
//! under the vault's lock, and keeps the sender's public key and signature beside it (its
//! token may be revoked before anyone reads it). A reader's client opens the item key with
//! the sender's key it verified, re-wraps the item under the vault's current key and
//! claims it; the server moves it into `items` exactly once.

use keyslot_crypto::Id;

use super::e2e_fields::{Fields, encode};
use super::e2e_items::{MAX_SEALED_NAME, MAX_WRAPPED_KEY};
use super::e2e_lifecycle::{HolderMismatch, HolderView, SealedFor};
use super::e2e_rotation::holder_mismatch;
use super::lifecycle::holder_of;
use super::{Keyslot, now};
use crate::deposit_store::{DepositRecord, ReaderCopy};
use crate::keystore::Holder;
use crate::model::{ItemRecord, Outcome};
use crate::store::StoreError;
use crate::{ClientActor, Error, Principal, Result};

/// What a deposit token's client seals to (`GET /v1/vaults/{vault}/deposit-key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositKey {
    /// The vault's owner, whose identity (pinned at mint) signed the key.
    pub owner: Id,
    /// The owner's Ed25519 identity public key (base64url). The token's client trusts it
    /// only when its token id commits to it (`keyslot_crypto::token_anchor`), so the
    /// server's word on it adds nothing; it is here because a deposit token may read no
    /// other route that names it.
    pub owner_identity_public: String,
    /// The current key version: a deposit is bound to it.
    pub key_version: u32,
    /// A rotation is due: seal to `readers`, not to the vault.
    pub rotation_due: bool,
    /// The current version's public key (base64url), once published.
    pub public_key: Option<String>,
    /// The owner's identity signature over it (base64url).
    pub public_key_signature: Option<String>,
    /// While due, or before the key is published: every remaining reader, to seal to each.
    pub readers: Vec<HolderView>,
}

/// A deposit as an end-to-end deposit token's client sends it (byte fields base64url).
#[derive(Debug, Clone, Default)]
pub struct ClientDeposit {
    /// The item id it will have (bound into its AADs).
    pub id: String,
    /// The vault key version it is bound to: the current one.
    pub key_version: u32,
    /// The name under the item key (deposit AAD, FORMAT §9.4).
    pub sealed_name: String,
    /// The value under the item key.
    pub sealed_value: String,
    /// The item key sealed in auth mode to the vault's public key; or
    pub sealed_item_key: Option<String>,
    /// while due, to each remaining reader (`holder`: a user or token id).
    pub readers: Vec<SealedFor>,
}

/// What a deposit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientDeposited {
    /// Stored: the item id.
    Done(Id),
    /// Nothing stored: the readers are not exactly the vault's remaining holders.
    Readers(HolderMismatch),
}

/// A deposit waiting for this reader (byte fields base64url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingClientDeposit {
    /// The item id it will have.
    pub id: Id,
    /// The key version it is bound to.
    pub key_version: u32,
    /// Sealed to each reader (this is the caller's copy) rather than to the vault.
    pub to_readers: bool,
    /// The item key sealed in auth mode (to the vault's key of `key_version`, or to the
    /// caller).
    pub sealed_item_key: String,
    /// The name under the item key.
    pub sealed_name: String,
    /// The value under the item key.
    pub sealed_value: String,
    /// The deposit token that made it.
    pub token_id: Id,
    /// Its X25519 public key: the sender the item key opens with.
    pub sender_public_key: Option<String>,
    /// The owner's identity signature over it (check it before opening).
    pub sender_signature: Option<String>,
    /// When it was made.
    pub created_at: crate::model::Timestamp,
}

/// A reader's claim: the deposited item re-sealed by its client under the vault's
/// current key, as item version 1 (byte fields base64url).
#[derive(Debug, Clone, Default)]
pub struct DepositClaim {
    /// The vault's current key version.
    pub key_version: u32,
    /// The item key under that version.
    pub wrapped_item_key: String,
    /// The name under the item key.
    pub sealed_name: String,
    /// The value under the item key.
    pub sealed_value: String,
    /// The name's blind index under that version.
    pub name_index: String,
}

/// The token of an end-to-end deposit token; anything else may not deposit here.
fn deposit_token(principal: &Principal) -> Result<Id> {
    match principal {
        Principal::Client {
            actor:
                ClientActor::Token {
                    token,
                    deposit: true,
                    ..
                },
            ..
        } => Ok(*token),
        _ => Err(Error::Forbidden(
            "only an end-to-end deposit token (ksa_) deposits here",
        )),
    }
}

impl Keyslot {
    /// Deposits sealed in auth mode go only into end-to-end vaults: a server-mode vault's
    /// readers (the server, for them) open base-mode deposits, which its deposit token
    /// makes through `POST …/items` with the server sealing.
    async fn require_end_to_end_vault(&self, owner: &Id) -> Result<()> {
        if self.is_end_to_end(owner).await? {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "this vault is server-mode: deposit with POST /v1/vaults/{vault}/items and the \
                 token's kst_ secret; the server seals it",
            ))
        }
    }

    /// What a deposit token's client seals to in `vault` (404 outside its scope).
    pub async fn client_deposit_key(
        &self,
        principal: &Principal,
        vault: &Id,
    ) -> Result<DepositKey> {
        let token = deposit_token(principal)?;
        let target = self
            .store
            .deposit_target(&token, vault)
            .await?
            .ok_or(Error::NotFound)?;
        self.require_end_to_end_vault(&target.owner).await?;
        let owner_identity = self.identity_of(&target.owner).await?;
        let at = now();
        let signed = self
            .store
            .signed_vault_key(vault, target.key_version)
            .await?;
        let (public_key, signature) = signed
            .map(|k| (k.public_key, k.signature))
            .unwrap_or_default();
        let due = target.is_due(at);
        let readers = if due || public_key.is_none() {
            self.holder_views(vault, at).await?
        } else {
            Vec::new()
        };
        Ok(DepositKey {
            owner: target.owner,
            owner_identity_public: encode(owner_identity.as_bytes()),
            key_version: target.key_version,
            rotation_due: due,
            public_key: public_key.as_deref().map(encode),
            public_key_signature: signature.as_deref().map(encode),
            readers,
        })
    }

    /// A deposit an end-to-end deposit token's client sealed (see the module docs). 404
    /// outside its scope, 429 past its rate, 409 `rotation-due` when sealed to the vault
    /// while a rotation is due (seal to the readers), 409 `stale-key-version` after a
    /// rotation, 409 `holders-changed` (as [`Self::rotate_vault_client`]) when the readers
    /// are not exactly the remaining holders.
    pub async fn client_deposit(
        &self,
        principal: &Principal,
        vault: &Id,
        body: &ClientDeposit,
    ) -> Result<ClientDeposited> {
        let token = deposit_token(principal)?;
        let mut fields = Fields::default();
        let id = body.id.parse::<Id>().ok();
        if id.is_none() {
            fields.bad("id", "must be an item id");
        }
        let name = fields.envelope_max("sealed_name", &body.sealed_name, MAX_SEALED_NAME);
        let value_max = self.config.max_value_bytes + MAX_WRAPPED_KEY;
        let value = fields.envelope_max("sealed_value", &body.sealed_value, value_max);
        let sealed_item_key = body
            .sealed_item_key
            .as_deref()
            .and_then(|k| fields.auth_sealed("sealed_item_key", k));
        let readers = fields.sealed_for("readers", &body.readers, Fields::auth_sealed);
        match (body.sealed_item_key.is_some(), body.readers.is_empty()) {
            (true, false) => fields.bad(
                "readers",
                "send sealed_item_key (to the vault) or readers (while due), not both",
            ),
            (false, true) => fields.bad(
                "sealed_item_key",
                "is required (or readers, while the vault's rotation is due)",
            ),
            _ => {}
        }
        fields.done()?;
        let (Some(id), Some(name), Some(value)) = (id, name, value) else {
            return Err(Error::Internal("validated deposit lost a field".into()));
        };
        // Scope first (404 outside it, like any token), then the token's rate.
        let target = self
            .store
            .deposit_target(&token, vault)
            .await?
            .ok_or(Error::NotFound)?;
        self.require_end_to_end_vault(&target.owner).await?;
        self.admit_deposit(&token, self.config.deposits_per_minute)
            .await?;
        if body.key_version != target.key_version {
            return Err(Error::StaleKeyVersion {
                current: target.key_version,
            });
        }
        let at = now();
        let mut record = DepositRecord {
            id,
            vault_id: *vault,
            user_id: target.owner,
            key_version: target.key_version,
            to_readers: sealed_item_key.is_none(),
            sealed_item_key: sealed_item_key.unwrap_or_default(),
            name,
            value,
            token_id: token,
            created_at: at,
        };
        let mut copies = Vec::new();
        if record.to_readers {
            let holders = self.store.rotation_holders(vault, at).await?;
            let mismatch = holder_mismatch(&holders, Holder::Token(token), &readers);
            if !mismatch.missing.is_empty() || !mismatch.extra.is_empty() {
                return Ok(ClientDeposited::Readers(mismatch));
            }
            for (reader, sealed) in readers {
                if let Some(h) = holders
                    .iter()
                    .find(|h| super::e2e_rotation::id_of(h.holder) == reader)
                {
                    copies.push(ReaderCopy {
                        reader: h.holder,
                        public_key: h.public_key.clone(),
                        sealed_item_key: sealed,
                    });
                }
            }
            record.sealed_item_key = Vec::new();
        }
        let audit = principal.event(
            "item.deposit",
            Outcome::Ok,
            format!(
                "vault={vault} item={id} token={token} key_version={} sealed_to={} by=client",
                record.key_version,
                if record.to_readers {
                    "readers"
                } else {
                    "vault"
                }
            ),
        );
        let to_readers = record.to_readers;
        match self
            .store
            .create_client_deposit(record, copies, at, audit)
            .await
        {
            Ok(()) => Ok(ClientDeposited::Done(id)),
            Err(StoreError::NotFound) => Err(Error::NotFound),
            Err(StoreError::Conflict) if !to_readers => Err(Error::RotationDue {
                retry_after: 1,
                detail: "the vault's rotation is due (or its key unpublished): seal the item key \
                         to each reader that GET /v1/vaults/{vault}/deposit-key lists",
            }),
            Err(StoreError::KeyVersionMoved) if to_readers => Err(Error::Conflict(
                "the vault's readers or its key version changed: fetch the deposit key again",
            )),
            Err(StoreError::KeyVersionMoved) => Err(Error::StaleKeyVersion {
                current: target.key_version.saturating_add(1),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The deposits waiting in `vault` that the caller (an end-to-end holder of its key)
    /// can open, oldest first, at most a claim batch of them.
    pub async fn client_pending_deposits(
        &self,
        principal: &Principal,
        vault: &Id,
    ) -> Result<Vec<PendingClientDeposit>> {
        self.client_access(principal, vault).await?;
        let limit = self.config.deposit_claim_batch.max(1);
        let pending = self
            .store
            .pending_deposits(vault, holder_of(principal), None, limit)
            .await?;
        let mut out = Vec::with_capacity(pending.len());
        for d in pending {
            let sender = self.store.deposit_sender(&d.id).await?;
            let (sender_public_key, sender_signature) = sender
                .map(|s| (s.public_key, s.signature))
                .unwrap_or_default();
            out.push(PendingClientDeposit {
                id: d.id,
                key_version: d.key_version,
                to_readers: d.to_readers,
                sealed_item_key: encode(&d.sealed_item_key),
                sealed_name: encode(&d.name),
                sealed_value: encode(&d.value),
                token_id: d.token_id,
                sender_public_key: sender_public_key.as_deref().map(encode),
                sender_signature: sender_signature.as_deref().map(encode),
                created_at: d.created_at,
            });
        }
        Ok(out)
    }

    /// Move deposit `deposit` into the vault's items as the caller's client re-sealed it
    /// under the current key: exactly once across readers (404 once another moved it).
    pub async fn claim_client_deposit(
        &self,
        principal: &Principal,
        vault: &Id,
        deposit: &Id,
        claim: &DepositClaim,
    ) -> Result<()> {
        let mut fields = Fields::default();
        let wrapped =
            fields.envelope_max("wrapped_item_key", &claim.wrapped_item_key, MAX_WRAPPED_KEY);
        let name = fields.envelope_max("sealed_name", &claim.sealed_name, MAX_SEALED_NAME);
        let value_max = self.config.max_value_bytes + MAX_WRAPPED_KEY;
        let value = fields.envelope_max("sealed_value", &claim.sealed_value, value_max);
        let index = fields.bytes("name_index", &claim.name_index);
        if index.as_ref().is_some_and(|i| i.len() != 32) {
            fields.bad("name_index", "must be 32 bytes (FORMAT §11.3)");
        }
        fields.done()?;
        let (Some(wrapped), Some(name), Some(value), Some(index)) = (wrapped, name, value, index)
        else {
            return Err(Error::Internal("validated claim lost a field".into()));
        };
        let access = self.client_access(principal, vault).await?;
        // The claimer supplies the item's ciphertext, which the server cannot compare with
        // the deposit: a claim is a write, so only a caller that may write makes one (a
        // reader could otherwise put any content under a deposit's name).
        let token_may_write = !matches!(
            principal,
            Principal::Client {
                actor: ClientActor::Token {
                    can_write: false,
                    ..
                },
                ..
            }
        );
        if !access.role.can_write() || !token_may_write {
            return Err(Error::Forbidden(
                "claiming a deposit writes an item: it needs the write permission",
            ));
        }
        if claim.key_version != access.state.key_version {
            return Err(Error::StaleKeyVersion {
                current: access.state.key_version,
            });
        }
        // As every write: never under a key an ended credential holds.
        if access.state.is_due(now()) {
            return Err(Error::RotationDue {
                retry_after: 1,
                detail: "the vault's rotation is due: rotate it, then claim under the new key",
            });
        }
        let d = self
            .store
            .pending_deposits(vault, holder_of(principal), Some(deposit), 1)
            .await?
            .into_iter()
            .next()
            .ok_or(Error::NotFound)?;
        let at = now();
        let record = ItemRecord {
            id: d.id,
            vault_id: *vault,
            user_id: access.state.owner,
            version: 1,
            key_version: claim.key_version,
            wrapped_item_key: wrapped,
            name,
            value,
            name_index: Some(index),
            created_at: d.created_at,
            updated_at: at,
        };
        match self.store.claim_deposit(deposit, record, &d.token_id).await {
            Ok(true) => {
                self.audit
                    .record(principal.event(
                        "item.deposit.claim",
                        Outcome::Ok,
                        format!("vault={vault} item={deposit} token={}", d.token_id),
                    ))
                    .await?;
                Ok(())
            }
            // Another reader moved it meanwhile.
            Ok(false) => Err(Error::NotFound),
            Err(StoreError::KeyVersionMoved) => Err(Error::StaleKeyVersion {
                current: access.state.key_version.saturating_add(1),
            }),
            Err(e) => Err(e.into()),
        }
    }
}
