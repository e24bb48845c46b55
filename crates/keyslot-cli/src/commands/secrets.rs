//! `keyslot read ks://…` and `keyslot run -- COMMAND`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;
use zeroize::Zeroizing;

use super::mask::{Secrets, pump};
use super::reference::{Reference, Resolver, SCHEME, in_context};
use super::{dotenv, json, remote};
use crate::cli::RunArgs;
use crate::exit::{CmdResult, Failure, INVALID, OTHER, USAGE};

/// `keyslot read`. With `--json`, `{"reference", "value"}`, the value as stored (a string
/// or any JSON value).
pub async fn read(addr: &str, as_json: bool, reference: &str) -> CmdResult {
    let parsed = Reference::parse(reference)?;
    let mut resolver = Resolver::new(remote(addr).await?);
    if as_json {
        let value = resolver.value(&parsed).await?;
        return json(&json!({"reference": reference, "value": value}));
    }
    let value = resolver.text(&parsed).await?;
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "{}", value.as_str())?;
    Ok(())
}

/// Where a variable of `keyslot run` comes from, for messages.
enum Origin {
    Inherited,
    EnvFile { path: String, line: usize },
    Flag,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inherited => f.write_str("from the environment"),
            Self::EnvFile { path, line } => write!(f, "from {path} line {line}"),
            Self::Flag => f.write_str("from --env"),
        }
    }
}

/// A variable `keyslot run` sets in the child's environment.
enum Wanted {
    /// A `ks://` reference, resolved before the child starts.
    Reference(String, Origin),
    /// A literal from an env file, set as it is.
    Literal(Zeroizing<String>),
}

/// `keyslot run`: gather the variables to set, resolve every reference among them (all
/// or nothing, before the command starts), then run the command with them in its
/// environment, masking the resolved values in its output unless `--no-masking`. The
/// values go only into the child's environment: never into its arguments, a file or a
/// log. Returns the child's exit code.
///
/// Variables, later sources winning: the inherited environment's values that are `ks://`
/// references (as `op run` resolves `op://` ones), then each `--env-file` in order
/// (references and literals), then `--env NAME=REFERENCE`. A reference overridden by a
/// later source is not resolved, so it cannot fail the command.
pub async fn run(addr: &str, args: &RunArgs) -> CmdResult<u8> {
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Failure::new(USAGE, "give the command after --"))?;
    let mut wanted: BTreeMap<String, Wanted> = BTreeMap::new();
    for (name, value) in std::env::vars_os() {
        // A credential variable is removed below, not resolved; a name or value that is
        // not Unicode cannot be a reference.
        if is_credential_variable(&name) {
            continue;
        }
        if let (Some(name), Some(value)) = (name.to_str(), value.to_str())
            && value.starts_with(SCHEME)
        {
            wanted.insert(
                name.to_owned(),
                Wanted::Reference(value.to_owned(), Origin::Inherited),
            );
        }
    }
    for path in &args.env_files {
        for entry in env_file(path)? {
            let origin = Origin::EnvFile {
                path: path.display().to_string(),
                line: entry.line,
            };
            let value = if entry.value.starts_with(SCHEME) {
                Wanted::Reference(entry.value.to_string(), origin)
            } else {
                Wanted::Literal(entry.value)
            };
            wanted.insert(entry.name, value);
        }
    }
    for pair in &args.env {
        // The message names the variable but never repeats the value: it should be a
        // reference, but a mistaken literal could be a secret.
        let (name, reference) = pair
            .split_once('=')
            .filter(|(n, _)| dotenv::is_name(n))
            .ok_or_else(|| {
                Failure::new(
                    USAGE,
                    "--env: expected NAME=ks://VAULT/ITEM[/FIELD], NAME being letters, digits and _",
                )
            })?;
        if !reference.starts_with(SCHEME) {
            return Err(Failure::new(
                USAGE,
                format!(
                    "--env {name}=…: the value is not a ks://VAULT/ITEM[/FIELD] reference (literals go in an --env-file)"
                ),
            ));
        }
        wanted.insert(
            name.to_owned(),
            Wanted::Reference(reference.to_owned(), Origin::Flag),
        );
    }

    let mut env: Vec<(String, Zeroizing<String>)> = Vec::with_capacity(wanted.len());
    let mut resolved: Vec<Zeroizing<String>> = Vec::new();
    let mut resolver = None;
    for (name, source) in wanted {
        match source {
            Wanted::Literal(value) => env.push((name, value)),
            Wanted::Reference(text, origin) => {
                let context = format!("{name}={text} ({origin}); the command was not run");
                let reference = Reference::parse(&text).map_err(|e| in_context(e, &context))?;
                let resolver = match &mut resolver {
                    Some(r) => r,
                    None => resolver.insert(Resolver::new(remote(addr).await?)),
                };
                let value = resolver
                    .text(&reference)
                    .await
                    .map_err(|e| in_context(e, &context))?;
                resolved.push(value.clone());
                env.push((name, value));
            }
        }
    }
    drop(resolver);

    let mut command = Command::new(program);
    command.args(rest);
    // The child gets the values it was given, not the credential that fetched them.
    for (name, _) in std::env::vars_os() {
        if is_credential_variable(&name) {
            command.env_remove(name);
        }
    }
    // Explicit names (`--env`, an env file) come last, so a script that asks for a
    // credential by name (`--env KEYSLOT_TOKEN=ks://ci/child-token`) still gets the one it
    // asked for.
    for (name, value) in &env {
        command.env(name, value.as_str());
    }
    let secrets = Secrets::new(resolved.iter().map(|v| v.as_bytes()));
    let masking = !args.no_masking && !secrets.is_empty();
    drop(resolved);
    #[cfg(unix)]
    let _stay = stay_for_the_child();
    let program = program.clone();
    let status = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        if !masking {
            return command.status();
        }
        command
            .stdin(Stdio::inherit())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let pumps = [
            child.stdout.take().map(|out| {
                let secrets = secrets.clone();
                std::thread::spawn(move || pump(out, std::io::stdout(), secrets))
            }),
            child.stderr.take().map(|err| {
                let secrets = secrets.clone();
                std::thread::spawn(move || pump(err, std::io::stderr(), secrets))
            }),
        ];
        let status = child.wait();
        // Output a command left in its pipes is written before keyslot exits. (A pump
        // only panics on a bug; the output it had is lost either way.)
        for pump in pumps.into_iter().flatten() {
            let _ = pump.join();
        }
        status
    })
    .await
    .map_err(|e| Failure::new(OTHER, format!("cannot wait for {program:?}: {e}")))?
    .map_err(|e| Failure::new(OTHER, format!("cannot run {program:?}: {e}")))?;
    drop(env);
    Ok(match status.code() {
        Some(code) => u8::try_from(code).unwrap_or(1),
        None => 128 + signal(&status),
    })
}

/// An env file's variables; its syntax errors are invalid input, naming file and line.
fn env_file(path: &Path) -> CmdResult<Vec<dotenv::Entry>> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| Failure::new(USAGE, format!("--env-file {}: {e}", path.display())))?,
    );
    dotenv::parse(&text).map_err(|e| {
        Failure::new(
            INVALID,
            format!("--env-file {} line {}: {}", path.display(), e.line, e.what),
        )
    })
}

/// Keep keyslot alive through Ctrl-C and Ctrl-\ while the command runs.
///
/// The terminal sends those to the whole foreground process group, so the command gets
/// them itself and decides what they mean (a server shuts down cleanly, a REPL ignores
/// them). Were keyslot to die of them, the command's masked output would lose its reader
/// mid-shutdown and its exit code would be lost; instead keyslot waits, writes the rest
/// of the output, and exits with the command's code. Registering the handlers is what
/// replaces the default (terminate); the events themselves are not needed.
#[cfg(unix)]
fn stay_for_the_child() -> Vec<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    [SignalKind::interrupt(), SignalKind::quit()]
        .into_iter()
        .filter_map(|kind| signal(kind).ok())
        .collect()
}

/// Whether an environment variable of ours carries a credential, and so must not reach a
/// command started by `keyslot run`.
///
/// `keyslot run` exists to hand a command *some* secrets (the `--env` values) and nothing
/// more; passing on the token or session that fetched them would give the child every
/// vault that credential opens, for as long as it lives. So it is removed, as is every
/// other `KEYSLOT_*` variable that holds a secret: `KEYSLOT_DATABASE_URL` (it may carry
/// the database password) and any name containing `TOKEN`, `PASSWORD`, `PASS`, `PIN`,
/// `SECRET` or `CREDENTIAL` (e.g. a future `KEYSLOT_SEAL_PKCS11_PIN`), so a variable added
/// later is caught by its name. The rest are kept on purpose: `KEYSLOT_ADDR`,
/// `KEYSLOT_CA_CERT` and `KEYSLOT_CONFIG_DIR` are where the server is and which CA to
/// trust, not secrets, and a child that is itself a script calling `keyslot` needs them
/// to reach the same server (with its own credential); paths such as
/// `KEYSLOT_SEAL_KEY_FILE` name a file, whose permissions guard it.
fn is_credential_variable(name: &std::ffi::OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let upper = name.to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix("KEYSLOT_") else {
        return false;
    };
    rest == "DATABASE_URL"
        || ["TOKEN", "PASSWORD", "PASS", "PIN", "SECRET", "CREDENTIAL"]
            .iter()
            .any(|word| rest.split('_').any(|part| part.starts_with(word)))
}

#[cfg(unix)]
fn signal(status: &std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt as _;
    status
        .signal()
        .and_then(|s| u8::try_from(s).ok())
        .unwrap_or(0)
}

#[cfg(not(unix))]
fn signal(_: &std::process::ExitStatus) -> u8 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_variables_are_recognised_and_locations_are_not() {
        for secret in [
            "KEYSLOT_TOKEN",
            "KEYSLOT_DATABASE_URL",
            "KEYSLOT_SEAL_PKCS11_PIN",
            "KEYSLOT_PASSWORD",
            "keyslot_token",
            "KEYSLOT_CI_TOKENS",
        ] {
            assert!(is_credential_variable(secret.as_ref()), "{secret} kept");
        }
        for plain in [
            "KEYSLOT_ADDR",
            "KEYSLOT_CA_CERT",
            "KEYSLOT_CONFIG_DIR",
            "KEYSLOT_SEAL_KEY_FILE",
            "KEYSLOT_LOG",
            "TOKEN",
            "GITHUB_TOKEN",
            "PATH",
        ] {
            assert!(!is_credential_variable(plain.as_ref()), "{plain} removed");
        }
    }
}
