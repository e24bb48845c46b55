//! signup, login, logout.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use keyslot_client::Credential;
use keyslot_client::e2e::{self, ParamsCheck};
use zeroize::Zeroizing;

use serde_json::json;

use super::{Remote, connect, json};
use crate::cli::CredentialsArgs;
use crate::exit::{CmdResult, Failure, USAGE};
use crate::known_accounts::{self, KnownAccount};
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
    read_secret_line(from_stdin, prompt)
}

/// A secret (a password, a recovery code) from stdin's next line (`from_stdin`), or from
/// the terminal without echo; never from an argument or the environment.
pub(super) fn read_secret_line(from_stdin: bool, prompt: &str) -> CmdResult<Zeroizing<String>> {
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
    if args.end_to_end {
        return signup_end_to_end(addr, as_json, &username, &first).await;
    }
    let done = connect(addr, Credential::None)?
        .signup(&username, &first)
        .await?;
    // A username this machine knew as end-to-end (an account since deleted, a server
    // since reset) is now a server-mode account: later logins must send the password.
    if known_accounts::get(addr, &username)?.is_some() {
        known_accounts::remember(addr, &username, KnownAccount::default())?;
    }
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

/// `keyslot signup --end-to-end`: every key and slot is made here; the server gets the
/// password's `auth` proof's verifier and ciphertext. The mode and the parameters used are
/// remembered for this server and username.
async fn signup_end_to_end(addr: &str, as_json: bool, username: &str, password: &str) -> CmdResult {
    let done = e2e::account::signup(&connect(addr, Credential::None)?, username, password).await?;
    known_accounts::remember(
        addr,
        username,
        KnownAccount {
            end_to_end: true,
            last_params: Some(done.params.into()),
            fingerprint: Some(done.fingerprint.clone()),
            ..KnownAccount::default()
        },
    )?;
    eprintln!(
        "End-to-end account {username} created: your password, keys and data never reach the \
         server in the clear. Its recovery code is below, shown this once:"
    );
    eprintln!(
        "save it somewhere safe and apart from your password. Without both, the data is gone for good."
    );
    eprintln!(
        "Your identity fingerprint (others confirm it before sharing with you): {}",
        done.fingerprint
    );
    if as_json {
        return json(&json!({
            "username": username,
            "user_id": done.user_id.to_string(),
            "vault_id": done.vault_id.to_string(),
            "recovery_code": done.recovery_code.as_str(),
            "end_to_end": true,
            "fingerprint": done.fingerprint,
        }));
    }
    println!("{}", done.recovery_code.as_str());
    Ok(())
}

/// `keyslot login`.
pub async fn login(addr: &str, as_json: bool, args: &CredentialsArgs) -> CmdResult {
    let username = username(args)?;
    let known = known_accounts::get(addr, &username)?;
    // The recorded mode wins over a missing flag: sending this account's password to
    // the server would hand it every key.
    if args.end_to_end || known.as_ref().is_some_and(|k| k.end_to_end) {
        let password = password(args, "Password: ")?;
        let last_seen = known.and_then(|k| k.last_params).map(Into::into);
        return login_end_to_end(addr, as_json, &username, &password, last_seen).await;
    }
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
        end_to_end: false,
        unlock_secret: None,
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

/// `keyslot login` for an end-to-end account: prelogin's parameters checked against the
/// floor and the last ones seen (refused before hashing), Argon2id here, `auth` sent, the
/// user key opened here, and a session unlock secret made and kept in the session file.
async fn login_end_to_end(
    addr: &str,
    as_json: bool,
    username: &str,
    password: &str,
    last_seen: Option<keyslot_crypto::Argon2Params>,
) -> CmdResult {
    let (session, unlock, params) = e2e::account::login(
        &connect(addr, Credential::None)?,
        username,
        password,
        &ParamsCheck::after(last_seen),
    )
    .await?;
    // The account's identity must be the one recorded here at sign-up or first login.
    if let Some(known) = known_accounts::get(addr, username)? {
        known_accounts::check_fingerprint(&known, &session.fingerprint())?;
    }
    let Credential::Session {
        session: cookie,
        csrf,
    } = session.client().credential()
    else {
        return Err(Failure::new(
            crate::exit::OTHER,
            "login returned no session",
        ));
    };
    session_file::save(&Saved {
        addr: addr.trim_end_matches('/').to_owned(),
        username: username.to_owned(),
        session: cookie.to_string(),
        csrf: csrf.to_string(),
        expires_at: String::new(),
        end_to_end: true,
        unlock_secret: Some(unlock.to_text().to_string()),
    })?;
    known_accounts::remember(
        addr,
        username,
        KnownAccount {
            end_to_end: true,
            last_params: Some(params.into()),
            fingerprint: Some(session.fingerprint()),
            ..KnownAccount::default()
        },
    )?;
    let fingerprint = session.fingerprint();
    eprintln!("Logged in as {username} (end-to-end account).");
    eprintln!("Your identity fingerprint: {fingerprint}");
    if as_json {
        return json(&json!({
            "username": username,
            "addr": addr.trim_end_matches('/'),
            "end_to_end": true,
            "fingerprint": fingerprint,
        }));
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

/// `keyslot whoami`: who the credential in force speaks as, and the account's mode.
pub async fn whoami(addr: &str, as_json: bool) -> CmdResult {
    let addr = addr.trim_end_matches('/');
    match super::remote(addr).await? {
        Remote::Server(client) => {
            if std::env::var_os("KEYSLOT_TOKEN").is_some() {
                return token_identity(as_json, &client_token_id()?, false);
            }
            let me = client.me().await?;
            if as_json {
                return json(&json!({
                    "username": me.username,
                    "user_id": me.user_id,
                    "addr": addr,
                    "end_to_end": false,
                }));
            }
            println!("{} (server-mode account) at {addr}", me.username);
            Ok(())
        }
        Remote::E2e(session) => {
            let fingerprint = session.fingerprint();
            if as_json {
                return json(&json!({
                    "username": session.username(),
                    "user_id": session.user_id().to_string(),
                    "addr": addr,
                    "end_to_end": true,
                    "fingerprint": fingerprint,
                }));
            }
            println!("{} (end-to-end account) at {addr}", session.username());
            println!("fingerprint: {fingerprint}");
            Ok(())
        }
        Remote::E2eToken(token) => token_identity(as_json, &token.id().to_string(), true),
    }
}

/// The id of the server-mode token in KEYSLOT_TOKEN, read from its text.
fn client_token_id() -> CmdResult<String> {
    let text = Zeroizing::new(std::env::var("KEYSLOT_TOKEN").unwrap_or_default());
    keyslot_crypto::TokenCredential::parse(text.trim())
        .map(|t| t.id().to_string())
        .map_err(|_| {
            Failure::new(
                USAGE,
                "KEYSLOT_TOKEN is not a Keyslot token (kst_… or kse_…)",
            )
        })
}

fn token_identity(as_json: bool, id: &str, end_to_end: bool) -> CmdResult {
    if as_json {
        return json(&json!({"token_id": id, "end_to_end": end_to_end}));
    }
    println!(
        "token {id} ({})",
        if end_to_end {
            "end-to-end"
        } else {
            "server-mode"
        }
    );
    Ok(())
}
