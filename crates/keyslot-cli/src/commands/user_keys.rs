//! keys rotate: a new user key, "sign out everywhere and rotate keys".

use std::io::Write as _;

use super::account::read_password;
use super::{client, json};
use crate::cli::KeysCommand;
use crate::exit::{AUTH, CmdResult, Failure};

/// `keyslot keys …`.
pub async fn keys_command(addr: &str, as_json: bool, command: &KeysCommand) -> CmdResult {
    match command {
        KeysCommand::Rotate {
            revoke_tokens,
            password_stdin,
        } => rotate(addr, as_json, *revoke_tokens, *password_stdin).await,
    }
}

/// `keyslot keys rotate [--revoke-tokens]`: asks the password (never from an argument),
/// rotates, and says what happened — and, when the server had to issue one, the new
/// recovery code.
async fn rotate(addr: &str, as_json: bool, revoke_tokens: bool, password_stdin: bool) -> CmdResult {
    let client = client(addr)?;
    let password = read_password(password_stdin, "Password (to rotate your keys): ")?;
    let done = client
        .rotate_user_key(&password, revoke_tokens)
        .await
        .map_err(|e| {
            if e.status() == Some(403) {
                Failure::new(
                    AUTH,
                    format!(
                        "{e} — rotating keys needs your current password and a session from `keyslot login` (not KEYSLOT_TOKEN)"
                    ),
                )
            } else {
                e.into()
            }
        })?;
    if as_json {
        return json(&done);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "New user key. Vaults rotated: {}{}. Other sessions signed out: {}. Tokens revoked: {}.",
        done.vaults_rotated,
        if done.vaults_due > 0 {
            format!(" ({} more rotate at their next use)", done.vaults_due)
        } else {
            String::new()
        },
        done.sessions_ended,
        done.tokens_revoked,
    )?;
    if let Some(code) = &done.recovery_code {
        writeln!(
            out,
            "Your old recovery code no longer works. The new one, shown once:\n{code}"
        )?;
        eprintln!(
            "Save it somewhere safe and apart from your password. Without both, the data is gone for good."
        );
    } else {
        writeln!(out, "Your recovery code keeps working.")?;
    }
    Ok(())
}
