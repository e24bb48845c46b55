//! signup, login, logout.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use keyslot_client::Credential;
use zeroize::Zeroizing;

use serde_json::json;

use super::{connect, json};
use crate::cli::CredentialsArgs;
use crate::exit::{CmdResult, Failure, USAGE};
use crate::session_file::{self, Saved};

fn username(args: &CredentialsArgs) -> CmdResult<String> {
    if let Some(name) = &args.username {
        return Ok(name.clone());
    }
    if !std::io::stdin().is_terminal() || args.password_stdin {
        return Err(Failure::new(
            USAGE,
            "give the username as an argument, e.g. `keyslot login alice`",
        ));
    }
    eprint!("Username: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// The password from stdin's first line, or from the terminal without echo.
fn password(args: &CredentialsArgs, prompt: &str) -> CmdResult<Zeroizing<String>> {
    read_password(args.password_stdin, prompt)
}

/// The password from stdin's first line (`from_stdin`, for `--password-stdin`), or from
/// the terminal without echo; never from an argument or the environment.
pub(super) fn read_password(from_stdin: bool, prompt: &str) -> CmdResult<Zeroizing<String>> {
    if from_stdin {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line)?;
        let trimmed = Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_owned());
        if trimmed.is_empty() {
            return Err(Failure::new(
                USAGE,
                "--password-stdin: standard input held no password",
            ));
        }
        return Ok(trimmed);
    }
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|_| {
            Failure::new(
                USAGE,
                "cannot read a password from the terminal: use --password-stdin to pipe it in",
            )
        })
}

/// `keyslot signup`.
pub async fn signup(addr: &str, as_json: bool, args: &CredentialsArgs) -> CmdResult {
    let username = username(args)?;
    let first = password(args, "New password: ")?;
    if !args.password_stdin {
        let again = password(args, "Repeat the password: ")?;
        if *again != *first {
            return Err(Failure::new(
                USAGE,
                "the two passwords differ; nothing was created",
            ));
        }
    }
    let done = connect(addr, Credential::None)?
        .signup(&username, &first)
        .await?;
    eprintln!("Account {username} created. Its recovery code is below, shown this once:");
    eprintln!(
        "save it somewhere safe and apart from your password. Without both, the data is gone for good."
    );
    if as_json {
        return json(&json!({
            "username": username,
            "user_id": done.user_id,
            "vault_id": done.vault_id,
            "recovery_code": done.recovery_code,
        }));
    }
    println!("{}", done.recovery_code);
    Ok(())
}

/// `keyslot login`.
pub async fn login(addr: &str, as_json: bool, args: &CredentialsArgs) -> CmdResult {
    let username = username(args)?;
    let password = password(args, "Password: ")?;
    let (client, logged) = connect(addr, Credential::None)?
        .login(&username, &password)
        .await?;
    let Credential::Session { session, csrf } = client.credential() else {
        return Err(Failure::new(
            crate::exit::OTHER,
            "login returned no session",
        ));
    };
    session_file::save(&Saved {
        addr: addr.trim_end_matches('/').to_owned(),
        username: username.clone(),
        session: session.to_string(),
        csrf: csrf.to_string(),
        expires_at: logged.expires_at.clone(),
    })?;
    eprintln!("Logged in as {username} until {}.", logged.expires_at);
    // A due user-key rotation ran at this login and had to replace the recovery code.
    if logged.recovery_code.is_some() {
        eprintln!(
            "Your keys were rotated at this login and your recovery code was replaced: the old \
             one no longer works. The new one is below, shown this once: save it somewhere \
             safe and apart from your password. Without both, the data is gone for good."
        );
    }
    if as_json {
        let mut answer = json!({
            "username": username,
            "addr": addr.trim_end_matches('/'),
            "expires_at": logged.expires_at,
        });
        if let Some(code) = &logged.recovery_code {
            answer["recovery_code"] = json!(code);
        }
        return json(&answer);
    }
    if let Some(code) = &logged.recovery_code {
        println!("{code}");
    }
    Ok(())
}

/// `keyslot logout`.
pub async fn logout(addr: &str, as_json: bool) -> CmdResult {
    let Some(saved) = session_file::load()? else {
        eprintln!("Not logged in.");
        return if as_json {
            json(&json!({"logged_out": false}))
        } else {
            Ok(())
        };
    };
    let credential = Credential::Session {
        session: Zeroizing::new(saved.session.clone()),
        csrf: Zeroizing::new(saved.csrf.clone()),
    };
    let server = if saved.addr.is_empty() {
        addr.to_owned()
    } else {
        saved.addr.clone()
    };
    // End the session on the server; forget it locally whatever the answer (it may have
    // expired already).
    let client = connect(&server, credential);
    let ended = match &client {
        Ok(client) => Some(client.logout().await),
        Err(_) => None,
    };
    session_file::remove()?;
    let Some(ended) = ended else {
        return client.map(|_| ());
    };
    match ended {
        Ok(()) | Err(keyslot_client::Error::Problem(_)) => {
            eprintln!("Logged out.");
            if as_json {
                return json(&json!({"logged_out": true}));
            }
            Ok(())
        }
        Err(e) => Err(Failure::from(e)),
    }
}
