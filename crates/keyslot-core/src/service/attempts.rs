//! Guessing defences: which counters an attempt is admitted against, the known-device
//! cookie, and each instance's local flood shedding (docs/SECURITY.md, "Guessing").
//!
//! An attempt — a login, a recovery, a `current_password` check — is counted when it is
//! admitted, before Argon2, never after it fails: attempts arriving together cannot all
//! pass a check that none of them has yet counted against. The counters:
//!
//! - per username: at most [`Config::username_attempts_per_hour`] from clients without a
//!   known-device cookie, so a guesser spread over many addresses is throttled while the
//!   owner's browser (and the recovery code) still get in;
//! - per (username, source network): [`Config::backoff`], exponential;
//! - per source network: [`Config::ip_failures_per_minute`]; a success gives its attempt
//!   back, so the budget counts failures.
//!
//! Usernames are counted whether or not an account has the name, keyed by a MAC under the
//! seal key ([`MacLabel::UsernameCounter`]), so the database never holds attempted names
//! and the answers never tell an account from a name that is none. A source network is an
//! IPv4 address or an IPv6 /64 (one subscriber's usual allocation).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyslot_crypto::{Id, MacLabel};
use subtle::ConstantTimeEq;

use super::{Keyslot, now};
use crate::model::Timestamp;
use crate::store::{Admission, AttemptLimit, AttemptRule};
use crate::{Error, Result};

/// Counter kinds: the first byte of every key, so no two kinds can share a key.
const USERNAME: u8 = 1;
const USERNAME_NETWORK: u8 = 2;
const NETWORK: u8 = 3;
const SIGNUP_NETWORK: u8 = 4;
/// Username look-ups by a signed-in user adding vault members (keyed by the user's id).
const SHARE_LOOKUP: u8 = 5;
/// Deposits by one deposit token (keyed by the token's id).
const DEPOSIT_TOKEN: u8 = 6;
/// Prelogins per source network (`POST /v1/prelogin`).
const PRELOGIN_NETWORK: u8 = 7;

/// What a device cookie's MAC covers besides the user and the time.
const DEVICE_DOMAIN: &[u8] = b"keyslot/v1/device-cookie";
/// User id (16) ‖ issued at (8, big-endian) ‖ HMAC-SHA256 (32).
const DEVICE_LEN: usize = 16 + 8 + 32;

/// The counters an admitted attempt was counted on, to clear on success.
#[derive(Clone)]
pub(super) struct Admitted {
    /// The username's ceiling, when the attempt counted on it: a success clears only
    /// what it counted on, so a known device's login never hands a guesser a fresh ceiling.
    username: Option<Vec<u8>>,
    username_network: Vec<u8>,
}

/// The source network of a client address: an IPv4 address, or the /64 of an IPv6 one.
/// An address that is not known (`unknown`) is one network of its own.
fn network(ip: &str) -> Vec<u8> {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => v4.octets().to_vec(),
        Ok(IpAddr::V6(v6)) => v6.octets()[..8].to_vec(),
        Err(_) => b"unknown".to_vec(),
    }
}

fn key(kind: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut key = vec![kind];
    for part in parts {
        key.extend_from_slice(part);
    }
    key
}

impl Keyslot {
    /// The MAC a username is counted under: case-folded like the store compares names.
    /// Computed off the runtime (an HSM call: see `seal_calls`).
    async fn username_mac(&self, username: &str) -> Result<[u8; 32]> {
        let normalised = crate::policy::username_key(username);
        self.seal_calls
            .run(move |seal| Ok(seal.mac(MacLabel::UsernameCounter, normalised.as_bytes())?))
            .await
    }

    /// Admit one attempt on `username` from `ip`, or refuse it with 429 and the wait.
    /// `ceiling`: whether the per-username ceiling applies (not to a known device, nor to
    /// a recovery, whose 128-bit code is not guessed by trying).
    pub(super) async fn admit(&self, username: &str, ip: &str, ceiling: bool) -> Result<Admitted> {
        let net = network(ip);
        self.shed(&net)?;
        let name = self.username_mac(username).await?;
        let config = &self.config;
        let admitted = Admitted {
            username: ceiling.then(|| key(USERNAME, &[&name])),
            username_network: key(USERNAME_NETWORK, &[&name, &net]),
        };
        let mut limits = Vec::with_capacity(3);
        if let Some(username) = &admitted.username {
            limits.push(AttemptLimit {
                key: username.clone(),
                rule: AttemptRule::Budget {
                    limit: config.username_attempts_per_hour.max(1),
                    window_secs: 3600,
                },
            });
        }
        limits.push(AttemptLimit {
            key: admitted.username_network.clone(),
            rule: AttemptRule::Backoff(config.backoff),
        });
        limits.push(AttemptLimit {
            key: key(NETWORK, &[&net]),
            rule: AttemptRule::Budget {
                limit: config.ip_failures_per_minute.max(1),
                window_secs: 60,
            },
        });
        match self.store.admit_attempt(&limits, self.local.now()).await? {
            Admission::Admitted => Ok(admitted),
            Admission::Refused { retry_after } => Err(Error::TooManyAttempts { retry_after }),
        }
    }

    /// An admitted attempt succeeded: the username's back-off from this network and, if
    /// the attempt counted on it, its ceiling start again; the network's budget gets the
    /// attempt back (it counts failures).
    ///
    /// Called after the success is committed, so it cannot fail the request: a login whose
    /// session exists, or a recovery whose new code is written, must still answer with
    /// them. A database that refuses now leaves the counters to run out by themselves.
    pub(super) async fn attempt_succeeded(&self, admitted: &Admitted, ip: &str) {
        let net = key(NETWORK, &[&network(ip)]);
        let mut clear = vec![admitted.username_network.as_slice()];
        clear.extend(admitted.username.as_deref());
        if let Err(e) = self.store.attempt_succeeded(&clear, &net).await {
            tracing::warn!(error = %e, "could not clear the attempt counters of a success");
        }
    }

    /// Admit one signup from `ip` against [`Config::signups_per_hour`].
    pub(super) async fn admit_signup(&self, ip: &str) -> Result<()> {
        let net = network(ip);
        self.shed(&net)?;
        let limit = AttemptLimit {
            key: key(SIGNUP_NETWORK, &[&net]),
            rule: AttemptRule::Budget {
                limit: self.config.signups_per_hour.max(1),
                window_secs: 3600,
            },
        };
        match self.store.admit_attempt(&[limit], self.local.now()).await? {
            Admission::Admitted => Ok(()),
            Admission::Refused { retry_after } => Err(Error::TooManyAttempts { retry_after }),
        }
    }

    /// Admit one username look-up by `user` (adding a vault member tells whether a
    /// username exists) against `per_hour`, counted before the look-up whatever it finds.
    pub(super) async fn admit_share_lookup(&self, user: &Id, per_hour: u32) -> Result<()> {
        let limit = AttemptLimit {
            key: key(SHARE_LOOKUP, &[user.as_bytes()]),
            rule: AttemptRule::Budget {
                limit: per_hour.max(1),
                window_secs: 3600,
            },
        };
        match self.store.admit_attempt(&[limit], self.local.now()).await? {
            Admission::Admitted => Ok(()),
            Admission::Refused { retry_after } => Err(Error::TooManyAttempts { retry_after }),
        }
    }

    /// Admit one deposit by deposit token `token` against `per_minute` (a window that
    /// starts with its first deposit), so a leaked deposit token cannot fill the database
    /// at line rate.
    pub(super) async fn admit_deposit(&self, token: &Id, per_minute: u32) -> Result<()> {
        let limit = AttemptLimit {
            key: key(DEPOSIT_TOKEN, &[token.as_bytes()]),
            rule: AttemptRule::Budget {
                limit: per_minute.max(1),
                window_secs: 60,
            },
        };
        match self.store.admit_attempt(&[limit], self.local.now()).await? {
            Admission::Admitted => Ok(()),
            Admission::Refused { retry_after } => Err(Error::TooManyAttempts { retry_after }),
        }
    }

    /// Admit one prelogin from `ip` against [`Config::prelogins_per_minute`], counted in
    /// the database before the username is looked up, whatever it finds. A prelogin costs
    /// no Argon2, but each answer is a probe (its timing, or parameters that differ from
    /// the stand-ins'), so a source may ask only so often: 429 with the wait.
    pub(super) async fn admit_prelogin(&self, ip: &str) -> Result<()> {
        let net = network(ip);
        self.shed(&net)?;
        let limit = AttemptLimit {
            key: key(PRELOGIN_NETWORK, &[&net]),
            rule: AttemptRule::Budget {
                limit: self.config.prelogins_per_minute.max(1),
                window_secs: 60,
            },
        };
        match self.store.admit_attempt(&[limit], self.local.now()).await? {
            Admission::Admitted => Ok(()),
            Admission::Refused { retry_after } => Err(Error::TooManyAttempts { retry_after }),
        }
    }

    /// This instance's flood shedding, before the database is asked anything.
    fn shed(&self, net: &[u8]) -> Result<()> {
        self.local
            .buckets
            .take(net, self.config.local_attempts_per_minute)
    }

    /// A known-device cookie for `user`, issued now: set at each successful login.
    pub(super) async fn device_cookie(&self, user: &Id) -> Result<String> {
        let issued = now().to_be_bytes();
        let mac = self.device_mac(user, &issued).await?;
        let mut raw = Vec::with_capacity(DEVICE_LEN);
        raw.extend_from_slice(user.as_bytes());
        raw.extend_from_slice(&issued);
        raw.extend_from_slice(&mac);
        Ok(URL_SAFE_NO_PAD.encode(raw))
    }

    /// Whether `cookie` is a device cookie this deployment issued to `user` within
    /// [`Config::device_cookie_secs`]. The MAC is compared in constant time; anything
    /// malformed, or made under another MAC key (the key file's, after a move to an HSM),
    /// is simply not a known device. Only a seal key that cannot answer is an error (503):
    /// the login would need it next anyway.
    pub(super) async fn is_known_device(&self, cookie: Option<&str>, user: &Id) -> Result<bool> {
        let Some(raw) = cookie
            .filter(|c| c.len() <= 128)
            .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
            .filter(|raw| raw.len() == DEVICE_LEN)
        else {
            return Ok(false);
        };
        let (id, rest) = raw.split_at(16);
        let (issued, mac) = rest.split_at(8);
        let expected = match self.device_mac(user, issued).await {
            Ok(expected) => expected,
            Err(unavailable @ Error::Unavailable { .. }) => return Err(unavailable),
            Err(_) => return Ok(false),
        };
        let mut at = [0u8; 8];
        at.copy_from_slice(issued);
        let age = now().saturating_sub(Timestamp::from_be_bytes(at));
        Ok(bool::from(expected.ct_eq(mac) & id.ct_eq(user.as_bytes()))
            && (0..=self.config.device_cookie_secs).contains(&age))
    }

    /// Off the runtime (an HSM call: see `seal_calls`).
    async fn device_mac(&self, user: &Id, issued: &[u8]) -> Result<[u8; 32]> {
        let mut data = Vec::with_capacity(DEVICE_DOMAIN.len() + 24);
        data.extend_from_slice(DEVICE_DOMAIN);
        data.extend_from_slice(user.as_bytes());
        data.extend_from_slice(issued);
        self.seal_calls
            .run(move |seal| Ok(seal.mac(MacLabel::DeviceCookie, &data)?))
            .await
    }
}

/// What the attempt counters keep in each instance: the flood buckets, and the tests' clock.
#[derive(Debug, Clone, Default)]
pub(crate) struct Local {
    buckets: Buckets,
    /// When not 0, the time attempts are admitted at (tests; see [`Keyslot::freeze_attempt_clock`]).
    frozen: Arc<AtomicI64>,
}

impl Local {
    fn now(&self) -> Timestamp {
        match self.frozen.load(Ordering::Relaxed) {
            0 => now(),
            frozen => frozen,
        }
    }
}

impl Keyslot {
    /// Test hook: admit attempts as if the time were `at` (whole seconds), or the real
    /// time again with `None`. Waits then do not depend on when a second boundary falls.
    #[doc(hidden)]
    pub fn freeze_attempt_clock(&self, at: Option<Timestamp>) {
        self.local.frozen.store(at.unwrap_or(0), Ordering::Relaxed);
    }
}

/// Per-source token buckets of one instance: a flood from one network is answered 429
/// here, without a database round trip. The database counters stay the authority; these
/// only spare it. Bounded: when full, buckets that have refilled are dropped, and if none
/// has, the table starts over (a flood of sources cannot grow memory).
#[derive(Debug, Clone, Default)]
struct Buckets(Arc<Mutex<BucketMap>>);

/// Per source network: the tokens left, and when they were counted.
type BucketMap = HashMap<Vec<u8>, (f64, Instant)>;

const MAX_BUCKETS: usize = 65_536;

impl Buckets {
    fn take(&self, net: &[u8], per_minute: u32) -> Result<()> {
        let capacity = f64::from(per_minute.max(1));
        let rate = capacity / 60.0;
        let at = Instant::now();
        // A poisoned lock only means another request panicked mid-update of a counter;
        // the map is still a map.
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_BUCKETS && !map.contains_key(net) {
            map.retain(|_, (tokens, since)| {
                *tokens + since.elapsed().as_secs_f64() * rate < capacity
            });
            if map.len() >= MAX_BUCKETS {
                map.clear();
            }
        }
        let (tokens, since) = map.entry(net.to_vec()).or_insert((capacity, at));
        *tokens = (*tokens + at.duration_since(*since).as_secs_f64() * rate).min(capacity);
        *since = at;
        if *tokens < 1.0 {
            let wait = ((1.0 - *tokens) / rate).ceil();
            // At most a minute: the bucket refills fully within one.
            let retry_after = if wait.is_finite() && wait >= 1.0 {
                wait.min(60.0)
            } else {
                1.0
            };
            return Err(Error::TooManyAttempts {
                retry_after: retry_after as u64,
            });
        }
        *tokens -= 1.0;
        Ok(())
    }
}

/// Seconds a known-device cookie is honoured by default: a year.
pub(super) const DEVICE_COOKIE_SECS: i64 = 365 * 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_64_is_one_network_and_ipv4_mapped_is_ipv4() {
        assert_eq!(network("2001:db8:1:2::1"), network("2001:db8:1:2:ffff::9"));
        assert_ne!(network("2001:db8:1:2::1"), network("2001:db8:1:3::1"));
        assert_eq!(network("::ffff:192.0.2.1"), network("192.0.2.1"));
        assert_ne!(network("192.0.2.1"), network("192.0.2.2"));
        assert_eq!(network("unknown"), b"unknown".to_vec());
    }

    #[test]
    fn a_bucket_sheds_past_its_burst_per_source() {
        let buckets = Buckets::default();
        for _ in 0..3 {
            buckets.take(b"a", 3).unwrap();
        }
        assert!(matches!(
            buckets.take(b"a", 3),
            Err(Error::TooManyAttempts { retry_after }) if (1..=60).contains(&retry_after)
        ));
        buckets.take(b"b", 3).unwrap();
    }
}
