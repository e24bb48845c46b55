//! The database's own integrity check, run while the server is down after each kill.

use std::path::PathBuf;

use sqlx::Connection as _;

pub enum Checker {
    /// `PRAGMA integrity_check` and `PRAGMA foreign_key_check` on the file (opening it
    /// replays the WAL, as the next start would).
    Sqlite(PathBuf),
    /// amcheck's `bt_index_check` over every B-tree index of the schema, heap included:
    /// the server's kill must not matter to PostgreSQL, and this shows it did not.
    Postgres(String),
}

impl Checker {
    pub async fn check(&self) -> Result<(), String> {
        match self {
            Self::Sqlite(path) => sqlite(path).await.map_err(|e| e.to_string()),
            Self::Postgres(url) => postgres(url).await.map_err(|e| e.to_string()),
        }
    }
}

async fn sqlite(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let url = format!("sqlite://{}", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await?;
    if verdict != ["ok"] {
        return Err(format!("PRAGMA integrity_check: {verdict:?}").into());
    }
    let dangling = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut conn)
        .await?;
    if !dangling.is_empty() {
        return Err(format!("PRAGMA foreign_key_check: {} dangling rows", dangling.len()).into());
    }
    conn.close().await?;
    Ok(())
}

async fn postgres(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query("CREATE EXTENSION IF NOT EXISTS amcheck")
        .execute(&mut conn)
        .await?;
    let checked: i64 = sqlx::query_scalar(
        "SELECT count(bt_index_check(index => c.oid, heapallindexed => true))
           FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_am am ON am.oid = c.relam
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE am.amname = 'btree' AND n.nspname = current_schema()",
    )
    .fetch_one(&mut conn)
    .await?;
    if checked == 0 {
        return Err("amcheck found no index to check".into());
    }
    conn.close().await?;
    Ok(())
}
