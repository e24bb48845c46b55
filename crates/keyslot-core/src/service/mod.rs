//! The use cases, as methods of [`Keyslot`]. Split by subject: accounts and sessions,
//! vaults and items, tokens.

mod accounts;
mod attempts;
mod audit_log;
pub mod client_views;
mod deposit;
mod deposit_readers;
pub mod e2e_accounts;
pub mod e2e_deposits;
mod e2e_fields;
mod e2e_items;
pub mod e2e_lifecycle;
pub mod e2e_recovery;
mod e2e_rotation;
mod e2e_tokens;
mod holder_keys;
mod items;
mod lifecycle;
mod members;
mod public_key_checks;
mod recovery_keys;
mod rewrap;
mod seal_calls;
mod star_tokens;
mod tokens;
mod user_key_swap;
mod user_key_vaults;
mod user_keys;
pub mod views;

use std::sync::Arc;

use keyslot_crypto::{Aad, Id, KdfPolicy, Purpose, SealKey};

pub use user_keys::KeysRotated;

use crate::audit::AuditBuffer;
use crate::gate::Argon2Gate;
use crate::model::{AuditEvent, Backoff, Outcome, Timestamp};
use crate::store::Store;
use crate::{Error, Result};

/// Tunables of the use cases, validated once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Argon2id floor, ceiling and target.
    pub kdf: KdfPolicy,
    /// Back-off per (username, source network): attempts free, then exponential.
    pub backoff: Backoff,
    /// Failed attempts (logins, recoveries, `current_password` checks) per source network
    /// (an IPv4 address, an IPv6 /64) per minute, counted in the database.
    pub ip_failures_per_minute: u32,
    /// Attempts per username per hour from clients without a known-device cookie: throttles
    /// a guesser spread over many networks, without locking the owner's browser out.
    pub username_attempts_per_hour: u32,
    /// Signups per source network per hour.
    pub signups_per_hour: u32,
    /// Prelogins (`POST /v1/prelogin`) per source network per minute, counted in the
    /// database; an end-to-end login needs one.
    pub prelogins_per_minute: u32,
    /// Attempts per source network per minute each instance lets through to the database
    /// at most (a local token bucket that sheds floods).
    pub local_attempts_per_minute: u32,
    /// How long a known-device cookie is honoured, in seconds.
    pub device_cookie_secs: i64,
    /// A session ends after this long without a request.
    pub session_idle_secs: i64,
    /// A session ends this long after login, active or not.
    pub session_absolute_secs: i64,
    /// Token lifetime when none is asked for.
    pub token_default_secs: i64,
    /// Longest token lifetime that may be asked for.
    pub token_max_secs: i64,
    /// Concurrent Argon2 hashes (default: the cores).
    pub argon2_workers: usize,
    /// Argon2 requests that may wait beyond the workers.
    pub argon2_queue: usize,
    /// Largest item value, in bytes of JSON.
    pub max_value_bytes: usize,
    /// Live sessions per user; a login beyond it ends the user's oldest session.
    pub max_sessions_per_user: u32,
    /// How often ended tokens and sessions are deleted (0: never, for tests that sweep by
    /// hand with [`Keyslot::sweep_now`]).
    pub sweep_interval_secs: u64,
    /// Read events (and token uses) the audit buffer holds before a read has to wait for
    /// the flusher ([`crate::audit`]); at least 1.
    pub audit_buffer: usize,
    /// Items the re-wrap moves to a vault's newest key version per batch (one
    /// transaction; one batch follows each write to a vault with older items). 0 turns
    /// the re-wrap off: items stay under their versions, read through the chain.
    pub rewrap_batch: u32,
    /// Deposits a request moves into items at most (a listing; reading one item moves
    /// just that one): the rest wait for the next request, so a pile of deposits never
    /// makes one listing arbitrarily slow. At least 1.
    pub deposit_claim_batch: u32,
    /// Items one deposit token may deposit per minute, counted in the database across
    /// instances; past it, 429 with `Retry-After`.
    pub deposits_per_minute: u32,
    /// How long a request waits for one seal-key call (an HSM's answer) before it is
    /// answered 503 (see `seal_calls`).
    pub seal_call_timeout: std::time::Duration,
    /// Called inside every password strength check, on the worker that runs it: tests
    /// hold checks in progress with it, to show what still runs meanwhile. `None` in use.
    #[doc(hidden)]
    pub strength_check_hook: Option<StrengthCheckHook>,
    /// Called before every seal-key call a request makes, on the thread that makes it:
    /// tests hold it to play an HSM that does not answer. `None` in use.
    #[doc(hidden)]
    pub seal_call_hook: Option<StrengthCheckHook>,
}

/// A test hook run inside each password strength check ([`Config::strength_check_hook`]).
#[doc(hidden)]
#[derive(Clone)]
pub struct StrengthCheckHook(pub Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for StrengthCheckHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StrengthCheckHook")
    }
}

impl Default for Config {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            kdf: KdfPolicy::default(),
            backoff: Backoff {
                threshold: 5,
                base_secs: 1,
                max_secs: 15 * 60,
            },
            ip_failures_per_minute: 30,
            username_attempts_per_hour: 100,
            signups_per_hour: 10,
            prelogins_per_minute: 60,
            local_attempts_per_minute: 120,
            device_cookie_secs: attempts::DEVICE_COOKIE_SECS,
            session_idle_secs: 30 * 60,
            session_absolute_secs: 12 * 3600,
            token_default_secs: 30 * 86_400,
            token_max_secs: 366 * 86_400,
            argon2_workers: cores,
            argon2_queue: cores * 2,
            max_value_bytes: 1024 * 1024,
            max_sessions_per_user: 20,
            sweep_interval_secs: 30,
            audit_buffer: 16 * 1024,
            rewrap_batch: 500,
            deposit_claim_batch: 100,
            deposits_per_minute: 60,
            seal_call_timeout: std::time::Duration::from_secs(5),
            strength_check_hook: None,
            seal_call_hook: None,
        }
    }
}

/// Key of the seal-key check value in the store's meta table.
const SEAL_CHECK: &str = "seal_check";

/// Keyslot's use cases over one store and one seal key.
#[derive(Debug, Clone)]
pub struct Keyslot {
    store: Arc<dyn Store>,
    /// The seal key, only ever called through here: off the async runtime, bounded (see
    /// `seal_calls`).
    seal_calls: seal_calls::SealCalls,
    config: Arc<Config>,
    gate: Argon2Gate,
    audit: AuditBuffer,
    local: attempts::Local,
}

impl Keyslot {
    /// Open Keyslot over `store` with `seal`. Refuses to start if the store was written
    /// with another seal key: every login would fail, so say so now and why.
    pub async fn open(
        store: Arc<dyn Store>,
        seal: Arc<dyn SealKey>,
        config: Config,
    ) -> Result<Self> {
        let aad = Aad::new(Purpose::SealCheck);
        let fresh = seal.seal(&aad, b"keyslot seal check")?.to_bytes();
        let stored = store.init_meta(SEAL_CHECK, &fresh).await?;
        check_seal_value(seal.as_ref(), &stored)?;
        // Rows from before public-key MACs get theirs, once per database; from then on a
        // missing MAC is refused like a wrong one (`crate::public_key_store`).
        if let Some(written) =
            crate::public_key_store::backfill_public_key_macs(store.as_ref(), seal.as_ref()).await?
        {
            tracing::info!(written, "public-key MACs backfilled");
        }
        let gate = Argon2Gate::new(config.argon2_workers, config.argon2_queue);
        let audit = AuditBuffer::start(store.clone(), config.audit_buffer);
        if config.sweep_interval_secs > 0 {
            crate::sweeper::start(
                store.clone(),
                std::time::Duration::from_secs(config.sweep_interval_secs),
                config.session_idle_secs,
            );
        }
        Ok(Self {
            store,
            seal_calls: seal_calls::SealCalls::new(
                seal,
                config.seal_call_timeout,
                config.seal_call_hook.clone(),
            ),
            config: Arc::new(config),
            gate,
            audit,
            local: attempts::Local::default(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// Argon2 hashes running or queued now.
    pub fn argon2_in_flight(&self) -> usize {
        self.gate.in_flight()
    }

    /// Argon2 hashes admitted and waiting for a worker now (the queue, not the running).
    pub fn argon2_queued(&self) -> usize {
        self.gate.queued()
    }

    /// Entries in the audit buffer now, and its capacity (see [`crate::audit`]).
    pub fn audit_buffer_fill(&self) -> (usize, usize) {
        self.audit.fill()
    }

    /// Tokens that still work and expire within `secs` from now: one counting query, for
    /// a gauge refreshed on a timer (never per request or per scrape).
    pub async fn tokens_expiring_within(&self, secs: i64) -> Result<u64> {
        let now = now();
        Ok(self
            .store
            .count_tokens_expiring(now, now.saturating_add(secs))
            .await?)
    }

    /// Argon2 hashes run since start: what a guesser got evaluated (`/metrics`, tests).
    pub fn argon2_runs(&self) -> u64 {
        self.gate.runs()
    }

    /// Delete ended tokens and sessions now (the sweeper does so on a timer).
    pub async fn sweep_now(&self) -> Result<crate::store::Swept> {
        Ok(
            crate::sweeper::sweep(self.store.as_ref(), now(), self.config.session_idle_secs)
                .await?,
        )
    }

    /// Reads refused (503) because the audit buffer stayed full, and token last-use
    /// marks skipped for the same reason (see [`crate::audit`]).
    pub fn audit_refused(&self) -> crate::audit::Refusals {
        self.audit.refusals()
    }

    /// At shutdown, after the last request has been answered: close the audit buffer and
    /// wait up to `within` until every event in it is written (see
    /// [`crate::audit::AuditBuffer::close`]). Returns how many were not written in time.
    pub async fn flush_audit(&self, within: std::time::Duration) -> usize {
        self.audit.close(within).await
    }

    /// Test hook: hold the audit flusher before its next write until the guard drops, as a
    /// stalled database would. Reads then fill the buffer and get 503 once it stays full.
    #[doc(hidden)]
    pub async fn hold_audit_flush(&self) -> crate::audit::FlushHold {
        self.audit.hold().await
    }
}

/// Whether `seal` is the key `store` was created with, without writing anything: for a
/// restore, which must check before it replaces a database. A database that was never
/// opened by Keyslot has no check value and is refused too.
pub async fn check_seal_key(store: &dyn Store, seal: &dyn SealKey) -> Result<()> {
    let Some(stored) = store.meta(SEAL_CHECK).await? else {
        return Err(Error::Internal(
            "this database holds no seal check: it was never opened by keyslot serve".into(),
        ));
    };
    check_seal_value(seal, &stored)
}

fn check_seal_value(seal: &dyn SealKey, stored: &[u8]) -> Result<()> {
    let envelope = keyslot_crypto::Envelope::from_bytes(stored)?;
    if seal.open(&Aad::new(Purpose::SealCheck), &envelope).is_err() {
        return Err(Error::Internal(format!(
            "the seal key (fingerprint {}) is not the one this database was created with; \
             point --seal-key-file / KEYSLOT_SEAL_KEY_FILE at the original key",
            seal.fingerprint()
        )));
    }
    Ok(())
}

/// Now, in seconds since the epoch.
pub(crate) fn now() -> Timestamp {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An audit event for `user` happening now.
pub(crate) fn event(
    user: Option<&Id>,
    action: &str,
    actor: String,
    outcome: Outcome,
    detail: String,
) -> AuditEvent {
    AuditEvent {
        at: now(),
        user_id: user.copied(),
        action: action.to_owned(),
        actor,
        outcome,
        ip: None,
        detail,
    }
}
