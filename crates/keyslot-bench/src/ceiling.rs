//! The ceiling server: what the stack does with no Keyslot logic on top.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use keyslot_crypto::{Aad, ContentKey, Envelope, Id, ItemKey, Purpose};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

const ROWS: i64 = 1000;

struct Ceiling {
    pool: SqlitePool,
    key: ItemKey,
    body: Vec<u8>,
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

pub async fn serve(listen: std::net::SocketAddr, db: &std::path::Path) -> anyhow::Result<()> {
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
    let key = ItemKey::from_bytes([9; 32]);
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM rows").execute(&mut *tx).await?;
    for n in 0..ROWS {
        let sealed = key.seal_content(&aad(n), &[0xab; 1024])?.to_bytes();
        sqlx::query("INSERT INTO rows (id, value) VALUES (?, ?)")
            .bind(n)
            .bind(sealed)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let state = Arc::new(Ceiling {
        pool,
        key,
        body: vec![b'x'; 1024],
    });
    let app = Router::new()
        .route(
            "/static",
            get(|State(s): State<Arc<Ceiling>>| async move { s.body.clone() }),
        )
        .route("/row/{n}", get(row))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn row(State(s): State<Arc<Ceiling>>, Path(n): Path<i64>) -> Result<Vec<u8>, StatusCode> {
    let n = n.rem_euclid(ROWS);
    let bytes: Vec<u8> = sqlx::query_scalar("SELECT value FROM rows WHERE id = ?")
        .bind(n)
        .fetch_one(&s.pool)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let envelope = Envelope::from_bytes(&bytes).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let plain = s
        .key
        .open_content(&aad(n), &envelope)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(plain.to_vec())
}
