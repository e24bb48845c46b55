//! Command implementations. User commands go through `keyslot-client` over HTTP only;
//! operator commands (`serve`, `migrate`, `backup`, `user`) open the database directly.

pub mod account;
pub mod audit;
pub mod dev_cert;
pub mod dotenv;
pub mod inject;
pub mod items;
pub mod mask;
pub mod operator;
pub mod password;
pub mod reference;
pub mod remote;
pub mod restore;
pub mod seal;
mod seal_macs;
pub mod secrets;
pub mod tokens;
pub mod transfer;
pub mod trust;
pub mod user_keys;
pub mod vault_keys;
pub mod vault_members;

use std::io::Write as _;

use keyslot_client::{Client, Credential, ItemSummary, Vault};
use zeroize::Zeroizing;

pub use remote::{Remote, remote};

use crate::exit::{CmdResult, Failure, NOT_FOUND, USAGE};
use crate::session_file;

/// `--ca-cert`, set once by `main` before any command runs.
pub static CA_CERT: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();

/// A client for `addr` with `credential`, trusting `--ca-cert` beside the system's roots.
pub fn connect(addr: &str, credential: Credential) -> CmdResult<Client> {
    let Some(Some(path)) = CA_CERT.get() else {
        return Ok(Client::new(addr, credential));
    };
    let pem = std::fs::read(path)
        .map_err(|e| Failure::new(USAGE, format!("--ca-cert {}: {e}", path.display())))?;
    Client::with_roots(addr, credential, &pem)
        .map_err(|e| Failure::new(USAGE, format!("--ca-cert {}: {e}", path.display())))
}

/// A server-mode client for user commands: `KEYSLOT_TOKEN` if set, else the saved
/// session. Refuses an end-to-end session or `kse_` token: the commands that call this
/// send what an end-to-end account never sends (a password, a plaintext name); they use
/// [`remote`] instead, which knows both modes.
pub fn client(addr: &str) -> CmdResult<Client> {
    let end_to_end = || {
        Failure::new(
            crate::exit::OTHER,
            "this command is not available for end-to-end accounts in this version",
        )
    };
    if let Ok(token) = std::env::var("KEYSLOT_TOKEN") {
        if token.trim().starts_with("kse_") {
            return Err(end_to_end());
        }
        return connect(addr, Credential::Token(Zeroizing::new(token)));
    }
    let saved = session_file::load_for(addr)?;
    if saved.end_to_end {
        return Err(end_to_end());
    }
    connect(
        addr,
        Credential::Session {
            session: Zeroizing::new(saved.session.clone()),
            csrf: Zeroizing::new(saved.csrf.clone()),
        },
    )
}

/// A vault by exact id or exact name; ambiguous names ask for the id.
pub async fn vault(client: &Remote, wanted: &str) -> CmdResult<Vault> {
    pick_vault(client.vaults().await?, wanted)
}

/// [`vault`]'s choice among vaults already listed (the reference resolver lists them once
/// for many references).
pub fn pick_vault(vaults: Vec<Vault>, wanted: &str) -> CmdResult<Vault> {
    if let Some(v) = vaults.iter().find(|v| v.id == wanted) {
        return Ok(v.clone());
    }
    let mut named = vaults.into_iter().filter(|v| v.name == wanted);
    match (named.next(), named.next()) {
        (Some(v), None) => Ok(v),
        (Some(_), Some(_)) => Err(Failure::new(
            USAGE,
            format!("more than one vault is named {wanted:?}: use its id (`keyslot vault list`)"),
        )),
        (None, _) => Err(Failure::new(
            NOT_FOUND,
            format!("no vault {wanted:?} that you can open (`keyslot vault list`)"),
        )),
    }
}

/// An item of a vault by exact id or exact name, if there is one.
pub async fn find_item(
    client: &Remote,
    vault: &Vault,
    wanted: &str,
) -> CmdResult<Option<ItemSummary>> {
    pick_item(&client.items(&vault.id).await?, vault, wanted)
}

/// [`find_item`]'s choice among a vault's items already listed.
pub fn pick_item(
    items: &[ItemSummary],
    vault: &Vault,
    wanted: &str,
) -> CmdResult<Option<ItemSummary>> {
    if let Some(i) = items.iter().find(|i| i.id == wanted) {
        return Ok(Some(i.clone()));
    }
    let mut named = items.iter().filter(|i| i.name == wanted);
    match (named.next(), named.next()) {
        (Some(i), None) => Ok(Some(i.clone())),
        (Some(_), Some(_)) => Err(Failure::new(
            USAGE,
            format!(
                "more than one item in {:?} is named {wanted:?}: use its id",
                vault.name
            ),
        )),
        (None, _) => Ok(None),
    }
}

/// The error for an item that [`find_item`] or [`pick_item`] did not find.
pub fn no_item(vault: &Vault, wanted: &str) -> Failure {
    Failure::new(
        NOT_FOUND,
        format!(
            "no item {wanted:?} in vault {:?} (`keyslot item list {}`)",
            vault.name, vault.name
        ),
    )
}

/// Like [`find_item`], but absent is an error.
pub async fn item(client: &Remote, vault: &Vault, wanted: &str) -> CmdResult<ItemSummary> {
    find_item(client, vault, wanted)
        .await?
        .ok_or_else(|| no_item(vault, wanted))
}

/// Print rows as an aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> CmdResult {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(header.to_vec()).trim_end())?;
    for row in rows {
        writeln!(
            out,
            "{}",
            line(row.iter().map(String::as_str).collect()).trim_end()
        )?;
    }
    Ok(())
}

/// Print a value as pretty JSON.
pub fn json(value: &impl serde::Serialize) -> CmdResult {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(crate::exit::OTHER, e.to_string()))?;
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}
