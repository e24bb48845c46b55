//! The one place that chooses a backend, and what each does on its own: connecting,
//! migrations (each backend has its own, in `migrations/sqlite` and
//! `migrations/postgres`) and backups.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use keyslot_core::store::{StoreError, StoreResult};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::SqlStore;
use crate::db::{Pool, map_err};
use crate::sqlite_read::Readers;

/// SQLite's migrations, embedded.
pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
/// PostgreSQL's migrations, embedded.
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file on this machine (`sqlite://PATH`, or a bare path).
    Sqlite,
    /// A server (`postgres://…` or `postgresql://…`).
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `postgres://`/`postgresql://` is PostgreSQL;
    /// anything else is a SQLite URL or path.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// What [`open`] does about the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Apply pending migrations (`keyslot migrate`, `serve --migrate`). Several instances
    /// may do so at once: sqlx serialises migrators (an advisory lock on PostgreSQL).
    Migrate,
    /// Refuse a database whose schema is behind this build — except an empty one, which
    /// is initialised, so `serve --database-url` works on a new database by itself. SQLite
    /// always migrates: it has one instance, and zero configuration is its point.
    RequireCurrent,
    /// Like [`Schema::RequireCurrent`] for a database that must already exist (operator
    /// commands such as `backup`): a SQLite file that is not there is
    /// [`StoreError::NotFound`] instead of a new, empty database.
    Existing,
}

/// Open the store a database URL names: the only place that chooses a backend.
///
/// SQLite: the file is created if missing, in WAL mode with `synchronous = FULL` (an
/// acknowledged write survives a power cut, not just a crash) and foreign keys on.
/// PostgreSQL: connections are made lazily and re-made after an outage, and a request
/// waits at most two seconds for one, so when the database is away callers fail fast
/// (503) and recover by themselves when it returns.
pub async fn open(url: &str, schema: Schema) -> StoreResult<SqlStore> {
    match Backend::of_url(url) {
        Backend::Sqlite => open_sqlite(url, schema != Schema::Existing).await,
        Backend::Postgres => {
            let store = connect_postgres(url)?;
            match schema {
                Schema::Migrate => store.migrate().await?,
                Schema::RequireCurrent | Schema::Existing => store.initialise_or_check().await?,
            }
            Ok(store)
        }
    }
}

async fn open_sqlite(url: &str, create: bool) -> StoreResult<SqlStore> {
    let url = if url.starts_with("sqlite:") {
        url.to_owned()
    } else {
        format!("sqlite://{url}")
    };
    let options = SqliteConnectOptions::from_str(&url)
        .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        // Deleted rows are overwritten with zeros, not left in free pages: a credential
        // that ended must not leave its wrapped keys in the file (the sweeper's promise).
        .pragma("secure_delete", "ON")
        .busy_timeout(Duration::from_secs(5));
    let file = options.get_filename().to_path_buf();
    if file.as_os_str().is_empty() || file.as_os_str() == ":memory:" {
        return Err(StoreError::Unavailable(
            "an in-memory SQLite database cannot be shared between connections: give a file path"
                .into(),
        ));
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(map_err)?;
    SQLITE_MIGRATIONS
        .run(&pool)
        .await
        .map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
    Ok(SqlStore {
        pool: Pool::Sqlite(pool, Arc::new(Readers::new(file))),
    })
}

fn connect_postgres(url: &str) -> StoreResult<SqlStore> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(2))
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy_with(options);
    Ok(SqlStore {
        pool: Pool::Postgres(pool),
    })
}

/// Why a store cannot copy itself.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// This backend is backed up with its own tools.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The copy failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl SqlStore {
    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(..) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Apply pending migrations (safe to run from several instances at once).
    pub async fn migrate(&self) -> StoreResult<()> {
        let result = match &self.pool {
            Pool::Sqlite(pool, _) => SQLITE_MIGRATIONS.run(pool).await,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        result.map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))
    }

    /// The versions of this backend's migrations that the database has applied; empty
    /// for a database that has never been migrated (`keyslot migrate --json` reports them).
    pub async fn applied_migrations(&self) -> StoreResult<Vec<i64>> {
        const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success";
        let applied = match &self.pool {
            Pool::Sqlite(pool, _) => sqlx::query_scalar(APPLIED).fetch_all(pool).await,
            Pool::Postgres(pool) => sqlx::query_scalar(APPLIED).fetch_all(pool).await,
        };
        match applied {
            Ok(versions) => Ok(versions),
            // No migrations table: a database Keyslot has never touched.
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("42P01")
                    || e.message().contains("no such table") =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(map_err(e)),
        }
    }

    /// Initialise an empty database; refuse one whose schema is behind this build (an
    /// upgrade is an operator's decision: `keyslot migrate`, or `serve --migrate`).
    async fn initialise_or_check(&self) -> StoreResult<()> {
        let applied = self.applied_migrations().await?;
        if applied.is_empty() {
            return self.migrate().await;
        }
        let migrator = match self.backend() {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        if migrator.iter().all(|m| applied.contains(&m.version)) {
            Ok(())
        } else {
            Err(StoreError::Unavailable(
                "the database schema is not up to date: run `keyslot migrate` (or serve with --migrate)".into(),
            ))
        }
    }

    /// After deleting credentials: SQLite copies the log back into the database (whose
    /// deleted cells `secure_delete` zeroed) and truncates it, so the deleted bytes survive
    /// in neither file. PostgreSQL keeps dead rows until VACUUM reclaims them (autovacuum,
    /// docs/SECURITY.md); nothing is forced here.
    pub(crate) async fn release_deleted_bytes(&self) -> StoreResult<()> {
        if let Pool::Sqlite(pool, _) = &self.pool {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    /// Close the connections, after copying SQLite's log into the database file, so the
    /// file alone is the whole database (a restore renames it).
    pub async fn close(&self) {
        if let Pool::Sqlite(pool, _) = &self.pool {
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await;
        }
        match &self.pool {
            Pool::Sqlite(pool, _) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    /// A consistent copy of the live database at `path`, safe while serving: SQLite's
    /// `VACUUM INTO` (a new file, so `path` must not exist yet). PostgreSQL is backed up
    /// with its own tools (`pg_dump`), which also copy it consistently while it serves.
    pub async fn backup_into(&self, path: &Path) -> Result<(), BackupError> {
        let Pool::Sqlite(pool, _) = &self.pool else {
            return Err(BackupError::Unsupported(
                "a PostgreSQL database is backed up with pg_dump (and restored with pg_restore); keep the seal key file apart from the dump",
            ));
        };
        let target = path
            .to_str()
            .ok_or(StoreError::Corrupt("backup path is not UTF-8"))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
