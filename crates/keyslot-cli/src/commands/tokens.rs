//! token create|list|revoke.

use keyslot_client::MintToken;
use serde_json::{Value, json as object};

use keyslot_client::TokenInfo;
use keyslot_client::e2e::E2eSession;
use keyslot_crypto::Id;

use super::account::read_password;
use super::{json, remote, table, vault};
use crate::cli::TokenCommand;
use crate::exit::{CmdResult, Failure, NOT_FOUND};

/// `keyslot token …`.
pub async fn token_command(addr: &str, as_json: bool, command: &TokenCommand) -> CmdResult {
    let remote = remote(addr).await?;
    if let Some(session) = remote.session("managing tokens")? {
        return e2e_token_command(session, as_json, command).await;
    }
    let client = remote.server_mode("tokens")?;
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
                    ids.push(Value::String(vault(&remote, v).await?.id));
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
        TokenCommand::List => list(as_json, client.tokens().await?),
        TokenCommand::Revoke { id } => {
            client.revoke_token(id).await?;
            revoked(as_json, id, &[])
        }
    }
}

/// `keyslot token …` for an end-to-end session: the token is generated here, its slots
/// wrapped here, and its secret never sent (requests will carry its `ksa_` proof).
async fn e2e_token_command(
    session: &E2eSession,
    as_json: bool,
    command: &TokenCommand,
) -> CmdResult {
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
            let password = read_password(*password_stdin, "Password (to mint a token): ")?;
            let mut ids = Vec::new();
            for v in if deposit.is_empty() { vaults } else { deposit } {
                let found = session.find_vault(v).await?;
                ids.push(found.id);
            }
            // A deposit token seals each deposit itself (keyslot-client's e2e::deposits);
            // it holds no vault key, so no slot is made for it.
            let minted = if deposit.is_empty() {
                let scope = (!*all_vaults).then_some(ids.as_slice());
                session
                    .mint_token(&password, name, scope, *write, *expires_in)
                    .await?
            } else {
                session
                    .mint_deposit_token(&password, name, &ids, *expires_in)
                    .await?
            };
            eprintln!(
                "Token {} ({name}) expires {}. It is shown once, below; it never reached the server:",
                minted.id, minted.expires_at
            );
            if as_json {
                return json(&object!({
                    "id": minted.id.to_string(),
                    "token": minted.token.as_str(),
                    "expires_at": minted.expires_at,
                }));
            }
            println!("{}", minted.token.as_str());
            Ok(())
        }
        TokenCommand::List => {
            let tokens = session
                .tokens()
                .await?
                .into_iter()
                .map(|t| TokenInfo {
                    id: t.id.to_string(),
                    name: t.name,
                    vaults: t.vaults,
                    permissions: t.permissions,
                    expires_at: t.expires_at,
                    last_used_at: t.last_used_at,
                })
                .collect();
            list(as_json, tokens)
        }
        TokenCommand::Revoke { id } => {
            let token: Id = id
                .parse()
                .map_err(|_| Failure::new(NOT_FOUND, format!("{id:?} is not a token id")))?;
            session.revoke_token(&token).await?;
            // Recorded here: a server listing it as a holder again is refused.
            crate::known_accounts::save_ended(session)?;
            // The server marks the token's vaults due and cannot rotate them: their
            // owner's client does, here and now, so nothing written next opens with
            // what the token held.
            let mut rotated = Vec::new();
            for v in session.vaults().await? {
                if v.rotation_due && v.owner_id == *session.user_id() {
                    let version = session.rotate_vault(&v.id).await?;
                    rotated.push((v.name.unwrap_or_else(|| v.id.to_string()), version));
                }
            }
            revoked(as_json, id, &rotated)
        }
    }
}

fn revoked(as_json: bool, id: &str, rotated: &[(String, u32)]) -> CmdResult {
    eprintln!("Token {id} revoked.");
    for (vault, version) in rotated {
        eprintln!("Vault {vault} rotated to key version {version}.");
    }
    if as_json {
        return json(&object!({
            "id": id,
            "revoked": true,
            "rotated": rotated
                .iter()
                .map(|(v, k)| object!({"vault": v, "key_version": k}))
                .collect::<Vec<_>>(),
        }));
    }
    Ok(())
}

fn list(as_json: bool, tokens: Vec<TokenInfo>) -> CmdResult {
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
