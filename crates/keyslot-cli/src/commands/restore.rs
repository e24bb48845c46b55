//! `keyslot restore FROM`: put a SQLite backup back, after checking that the seal key in
//! force opens it, without ever losing the database it replaces.
//!
//! Order matters: nothing is replaced until the copy has been opened, migrated to this
//! build and its seal check has passed; the database it replaces is moved aside (never
//! deleted), together with its log; and a data directory that a running server holds is
//! refused, because that server would go on writing to the file moved aside.

use std::path::{Path, PathBuf};

use keyslot_store::{Backend, Schema};

use crate::cli::RestoreArgs;
use crate::exit::{CONFLICT, CmdResult, Failure, NOT_FOUND, OTHER, USAGE};

const DB: &str = "keyslot.db";

/// `keyslot restore FROM`. With `--json`: `{"restored_from": the backup's file,
/// "database": where it now is, "kept_previous_at": the database it replaced, or null}`.
pub async fn restore(as_json: bool, args: &RestoreArgs) -> CmdResult {
    if let Some(url) = &args.database.database_url {
        return Err(Failure::new(
            USAGE,
            if Backend::of_url(url) == Backend::Postgres {
                "keyslot restore puts SQLite backups back; restore PostgreSQL with pg_restore, then start keyslot serve with the seal key that was in force at pg_dump".to_owned()
            } else {
                format!(
                    "keyslot restore writes <data dir>/keyslot.db, the database of a server started with --data-dir and no --database-url; unset KEYSLOT_DATABASE_URL / --database-url ({url}) and give --data-dir"
                )
            },
        ));
    }
    let backup = args.from.join(DB);
    if !backup.is_file() {
        return Err(Failure::new(
            NOT_FOUND,
            format!(
                "no {DB} in {}: give the directory keyslot backup wrote",
                args.from.display()
            ),
        ));
    }
    let data_dir = &args.database.data_dir;
    std::fs::create_dir_all(data_dir)?;
    let Some(_held) = keyslot_server::serving_lock::exclusive(data_dir)? else {
        return Err(Failure::new(
            CONFLICT,
            format!(
                "a running keyslot serve holds {}: stop it, then restore",
                data_dir.display()
            ),
        ));
    };
    let seal_path = args
        .seal_key_file
        .clone()
        .unwrap_or_else(|| data_dir.join("seal.key"));
    let seal = keyslot_server::seal_file::load_or_create(&seal_path, false).map_err(|e| {
        Failure::new(
            NOT_FOUND,
            format!(
                "{e:#}. Give the seal key that was in force when the backup was taken: --seal-key-file PATH (the copy keyslot backup --seal-key-out wrote)"
            ),
        )
    })?;

    // Check a copy, in the data directory (so the final rename stays on one filesystem).
    let staged = data_dir.join("keyslot.db.restoring");
    remove_database_files(&staged);
    std::fs::copy(&backup, &staged)?;
    let checked = check(&staged, &seal).await;
    if let Err(why) = checked {
        remove_database_files(&staged);
        return Err(why);
    }

    let live = data_dir.join(DB);
    let aside = if live.exists() {
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let aside = data_dir.join(format!("keyslot.db.before-restore-{stamp}"));
        move_database_files(&live, &aside)?;
        eprintln!("Moved the current database aside to {}.", aside.display());
        Some(aside)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(&staged, &live) {
        // Put the old database back rather than leave a data directory without one (a
        // server would start on a new, empty database there).
        if let Some(aside) = &aside {
            let _ = move_database_files(aside, &live);
        }
        return Err(Failure::new(
            OTHER,
            format!("putting the backup in place failed ({e}); nothing was replaced"),
        ));
    }
    remove_database_files(&staged);
    eprintln!("Restored {} into {}.", backup.display(), live.display());
    if let Some(aside) = &aside {
        eprintln!("The database it replaced is kept as {}.", aside.display());
    }
    if args.seal_key_file.is_some() {
        eprintln!(
            "Start the server with the same key: keyslot serve --seal-key-file {}",
            seal_path.display()
        );
    }
    if as_json {
        super::json(&serde_json::json!({
            "restored_from": backup,
            "database": live,
            "kept_previous_at": aside,
        }))?;
    }
    Ok(())
}

/// Open the staged copy (migrating it to this build) and check the seal key against it.
async fn check(staged: &Path, seal: &keyslot_crypto::LocalSealKey) -> CmdResult {
    let url = format!("sqlite://{}", staged.display());
    let store = keyslot_store::open(&url, Schema::Migrate)
        .await
        .map_err(|e| Failure::new(OTHER, format!("opening the backup: {e}")))?;
    let verdict = keyslot_core::check_seal_key(&store, seal).await;
    store.close().await;
    verdict.map_err(|e| {
        Failure::new(
            USAGE,
            format!(
                "{e}. Nothing was replaced. Give the seal key that was in force when the backup was taken: --seal-key-file PATH (the copy keyslot backup --seal-key-out wrote)"
            ),
        )
    })
}

/// The database file and its log and index, which belong together.
fn database_files(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

fn remove_database_files(db: &Path) {
    for file in database_files(db) {
        let _ = std::fs::remove_file(file);
    }
}

fn move_database_files(from: &Path, to: &Path) -> CmdResult {
    for (from, to) in database_files(from).iter().zip(database_files(to).iter()) {
        if from.exists() {
            std::fs::rename(from, to)?;
        }
    }
    Ok(())
}
