//! Deposits sealed to their readers (DESIGN §3.1, "When a rotation is due").
//!
//! While a vault's rotation is due, its current key is within reach of a credential that
//! ended (a revoked or expired token, a removed member), and before any holder published
//! the current version's public key there is nothing to seal to. In both cases a deposit
//! seals its fresh item key to each remaining reader's own X25519 public key: the holder
//! set a rotation would seal to (`rotation_holders`: every member, whatever the role, and
//! their live tokens that hold a slot of the vault — scoped or `"*"`, never a deposit
//! token), each key's MAC checked first in one seal-key call off the runtime (a mismatch
//! seals nothing: 500, audited). The store commits the deposit only if those readers,
//! with those keys, are still exactly the holders under the vault's lock; otherwise this
//! side reads them again and seals again.
//!
//! Each copy is sealed under the deposit's own AAD (`deposit_aad`: owner, vault, item,
//! item version 1, key version) with the reader as recipient (kind user or token, its id),
//! docs/FORMAT.md §9.4. A reader opens its copy with its own private key — a session with
//! the user pair under its user key, a token with the pair its secret derives — and moves
//! the item into `items` like any claimed deposit (`Keyslot::claim_deposits`).

use keyslot_crypto::{
    ContentKey, Envelope, Id, ItemKey, Purpose, RecipientKind, SealedKey, TokenKeyPair,
    UserKeyPair, deposit_aad, open_from, seal_to,
};

use super::Keyslot;
use super::deposit::content_aad;
use super::lifecycle::holder_of;
use crate::deposit_store::{DepositRecord, DepositTarget, ReaderCopy};
use crate::keystore::Holder;
use crate::model::{Outcome, Timestamp};
use crate::store::StoreError;
use crate::{Error, Principal, Result};

/// A deposit's name and value sealed under a fresh item key, not yet sealed to anyone.
pub(super) struct DepositContent {
    /// The item key, to seal to the vault or to each reader.
    pub(super) key: ItemKey,
    /// The row, with `sealed_item_key` still empty.
    pub(super) record: DepositRecord,
    /// When it was made.
    pub(super) at: Timestamp,
}

impl DepositContent {
    /// Seal `name` and `value` under a fresh item key, bound to the item at version 1 and
    /// to `target`'s current key version.
    pub(super) fn seal(
        target: &DepositTarget,
        vault: &Id,
        id: Id,
        name: &str,
        value: &[u8],
        token: Id,
        at: Timestamp,
    ) -> Result<Self> {
        let (owner, version) = (target.owner, target.key_version);
        let key = ItemKey::generate()?;
        let record = DepositRecord {
            id,
            vault_id: *vault,
            user_id: owner,
            key_version: version,
            to_readers: false,
            sealed_item_key: Vec::new(),
            name: key
                .seal_content(
                    &content_aad(Purpose::ItemName, &owner, vault, &id, version),
                    name.as_bytes(),
                )?
                .to_bytes(),
            value: key
                .seal_content(
                    &content_aad(Purpose::ItemValue, &owner, vault, &id, version),
                    value,
                )?
                .to_bytes(),
            token_id: token,
            created_at: at,
        };
        Ok(Self { key, record, at })
    }
}

fn recipient(holder: Holder) -> (RecipientKind, Id) {
    match holder {
        Holder::User(id) => (RecipientKind::User, id),
        Holder::Token(id) => (RecipientKind::Token, id),
    }
}

/// The private key a reader opens its copy with.
pub(super) enum ReaderPair {
    /// A member: the user pair, opened with the session's user key.
    User(Id, UserKeyPair),
    /// A token holding a slot of the vault: the pair its secret derives.
    Token(Id, TokenKeyPair),
}

impl ReaderPair {
    /// The item key of deposit `d` (owned by `owner`) from this reader's copy `sealed`.
    pub(super) fn open(
        &self,
        owner: &Id,
        d: &DepositRecord,
        sealed: &SealedKey,
    ) -> Result<ItemKey> {
        let aad = deposit_aad(owner, &d.vault_id, &d.id, 1, d.key_version);
        Ok(match self {
            Self::User(user, pair) => {
                open_from(pair, sealed, &aad.recipient(RecipientKind::User, user))?
            }
            Self::Token(token, pair) => {
                open_from(pair, sealed, &aad.recipient(RecipientKind::Token, token))?
            }
        })
    }
}

impl Keyslot {
    /// Seal `content`'s item key to each of the vault's readers and store it (see the
    /// module docs). The store's answer is returned as is for the caller's retry loop.
    pub(super) async fn deposit_to_readers(
        &self,
        principal: &Principal,
        vault: &Id,
        content: DepositContent,
    ) -> Result<std::result::Result<(), StoreError>> {
        let mut record = content.record;
        let (owner, version, id) = (record.user_id, record.key_version, record.id);
        let holders = self.store.rotation_holders(vault, content.at).await?;
        // Every MAC checked (one job off the runtime) before anything is sealed.
        let keys = self.checked_public_keys(principal, &holders).await?;
        let mut copies = Vec::with_capacity(holders.len());
        for (holder, public_key) in holders.iter().zip(keys) {
            let (kind, reader) = recipient(holder.holder);
            let aad = deposit_aad(&owner, vault, &id, 1, version).recipient(kind, &reader);
            copies.push(ReaderCopy {
                reader: holder.holder,
                public_key: holder.public_key.clone(),
                sealed_item_key: seal_to(&public_key, &content.key, &aad)?.to_bytes(),
            });
        }
        record.to_readers = true;
        let audit = principal.event(
            "item.deposit",
            Outcome::Ok,
            format!(
                "vault={vault} item={id} token={} key_version={version} sealed_to=readers readers={}",
                record.token_id,
                copies.len()
            ),
        );
        Ok(self
            .store
            .create_deposit_for_readers(record, copies, content.at, audit)
            .await)
    }

    /// The private key `principal` opens its deposit copies with: the user pair for a
    /// session (its user key opens it), the derived pair for a token that is its own
    /// holder. `None` for a caller that holds its keys through its user but has no
    /// session (a `"*"` token that still holds the user key): it leaves the deposits to
    /// another reader.
    pub(super) async fn reader_pair(&self, principal: &Principal) -> Result<Option<ReaderPair>> {
        match (holder_of(principal), principal) {
            (Holder::Token(token), Principal::Token { secret, .. }) => {
                Ok(Some(ReaderPair::Token(token, TokenKeyPair::derive(secret))))
            }
            (Holder::User(user), Principal::Session { user_key, .. }) => {
                let record = self.store.user(&user).await?.ok_or(Error::NotFound)?;
                let pair = UserKeyPair::unwrap(
                    user_key,
                    &user,
                    &Envelope::from_bytes(&record.x25519_wrapped)?,
                )?;
                Ok(Some(ReaderPair::User(user, pair)))
            }
            _ => Ok(None),
        }
    }
}
