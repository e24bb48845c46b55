//! The key-lifecycle part of the store ([`KeyStore`], a supertrait of
//! [`crate::store::Store`]): versioned vault keys, members' own slots, pending grants, and
//! rotation serialized with writes per vault.
//!
//! The rules every implementation keeps (checked by `keyslot-store-tests`):
//!
//! - A rotation takes the vault row for update, commits only if the vault is still at the
//!   version the caller rotated from, and only if the tokens it sealed grants to are
//!   exactly the live holders it finds under that lock: otherwise nothing changes and it
//!   answers [`StoreError::KeyVersionMoved`], and the caller recomputes and retries. So the
//!   holder set comes from live rows read under the lock, never from leftovers.
//! - A write that wrapped under version `k` commits only if `k` is still current
//!   ([`StoreError::KeyVersionMoved`] otherwise: re-wrap under the new key and retry).
//! - A grant is converted by deleting its row and writing the slot in one transaction,
//!   writing nothing if the delete touched no row: of concurrent conversions (two
//!   instances, one token), one writes the slot, and the others find it written.
//! - A holder's slots and grants go with its row (`ON DELETE CASCADE`).

use async_trait::async_trait;
use keyslot_crypto::Id;

use crate::memberstore::NewMember;
use crate::model::{AuditEvent, ItemRecord, Timestamp, TokenVaultSlot, VaultRecord};
use crate::store::StoreResult;

/// A vault's key state, as any holder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultState {
    /// The vault.
    pub id: Id,
    /// Its owner (the user its items' AAD names).
    pub owner: Id,
    /// The current key version: new writes wrap under it.
    pub key_version: u32,
    /// The vault's name, sealed under the current key version.
    pub name: Vec<u8>,
    /// Set when a holder was revoked or removed: rotate before the next write.
    pub rotation_due: bool,
    /// The earliest `expires_at` among tokens holding one of its keys: due from then.
    pub rotate_due_at: Option<Timestamp>,
    /// Whether anything (item keys) is still wrapped under an older version.
    pub rewrap_pending: bool,
}

impl VaultState {
    /// Whether a rotation must run before the next write (and may run before a read).
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.rotation_due || self.rotate_due_at.is_some_and(|at| at <= now)
    }
}

/// Who holds a key: a user (through their member slot) or a token (through its slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A user's member slot, wrapped under their user key.
    User(Id),
    /// A scoped token's slot, wrapped under its wrap key.
    Token(Id),
}

/// A holder's own slot for a vault: one key version, wrapped for that holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderSlot {
    /// The version it holds.
    pub key_version: u32,
    /// That version's key, wrapped (member: under the user key; token: under t-wrap).
    pub wrapped_vault_key: Vec<u8>,
}

/// What a holder reaches of a vault, read in one query: the vault's state and the
/// holder's slot (`None` when it holds none: the vault is not the caller's to open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultAccess {
    /// The vault.
    pub state: VaultState,
    /// The holder's slot, if any.
    pub slot: Option<HolderSlot>,
    /// The role of the holder's user in the vault (a token acts within its user's role).
    pub role: crate::memberstore::Role,
}

/// A pending grant: a key version sealed to a holder's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// To whom.
    pub holder: Holder,
    /// The vault.
    pub vault_id: Id,
    /// The version sealed.
    pub key_version: u32,
    /// The HPKE-sealed key.
    pub sealed: Vec<u8>,
}

/// One version's chain link: `VK_{v-1}` wrapped under `VK_v`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    /// `v`: the version whose key wraps the previous one.
    pub key_version: u32,
    /// The wrapped previous key.
    pub chain: Vec<u8>,
}

/// A holder that keeps access across a rotation, with its public key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicHolder {
    /// Who.
    pub holder: Holder,
    /// The user it belongs to (a token's user; a user's own id), bound into its MAC.
    pub user_id: Id,
    /// Its X25519 public key.
    pub public_key: Vec<u8>,
    /// The MAC binding the key to it; `None` for rows made before public-key MACs.
    pub public_key_mac: Option<Vec<u8>>,
}

/// Everything a rotation writes, in one transaction ([`KeyStore::rotate_vault`]).
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The vault.
    pub vault: Id,
    /// The version rotated from: the rotation commits only if it is still current.
    pub from_version: u32,
    /// `VK_from` wrapped under `VK_{from+1}`.
    pub chain: Vec<u8>,
    /// The vault's name, sealed under the new version.
    pub name: Vec<u8>,
    /// The rotating caller's own slot, re-wrapped directly under the new version.
    pub own_slot: Option<(Holder, Vec<u8>)>,
    /// Grants of the new version to every other holder that keeps access.
    pub grants: Vec<Grant>,
    /// Now: tokens whose `expires_at` is at or before it are not holders any more.
    pub now: Timestamp,
    /// `vault.rotate`.
    pub audit: AuditEvent,
}

/// What a revocation did ([`KeyStore::revoke_token`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Revoked {
    /// The vaults it held a slot or grant for, now due to rotate.
    pub vaults: Vec<Id>,
}

/// The key-lifecycle part of Keyslot's persistence.
#[async_trait]
pub trait KeyStore {
    /// A vault that `user` is a member of (owner or shared), with `holder`'s slot for it
    /// (`holder` is `user` or one of its tokens) and `user`'s role; `None` if `user` is not
    /// a member of such a vault.
    async fn vault_access(
        &self,
        user: &Id,
        vault: &Id,
        holder: Holder,
    ) -> StoreResult<Option<VaultAccess>>;

    /// The chain links of `vault` for versions in `(down_to, from]`, newest first: what a
    /// holder of `VK_from` walks to reach `VK_down_to`.
    async fn chain_links(&self, vault: &Id, from: u32, down_to: u32)
    -> StoreResult<Vec<ChainLink>>;

    /// `holder`'s newest pending grant for `vault`, if any.
    async fn newest_grant(&self, holder: Holder, vault: &Id) -> StoreResult<Option<Grant>>;

    /// Convert `grant` into `holder`'s slot (`wrapped`, the same version wrapped for the
    /// holder): delete the grant row, and only if that touched a row, write the slot (if
    /// it is newer than the one held) and delete the holder's older grants for the vault;
    /// one transaction. Returns whether this call converted it (`false`: another did, or
    /// the holder lost access meanwhile).
    async fn convert_grant(&self, grant: &Grant, wrapped: Vec<u8>) -> StoreResult<bool>;

    /// The holders that keep access to `vault` across a rotation at `now`: its owner, and
    /// every token not expired at `now` holding a slot for it, each with its public key.
    /// Read before sealing; [`KeyStore::rotate_vault`] re-checks the set under the lock.
    async fn rotation_holders(&self, vault: &Id, now: Timestamp) -> StoreResult<Vec<PublicHolder>>;

    /// Rotate: under the vault's lock, if it is still at `from_version` and the tokens in
    /// `grants` and `own_slot` are exactly its live token holders, delete the slots and
    /// grants of its expired tokens, add the chain link, store the new name, slots and
    /// grants, clear `rotation_due` and recompute `rotate_due_at`, and audit; one
    /// transaction. [`crate::StoreError::KeyVersionMoved`] otherwise, changing nothing.
    async fn rotate_vault(&self, rotation: Rotation) -> StoreResult<()>;

    /// Revoke `token` of `user`: delete it (its slots and grants with it), make every vault
    /// it held a slot or grant for due, audit; one transaction. [`crate::StoreError::NotFound`]
    /// if the user has no such token.
    async fn revoke_token(&self, user: &Id, token: &Id, audit: AuditEvent) -> StoreResult<Revoked>;

    /// Up to `limit` items of `vault` still under a key version older than `below`, oldest
    /// version first: the next batch of the re-wrap.
    async fn items_to_rewrap(
        &self,
        vault: &Id,
        below: u32,
        limit: u32,
    ) -> StoreResult<Vec<ItemRecord>>;

    /// Replace items with their re-wrap under `to_version` (same id and item version, new
    /// item key), each only if it is still at the item version and key version it was read
    /// with (`(record, key version read)`), and only if `to_version` is still current
    /// ([`crate::StoreError::KeyVersionMoved`] otherwise); then delete the chain links and
    /// pending grants of every version older than the oldest one anything is still
    /// wrapped under. One transaction; returns how many items were replaced.
    async fn rewrap_items(
        &self,
        vault: &Id,
        to_version: u32,
        items: &[(ItemRecord, u32)],
    ) -> StoreResult<u64>;

    /// Whether `user`'s key must rotate before anything else at their next login: the
    /// mark is set (a token that held the user key was revoked or swept), or one of their
    /// tokens that held the user key (a `"*"` token minted before per-vault slots, even
    /// one converted since) has `expires_at` at or before `now` but is not swept yet. Such
    /// a token's secret and an old copy of the database give the user key, so its end is
    /// closed only by a new user key (DESIGN §3.1).
    async fn user_key_rotation_due(&self, user: &Id, now: Timestamp) -> StoreResult<bool>;

    /// `user`'s `"*"` tokens that work at `now` (not deposit tokens), with their public
    /// keys: who a vault the user creates or is added to is granted to.
    async fn star_tokens(&self, user: &Id, now: Timestamp) -> StoreResult<Vec<PublicHolder>>;

    /// Create a vault with its first key granted to each of its owner's `"*"` tokens alive
    /// at its `created_at` (each gets an empty slot at version 0 beside its grant, and the
    /// vault is due at the earliest of their expiries), audited; one transaction that
    /// locks the owner's row first, so a `"*"` token minted meanwhile is either seen here
    /// or sees the vault. [`crate::StoreError::KeyVersionMoved`] if `grants` are not to
    /// exactly those tokens (seal again and retry). `Store::create_vault` is this with no
    /// grants.
    async fn create_vault_granted(
        &self,
        vault: VaultRecord,
        grants: Vec<Grant>,
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// [`crate::memberstore::MemberStore::add_member`], granting the vault's current key
    /// to each of the member's `"*"` tokens alive at `now` in the same transaction (the
    /// member's row locked first). [`crate::StoreError::KeyVersionMoved`] if
    /// `token_grants` are not to exactly those tokens at the vault's current version.
    /// `add_member` is this with no token grants.
    async fn add_member_granted(
        &self,
        member: NewMember,
        token_grants: Vec<Grant>,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Each `"*"` token of `user` alive at `now` paired with each vault of the user it has
    /// neither a slot nor a grant for (none, while every change keeps the rule; a login
    /// fills any with [`KeyStore::grant_missing_star_slots`]).
    async fn missing_star_slots(
        &self,
        user: &Id,
        now: Timestamp,
    ) -> StoreResult<Vec<(PublicHolder, Id)>>;

    /// Write grants (each with an empty slot at version 0) for missing `"*"` slots of
    /// `user`, in one transaction under the user's lock; a grant whose token ended, whose
    /// vault the user left or whose slot appeared meanwhile is skipped;
    /// [`crate::StoreError::KeyVersionMoved`] if one is not at its vault's current
    /// version. Returns how many were written.
    async fn grant_missing_star_slots(
        &self,
        user: &Id,
        grants: Vec<Grant>,
        now: Timestamp,
    ) -> StoreResult<u64>;

    /// Convert a `"*"` token that wraps the user key (minted before per-vault slots): clear
    /// its wrapped user key and write `slots` — one per vault of its user, at each vault's
    /// current version — in one transaction under the user's lock, exactly once across
    /// instances (`false`: it was converted already, nothing written).
    /// [`crate::StoreError::KeyVersionMoved`] if the slots are not exactly the user's
    /// vaults at their current versions (open them again and retry).
    async fn convert_legacy_token(
        &self,
        token: &Id,
        slots: Vec<TokenVaultSlot>,
    ) -> StoreResult<bool>;
}
