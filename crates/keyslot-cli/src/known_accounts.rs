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

/// Record `account` for `username` at `addr`.
pub fn remember(addr: &str, username: &str, account: KnownAccount) -> CmdResult {
    let mut file = load()?;
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
