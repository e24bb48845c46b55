//! Operator commands: serve, migrate, backup, user list|disable|enable. These open the
//! database directly and run on the server's machine.

use std::path::Path;

use keyslot_core::StoreError;
use keyslot_server::ServerConfig;
use keyslot_store::{Backend, BackupError, Schema};

use super::{json, table};
use crate::cli::{BackupArgs, DatabaseArgs, ServeArgs, UserCommand};
use crate::exit::{CmdResult, Failure, NOT_FOUND, OTHER, USAGE};

/// `keyslot serve`.
pub async fn serve(args: &ServeArgs) -> CmdResult {
    let mut config = ServerConfig::new(args.data_dir.clone());
    config.listen = args.listen;
    config.database_url.clone_from(&args.database_url);
    config.migrate = args.migrate;
    config.seal_key_file.clone_from(&args.seal_key_file);
    config.seal_pkcs11 = super::seal::pkcs11_config(&args.pkcs11)?;
    config.core.max_value_bytes = args.max_value_bytes;
    config.core.sweep_interval_secs = args.sweep_interval;
    config.core.rewrap_batch = args.rewrap_batch;
    config.insecure_http = args.insecure_http;
    config.audit_log.clone_from(&args.audit_log);
    config.trusted_proxies.clone_from(&args.trusted_proxy);
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(keyslot_server::tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    let bound = keyslot_server::bind(&config).await?;
    let scheme = if bound.is_tls() { "https" } else { "http" };
    tracing::info!(addr = %bound.local_addr()?, scheme, data_dir = %config.data_dir.display(), "keyslot listening");
    bound.serve(shutdown_signal()).await?;
    tracing::info!("keyslot stopped");
    Ok(())
}

/// `keyslot migrate`. With `--json`: the backend and the schema the database is at now
/// (`schema_version`, the newest migration it has applied, and how many it has), which a
/// deployment script can compare between builds.
pub async fn migrate(as_json: bool, args: &DatabaseArgs) -> CmdResult {
    let store = keyslot_store::open(&args.url(), Schema::Migrate)
        .await
        .map_err(|e| Failure::new(OTHER, format!("opening the database: {e}")))?;
    let applied = store
        .applied_migrations()
        .await
        .map_err(|e| Failure::new(OTHER, format!("reading the applied migrations: {e}")))?;
    store.close().await;
    eprintln!("Migrations applied.");
    if as_json {
        json(&serde_json::json!({
            "backend": match store.backend() {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            },
            "schema_version": applied.iter().max(),
            "applied_count": applied.len(),
        }))?;
    }
    Ok(())
}

/// `keyslot backup DIR [--seal-key-out PATH]`: a consistent copy of the live database in
/// DIR, and the seal key only where `--seal-key-out` says, never in DIR.
///
/// With `--json`: `{"database": the copy, "seal_key": the key's copy or null,
/// "seal_key_file": the key in force}`.
pub async fn backup(as_json: bool, args: &BackupArgs) -> CmdResult {
    let seal = args
        .seal_key_file
        .clone()
        .unwrap_or_else(|| args.database.data_dir.join("seal.key"));
    let seal_out = match &args.seal_key_out {
        Some(out) => Some(seal_key_destination(out, &args.dir, &seal)?),
        None => None,
    };
    let url = args.database.url();
    let db_copy = args.dir.join("keyslot.db");
    if db_copy.exists() {
        return Err(Failure::new(
            USAGE,
            format!(
                "{} already holds a backup: choose an empty directory",
                args.dir.display()
            ),
        ));
    }
    let store = keyslot_store::open(&url, Schema::Existing)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => Failure::new(
                NOT_FOUND,
                format!("no database at {url}: give --data-dir or --database-url"),
            ),
            e => Failure::new(OTHER, format!("opening the database: {e}")),
        })?;
    let created = !args.dir.exists();
    create_private_dir(&args.dir)?;
    if let Err(e) = store.backup_into(&db_copy).await {
        if created {
            // Leave nothing behind for a backup that did not happen (only if still empty).
            let _ = std::fs::remove_dir(&args.dir);
        }
        return Err(backup_failure(e));
    }
    restrict_file(&db_copy)?;
    eprintln!("Backed up the database to {}.", db_copy.display());
    match &seal_out {
        Some(out) => {
            copy_private(&seal, out)?;
            eprintln!(
                "Copied the seal key to {}. Store it apart from the database copy: together they let a thief test password guesses.",
                out.display()
            );
        }
        None => eprintln!(
            "The seal key is not in the backup. Keep a copy of {} elsewhere (or use --seal-key-out PATH): without it no password opens this backup, only recovery codes and tokens.",
            seal.display()
        ),
    }
    if as_json {
        json(&serde_json::json!({
            "database": db_copy,
            "seal_key": seal_out,
            "seal_key_file": seal,
        }))?;
    }
    Ok(())
}

/// Where `--seal-key-out` may write: not inside the backup directory, not over a file.
fn seal_key_destination(out: &Path, dir: &Path, seal: &Path) -> CmdResult<std::path::PathBuf> {
    if !seal.is_file() {
        return Err(Failure::new(
            NOT_FOUND,
            format!("no seal key at {}: give --seal-key-file", seal.display()),
        ));
    }
    if out.exists() {
        return Err(Failure::new(
            USAGE,
            format!("{} exists: --seal-key-out never overwrites", out.display()),
        ));
    }
    if resolved(out).starts_with(resolved(dir)) {
        return Err(Failure::new(
            USAGE,
            "--seal-key-out must be outside the backup directory: the seal key and the database copy are kept apart",
        ));
    }
    Ok(out.to_path_buf())
}

fn backup_failure(e: BackupError) -> Failure {
    match e {
        BackupError::Unsupported(how) => Failure::new(
            USAGE,
            format!("keyslot backup copies SQLite deployments: {how}"),
        ),
        BackupError::Store(e) => Failure::new(OTHER, format!("copying the database: {e}")),
    }
}

/// Make DIR with mode 0700, or accept an existing one only if it is already private: a
/// backup is never written where others can read it, and an existing directory's mode is
/// not changed behind the operator's back (`keyslot backup /tmp` must not close /tmp).
fn create_private_dir(dir: &Path) -> CmdResult {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        if dir.exists() {
            let mode = std::fs::metadata(dir)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(Failure::new(
                    USAGE,
                    format!(
                        "{} can be read by other users (mode {:o}): give a new directory, or one with mode 0700",
                        dir.display(),
                        mode & 0o777
                    ),
                ));
            }
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// `path` with symlinks and `..` resolved as far as it exists (the rest appended), so two
/// paths can be compared for containment.
fn resolved(path: &Path) -> std::path::PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
            return absolute;
        };
        rest.push(name.to_owned());
        existing = parent;
    }
    let mut out = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    for name in rest.into_iter().rev() {
        out.push(name);
    }
    out
}

fn restrict_file(file: &Path) -> CmdResult {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

fn copy_private(from: &Path, to: &Path) -> CmdResult {
    let bytes = zeroize::Zeroizing::new(std::fs::read(from)?);
    let mut file = crate::session_file::create_private(to)?;
    std::io::Write::write_all(&mut file, &bytes)?;
    file.sync_all()?;
    Ok(())
}

/// `keyslot user …`.
pub async fn user(as_json: bool, command: &UserCommand) -> CmdResult {
    let (database, target) = match command {
        UserCommand::List(db) => (db, None),
        UserCommand::Disable { username, database } => (database, Some((username, true))),
        UserCommand::Enable { username, database } => (database, Some((username, false))),
    };
    let store = keyslot_server::open_store(&database.url(), false).await?;
    match target {
        None => {
            let users = keyslot_core::admin::users(store.as_ref())
                .await
                .map_err(core_failure)?;
            let rows: Vec<_> = users
                .iter()
                .map(|u| {
                    let state = if u.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "active"
                    };
                    vec![
                        u.username.clone(),
                        state.to_owned(),
                        keyslot_server::rfc3339(u.created_at),
                        u.id.to_string(),
                    ]
                })
                .collect();
            if as_json {
                let list: Vec<_> = rows.iter().map(|r| serde_json::json!({"username": r[0], "state": r[1], "created_at": r[2], "id": r[3]})).collect();
                return json(&list);
            }
            table(&["USERNAME", "STATE", "CREATED", "ID"], &rows)
        }
        Some((username, disabled)) => {
            keyslot_core::admin::set_user_disabled(store.as_ref(), username, disabled)
                .await
                .map_err(core_failure)?;
            eprintln!(
                "{username} {}.",
                if disabled {
                    "disabled: its sessions ended and its tokens stopped"
                } else {
                    "enabled"
                }
            );
            if as_json {
                let state = if disabled { "disabled" } else { "active" };
                json(&serde_json::json!({"username": username, "state": state}))?;
            }
            Ok(())
        }
    }
}

fn core_failure(e: keyslot_core::Error) -> Failure {
    match e {
        keyslot_core::Error::NotFound => {
            Failure::new(NOT_FOUND, "no such user (`keyslot user list`)")
        }
        other => Failure::new(OTHER, other.to_string()),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
