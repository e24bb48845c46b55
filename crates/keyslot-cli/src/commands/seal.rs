//! `keyslot seal init-hsm | migrate`, and the PKCS#11 settings `serve` shares with them.
//!
//! The token's PIN comes from `KEYSLOT_SEAL_PKCS11_PIN` or a file, never from an
//! argument: every user of the machine can read a process's arguments.

use std::path::Path;

use keyslot_core::store::{PasswordSlotReseal, Store as _};
use keyslot_crypto::envelope::Envelope;
use keyslot_crypto::{Algorithm, Id, SealedPasswordSlot};
use keyslot_hsm::{MigratingSealKey, Pkcs11Config, Pkcs11SealKey};
use keyslot_store::Schema;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::json;
use crate::cli::{Pkcs11Args, SealCommand, SealMigrateArgs};
use crate::exit::{CmdResult, Failure, OTHER, UNAVAILABLE, USAGE};

/// The environment variable holding the token's user PIN.
pub const PIN_ENV: &str = "KEYSLOT_SEAL_PKCS11_PIN";

/// The HSM settings in `args`, with the PIN; `None` without `--seal-pkcs11-module`.
pub fn pkcs11_config(args: &Pkcs11Args) -> CmdResult<Option<Pkcs11Config>> {
    let Some(module) = &args.seal_pkcs11_module else {
        return Ok(None);
    };
    // clap requires both with the module; an empty label is as good as none.
    let (Some(token), Some(key)) = (&args.seal_pkcs11_token, &args.seal_pkcs11_key) else {
        return Err(Failure::new(
            USAGE,
            "--seal-pkcs11-module needs --seal-pkcs11-token and --seal-pkcs11-key",
        ));
    };
    Ok(Some(Pkcs11Config {
        module: module.clone(),
        token: token.clone(),
        key: key.clone(),
        pin: pin(args.seal_pkcs11_pin_file.as_deref())?,
    }))
}

fn pin(file: Option<&Path>) -> CmdResult<SecretString> {
    let text = match (file, std::env::var(PIN_ENV)) {
        (Some(path), _) => {
            check_private(path)?;
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                Failure::new(
                    USAGE,
                    format!("--seal-pkcs11-pin-file {}: {e}", path.display()),
                )
            })?)
        }
        (None, Ok(pin)) => Zeroizing::new(pin),
        (None, Err(_)) => {
            return Err(Failure::new(
                USAGE,
                format!("the HSM token's PIN: set {PIN_ENV}, or give --seal-pkcs11-pin-file"),
            ));
        }
    };
    let pin = text.trim_end_matches(['\r', '\n']);
    if pin.is_empty() {
        return Err(Failure::new(USAGE, "the HSM token's PIN is empty"));
    }
    Ok(SecretString::from(pin.to_owned()))
}

#[cfg(unix)]
fn check_private(path: &Path) -> CmdResult<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(|e| {
            Failure::new(
                USAGE,
                format!("--seal-pkcs11-pin-file {}: {e}", path.display()),
            )
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Failure::new(
            USAGE,
            format!(
                "{} is readable by other users (mode {:o}); run: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> CmdResult<()> {
    Ok(())
}

/// `keyslot seal …`.
pub async fn seal_command(as_json: bool, command: &SealCommand) -> CmdResult {
    match command {
        SealCommand::InitHsm(args) => init_hsm(as_json, args),
        SealCommand::Migrate(args) => migrate(as_json, args).await,
    }
}

fn required(args: &Pkcs11Args) -> CmdResult<Pkcs11Config> {
    pkcs11_config(args)?.ok_or_else(|| {
        Failure::new(
            USAGE,
            "give --seal-pkcs11-module, --seal-pkcs11-token and --seal-pkcs11-key",
        )
    })
}

fn init_hsm(as_json: bool, args: &Pkcs11Args) -> CmdResult {
    let config = required(args)?;
    let fingerprint = keyslot_hsm::init(&config)
        .map_err(|e| Failure::new(OTHER, format!("keyslot seal init-hsm: {e}")))?;
    if as_json {
        json(&serde_json::json!({ "key": config.key, "fingerprint": fingerprint }))?;
    } else {
        eprintln!(
            "Created the seal key {:?} and its MAC keys in token {:?} (fingerprint {fingerprint}).",
            config.key, config.token
        );
    }
    Ok(())
}

/// What a migration did.
#[derive(Debug, Default, serde::Serialize)]
struct Moved {
    moved: u64,
    already_in_hsm: u64,
    changed_meanwhile: u64,
    batches: u32,
    finished: bool,
    /// Login attempt counters forgotten at the end (only when finished).
    attempt_counters_cleared: u64,
    /// Public-key MACs recomputed under the HSM's key at the end, each proven under the
    /// key file first (only when finished).
    public_key_macs: u64,
}

async fn migrate(as_json: bool, args: &SealMigrateArgs) -> CmdResult {
    let config = required(&args.pkcs11)?;
    let path = args
        .seal_key_file
        .clone()
        .unwrap_or_else(|| args.database.data_dir.join("seal.key"));
    let file = keyslot_server::seal_file::load_or_create(&path, false)?;
    // The key file again, on its own: the public-key MACs are proven under it.
    let file_macs = keyslot_server::seal_file::load_or_create(&path, false)?;
    let hsm: std::sync::Arc<dyn keyslot_crypto::SealKey> =
        std::sync::Arc::new(Pkcs11SealKey::open(config).map_err(|e| {
            Failure::new(UNAVAILABLE, format!("opening the seal key in the HSM: {e}"))
        })?);
    // Opens what the key file sealed, seals with the HSM.
    let both = MigratingSealKey::new(hsm.clone(), Some(file));
    let store = keyslot_store::open(&args.database.url(), Schema::RequireCurrent)
        .await
        .map_err(|e| Failure::new(OTHER, format!("opening the database: {e}")))?;
    // The key file must be the database's, or nothing would open.
    keyslot_core::check_seal_key(&store, &both)
        .await
        .map_err(|e| Failure::new(USAGE, format!("{e:#}")))?;
    // And the HSM key must be the one servers have sealed with here, if any has.
    keyslot_server::seal_file::check_hsm(&store, hsm.as_ref())
        .await
        .map_err(|e| Failure::new(USAGE, format!("{e:#}")))?;
    // Every public-key MAC proven before anything moves: a key put in a row behind the
    // servers' back stops the migration here, rather than get the HSM's MAC at the end.
    super::seal_macs::require_proven(&store, &file_macs, hsm.as_ref()).await?;
    let mut done = Moved::default();
    let mut after: Option<Id> = None;
    loop {
        let page = store
            .password_slots(after.as_ref(), args.batch_size)
            .await
            .map_err(|e| Failure::new(UNAVAILABLE, format!("reading password slots: {e}")))?;
        let Some(last) = page.last() else {
            done.finished = true;
            break;
        };
        after = Some(last.user_id);
        let mut reseals = Vec::new();
        for row in page {
            let envelope = Envelope::from_bytes(&row.slot)
                .map_err(|e| Failure::new(OTHER, format!("user {}: {e}", row.user_id)))?;
            if envelope.algorithm() == Algorithm::Aes256Gcm {
                done.already_in_hsm += 1;
                continue;
            }
            let new = reseal(&both, &row.user_id, &row.credential_id, &row.slot)
                .map_err(|e| Failure::new(OTHER, format!("user {}: {e}", row.user_id)))?;
            reseals.push(PasswordSlotReseal {
                user_id: row.user_id,
                old: row.slot,
                new,
            });
        }
        if !reseals.is_empty() {
            let replaced = store
                .reseal_password_slots(&reseals)
                .await
                .map_err(|e| Failure::new(UNAVAILABLE, format!("writing password slots: {e}")))?;
            done.moved += replaced;
            done.changed_meanwhile += reseals.len() as u64 - replaced;
        }
        done.batches += 1;
        tracing::info!(
            moved = done.moved,
            batches = done.batches,
            "seal migrate: batch committed"
        );
        if args.max_batches > 0 && done.batches >= args.max_batches {
            break;
        }
    }
    if done.finished {
        // Every slot is the HSM's now, and servers MAC with the HSM's keys: the username
        // counters keyed by the key file's MAC no longer match anything, and the ones
        // counted meanwhile start again, as a move of the seal key promises. (Device
        // cookies need nothing: they were MACs under the key file's device-cookie key, so
        // they no longer verify and each user is a new device once.)
        done.attempt_counters_cleared = store.clear_attempt_counters().await.map_err(|e| {
            Failure::new(
                UNAVAILABLE,
                format!(
                    "every password slot is in the HSM, but clearing the login attempt counters failed ({e}): run keyslot seal migrate again"
                ),
            )
        })?;
        done.public_key_macs =
            super::seal_macs::recompute_under_hsm(&store, &file_macs, hsm.as_ref()).await?;
    }
    if as_json {
        json(&done)?;
    } else {
        if done.finished {
            eprintln!(
                "Cleared {} login attempt counters: they start again under the HSM's MAC key.",
                done.attempt_counters_cleared
            );
            eprintln!(
                "Recomputed {} public-key MACs under the HSM's key.",
                done.public_key_macs
            );
        }
        eprintln!(
            "Moved {} password slots to the HSM in {} batches ({} already there, {} changed meanwhile and left to their new seal){}.",
            done.moved,
            done.batches,
            done.already_in_hsm,
            done.changed_meanwhile,
            if done.finished {
                ""
            } else {
                "; stopped at --max-batches, run again to go on"
            }
        );
    }
    Ok(())
}

/// Open a key-file slot and seal the same record with the HSM. The record is
/// parsed on the way (no Argon2: the password is not needed to move its seal).
fn reseal(
    both: &MigratingSealKey,
    user: &Id,
    credential: &Id,
    bytes: &[u8],
) -> keyslot_crypto::Result<Vec<u8>> {
    let slot = SealedPasswordSlot::from_bytes(bytes)?.unseal(both, user, credential)?;
    Ok(slot.seal(both, user, credential)?.to_bytes())
}
