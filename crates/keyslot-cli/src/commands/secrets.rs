//! `keyslot read ks://…` and `keyslot run --env NAME=ks://… -- COMMAND`.

use std::process::Command;

use keyslot_client::Client;
use serde_json::Value;
use zeroize::Zeroizing;

use super::{client, item, vault};
use crate::cli::RunArgs;
use crate::exit::{CmdResult, Failure, NOT_FOUND, OTHER, USAGE};

/// A parsed `ks://VAULT/ITEM[/FIELD]`.
#[derive(Debug, PartialEq, Eq)]
pub struct Reference {
    vault: String,
    item: String,
    field: Option<String>,
}

impl Reference {
    /// Parse; segments may use %XX escapes (e.g. %2F for a `/` inside a name).
    pub fn parse(text: &str) -> CmdResult<Self> {
        let bad = || {
            Failure::new(
                USAGE,
                format!(
                    "{text:?} is not a reference: expected ks://VAULT/ITEM or ks://VAULT/ITEM/FIELD"
                ),
            )
        };
        let rest = text.strip_prefix("ks://").ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let decode = |s: &str| percent_decode(s).filter(|d| !d.is_empty()).ok_or_else(bad);
        match parts.as_slice() {
            [v, i] => Ok(Self {
                vault: decode(v)?,
                item: decode(i)?,
                field: None,
            }),
            [v, i, f] => Ok(Self {
                vault: decode(v)?,
                item: decode(i)?,
                field: Some(decode(f)?),
            }),
            _ => Err(bad()),
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Resolve a reference to the text a script sees: strings as is, other values as JSON.
async fn resolve(client: &Client, reference: &Reference) -> CmdResult<Zeroizing<String>> {
    let v = vault(client, &reference.vault).await?;
    let summary = item(client, &v, &reference.item).await?;
    let full = client.item(&v.id, &summary.id).await?;
    let value = match &reference.field {
        None => full.value,
        Some(field) => match full.value {
            Value::Object(mut map) => map.remove(field).ok_or_else(|| {
                Failure::new(
                    NOT_FOUND,
                    format!("item {:?} has no field {field:?}", summary.name),
                )
            })?,
            _ => {
                return Err(Failure::new(
                    NOT_FOUND,
                    format!(
                        "item {:?} is not an object, so it has no field {field:?}",
                        summary.name
                    ),
                ));
            }
        },
    };
    Ok(Zeroizing::new(match value {
        Value::String(s) => s,
        other => other.to_string(),
    }))
}

/// `keyslot read`.
pub async fn read(addr: &str, reference: &str) -> CmdResult {
    let reference = Reference::parse(reference)?;
    let value = resolve(&client(addr)?, &reference).await?;
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "{}", value.as_str())?;
    Ok(())
}

/// `keyslot run`: resolve every reference first (all or nothing), then run the command with
/// them in its environment. The values go only into the child's environment: never into
/// its arguments, a file or a log. Returns the child's exit code.
pub async fn run(addr: &str, args: &RunArgs) -> CmdResult<u8> {
    let client = client(addr)?;
    let mut env = Vec::with_capacity(args.env.len());
    for pair in &args.env {
        let (name, reference) = pair
            .split_once('=')
            .filter(|(n, _)| {
                !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
            .ok_or_else(|| {
                Failure::new(
                    USAGE,
                    format!("--env {pair:?}: expected NAME=ks://VAULT/ITEM[/FIELD]"),
                )
            })?;
        let value = resolve(&client, &Reference::parse(reference)?).await?;
        env.push((name.to_owned(), value));
    }
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Failure::new(USAGE, "give the command after --"))?;
    let mut command = Command::new(program);
    command.args(rest);
    // The child gets the values it was given, not the credential that fetched them.
    for (name, _) in std::env::vars_os() {
        if is_credential_variable(&name) {
            command.env_remove(name);
        }
    }
    // Explicit `--env` names come last, so a script that asks for a credential by name
    // (`--env KEYSLOT_TOKEN=ks://ci/child-token`) still gets the one it asked for.
    for (name, value) in &env {
        command.env(name, value.as_str());
    }
    let status = command
        .status()
        .map_err(|e| Failure::new(OTHER, format!("cannot run {program:?}: {e}")))?;
    drop(env);
    Ok(match status.code() {
        Some(code) => u8::try_from(code).unwrap_or(1),
        None => 128 + signal(&status),
    })
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

    #[test]
    fn references_parse_with_escapes_and_fields() {
        let r = Reference::parse("ks://work/stripe/key").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r,
            Reference {
                vault: "work".into(),
                item: "stripe".into(),
                field: Some("key".into())
            }
        );
        let r = Reference::parse("ks://a%2Fb/c%20d").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (r.vault.as_str(), r.item.as_str(), r.field),
            ("a/b", "c d", None)
        );
        for bad in [
            "work/stripe",
            "ks://work",
            "ks://w/i/f/x",
            "ks:///i",
            "ks://w/%zz",
            "ks://w/i/",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }
}
