//! Operator commands: serve, migrate, backup, user list|disable|enable. These open the
//! database directly and run on the server's machine.

use std::path::Path;

use keyslot_server::ServerConfig;
use keyslot_store_sqlite::SqliteStore;

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
    config.core.max_value_bytes = args.max_value_bytes;
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

/// `keyslot migrate`.
pub async fn migrate(args: &DatabaseArgs) -> CmdResult {
    keyslot_server::open_store(&args.url(), true).await?;
    eprintln!("Migrations applied.");
    Ok(())
}

/// `keyslot backup DIR`.
pub async fn backup(args: &BackupArgs) -> CmdResult {
    let url = args.database.url();
    if url.starts_with("postgres") {
        return Err(Failure::new(
            USAGE,
            "backup copies SQLite deployments; for PostgreSQL use pg_dump, and copy the seal key file separately",
        ));
    }
    let seal = args
        .seal_key_file
        .clone()
        .unwrap_or_else(|| args.database.data_dir.join("seal.key"));
    if !seal.is_file() {
        return Err(Failure::new(
            NOT_FOUND,
            format!("no seal key at {}: give --seal-key-file", seal.display()),
        ));
    }
    std::fs::create_dir_all(&args.dir)?;
    let db_copy = args.dir.join("keyslot.db");
    let key_copy = args.dir.join("seal.key");
    if db_copy.exists() || key_copy.exists() {
        return Err(Failure::new(
            USAGE,
            format!(
                "{} already holds a backup: choose an empty directory",
                args.dir.display()
            ),
        ));
    }
    let store = SqliteStore::open(&url)
        .await
        .map_err(|e| Failure::new(OTHER, format!("opening the database: {e}")))?;
    store
        .backup_into(&db_copy)
        .await
        .map_err(|e| Failure::new(OTHER, format!("copying the database: {e}")))?;
    copy_private(&seal, &key_copy)?;
    eprintln!(
        "Backed up to {} (keyslot.db) and {} (seal.key).",
        db_copy.display(),
        key_copy.display()
    );
    eprintln!(
        "Store the two apart: the database alone cannot be used to test passwords only while the seal key is elsewhere."
    );
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
