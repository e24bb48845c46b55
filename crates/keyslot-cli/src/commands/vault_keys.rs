//! vault show|rotate: a vault's key state, and rotating its key now.

use std::io::Write as _;

use keyslot_client::Client;
use serde_json::json as object;

use super::{json, table, vault};
use crate::exit::{AUTH, CmdResult, Failure};

/// `keyslot vault show VAULT`: role, key version, due rotation and pending re-wrap.
pub async fn show(client: &Client, as_json: bool, wanted: &str) -> CmdResult {
    let v = vault(client, wanted).await?;
    let detail = client.vault_detail(&v.id).await?;
    if as_json {
        return json(&detail);
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    table(
        &[
            "NAME",
            "ID",
            "ROLE",
            "KEY VERSION",
            "ROTATION DUE",
            "REWRAP PENDING",
        ],
        &[vec![
            detail.name,
            detail.id,
            detail.role,
            detail.key_version.to_string(),
            yes_no(detail.rotation_due),
            yes_no(detail.rewrap_pending),
        ]],
    )
}

/// `keyslot vault rotate VAULT`: a new vault key now; prints the new version.
pub async fn rotate(client: &Client, as_json: bool, wanted: &str) -> CmdResult {
    let v = vault(client, wanted).await?;
    let rotated = client.rotate_vault(&v.id).await.map_err(|e| {
        if e.status() == Some(403) {
            Failure::new(
                AUTH,
                format!(
                    "{e} — only the vault's owner rotates its key, logged in with `keyslot login` (not with KEYSLOT_TOKEN)"
                ),
            )
        } else {
            e.into()
        }
    })?;
    if as_json {
        return json(&object!({"vault": v.id, "key_version": rotated.key_version}));
    }
    writeln!(
        std::io::stdout().lock(),
        "vault {} now has key version {}",
        v.name,
        rotated.key_version
    )?;
    Ok(())
}
