//! `keyslot serve --audit-log PATH`: every audit event, as it is committed (changes) or
//! flushed (reads), appended to a file as one JSON line (schema: docs/AUDIT.md, `"v": 1`),
//! for a SIEM or `tail -F` to pick up without reading the database.
//!
//! The events come from [`Shipping`], a store wrapper that writes an event once the
//! store call that recorded it has returned: a change's event after its transaction
//! committed, read events after their batch was written. So the file never holds an
//! event the database does not, and holds it in the order the database accepted it.
//!
//! The file is created mode 0600 (events name users, tokens and addresses), opened for
//! appending, and reopened on SIGHUP, so logrotate can move it away and signal (no
//! `copytruncate` needed). Lines are written with one `write` each to an `O_APPEND` file,
//! not fsynced: they survive the process, not the machine. A line that cannot be written
//! (disk full) is logged as an error and counted in `/metrics`; the change it records is
//! already committed and stays in the database's audit log.

mod store;

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context as _, Result};
use keyslot_core::model::AuditEvent;
use serde::Serialize;

pub use store::Shipping;

/// The schema version written in every line's `v`.
pub const VERSION: u32 = 1;

/// The open audit log file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
    failed: AtomicU64,
}

/// One line of the file (docs/AUDIT.md).
#[derive(Serialize)]
struct Line<'a> {
    v: u32,
    at: String,
    ts: i64,
    user: Option<String>,
    action: &'a str,
    actor: &'a str,
    outcome: &'a str,
    ip: Option<&'a str>,
    detail: &'a str,
}

impl AuditLog {
    /// Open (or create, mode 0600) `path` for appending.
    pub fn open(path: &Path) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            path: path.to_owned(),
            file: Mutex::new(open_append(path)?),
            failed: AtomicU64::new(0),
        }))
    }

    /// Reopen the file at its path (after logrotate moved it away).
    pub fn reopen(&self) -> Result<()> {
        let file = open_append(&self.path)?;
        *self.file.lock().unwrap_or_else(PoisonError::into_inner) = file;
        Ok(())
    }

    /// Lines that could not be written.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Append `events`, one JSON line each.
    pub fn write(&self, events: &[AuditEvent]) {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        for event in events {
            let mut line = match serde_json::to_vec(&line(event)) {
                Ok(line) => line,
                Err(e) => {
                    self.fail(&e);
                    continue;
                }
            };
            line.push(b'\n');
            if let Err(e) = file.write_all(&line) {
                self.fail(&e);
            }
        }
    }

    fn fail(&self, e: &dyn std::fmt::Display) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        tracing::error!(path = %self.path.display(), error = %e, "audit log line not written");
    }

    /// Reopen the file on every SIGHUP, for as long as the runtime runs.
    pub fn reopen_on_sighup(self: &Arc<Self>) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            // Registered before returning, so a SIGHUP that comes once serving has begun
            // is never the default one (which would end the process).
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                tracing::error!("cannot listen for SIGHUP: the audit log will not reopen");
                return;
            };
            let log = Arc::clone(self);
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    match log.reopen() {
                        Ok(()) => tracing::info!(path = %log.path.display(), "audit log reopened"),
                        Err(e) => tracing::error!(
                            error = format!("{e:#}"),
                            "audit log not reopened; still writing the previous file"
                        ),
                    }
                }
            });
        }
    }
}

fn line(e: &AuditEvent) -> Line<'_> {
    Line {
        v: VERSION,
        at: crate::rfc3339(e.at),
        ts: e.at,
        user: e.user_id.map(|id| id.to_string()),
        action: &e.action,
        actor: &e.actor,
        outcome: e.outcome.as_str(),
        ip: e.ip.as_deref(),
        detail: &e.detail,
    }
}

/// Open for appending, creating the file with mode 0600; an existing file is narrowed to
/// 0600 too (it holds who did what from where).
///
/// A symbolic link at `path` is refused: the server would append to, and narrow the mode
/// of, whatever file the link names (someone who can write the log's directory could
/// point it at the seal key).
fn open_append(path: &Path) -> Result<File> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        anyhow::bail!(
            "the audit log {} is a symbolic link: give the path of the file itself",
            path.display()
        );
    }
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let file = options
            .open(path)
            .with_context(|| format!("opening the audit log {}", path.display()))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting the audit log {} to 0600", path.display()))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        options
            .open(path)
            .with_context(|| format!("opening the audit log {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use keyslot_core::model::Outcome;
    use keyslot_crypto::Id;

    use super::*;

    fn event(action: &str) -> AuditEvent {
        AuditEvent {
            at: 1_796_109_123,
            user_id: Some(Id::from_bytes([7; 16])),
            action: action.into(),
            actor: "token:00".into(),
            outcome: Outcome::Ok,
            ip: Some("127.1.0.2".into()),
            detail: "vault=aa item=bb".into(),
        }
    }

    /// logrotate renames the file and sends SIGHUP: lines written before stay in the
    /// renamed file, lines after go to a new file at the path, created 0600.
    #[test]
    fn lines_follow_the_documented_schema_and_a_reopen_starts_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        log.write(&[event("item.read"), event("item.list")]);
        std::fs::rename(&path, dir.path().join("audit.jsonl.1")).unwrap();
        log.write(&[event("item.delete")]);
        log.reopen().unwrap();
        log.write(&[event("item.create")]);

        let old = std::fs::read_to_string(dir.path().join("audit.jsonl.1")).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert_eq!(old.lines().count(), 3, "{old}");
        assert_eq!(new.lines().count(), 1, "{new}");
        let line: serde_json::Value = serde_json::from_str(new.trim_end()).unwrap();
        assert_eq!(
            line,
            serde_json::json!({
                "v": 1,
                "at": "2026-12-01T07:12:03Z",
                "ts": 1_796_109_123,
                "user": "07070707070707070707070707070707",
                "action": "item.create",
                "actor": "token:00",
                "outcome": "ok",
                "ip": "127.1.0.2",
                "detail": "vault=aa item=bb",
            })
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(log.failed(), 0);
    }
}
