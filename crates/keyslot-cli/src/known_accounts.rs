//! What the CLI remembers about each account it has signed up or logged in, per server and
//! username: `<config dir>/accounts.json` (mode 0600, replaced atomically).
//!
//! - **Whether the account is end-to-end.** `POST /v1/prelogin` reveals neither whether a
//!   username exists nor its mode (END-TO-END.md §2), so the client must know it itself:
//!   `keyslot signup --end-to-end` and `keyslot login --end-to-end` record it, and a later
//!   `keyslot login` without the flag uses what was recorded. Sending `auth` for a
//!   server-mode account, or the password for an end-to-end one, would only answer 401;
//!   sending the password to the server for an end-to-end account would hand it the key
//!   to everything, which is why the recorded mode wins over a missing flag.
//! - **The last Argon2 parameters seen** for an end-to-end account: a server answering
//!   lower ones at the next prelogin is refused (a downgrade to guess the password faster
//!   from `auth`; END-TO-END.md §3).
//!
//! Neither is a secret; the file is private anyway, like everything in the directory.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;

use keyslot_crypto::Argon2Params;
use serde::{Deserialize, Serialize};

use crate::exit::{CmdResult, Failure, OTHER};
use crate::session_file;

/// One account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KnownAccount {
    /// Whether the account is end-to-end.
    pub end_to_end: bool,
    /// The last Argon2 parameters a prelogin (or this client's own sign-up, password
    /// change or recovery) gave for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_params: Option<Params>,
    /// The account's own identity fingerprint, recorded at the first end-to-end sign-up
    /// or login here: a later session whose identity differs is refused (a server that
    /// substituted the keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Tokens this account revoked from here: a server listing one as a holder again is
    /// refused before anything is sealed to it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked_tokens: Vec<String>,
    /// Members this account removed, as "vault/user": the same for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_members: Vec<String>,
}

impl KnownAccount {
    /// The record of ended holders, for the client.
    pub fn ended(&self) -> keyslot_client::e2e::EndedHolders {
        let mut ended = keyslot_client::e2e::EndedHolders::default();
        ended.tokens.extend(
            self.revoked_tokens
                .iter()
                .filter_map(|t| t.parse::<keyslot_crypto::Id>().ok()),
        );
        ended
            .members
            .extend(self.removed_members.iter().filter_map(|m| {
                let (vault, user) = m.split_once('/')?;
                Some((vault.parse().ok()?, user.parse().ok()?))
            }));
        ended
    }

    /// Replace the record of ended holders with the client's.
    pub fn set_ended(&mut self, ended: &keyslot_client::e2e::EndedHolders) {
        self.revoked_tokens = ended.tokens.iter().map(ToString::to_string).collect();
        self.removed_members = ended
            .members
            .iter()
            .map(|(vault, user)| format!("{vault}/{user}"))
            .collect();
    }
}

/// Argon2 parameters as stored here.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Params {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl From<Argon2Params> for Params {
    fn from(p: Argon2Params) -> Self {
        Self {
            m_cost_kib: p.m_cost_kib,
            t_cost: p.t_cost,
            p_cost: p.p_cost,
        }
    }
}

impl From<Params> for Argon2Params {
    fn from(p: Params) -> Self {
        Self {
            m_cost_kib: p.m_cost_kib,
            t_cost: p.t_cost,
            p_cost: p.p_cost,
        }
    }
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    /// Keyed by "<server address> <username>".
    accounts: BTreeMap<String, KnownAccount>,
}

fn key(addr: &str, username: &str) -> String {
    format!("{} {username}", addr.trim_end_matches('/'))
}

fn path() -> CmdResult<std::path::PathBuf> {
    Ok(session_file::dir()?.join("accounts.json"))
}

fn load() -> CmdResult<File> {
    let path = path()?;
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|_| {
            Failure::new(
                OTHER,
                format!(
                    "{} is damaged: fix or delete it (it records which accounts are end-to-end)",
                    path.display()
                ),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
        Err(e) => Err(e.into()),
    }
}

/// What is known about `username` at `addr`, if anything.
pub fn get(addr: &str, username: &str) -> CmdResult<Option<KnownAccount>> {
    Ok(load()?.accounts.remove(&key(addr, username)))
}

/// Record `account` for `username` at `addr`. For an end-to-end account still recorded
/// as one, the fingerprint and the ended holders recorded earlier are kept unless
/// `account` sets them.
pub fn remember(addr: &str, username: &str, mut account: KnownAccount) -> CmdResult {
    let mut file = load()?;
    if account.end_to_end
        && let Some(earlier) = file.accounts.get(&key(addr, username))
        && earlier.end_to_end
    {
        if account.fingerprint.is_none() {
            account.fingerprint.clone_from(&earlier.fingerprint);
        }
        if account.revoked_tokens.is_empty() && account.removed_members.is_empty() {
            account.revoked_tokens.clone_from(&earlier.revoked_tokens);
            account.removed_members.clone_from(&earlier.removed_members);
        }
    }
    file.accounts.insert(key(addr, username), account);
    let dir = session_file::dir()?;
    session_file::private_dir(&dir)?;
    let tmp = dir.join(".accounts.json.tmp");
    let _ = fs::remove_file(&tmp);
    let text = serde_json::to_vec_pretty(&file).map_err(|e| Failure::new(OTHER, e.to_string()))?;
    let mut out = session_file::create_private(&tmp)?;
    out.write_all(&text)?;
    out.sync_all()?;
    fs::rename(&tmp, path()?)?;
    Ok(())
}

/// The server and username of this run's end-to-end session (set when it is resumed), so
/// the commands that end a holder can save the record without threading them through.
static SESSION_ACCOUNT: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();

/// Check a resumed (or new) end-to-end session against what is recorded for it: its
/// identity's fingerprint must be the one recorded at the first sign-up or login here (a
/// server that substituted the account's keys shows as another fingerprint). Hands the
/// session the record of ended holders and the last Argon2 parameters seen.
pub fn check_session(addr: &str, session: &keyslot_client::e2e::E2eSession) -> CmdResult {
    let _ = SESSION_ACCOUNT.set((addr.to_owned(), session.username().to_owned()));
    let Some(known) = get(addr, session.username())? else {
        return Ok(());
    };
    check_fingerprint(&known, &session.fingerprint())?;
    session.remember_ended(&known.ended());
    // A password change or a token mint checks prelogin against these too.
    if let Some(params) = known.last_params {
        session.params_seen(params.into());
    }
    Ok(())
}

/// Refuse `presented` unless it is the recorded fingerprint (or none is recorded).
pub fn check_fingerprint(known: &KnownAccount, presented: &str) -> CmdResult {
    match &known.fingerprint {
        Some(recorded) if recorded != presented => Err(Failure::new(
            crate::exit::AUTH,
            format!(
                "the server gave this account an identity with fingerprint {presented}, not \
                 {recorded} as recorded here at sign-up or login: its keys may have been \
                 substituted; nothing was saved or sent"
            ),
        )),
        _ => Ok(()),
    }
}

/// Save the session's record of ended holders (after a revocation or a removal).
pub fn save_ended(session: &keyslot_client::e2e::E2eSession) -> CmdResult {
    let Some((addr, username)) = SESSION_ACCOUNT.get() else {
        return Ok(());
    };
    let mut account = get(addr, username)?.unwrap_or(KnownAccount {
        end_to_end: true,
        ..KnownAccount::default()
    });
    account.set_ended(&session.ended_holders());
    remember(addr, username, account)
}
