//! Records as the store keeps them: ids, counters, timestamps and opaque bytes. Every name
//! and value is an encrypted envelope; every key is wrapped. A thief of these records gets
//! sizes, counts, timestamps and ids (DESIGN.md §2).

use keyslot_crypto::Id;

/// Seconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// A user account and its password slot.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// The user's id.
    pub id: Id,
    /// As given at sign-up (login compares case-insensitively).
    pub username: String,
    /// When the account was created.
    pub created_at: Timestamp,
    /// Credential id of the password slot (bound into its AAD).
    pub password_credential: Id,
    /// The sealed password slot (`SealedPasswordSlot` bytes).
    pub password_slot: Vec<u8>,
    /// The user's X25519 public key.
    pub x25519_public: Vec<u8>,
    /// The user's X25519 private key, wrapped under the user key.
    pub x25519_wrapped: Vec<u8>,
    /// Consecutive failed logins.
    pub failed_logins: u32,
    /// No login, right password or not, before this time.
    pub locked_until: Option<Timestamp>,
    /// When an operator disabled the account: no login, no session, no token works.
    pub disabled_at: Option<Timestamp>,
    /// An end-to-end account (docs/END-TO-END.md): chosen at sign-up, never changed. Its
    /// client does every key operation; the password slot's verifier checks the client's
    /// `auth`, and no password ever reaches the server.
    pub end_to_end: bool,
}

/// The recovery-code slot of a user.
#[derive(Debug, Clone)]
pub struct RecoveryRecord {
    /// The owner.
    pub user_id: Id,
    /// The recovery credential's id (HKDF salt, AAD).
    pub credential_id: Id,
    /// SHA-256(auth) of the code.
    pub verifier: Vec<u8>,
    /// The user key wrapped under the code's wrap key.
    pub wrapped_user_key: Vec<u8>,
}

/// A session: the user key wrapped under the session secret's wrap key.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// Session id (the public half of the `kss_` credential).
    pub id: Id,
    /// The owner.
    pub user_id: Id,
    /// SHA-256(auth) of the session secret.
    pub verifier: Vec<u8>,
    /// The user key wrapped under the session's wrap key.
    pub wrapped_user_key: Vec<u8>,
    /// When it was created.
    pub created_at: Timestamp,
    /// Last request made with it (updated at most once a minute).
    pub last_seen_at: Timestamp,
    /// Absolute expiry.
    pub expires_at: Timestamp,
    /// A session of an end-to-end account (from its user's row): it authenticates only,
    /// and `wrapped_user_key` is the client's unlock slot (empty until the client stores
    /// it), which the server cannot open.
    pub end_to_end: bool,
}

/// An API token.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// Token id (the public half of the `kst_` credential).
    pub id: Id,
    /// The owner.
    pub user_id: Id,
    /// The name's content key, wrapped under the user key.
    pub name_key: Vec<u8>,
    /// The name, under its content key.
    pub name: Vec<u8>,
    /// SHA-256(auth) of the token secret.
    pub verifier: Vec<u8>,
    /// Whether the token may write (it may always read within its scope).
    pub can_write: bool,
    /// A write-only deposit token: it holds no vault key, may only create items in the
    /// vaults of its deposit scope, and reads nothing (`can_write` is false for it).
    pub deposit: bool,
    /// A `"*"` token: its scope is every vault of its user, each held as a
    /// [`TokenVaultSlot`] like a scoped token's (DESIGN §3.1).
    pub all_vaults: bool,
    /// Only for a `"*"` token minted before per-vault slots: the user key wrapped under
    /// the token's wrap key. Converted to slots at the token's next use, which clears it;
    /// no token is minted with it any more.
    pub wrapped_user_key: Option<Vec<u8>>,
    /// The token's X25519 public key (for later re-grants).
    pub x25519_public: Vec<u8>,
    /// The public key's MAC under the seal key, binding it to this token: written in the
    /// same INSERT as the row, so a token never exists without it. `None` only for a row
    /// from before public-key MACs that the start-up backfill has not reached (or one
    /// whose MAC was cleared behind the server's back): such a key is refused.
    pub public_key_mac: Option<Vec<u8>>,
    /// When it was minted.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Last use, `None` until first use.
    pub last_used_at: Option<Timestamp>,
    /// Whether the token's user's account is end-to-end, as read with the token (the
    /// users row its lookup joins anyway; ignored when a token is created). Such a
    /// token's secret must never reach the server: presented in full as `kst_` (the
    /// prefix is only under a CRC, not a MAC, so a `kse_` relabels freely), it is
    /// treated as disclosed, never used to unwrap its slots (docs/END-TO-END.md §1).
    pub end_to_end: bool,
}

/// One vault key held by a vault-scoped token.
#[derive(Debug, Clone)]
pub struct TokenVaultSlot {
    /// The token.
    pub token_id: Id,
    /// The vault.
    pub vault_id: Id,
    /// Which version of the vault key this is.
    pub key_version: u32,
    /// The vault key wrapped under the token's wrap key.
    pub wrapped_vault_key: Vec<u8>,
}

/// Everything a bearer-token item read needs, fetched in one query: the token (already
/// filtered on its user being enabled), the key path to the vault (the token's slot, or
/// for an all-vaults token the vault key under the user key), and the item.
#[derive(Debug, Clone)]
pub struct TokenRead {
    /// The token.
    pub token: TokenRecord,
    /// Its slot for the vault, if it holds one (`"*"` tokens too: no token reads a
    /// member's slot).
    pub slot: Option<TokenVaultSlot>,
    /// The vault's current key version and whether its rotation is due (flag, and the
    /// time from which it is), if the vault is the token's user's.
    pub vault_now: Option<(u32, bool, Option<Timestamp>)>,
    /// The item, if it exists in that vault and belongs to the token's user.
    pub item: Option<ItemRecord>,
}

/// A vault.
#[derive(Debug, Clone)]
pub struct VaultRecord {
    /// Vault id.
    pub id: Id,
    /// The owner.
    pub user_id: Id,
    /// Current vault key version.
    pub key_version: u32,
    /// The vault key wrapped under the owner's user key.
    pub wrapped_vault_key: Vec<u8>,
    /// The name, under the vault key.
    pub name: Vec<u8>,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The current version of an item.
#[derive(Debug, Clone)]
pub struct ItemRecord {
    /// Item id.
    pub id: Id,
    /// Its vault.
    pub vault_id: Id,
    /// The owner.
    pub user_id: Id,
    /// Version, from 1.
    pub version: u64,
    /// Version of the vault key that wraps the item key.
    pub key_version: u32,
    /// This version's item key, wrapped under the vault key.
    pub wrapped_item_key: Vec<u8>,
    /// Name, under the item key.
    pub name: Vec<u8>,
    /// Value (JSON), under the item key.
    pub value: Vec<u8>,
    /// The name's blind index (FORMAT §11.3): HMAC of the name under a key derived from
    /// the vault key of `key_version`, so a client finds one item by name without
    /// downloading every name. `None` for rows written before it existed.
    pub name_index: Option<Vec<u8>>,
    /// When the item was created.
    pub created_at: Timestamp,
    /// When this version was written.
    pub updated_at: Timestamp,
}

/// Whether an audited action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Ok,
    /// It was refused (wrong credential, back-off).
    Failed,
}

impl Outcome {
    /// Stored text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
        }
    }
}

/// One audit event. Never holds a secret, a name or a value: only ids and what happened.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// When.
    pub at: Timestamp,
    /// Whose account it concerns (`None` for a failed login of an unknown username).
    pub user_id: Option<Id>,
    /// What, e.g. `login`, `item.update`, `token.mint`.
    pub action: String,
    /// Who: `session:<id>`, `token:<id>`, `password`, `recovery-code` or `anonymous`.
    pub actor: String,
    /// Whether it succeeded.
    pub outcome: Outcome,
    /// The client address, when known.
    pub ip: Option<String>,
    /// Ids the action concerns, as `key=value` pairs separated by spaces.
    pub detail: String,
}

/// The back-off rule a store applies when it counts a failed login (DESIGN.md §6.1).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Failures before back-off starts.
    pub threshold: u32,
    /// First lock, in seconds; doubles with each further failure.
    pub base_secs: u64,
    /// Longest lock, in seconds.
    pub max_secs: u64,
}

impl Backoff {
    /// How long to lock after the `failures`-th consecutive failure (0 = no lock).
    pub fn lock_secs(&self, failures: u32) -> u64 {
        if failures < self.threshold {
            return 0;
        }
        let doublings = (failures - self.threshold).min(30);
        self.base_secs
            .saturating_mul(1u64 << doublings)
            .min(self.max_secs)
    }
}
