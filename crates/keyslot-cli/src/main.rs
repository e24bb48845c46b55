//! `keyslot`: one binary for the server, its operators, and its users' scripts.
// A command line's results are its standard output; the workspace lint is for libraries.
#![allow(clippy::print_stdout)]

mod cli;
mod commands;
mod exit;
mod known_accounts;
mod session_file;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

use cli::{Cli, Command};
use commands::{
    account, audit, dev_cert, inject, items, operator, password, restore, seal, secrets, tokens,
    transfer, user_keys,
};
use exit::{CmdResult, USAGE};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEYSLOT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log(&cli.command))),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal: a log file, journald or a pipe gets
        // plain text it can search.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keyslot: cannot start the async runtime: {e}");
            return ExitCode::from(exit::OTHER);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("keyslot: {failure}");
            ExitCode::from(failure.code)
        }
    }
}

/// The server logs at `info`; the user commands say what went wrong in their own error
/// message, so library logs (rustls's verifier, say) would only repeat it.
fn default_log(command: &Command) -> &'static str {
    match command {
        Command::Serve(_)
        | Command::Migrate(_)
        | Command::Backup(_)
        | Command::Restore(_)
        | Command::User(_)
        | Command::Seal(_) => "info",
        _ => "off",
    }
}

async fn run(cli: Cli) -> CmdResult<u8> {
    let _ = commands::CA_CERT.set(cli.ca_cert.clone());
    let addr = cli.addr.as_str();
    match &cli.command {
        Command::Serve(args) => operator::serve(args).await?,
        Command::DevCert(args) => dev_cert::dev_cert(cli.json, args)?,
        Command::Migrate(args) => operator::migrate(cli.json, args).await?,
        Command::Backup(args) => operator::backup(cli.json, args).await?,
        Command::Restore(args) => restore::restore(cli.json, args).await?,
        Command::User(command) => operator::user(cli.json, command).await?,
        Command::Seal(command) => seal::seal_command(cli.json, command).await?,
        Command::Signup(args) => account::signup(addr, cli.json, args).await?,
        Command::Login(args) => account::login(addr, cli.json, args).await?,
        Command::Logout => account::logout(addr, cli.json).await?,
        Command::Whoami => account::whoami(addr, cli.json).await?,
        Command::Trust {
            username,
            fingerprint,
        } => commands::trust::trust(addr, cli.json, username, fingerprint).await?,
        Command::Password(cli::PasswordCommand::Change {
            password_stdin,
            end_other_sessions,
        }) => password::change(addr, cli.json, *password_stdin, *end_other_sessions).await?,
        Command::Recover(args) => password::recover(addr, cli.json, args).await?,
        Command::Vault(command) => items::vault_command(addr, cli.json, command).await?,
        Command::Item(command) => items::item_command(addr, cli.json, command).await?,
        Command::Read { reference } => secrets::read(addr, cli.json, reference).await?,
        Command::Run(args) => return secrets::run(addr, args).await,
        Command::Inject(args) => inject::inject(addr, cli.json, args).await?,
        Command::Token(command) => tokens::token_command(addr, cli.json, command).await?,
        Command::Keys(command) => user_keys::keys_command(addr, cli.json, command).await?,
        Command::Audit(args) => audit::audit(addr, cli.json, args).await?,
        Command::Export(args) => transfer::export(addr, cli.json, args).await?,
        Command::Import(args) => transfer::import(addr, cli.json, args).await?,
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "keyslot",
                &mut std::io::stdout(),
            );
        }
    }
    Ok(0)
}
