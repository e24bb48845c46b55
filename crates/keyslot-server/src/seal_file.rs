//! The seal key file (`<data dir>/seal.key`): created with mode 0600 at first start,
//! loaded at every start. Kept apart from database backups: a backup of the database
//! without this file cannot even be used to test password guesses.
//!
//! Or the seal key lives in an HSM ([`open`] with `--seal-pkcs11-*`), and this file, if
//! any, only opens the password slots `keyslot seal migrate` has not moved yet.

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use keyslot_crypto::{LocalSealKey, SealKey};

use crate::ServerConfig;

/// Load the key at `path`, or create it if there is no file (and `create` allows).
pub fn load_or_create(path: &Path, create: bool) -> Result<LocalSealKey> {
    match fs::read_to_string(path) {
        Ok(text) => {
            check_permissions(path)?;
            LocalSealKey::from_file_text(&text)
                .with_context(|| format!("{} is not a Keyslot seal key file", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let key = LocalSealKey::generate().context("generating the seal key")?;
            write_new(path, &key.to_file_text())?;
            tracing::info!(path = %path.display(), "created a new seal key; keep it apart from database backups");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading the seal key file {}", path.display())),
    }
}

#[cfg(unix)]
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating the seal key file {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_new(path: &Path, text: &str) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by other users (mode {:o}); run: chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path) -> Result<()> {
    Ok(())
}

/// The seal key in force: the key file alone, or, with [`ServerConfig::seal_pkcs11`], the
/// HSM key with the key file beside it for the records not migrated yet.
///
/// With an HSM the key file is never created (new slots are sealed by the HSM), and is
/// only required when given explicitly. A wrong module, token, PIN or key label refuses
/// the start, with the HSM's reason and never the PIN.
pub fn open(config: &ServerConfig) -> Result<Arc<dyn SealKey>> {
    let path = config.seal_key_path();
    let Some(pkcs11) = &config.seal_pkcs11 else {
        return Ok(Arc::new(load_or_create(
            &path,
            config.seal_key_file.is_none(),
        )?));
    };
    let hsm = keyslot_hsm::Pkcs11SealKey::open(pkcs11.clone()).with_context(|| {
        format!(
            "opening the seal key {:?} in PKCS#11 token {:?} ({})",
            pkcs11.key,
            pkcs11.token,
            pkcs11.module.display()
        )
    })?;
    let file = if config.seal_key_file.is_some() || path.exists() {
        Some(load_or_create(&path, false)?)
    } else {
        None
    };
    tracing::info!(
        hsm = %hsm.fingerprint(),
        key_file = file.as_ref().map(|f| f.fingerprint()),
        "seal key in the HSM; the key file only opens slots not yet migrated"
    );
    Ok(Arc::new(keyslot_hsm::MigratingSealKey::new(
        Arc::new(hsm),
        file,
    )))
}
