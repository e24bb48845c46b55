//! password change, recover.
//!
//! Secrets come from the terminal without echo, or with `--password-stdin` from standard
//! input, one per line in the order the prompts would ask them; never from an argument.

use keyslot_client::e2e;
use serde_json::json;

use super::account::{read_password, read_secret_line};
use super::{connect, json, remote};
use crate::cli::RecoverArgs;
use crate::exit::{CmdResult, Failure, USAGE};
use crate::known_accounts::{self, KnownAccount};

/// `keyslot password change`: the current password, then the new one (twice at a
/// terminal).
pub async fn change(
    addr: &str,
    as_json: bool,
    password_stdin: bool,
    end_other_sessions: bool,
) -> CmdResult {
    let remote = remote(addr).await?;
    let session = remote.session("changing the password")?;
    let current = read_password(password_stdin, "Current password: ")?;
    let new = new_password(password_stdin)?;
    match session {
        // End-to-end: the current password is proven by its `auth`, and the new slot is
        // made here; the parameters it uses become the last seen for this username.
        Some(session) => {
            let params = session
                .change_password(&current, &new, end_other_sessions)
                .await?;
            known_accounts::remember(
                addr,
                session.username(),
                KnownAccount {
                    end_to_end: true,
                    last_params: Some(params.into()),
                    ..KnownAccount::default()
                },
            )?;
        }
        None => {
            remote
                .server_mode("changing the password")?
                .change_password(&current, &new, end_other_sessions)
                .await?;
        }
    }
    changed(as_json, end_other_sessions)
}

/// What `password change` says once it worked, whatever the account's mode.
pub(super) fn changed(as_json: bool, end_other_sessions: bool) -> CmdResult {
    eprintln!(
        "Password changed.{}",
        if end_other_sessions {
            " Your other sessions are signed out."
        } else {
            ""
        }
    );
    if as_json {
        return json(&json!({"changed": true, "other_sessions_ended": end_other_sessions}));
    }
    Ok(())
}

/// The new password: one line of standard input, or asked twice at the terminal.
pub(super) fn new_password(from_stdin: bool) -> CmdResult<zeroize::Zeroizing<String>> {
    let new = read_password(from_stdin, "New password: ")?;
    if !from_stdin {
        let again = read_password(false, "Repeat the new password: ")?;
        if *again != *new {
            return Err(Failure::new(
                USAGE,
                "the two passwords differ; nothing was changed",
            ));
        }
    }
    Ok(new)
}

/// `keyslot recover USERNAME`: the recovery code, then a new password. Prints the new
/// recovery code once (the old one stops working).
pub async fn recover(addr: &str, as_json: bool, args: &RecoverArgs) -> CmdResult {
    let username = args.username.as_str();
    let known = known_accounts::get(addr, username)?;
    let end_to_end = args.end_to_end || known.as_ref().is_some_and(|k| k.end_to_end);
    let code = read_secret_line(args.password_stdin, "Recovery code: ")?;
    let new = new_password(args.password_stdin)?;
    let client = connect(addr, keyslot_client::Credential::None)?;
    if !end_to_end {
        let new_code = client.recover(username, &code, &new).await?;
        return recovered(as_json, username, &new_code);
    }
    // End-to-end: the code's `auth` opens the recovery slot, the user key is opened
    // here, and the new password slot and recovery code are made here.
    let started = e2e::account::recover_begin(&client, username, &code).await?;
    let (new_code, params) = started.finish(&new).await?;
    known_accounts::remember(
        addr,
        username,
        KnownAccount {
            end_to_end: true,
            last_params: Some(params.into()),
            ..KnownAccount::default()
        },
    )?;
    recovered(as_json, username, &new_code)
}

/// What `recover` says once it worked, whatever the account's mode.
pub(super) fn recovered(as_json: bool, username: &str, new_code: &str) -> CmdResult {
    eprintln!(
        "The password of {username} is reset and every session signed out; log in again. \
         The old recovery code no longer works. The new one is below, shown this once: save \
         it somewhere safe and apart from your password."
    );
    if as_json {
        return json(&json!({"username": username, "recovery_code": new_code}));
    }
    println!("{new_code}");
    Ok(())
}
