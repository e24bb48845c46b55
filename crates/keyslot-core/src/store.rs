//! The `Store` trait: everything Keyslot keeps, behind one interface, one implementation
//! per database crate, one conformance suite (`keyslot-store-tests`) run on all.
//!
//! Every method that changes more than one row does so in one transaction, together with
//! the audit event that records it: no crash leaves data that no credential can open, and
//! no change goes unrecorded.

use async_trait::async_trait;
use keyslot_crypto::Id;

use crate::model::{
    AuditEvent, Backoff, ItemRecord, RecoveryRecord, SessionRecord, Timestamp, TokenRead,
    TokenRecord, TokenVaultSlot, UserRecord, VaultRecord,
};

/// What a store can fail with. Messages carry no secrets (stores never see any).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// The database cannot be reached or answered with an I/O error; retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The row to change does not exist (or belongs to someone else).
    #[error("not found")]
    NotFound,
    /// A uniqueness or version condition failed (username taken, stale item version).
    #[error("conflict")]
    Conflict,
    /// A row that cannot be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(&'static str),
    /// The vault's key version (or its holders) changed since the caller read them: a
    /// write wrapped under an older key, or a rotation computed from an older state.
    /// Nothing was written; re-read, re-wrap and retry ([`crate::keystore`]).
    #[error("the vault key version moved")]
    KeyVersionMoved,
    /// A client's item write names an item of the vault that another item already has
    /// at the same key version (the same blind index, END-TO-END §6): nothing written.
    #[error("the item name is taken")]
    NameTaken,
}

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything sign-up writes, in one transaction.
#[derive(Debug)]
pub struct NewAccount {
    /// The user with its sealed password slot.
    pub user: UserRecord,
    /// The MAC of the user's X25519 public key under the seal key, inserted with the
    /// user's row (never in a later statement: a crash between the two would leave a key
    /// that every grant to it refuses). Sign-up always gives it; `None` stores a row like
    /// those from before public-key MACs (the start-up backfill's input).
    pub user_public_key_mac: Option<Vec<u8>>,
    /// The recovery-code slot.
    pub recovery: RecoveryRecord,
    /// The default vault.
    pub vault: VaultRecord,
    /// `signup`.
    pub audit: AuditEvent,
}

/// Everything a successful login writes.
#[derive(Debug)]
pub struct NewLogin {
    /// The new session.
    pub session: SessionRecord,
    /// The sealed password slot the login verified, byte for byte.
    pub verified_password_slot: Vec<u8>,
    /// The slot rewritten at a raised KDF target, if the policy rose.
    pub upgraded_password_slot: Option<Vec<u8>>,
    /// Live sessions a user may hold; the oldest end first.
    pub max_sessions: u32,
    /// `login`.
    pub audit: AuditEvent,
}

/// One limit an attempt is admitted against ([`Store::admit_attempt`]).
#[derive(Clone)]
pub struct AttemptLimit {
    /// The counter's key: a kind byte, then a username's MAC and/or a source network.
    /// Never a username in clear.
    pub key: Vec<u8>,
    /// How the counter limits.
    pub rule: AttemptRule,
}

/// By hand: keys are MACs of usernames and addresses, not for logs.
impl std::fmt::Debug for AttemptLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttemptLimit")
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

/// How a counter limits attempts.
#[derive(Debug, Clone, Copy)]
pub enum AttemptRule {
    /// At most `limit` attempts in a window of `window_secs`, which starts with the first
    /// attempt; past it, refused until the window ends.
    Budget {
        /// Attempts per window (at least 1).
        limit: u32,
        /// The window's length.
        window_secs: i64,
    },
    /// `threshold` attempts free, then each admitted attempt shuts the key for the
    /// back-off it earns; the counter is forgotten `max_secs` after its last lock ends.
    Backoff(Backoff),
}

/// The answer of [`Store::admit_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted; go ahead.
    Admitted,
    /// Not counted; try again in this many seconds (at least 1).
    Refused {
        /// Seconds to wait.
        retry_after: u64,
    },
}

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Expired tokens (with their vault slots).
    pub tokens: u64,
    /// Sessions past their absolute expiry or idle timeout.
    pub sessions: u64,
    /// Users newly marked for a user-key rotation: a swept token wrapped their key.
    pub user_keys_due: u64,
    /// Attempt counters past their end ([`Store::admit_attempt`]).
    pub attempt_counters: u64,
}

/// Which of a user's audit events to list ([`Store::audit_page`]), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only events at or after this time.
    pub since: Option<Timestamp>,
    /// Only events before this time.
    pub until: Option<Timestamp>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only events older in the log than this position (the paging cursor: the position
    /// of the last event of the previous page).
    pub before: Option<i64>,
    /// At most this many events.
    pub limit: u32,
}

/// Keyslot's persistence. Implemented once for SQLite and PostgreSQL by `keyslot-store`;
/// every implementation passes `keyslot-store-tests`.
#[async_trait]
pub trait Store:
    crate::keystore::KeyStore
    + crate::client_store::ClientStore
    + crate::deposit_store::DepositStore
    + crate::e2e_lifecycle_store::E2eLifecycleStore
    + crate::public_key_store::PublicKeyStore
    + crate::memberstore::MemberStore
    + crate::user_key_store::UserKeyStore
    + crate::e2e_store::E2eAccountStore
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;

    /// A value of the deployment (e.g. the seal key's check value).
    async fn meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Set a value of the deployment only if it is not set yet; returns the value now stored.
    async fn init_meta(&self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>>;

    /// Sign-up: user, recovery slot, default vault and audit event, all or nothing.
    /// [`StoreError::Conflict`] if the username (case-insensitive) is taken.
    async fn create_account(&self, account: NewAccount) -> StoreResult<()>;
    /// A user by username, compared case-insensitively.
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    /// A user by id.
    async fn user(&self, id: &Id) -> StoreResult<Option<UserRecord>>;
    /// Every user, oldest first, ties by username (operators' `keyslot user list`).
    async fn users(&self) -> StoreResult<Vec<UserRecord>>;
    /// Disable (or re-enable) an account. Disabling also deletes its sessions; its tokens
    /// stay but stop working while it is disabled. Audited in the same transaction.
    async fn set_user_disabled(
        &self,
        user: &Id,
        disabled_at: Option<Timestamp>,
        audit: AuditEvent,
    ) -> StoreResult<()>;
    /// The recovery slot of a user.
    async fn recovery(&self, user: &Id) -> StoreResult<Option<RecoveryRecord>>;

    /// Admit one attempt (a login, a recovery, a `current_password` check, a signup)
    /// against every limit of `limits`, in order, before any Argon2 runs: each key's check
    /// and increment is one conditional upsert, so concurrent attempts on many instances
    /// can never be admitted past a limit. If any limit refuses, nothing is counted and
    /// the longest wait is returned. Short: no transaction outlives this call.
    async fn admit_attempt(
        &self,
        limits: &[AttemptLimit],
        now: Timestamp,
    ) -> StoreResult<Admission>;
    /// An admitted attempt succeeded, in one transaction: forget the counters `clear`
    /// (the username's), and give one attempt back to the budget `refund` (the source
    /// network's, which counts failures), reopening it. Keys with no row are ignored.
    async fn attempt_succeeded(&self, clear: &[&[u8]], refund: &[u8]) -> StoreResult<()>;
    /// Forget every attempt counter; how many there were. For the end of `keyslot seal
    /// migrate`: username counters are keyed by MACs under the seal key's MAC key, which
    /// the migration replaced, so they start again (DESIGN: a move to an HSM resets them).
    async fn clear_attempt_counters(&self) -> StoreResult<u64>;
    /// A successful login, in one transaction: reset the failure count, optionally replace
    /// the password slot (parameter upgrade), store the session, end the user's oldest
    /// sessions beyond `max_sessions`, write the audit event. Conditional on the password
    /// slot still being the one the login verified: if a password change or recovery
    /// committed meanwhile, nothing is written and [`StoreError::Conflict`] is returned (the
    /// old password must not yield a session, nor its upgrade overwrite the new slot).
    async fn record_login(&self, login: NewLogin) -> StoreResult<()>;

    /// A session by id; `None` as well when its user is disabled.
    async fn session(&self, id: &Id) -> StoreResult<Option<SessionRecord>>;
    /// Record activity on a session.
    async fn touch_session(&self, id: &Id, at: Timestamp) -> StoreResult<()>;
    /// Log out: delete the session and write the audit event.
    async fn delete_session(&self, id: &Id, audit: AuditEvent) -> StoreResult<()>;

    /// Replace the password slot; delete the user's sessions other than `keep_session`
    /// when `end_other_sessions`, and every token of the user (with its slots) when
    /// `revoke_tokens`; audit; one transaction. With `keep_session` (the session making the
    /// change), only if that session still exists once the user's row is locked: a change
    /// that was running Argon2 while a recovery ended every session gets
    /// [`StoreError::Conflict`] and changes nothing, so a recovery cannot be undone by an
    /// attacker's request in flight.
    ///
    /// With `expected_password_slot` (the slot the current password opened), only if the
    /// user's slot is still that one, else [`StoreError::KeyVersionMoved`] and nothing
    /// changes: a user-key rotation (or recovery) that committed meanwhile replaced it, and
    /// the new slot would wrap a dead user key. `None` sets it unconditionally (checks).
    #[allow(clippy::too_many_arguments)]
    async fn change_password(
        &self,
        user: &Id,
        expected_password_slot: Option<&[u8]>,
        password_slot: Vec<u8>,
        end_other_sessions: bool,
        keep_session: Option<&Id>,
        revoke_tokens: bool,
        audit: AuditEvent,
    ) -> StoreResult<()>;
    /// Recovery: replace the password slot and the recovery slot, delete every session of
    /// the user (and every token when `revoke_tokens`), reset the failure count, audit; one
    /// transaction. `expected_recovery` is
    /// the credential id of the code that was used: if it is no longer current (a
    /// concurrent recovery won), nothing changes and [`StoreError::Conflict`] is returned.
    ///
    /// With `expected_public_key` (the user's X25519 public key as read before the
    /// recovery slot), only if the user still has that key, else
    /// [`StoreError::KeyVersionMoved`] and nothing changes: a user-key rotation committed
    /// meanwhile, and the user key the slot gave is dead. The user's row is locked first.
    #[allow(clippy::too_many_arguments)]
    async fn recover(
        &self,
        user: &Id,
        expected_recovery: &Id,
        expected_public_key: Option<&[u8]>,
        password_slot: Vec<u8>,
        recovery: RecoveryRecord,
        revoke_tokens: bool,
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// Create a vault and audit it.
    async fn create_vault(&self, vault: VaultRecord, audit: AuditEvent) -> StoreResult<()>;
    /// All vaults of a user.
    async fn vaults(&self, user: &Id) -> StoreResult<Vec<VaultRecord>>;
    /// One vault of a user (`None` if it does not exist or is someone else's).
    async fn vault(&self, user: &Id, vault: &Id) -> StoreResult<Option<VaultRecord>>;

    /// Items of a vault of a user (current versions).
    async fn items(&self, user: &Id, vault: &Id) -> StoreResult<Vec<ItemRecord>>;
    /// One item.
    async fn item(&self, user: &Id, vault: &Id, item: &Id) -> StoreResult<Option<ItemRecord>>;
    /// An item together with its vault's key version and the vault key wrapped under the
    /// owner's user key, in one round trip (the read path of sessions and `"*"` tokens).
    async fn item_with_vault_key(
        &self,
        user: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<(u32, Vec<u8>, ItemRecord)>>;
    /// An item together with a vault-scoped token's slot for its vault, in one round trip
    /// (the read path of scoped tokens). `None` when the token holds no slot for the vault
    /// or there is no such item.
    async fn item_with_token_slot(
        &self,
        token: &Id,
        user: &Id,
        vault: &Id,
        item: &Id,
    ) -> StoreResult<Option<(TokenVaultSlot, ItemRecord)>>;
    /// A bearer-token item read in one round trip (the hot path: each query costs more CPU
    /// than the crypto of a whole request). `None` when the token is unknown or its user is
    /// disabled.
    async fn token_read(&self, token: &Id, vault: &Id, item: &Id)
    -> StoreResult<Option<TokenRead>>;
    /// Insert a new item (version 1) and audit it.
    async fn create_item(&self, item: ItemRecord, audit: AuditEvent) -> StoreResult<()>;
    /// Replace an item with its next version if its current version is still
    /// `item.version - 1`; [`StoreError::Conflict`] otherwise, [`StoreError::NotFound`]
    /// if it is gone. Audited in the same transaction.
    async fn update_item(&self, item: ItemRecord, audit: AuditEvent) -> StoreResult<()>;
    /// Delete an item; [`StoreError::NotFound`] if there is none. Audited.
    async fn delete_item(
        &self,
        user: &Id,
        vault: &Id,
        item: &Id,
        audit: AuditEvent,
    ) -> StoreResult<()>;

    /// Mint a token with its vault slots, audited, in one transaction. With `session`
    /// (the session that minted it), only if that session still exists once the user's row
    /// is locked: a mint that was running Argon2 while a recovery or a password change
    /// ended its session gets [`StoreError::Conflict`] and leaves no token behind.
    /// With `expected_user_public_key` (the user's X25519 public key, read and checked
    /// against the user key that wrapped the token's name key), only if the user still has
    /// it under that lock, else [`StoreError::KeyVersionMoved`] with nothing written: a
    /// user-key rotation committed meanwhile and the name key is under a dead user key.
    /// `None` skips that check (conformance checks).
    async fn create_token(
        &self,
        token: TokenRecord,
        slots: Vec<TokenVaultSlot>,
        session: Option<&Id>,
        expected_user_public_key: Option<&[u8]>,
        audit: AuditEvent,
    ) -> StoreResult<()>;
    /// A token by id; `None` as well when its user is disabled.
    async fn token(&self, id: &Id) -> StoreResult<Option<TokenRecord>>;
    /// A token's slot for one vault.
    async fn token_vault_slot(&self, token: &Id, vault: &Id)
    -> StoreResult<Option<TokenVaultSlot>>;
    /// All slots of a token.
    async fn token_vault_slots(&self, token: &Id) -> StoreResult<Vec<TokenVaultSlot>>;
    /// All tokens of a user.
    async fn tokens(&self, user: &Id) -> StoreResult<Vec<TokenRecord>>;
    /// Revoke: delete the token and its slots, audited; [`StoreError::NotFound`] if the
    /// user has no such token.
    async fn delete_token(&self, user: &Id, token: &Id, audit: AuditEvent) -> StoreResult<()>;
    /// Record token uses (batched from the read path).
    async fn mark_tokens_used(&self, uses: &[(Id, Timestamp)]) -> StoreResult<()>;
    /// How many tokens that still work (not revoked, their user not disabled) end after
    /// `now` and at or before `until`: the `/metrics` gauge of tokens about to expire,
    /// refreshed on a timer, never per scrape.
    async fn count_tokens_expiring(&self, now: Timestamp, until: Timestamp) -> StoreResult<u64>;

    /// The sweeper: delete tokens whose `expires_at` is at or before `now` (their slots with
    /// them) and sessions that expired by `now` or were last seen at or before
    /// `idle_before`, in one transaction; a deleted token that wrapped the user key marks
    /// its user's key as due to rotate. Then let go of the deleted bytes where the backend
    /// can (SQLite: `secure_delete` zeroes them, and a WAL checkpoint truncates the log).
    /// Attempt counters that ended by `now` go too (they hold usernames' MACs). Safe to
    /// run from many instances at once.
    async fn sweep_expired(&self, now: Timestamp, idle_before: Timestamp) -> StoreResult<Swept>;

    /// Append audit events (batched reads; changes are audited inside their own call).
    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// The newest `limit` events of a user, newest first.
    async fn audit_events(&self, user: &Id, limit: u32) -> StoreResult<Vec<AuditEvent>>;
    /// A user's events matching `filter`, newest first (in the order they were written),
    /// each with its position in the log: a later page asks for events `before` the last
    /// position it was given.
    async fn audit_page(
        &self,
        user: &Id,
        filter: &AuditFilter,
    ) -> StoreResult<Vec<(i64, AuditEvent)>>;

    /// Up to `limit` users' sealed password slots, in ascending user id order, starting
    /// after `after` (`None`: from the first): `keyslot seal migrate` walks every slot
    /// with it, a batch at a time, without holding the table.
    async fn password_slots(
        &self,
        after: Option<&Id>,
        limit: u32,
    ) -> StoreResult<Vec<StoredPasswordSlot>>;
    /// Replace sealed password slots, all in one transaction, each only if it still holds
    /// exactly the bytes it was read with: a password change, recovery or KDF upgrade that
    /// wrote a new slot meanwhile wins. Returns how many were replaced. Neither the failed
    /// login count nor sessions change: the password is the same, only its seal is new.
    async fn reseal_password_slots(&self, reseals: &[PasswordSlotReseal]) -> StoreResult<u64>;
}

/// A user's sealed password slot, as stored ([`Store::password_slots`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasswordSlot {
    /// The user.
    pub user_id: Id,
    /// The password credential's id (part of the slot's AAD).
    pub credential_id: Id,
    /// The sealed slot bytes.
    pub slot: Vec<u8>,
}

/// One slot to re-seal ([`Store::reseal_password_slots`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordSlotReseal {
    /// The user.
    pub user_id: Id,
    /// The slot as read: the replacement happens only if it is still this.
    pub old: Vec<u8>,
    /// The same record sealed under the new seal key.
    pub new: Vec<u8>,
}
