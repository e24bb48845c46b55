//! The ceiling server: what the stack does with no Keyslot logic on top.
//!
//! Every row route does exactly what a token item read cannot do less of: one point read
//! of a 1 KiB sealed row by its key, one XChaCha20-Poly1305 open under the row's AAD, the
//! plaintext as the body. Nothing is cached between requests (neither rows nor
//! plaintext), and each request runs one query. The routes differ only in how they reach
//! the database, so that the ceiling `bench/run` compares Keyslot against is the fastest
//! honest access available on this machine, not only the access Keyslot happens to use:
//!
//! - `GET /static`: 1 KiB from memory, what axum and loopback allow;
//! - `GET /row/{n}`: SQLite through sqlx, the same pool and pragmas as Keyslot's store
//!   (kept as a reference: each query is handed to the connection's worker thread);
//! - `GET /rusqlite/row/{n}`: SQLite through rusqlite on a read-only connection per
//!   runtime thread, queried inline on that thread with a cached prepared statement;
//! - `GET /pg/row/{n}`: PostgreSQL through sqlx, the same pool size as Keyslot's store;
//! - `GET /tokio-pg/row/{n}`: PostgreSQL through tokio-postgres, a few clients with the
//!   statement prepared once each; concurrent requests on one client are pipelined.
//!
//! The PostgreSQL routes exist when `--postgres-url` is given.

use std::cell::RefCell;
use std::path::{Path as FsPath, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use keyslot_crypto::{Aad, ContentKey, Envelope, Id, ItemKey, Purpose};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Rows in each table; requests for `n` read row `n mod ROWS`.
const ROWS: i64 = 1000;

/// The one query every row route runs (same text in both dialects but the placeholder).
const SQLITE_SELECT: &str = "SELECT value FROM rows WHERE id = ?1";
const PG_SELECT: &str = "SELECT value FROM ceiling_rows WHERE id = $1";

/// How the ceiling server is configured.
#[derive(Debug)]
pub struct Options {
    /// Where to listen.
    pub listen: std::net::SocketAddr,
    /// The SQLite file (created, and its rows replaced).
    pub db: PathBuf,
    /// A PostgreSQL database whose `ceiling_rows` table the PostgreSQL routes read
    /// (created, and its rows replaced).
    pub postgres_url: Option<String>,
    /// Connections of the tokio-postgres route.
    pub pg_clients: usize,
}

struct Ceiling {
    key: ItemKey,
    body: Vec<u8>,
    sqlite: SqlitePool,
    /// For the per-thread rusqlite connections, opened on each thread's first request.
    sqlite_path: PathBuf,
    postgres: Option<Postgres>,
}

struct Postgres {
    pool: PgPool,
    clients: Vec<(tokio_postgres::Client, tokio_postgres::Statement)>,
    next: AtomicUsize,
}

thread_local! {
    /// This runtime thread's read-only connection: a query runs on the thread that
    /// serves the request, with no hand-off to another thread.
    static READER: RefCell<Option<rusqlite::Connection>> = const { RefCell::new(None) };
}

fn aad(n: i64) -> Aad {
    let id = Id::from_bytes([7; 16]);
    Aad::new(Purpose::ItemValue)
        .user(&id)
        .vault(&id)
        .item(&id)
        .item_version(n.unsigned_abs())
        .key_version(1)
}

/// The rows every route reads: `n` → the 1 KiB value sealed under `aad(n)`.
fn sealed_rows(key: &ItemKey) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    (0..ROWS)
        .map(|n| Ok((n, key.seal_content(&aad(n), &[0xab; 1024])?.to_bytes())))
        .collect()
}

pub async fn serve(options: Options) -> anyhow::Result<()> {
    let key = ItemKey::from_bytes([9; 32]);
    let rows = sealed_rows(&key)?;
    let sqlite = sqlite_pool(&options.db, &rows).await?;
    let postgres = match &options.postgres_url {
        Some(url) => Some(postgres(url, options.pg_clients, &rows).await?),
        None => None,
    };
    let state = Arc::new(Ceiling {
        key,
        body: vec![b'x'; 1024],
        sqlite,
        sqlite_path: options.db,
        postgres,
    });
    let app = Router::new()
        .route(
            "/static",
            get(|State(s): State<Arc<Ceiling>>| async move { s.body.clone() }),
        )
        .route("/row/{n}", get(sqlx_sqlite_row))
        .route("/rusqlite/row/{n}", get(rusqlite_row))
        .route("/pg/row/{n}", get(sqlx_pg_row))
        .route("/tokio-pg/row/{n}", get(tokio_pg_row))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// The same pool and pragmas as Keyslot's SQLite store; also writes the rows.
async fn sqlite_pool(db: &FsPath, rows: &[(i64, Vec<u8>)]) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, value BLOB NOT NULL)")
        .execute(&pool)
        .await?;
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM rows").execute(&mut *tx).await?;
    for (n, sealed) in rows {
        sqlx::query("INSERT INTO rows (id, value) VALUES (?, ?)")
            .bind(n)
            .bind(sealed)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(pool)
}

/// The sqlx pool (Keyslot's size) and `clients` tokio-postgres connections, each with
/// the query prepared; also writes the rows.
async fn postgres(url: &str, clients: usize, rows: &[(i64, Vec<u8>)]) -> anyhow::Result<Postgres> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(PgConnectOptions::from_str(url)?)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS ceiling_rows (id BIGINT PRIMARY KEY, value BYTEA NOT NULL)",
    )
    .execute(&pool)
    .await?;
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM ceiling_rows")
        .execute(&mut *tx)
        .await?;
    for (n, sealed) in rows {
        sqlx::query("INSERT INTO ceiling_rows (id, value) VALUES ($1, $2)")
            .bind(n)
            .bind(sealed)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE ceiling_rows").execute(&pool).await?;
    let mut prepared = Vec::with_capacity(clients);
    for _ in 0..clients.max(1) {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .context("connecting to PostgreSQL with tokio-postgres")?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("keyslot-bench ceiling: tokio-postgres connection ended: {e}");
            }
        });
        let statement = client.prepare(PG_SELECT).await?;
        prepared.push((client, statement));
    }
    Ok(Postgres {
        pool,
        clients: prepared,
        next: AtomicUsize::new(0),
    })
}

/// The work every route shares once it holds the row's bytes: parse the envelope, open
/// it under the row's AAD, and return the plaintext.
fn open_row(key: &ItemKey, n: i64, sealed: &[u8]) -> Result<Vec<u8>, StatusCode> {
    let envelope = Envelope::from_bytes(sealed).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let plain = key
        .open_content(&aad(n), &envelope)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(plain.to_vec())
}

async fn sqlx_sqlite_row(
    State(s): State<Arc<Ceiling>>,
    Path(n): Path<i64>,
) -> Result<Vec<u8>, StatusCode> {
    let n = n.rem_euclid(ROWS);
    let bytes: Vec<u8> = sqlx::query_scalar(SQLITE_SELECT)
        .bind(n)
        .fetch_one(&s.sqlite)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    open_row(&s.key, n, &bytes)
}

/// Reads inline on the runtime thread: a point read of a cached page costs a few
/// microseconds, less than a hand-off to another thread and back.
async fn rusqlite_row(
    State(s): State<Arc<Ceiling>>,
    Path(n): Path<i64>,
) -> Result<Vec<u8>, StatusCode> {
    let n = n.rem_euclid(ROWS);
    READER.with(|reader| {
        let mut reader = reader.borrow_mut();
        let conn = match &mut *reader {
            Some(conn) => conn,
            None => reader.insert(open_reader(&s.sqlite_path).map_err(|e| {
                eprintln!("keyslot-bench ceiling: cannot open a reader: {e}");
                StatusCode::SERVICE_UNAVAILABLE
            })?),
        };
        let mut statement = conn
            .prepare_cached(SQLITE_SELECT)
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        let mut rows = statement
            .query([n])
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        let row = rows
            .next()
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
            .ok_or(StatusCode::NOT_FOUND)?;
        // Borrowed from SQLite's row buffer: no copy before the envelope is parsed.
        let sealed = row
            .get_ref(0)
            .and_then(|v| Ok(v.as_blob()?))
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        open_row(&s.key, n, sealed)
    })
}

fn open_reader(path: &FsPath) -> rusqlite::Result<rusqlite::Connection> {
    rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

async fn sqlx_pg_row(
    State(s): State<Arc<Ceiling>>,
    Path(n): Path<i64>,
) -> Result<Vec<u8>, StatusCode> {
    let pg = s.postgres.as_ref().ok_or(StatusCode::NOT_FOUND)?;
    let n = n.rem_euclid(ROWS);
    let bytes: Vec<u8> = sqlx::query_scalar(PG_SELECT)
        .bind(n)
        .fetch_one(&pg.pool)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    open_row(&s.key, n, &bytes)
}

async fn tokio_pg_row(
    State(s): State<Arc<Ceiling>>,
    Path(n): Path<i64>,
) -> Result<Vec<u8>, StatusCode> {
    let pg = s.postgres.as_ref().ok_or(StatusCode::NOT_FOUND)?;
    let n = n.rem_euclid(ROWS);
    let i = pg.next.fetch_add(1, Ordering::Relaxed) % pg.clients.len().max(1);
    let (client, statement) = pg.clients.get(i).ok_or(StatusCode::SERVICE_UNAVAILABLE)?;
    let row = client
        .query_one(statement, &[&n])
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let sealed: &[u8] = row
        .try_get(0)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    open_row(&s.key, n, sealed)
}
