//! A running server holds its data directory, so that `keyslot restore` never replaces a
//! database under a server that has it open (the server would go on writing to the file
//! that was moved aside, and acknowledged writes would be lost).
//!
//! The lock is an advisory `flock` on `<data dir>/serve.lock`: shared for servers (several
//! may serve one directory's seal key with PostgreSQL), exclusive for a restore. The kernel
//! releases it when the process ends, however it ends, so a crash never leaves a stale lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use anyhow::{Context as _, Result};

const LOCK_FILE: &str = "serve.lock";

/// Held for as long as the server runs.
#[derive(Debug)]
pub struct ServingLock {
    _file: File,
}

fn open(data_dir: &Path) -> Result<File> {
    let path = data_dir.join(LOCK_FILE);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))
}

/// Mark `data_dir` as served by this process.
pub fn hold(data_dir: &Path) -> Result<ServingLock> {
    let file = open(data_dir)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(ServingLock { _file: file }),
        Err(TryLockError::WouldBlock) => anyhow::bail!(
            "{} is being restored (keyslot restore holds it): start the server when it is done",
            data_dir.display()
        ),
        Err(TryLockError::Error(e)) => Err(e).context("locking the data directory"),
    }
}

/// Hold `data_dir` exclusively, for a restore; `None` when a running server holds it.
pub fn exclusive(data_dir: &Path) -> Result<Option<ServingLock>> {
    let file = open(data_dir)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(ServingLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e).context("locking the data directory"),
    }
}
