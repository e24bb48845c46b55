//! vault list|create, item list|get|set|rm.

use std::io::{Read as _, Write as _};

use serde_json::{Value, json as object};
use zeroize::Zeroizing;

use super::{find_item, item, json, remote, table, vault};
use crate::cli::{ItemCommand, VaultCommand};
use crate::exit::{CmdResult, Failure, INVALID, USAGE};

/// `keyslot vault …`.
pub async fn vault_command(addr: &str, as_json: bool, command: &VaultCommand) -> CmdResult {
    let client = remote(addr).await?;
    match command {
        VaultCommand::List => {
            let vaults = client.vaults().await?;
            if as_json {
                return json(&vaults);
            }
            table(
                &["NAME", "ID"],
                &vaults
                    .into_iter()
                    .map(|v| vec![v.name, v.id])
                    .collect::<Vec<_>>(),
            )
        }
        VaultCommand::Create { name } => {
            let v = client.create_vault(name).await?;
            if as_json {
                json(&v)
            } else {
                table(&["NAME", "ID"], &[vec![v.name, v.id]])
            }
        }
        VaultCommand::Show { vault: v } => super::vault_keys::show(&client, as_json, v).await,
        VaultCommand::Rotate { vault: v } => super::vault_keys::rotate(&client, as_json, v).await,
        VaultCommand::Share {
            vault: v,
            username,
            role,
            fingerprint,
        } => {
            super::vault_members::share(&client, as_json, v, username, role, fingerprint.as_deref())
                .await
        }
        VaultCommand::Unshare { vault: v, username } => {
            super::vault_members::unshare(&client, as_json, v, username).await
        }
        VaultCommand::Members { vault: v } => {
            super::vault_members::members(&client, as_json, v).await
        }
    }
}

/// `keyslot item …`.
pub async fn item_command(addr: &str, as_json: bool, command: &ItemCommand) -> CmdResult {
    // A missing value is a usage error, whether or not anyone is logged in.
    if let ItemCommand::Set {
        value: None,
        stdin: false,
        file: None,
        ..
    } = command
    {
        return Err(Failure::new(
            USAGE,
            "give the value as an argument, with --stdin, or with --file",
        ));
    }
    let client = remote(addr).await?;
    match command {
        ItemCommand::List { vault: v } => {
            let v = vault(&client, v).await?;
            let items = client.items(&v.id).await?;
            if as_json {
                return json(&items);
            }
            let rows = items
                .into_iter()
                .map(|i| vec![i.name, i.version.to_string(), i.updated_at, i.id])
                .collect::<Vec<_>>();
            table(&["NAME", "VERSION", "UPDATED", "ID"], &rows)
        }
        ItemCommand::Get { vault: v, item: i } => {
            let v = vault(&client, v).await?;
            let summary = item(&client, &v, i).await?;
            let full = client.item(&v.id, &summary.id).await?;
            if let Some(note) = remote::signing_note(&full) {
                eprintln!("{note}");
            }
            if as_json {
                json(&full)
            } else {
                print_value(&full.value)
            }
        }
        ItemCommand::Set {
            vault: v,
            item: name,
            value,
            stdin,
            file,
            value_json,
        } => {
            let value = new_value(value.as_deref(), *stdin, file.as_deref(), *value_json)?;
            // An end-to-end deposit token seals the item itself and can read nothing
            // back, so there is nothing to look up first.
            if let Some(written) = client.deposit(v, name, &value).await? {
                eprintln!("{name} deposited in {v}; this token cannot read it back.");
                if as_json {
                    return json(&object!({
                        "vault_id": v,
                        "id": written.id,
                        "name": name,
                        "version": written.version,
                        "created": true,
                    }));
                }
                return Ok(());
            }
            let v = vault(&client, v).await?;
            let existing = find_item(&client, &v, name).await?;
            let created = existing.is_none();
            let written = match existing {
                Some(existing) => {
                    client
                        .update_item(
                            &v.id,
                            &existing.id,
                            &existing.name,
                            &value,
                            existing.version,
                        )
                        .await?
                }
                None => client.create_item(&v.id, name, &value).await?,
            };
            eprintln!("{name} saved in {} (version {}).", v.name, written.version);
            if as_json {
                return json(&object!({
                    "vault_id": v.id,
                    "vault": v.name,
                    "id": written.id,
                    "name": name,
                    "version": written.version,
                    "created": created,
                }));
            }
            Ok(())
        }
        ItemCommand::Rm { vault: v, item: i } => {
            let v = vault(&client, v).await?;
            let summary = item(&client, &v, i).await?;
            client.delete_item(&v.id, &summary.id).await?;
            eprintln!("{} deleted from {}.", summary.name, v.name);
            if as_json {
                return json(&object!({
                    "vault_id": v.id,
                    "vault": v.name,
                    "id": summary.id,
                    "name": summary.name,
                    "deleted": true,
                }));
            }
            Ok(())
        }
    }
}

/// The value to store, from exactly one source: argument, standard input or file. Stored
/// as a JSON string unless `as_json`.
fn new_value(
    arg: Option<&str>,
    stdin: bool,
    file: Option<&std::path::Path>,
    as_json: bool,
) -> CmdResult<Value> {
    let raw = Zeroizing::new(match (arg, stdin, file) {
        (Some(v), false, None) => v.to_owned(),
        (None, true, None) => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
        (None, false, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| Failure::new(USAGE, format!("cannot read {}: {e}", path.display())))?,
        _ => {
            return Err(Failure::new(
                USAGE,
                "give the value as an argument, with --stdin, or with --file",
            ));
        }
    });
    if as_json {
        serde_json::from_str(&raw).map_err(|e| {
            Failure::new(
                INVALID,
                format!("--value-json: the value is not JSON ({e})"),
            )
        })
    } else {
        Ok(Value::String(raw.to_string()))
    }
}

/// A string prints as is; anything else as JSON.
pub fn print_value(value: &Value) -> CmdResult {
    let mut out = std::io::stdout().lock();
    match value {
        Value::String(s) => writeln!(out, "{s}")?,
        other => writeln!(out, "{other}")?,
    }
    Ok(())
}
