//! vault show|rotate: a vault's key state, and rotating its key now.

use std::io::Write as _;

use serde_json::json as object;

use super::{Remote, json, table, vault};
use crate::exit::{AUTH, CmdResult, Failure, NOT_FOUND};

/// `keyslot vault show VAULT`: role, key version, due rotation and pending re-wrap.
pub async fn show(remote: &Remote, as_json: bool, wanted: &str) -> CmdResult {
    let v = vault(remote, wanted).await?;
    if let Some(session) = remote.session("vault show")? {
        // End-to-end: no server-side re-wrap exists (items move to a new key when a
        // client rewrites them), so there is nothing pending to show.
        let id =
            v.id.parse()
                .map_err(|_| Failure::new(NOT_FOUND, "malformed vault id"))?;
        let open = session.vault(&id).await?;
        let role = open.role.unwrap_or_default();
        if as_json {
            return json(&object!({
                "id": v.id,
                "name": v.name,
                "role": role,
                "key_version": open.key_version,
                "rotation_due": open.rotation_due,
                "end_to_end": true,
            }));
        }
        return table(
            &["NAME", "ID", "ROLE", "KEY VERSION", "ROTATION DUE"],
            &[vec![
                v.name,
                v.id,
                role,
                open.key_version.to_string(),
                if open.rotation_due { "yes" } else { "no" }.to_owned(),
            ]],
        );
    }
    let client = remote.server_mode("vault show")?;
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
///
/// For an end-to-end account the rotation runs here: a new key, its chain link, and a
/// grant for every remaining holder sealed to its verified key (refused, with nothing
/// sent, if any holder's key does not verify).
pub async fn rotate(remote: &Remote, as_json: bool, wanted: &str) -> CmdResult {
    let v = vault(remote, wanted).await?;
    if let Some(session) = remote.session("rotating a vault")? {
        let id =
            v.id.parse()
                .map_err(|_| Failure::new(NOT_FOUND, "malformed vault id"))?;
        let key_version = session.rotate_vault(&id).await?;
        return print_rotated(as_json, &v, key_version);
    }
    let client = remote.server_mode("rotating")?;
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
    print_rotated(as_json, &v, rotated.key_version)
}

fn print_rotated(as_json: bool, v: &keyslot_client::Vault, key_version: u32) -> CmdResult {
    if as_json {
        return json(&object!({"vault": v.id, "key_version": key_version}));
    }
    writeln!(
        std::io::stdout().lock(),
        "vault {} now has key version {key_version}",
        v.name
    )?;
    Ok(())
}
