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
use keyslot_core::Store;
use keyslot_crypto::{Aad, Envelope, LocalSealKey, Purpose, SealKey};

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

/// The seal key in force, and the HSM part of it when there is one.
#[derive(Debug)]
pub struct SealKeys {
    key: Arc<dyn SealKey>,
    hsm: Option<Arc<dyn SealKey>>,
}

impl SealKeys {
    /// What the service seals and opens with.
    pub fn key(&self) -> Arc<dyn SealKey> {
        self.key.clone()
    }

    /// With an HSM: check it holds the key this database's HSM-sealed slots were made
    /// with, by a check value it sealed at its first start here (meta
    /// `seal_check_pkcs11`). The service's own seal check only proves the key that sealed
    /// the database's first check value — the key file, for a deployment migrating to the
    /// HSM — so without this a different HSM key under the same label would start, and
    /// fail every migrated login instead.
    pub async fn check_hsm(&self, store: &dyn Store) -> Result<()> {
        match &self.hsm {
            Some(hsm) => check_hsm(store, hsm.as_ref()).await,
            None => Ok(()),
        }
    }
}

const HSM_CHECK: &str = "seal_check_pkcs11";

/// See [`SealKeys::check_hsm`].
pub async fn check_hsm(store: &dyn Store, hsm: &dyn SealKey) -> Result<()> {
    let aad = Aad::new(Purpose::SealCheck);
    let fresh = hsm
        .seal(&aad, b"keyslot seal check")
        .map_err(|e| anyhow::anyhow!("sealing the HSM check value: {e}"))?;
    let stored = store
        .init_meta(HSM_CHECK, &fresh.to_bytes())
        .await
        .map_err(|e| anyhow::anyhow!("storing the HSM check value: {e}"))?;
    let opened = Envelope::from_bytes(&stored).and_then(|e| hsm.open(&aad, &e));
    if opened.is_err() {
        bail!(
            "the HSM key (fingerprint {}) is not the one this database's password slots were \
             sealed with: point --seal-pkcs11-token / --seal-pkcs11-key at the original key",
            hsm.fingerprint()
        );
    }
    Ok(())
}

/// The seal key in force: the key file alone, or, with [`ServerConfig::seal_pkcs11`], the
/// HSM key with the key file beside it for the records not migrated yet.
///
/// With an HSM the key file is never created (new slots are sealed by the HSM), and is
/// only required when given explicitly. A wrong module, token, PIN or key label refuses
/// the start, with the HSM's reason and never the PIN.
pub fn open(config: &ServerConfig) -> Result<SealKeys> {
    let path = config.seal_key_path();
    let Some(pkcs11) = &config.seal_pkcs11 else {
        let file = load_or_create(&path, config.seal_key_file.is_none())?;
        return Ok(SealKeys {
            key: Arc::new(file),
            hsm: None,
        });
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
    let hsm: Arc<dyn SealKey> = Arc::new(hsm);
    Ok(SealKeys {
        key: Arc::new(keyslot_hsm::MigratingSealKey::new(hsm.clone(), file)),
        hsm: Some(hsm),
    })
}
