//! Stored public keys and their MACs, in bulk ([`PublicKeyStore`], a supertrait of
//! [`crate::store::Store`]), and the two passes over them: the backfill of a database
//! from before public-key MACs, and the recomputation when the seal key moves to an HSM.
//!
//! Every stored X25519 public key — a user's, a token's, a vault key version's, a
//! recovery code's — carries a MAC under the seal key (`keyslot_crypto::public_key_mac`), checked before anything
//! is sealed to it. A key without one is refused like a key with a wrong one: otherwise
//! whoever can write one row could put their own public key in a victim's row, clear its
//! MAC, and receive the victim's next grant. Rows written before public-key MACs existed
//! get theirs once, by [`backfill_public_key_macs`] at the server's start, recorded in
//! `meta` under [`BACKFILLED`] so it never runs again on that database.
//!
//! The backfill trusts the rows as they are when it runs (that is what a MAC records, and
//! those rows never had one). The recomputation trusts nothing: a row whose MAC is
//! neither the old key's nor the new key's is a key put there behind the server's back,
//! and recomputing its MAC would launder it (the next rotation would seal the vault key to
//! the attacker), so it stops before writing anything and names the row. Both page
//! through each table in key order, and each write is a compare-and-set on the public key
//! and the MAC read, so a row changed meanwhile is left as it is.

use async_trait::async_trait;
use keyslot_crypto::{Id, PublicKey, RecipientKind, SealKey, public_key_mac};
use subtle::ConstantTimeEq as _;

use crate::Result;
use crate::store::{Store, StoreResult};

/// The `meta` key recording that the backfill ran on this database.
pub const BACKFILLED: &str = "public_key_macs_backfilled";

/// Rows read per page by the passes.
const PAGE: u32 = 500;

/// The tables holding public keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKeyTable {
    /// `users.x25519_public` / `x25519_public_mac`.
    Users,
    /// `tokens.x25519_public` / `public_key_mac`.
    Tokens,
    /// `vault_keys.public_key` / `public_key_mac` (only versions whose key is published).
    VaultKeys,
    /// `recovery_slots.x25519_public` / `x25519_public_mac` (only slots whose code's key is
    /// published; slots from before user-key rotation have none). A user-key rotation
    /// seals the new user key to it, so it is proven and recomputed like the others:
    /// left under the key file's MAC after a move to an HSM, every rotation would refuse
    /// it (auditing a mismatch) and replace the user's recovery code.
    RecoveryCodes,
}

impl PublicKeyTable {
    /// Every table, in the order the passes visit them.
    pub const ALL: [Self; 4] = [
        Self::Users,
        Self::Tokens,
        Self::VaultKeys,
        Self::RecoveryCodes,
    ];

    /// What a row of this table is, in words an operator reads.
    pub const fn kind(self) -> &'static str {
        match self {
            Self::Users => "user",
            Self::Tokens => "token",
            Self::VaultKeys => "vault key",
            Self::RecoveryCodes => "recovery code",
        }
    }
}

/// One stored public key with what its MAC binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPublicKey {
    /// Where it is stored.
    pub table: PublicKeyTable,
    /// The user, the token, the vault, or the recovery code's credential id (what its MAC
    /// binds; the slot itself is keyed by its user).
    pub holder: Id,
    /// The user it belongs to: the user itself, the token's user, the vault's owner, the
    /// recovery slot's user.
    pub user: Id,
    /// The vault key version (0 for the others).
    pub key_version: u32,
    /// The public key as stored.
    pub public_key: Vec<u8>,
    /// Its MAC as stored, if any.
    pub mac: Option<Vec<u8>>,
}

/// Public keys and MACs, in bulk. See the module docs.
#[async_trait]
pub trait PublicKeyStore {
    /// Up to `limit` stored public keys of `table` strictly after `after` (holder id, then
    /// key version), in that order; with `missing_only`, only those without a MAC.
    async fn stored_public_keys(
        &self,
        table: PublicKeyTable,
        after: Option<(Id, u32)>,
        missing_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<StoredPublicKey>>;

    /// Store `mac` for `key`, only if its row still holds `key.public_key` and `key.mac`
    /// (compare-and-set). Whether it was written.
    async fn replace_public_key_mac(&self, key: &StoredPublicKey, mac: &[u8]) -> StoreResult<bool>;
}

/// The MAC `key` gets under `seal`; `None` when the stored bytes are no public key
/// (such a row is refused at every check, and no MAC is made for it).
pub fn stored_key_mac(seal: &dyn SealKey, key: &StoredPublicKey) -> Result<Option<Vec<u8>>> {
    let Ok(pk) = PublicKey::from_slice(&key.public_key) else {
        return Ok(None);
    };
    let mac = match key.table {
        PublicKeyTable::Users => public_key_mac(
            seal,
            RecipientKind::User,
            &key.holder,
            &key.user,
            None,
            None,
            &pk,
        ),
        PublicKeyTable::Tokens => public_key_mac(
            seal,
            RecipientKind::Token,
            &key.holder,
            &key.user,
            None,
            None,
            &pk,
        ),
        PublicKeyTable::VaultKeys => public_key_mac(
            seal,
            RecipientKind::Vault,
            &key.holder,
            &key.user,
            Some(&key.holder),
            Some(key.key_version),
            &pk,
        ),
        PublicKeyTable::RecoveryCodes => public_key_mac(
            seal,
            RecipientKind::RecoveryCode,
            &key.holder,
            &key.user,
            None,
            None,
            &pk,
        ),
    }?;
    Ok(Some(mac.to_vec()))
}

/// Give every public key without a MAC its MAC under `seal`, once per database: `None`
/// if it already ran (then a missing MAC is an attack or a fault, never filled in),
/// otherwise how many MACs were written. Run at the server's start, before requests.
/// Interrupted, it starts again from the first row at the next start (the `meta` mark
/// is written last).
pub async fn backfill_public_key_macs(
    store: &dyn Store,
    seal: &dyn SealKey,
) -> Result<Option<u64>> {
    if store.meta(BACKFILLED).await?.is_some() {
        return Ok(None);
    }
    let written = backfill_pass(store, seal).await?;
    store.init_meta(BACKFILLED, b"1").await?;
    Ok(Some(written))
}

/// A stored public key whose MAC proves nothing: it is neither the old seal key's MAC of
/// the row nor the new one's (or it is missing after the backfill ran). Names the row,
/// never a key or a MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnprovenPublicKey {
    /// Where it is stored.
    pub table: PublicKeyTable,
    /// The user, the token, the vault, or the recovery code's credential id.
    pub holder: Id,
    /// The user it belongs to (names a recovery slot, which is keyed by its user).
    pub user: Id,
    /// The vault key version (0 for the others).
    pub key_version: u32,
    /// Whether the MAC is missing (otherwise it does not match).
    pub missing: bool,
}

impl std::fmt::Display for UnprovenPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.table == PublicKeyTable::RecoveryCodes {
            write!(
                f,
                "the public key stored for the recovery code of user {}",
                self.user
            )?;
        } else {
            write!(
                f,
                "the public key stored for {} {}",
                self.table.kind(),
                self.holder
            )?;
        }
        if self.table == PublicKeyTable::VaultKeys {
            write!(f, " (key version {})", self.key_version)?;
        }
        f.write_str(if self.missing {
            " has no MAC"
        } else {
            " does not carry its MAC under the seal key"
        })
    }
}

/// Recompute every stored public key's MAC under `new` (the HSM's key, when `keyslot seal
/// migrate` has moved everything there), once each one is proven under `old` (the key
/// file). See the module docs: the first row that carries neither key's MAC stops it
/// before anything is written, and is returned. A row already carrying `new`'s MAC is
/// left alone, so an interrupted run is finished by running it again. A missing MAC is
/// filled only while the backfill has not run on this database (the server's start would
/// fill it the same way); after it, a missing MAC is refused like a wrong one. Marks the
/// backfill done: every key has a MAC after it. How many MACs were written.
pub async fn recompute_public_key_macs(
    store: &dyn Store,
    old: &dyn SealKey,
    new: &dyn SealKey,
) -> Result<Result<u64, UnprovenPublicKey>> {
    if let Some(unproven) = first_unproven_public_key(store, old, new).await? {
        return Ok(Err(unproven));
    }
    let trust_missing = store.meta(BACKFILLED).await?.is_none();
    let mut written = 0;
    for table in PublicKeyTable::ALL {
        let mut after = None;
        loop {
            let page = store.stored_public_keys(table, after, false, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some((last.holder, last.key_version));
            for key in &page {
                // Checked again row by row: one changed since the first pass is refused too.
                match judge(old, new, key, trust_missing)? {
                    Judgement::Malformed | Judgement::AlreadyNew => {}
                    Judgement::Unproven(unproven) => return Ok(Err(unproven)),
                    Judgement::Proven(mac) => {
                        if store.replace_public_key_mac(key, &mac).await? {
                            written += 1;
                        }
                    }
                }
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
    }
    store.init_meta(BACKFILLED, b"1").await?;
    Ok(Ok(written))
}

/// The first stored public key whose MAC is neither `old`'s nor `new`'s (see
/// [`recompute_public_key_macs`]); `None` when every one is proven. Writes nothing:
/// `keyslot seal migrate` runs it before it moves anything.
pub async fn first_unproven_public_key(
    store: &dyn Store,
    old: &dyn SealKey,
    new: &dyn SealKey,
) -> Result<Option<UnprovenPublicKey>> {
    let trust_missing = store.meta(BACKFILLED).await?.is_none();
    for table in PublicKeyTable::ALL {
        let mut after = None;
        loop {
            let page = store.stored_public_keys(table, after, false, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some((last.holder, last.key_version));
            for key in &page {
                if let Judgement::Unproven(unproven) = judge(old, new, key, trust_missing)? {
                    return Ok(Some(unproven));
                }
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
    }
    Ok(None)
}

/// What the recomputation makes of one stored key.
enum Judgement {
    /// No public key at all (refused at every check; no MAC is made for it).
    Malformed,
    /// It already carries the new key's MAC.
    AlreadyNew,
    /// Its MAC is the old key's (or missing before the backfill): the new MAC to write.
    Proven(Vec<u8>),
    /// Its MAC proves nothing.
    Unproven(UnprovenPublicKey),
}

fn judge(
    old: &dyn SealKey,
    new: &dyn SealKey,
    key: &StoredPublicKey,
    trust_missing: bool,
) -> Result<Judgement> {
    let Some(new_mac) = stored_key_mac(new, key)? else {
        tracing::warn!(
            holder = %key.holder,
            "a stored public key is malformed: left without a MAC (it is refused)"
        );
        return Ok(Judgement::Malformed);
    };
    let proven = match key.mac.as_deref() {
        Some(mac) if same(mac, &new_mac) => return Ok(Judgement::AlreadyNew),
        Some(mac) => stored_key_mac(old, key)?.is_some_and(|old_mac| same(mac, &old_mac)),
        None => trust_missing,
    };
    Ok(if proven {
        Judgement::Proven(new_mac)
    } else {
        Judgement::Unproven(UnprovenPublicKey {
            table: key.table,
            holder: key.holder,
            user: key.user,
            key_version: key.key_version,
            missing: key.mac.is_none(),
        })
    })
}

/// Two MACs compared in constant time (a length mismatch is no match).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

async fn backfill_pass(store: &dyn Store, seal: &dyn SealKey) -> Result<u64> {
    let mut written = 0;
    for table in PublicKeyTable::ALL {
        let mut after = None;
        loop {
            let page = store.stored_public_keys(table, after, true, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some((last.holder, last.key_version));
            for key in &page {
                let Some(mac) = stored_key_mac(seal, key)? else {
                    tracing::warn!(
                        holder = %key.holder,
                        "a stored public key is malformed: left without a MAC (it is refused)"
                    );
                    continue;
                };
                if key.mac.is_none() && store.replace_public_key_mac(key, &mac).await? {
                    written += 1;
                }
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
    }
    Ok(written)
}
