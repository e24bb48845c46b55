//! token create|list|revoke.

use keyslot_client::MintToken;
use serde_json::{Value, json as object};

use super::account::read_password;
use super::{client, json, table, vault};
use crate::cli::TokenCommand;
use crate::exit::CmdResult;

/// `keyslot token …`.
pub async fn token_command(addr: &str, as_json: bool, command: &TokenCommand) -> CmdResult {
    let client = client(addr)?;
    match command {
        TokenCommand::Create {
            name,
            vaults,
            all_vaults,
            write,
            deposit,
            expires_in,
            password_stdin,
        } => {
            // Asked before anything is sent. A token outlives the session, so the server
            // wants the password again.
            let password = read_password(*password_stdin, "Password (to mint a token): ")?;
            let scope = if *all_vaults {
                Value::String("*".into())
            } else {
                let mut ids = Vec::new();
                for v in if deposit.is_empty() { vaults } else { deposit } {
                    ids.push(Value::String(vault(&client, v).await?.id));
                }
                Value::Array(ids)
            };
            let permissions = if !deposit.is_empty() {
                vec!["deposit".into()]
            } else if *write {
                vec!["read".into(), "write".into()]
            } else {
                vec!["read".into()]
            };
            let minted = client
                .mint_token(
                    &password,
                    &MintToken {
                        name: name.clone(),
                        vaults: scope,
                        permissions,
                        expires_in_seconds: *expires_in,
                    },
                )
                .await?;
            eprintln!(
                "Token {} ({name}) expires {}. It is shown once, below:",
                minted.id, minted.expires_at
            );
            if as_json {
                return json(&object!({
                    "id": minted.id,
                    "token": minted.token,
                    "expires_at": minted.expires_at,
                }));
            }
            println!("{}", minted.token);
            Ok(())
        }
        TokenCommand::List => {
            let tokens = client.tokens().await?;
            if as_json {
                return json(&tokens);
            }
            let rows = tokens
                .into_iter()
                .map(|t| {
                    let scope = match &t.vaults {
                        Value::String(s) => s.clone(),
                        Value::Array(a) => format!("{} vault(s)", a.len()),
                        other => other.to_string(),
                    };
                    vec![
                        t.name,
                        scope,
                        t.permissions.join("+"),
                        t.expires_at,
                        t.last_used_at.unwrap_or_else(|| "never".into()),
                        t.id,
                    ]
                })
                .collect::<Vec<_>>();
            table(
                &[
                    "NAME",
                    "VAULTS",
                    "PERMISSIONS",
                    "EXPIRES",
                    "LAST USED",
                    "ID",
                ],
                &rows,
            )
        }
        TokenCommand::Revoke { id } => {
            client.revoke_token(id).await?;
            eprintln!("Token {id} revoked.");
            if as_json {
                return json(&object!({"id": id, "revoked": true}));
            }
            Ok(())
        }
    }
}
