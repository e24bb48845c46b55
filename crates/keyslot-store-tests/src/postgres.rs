//! Fresh PostgreSQL databases for tests.
//!
//! Tests that need PostgreSQL call [`fresh_database_url`]. It reads
//! `KEYSLOT_TEST_DATABASE_URL` (a URL whose user may create databases, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`) and creates a new database for the
//! caller, so runs and tests never collide. When the variable is unset it returns `None`
//! and says so on stderr — except under CI (`CI` set), where it panics: in CI the
//! PostgreSQL tests always run, they never skip silently.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

/// Databases made by earlier runs are dropped once they are this old.
const STALE_SECS: u64 = 2 * 3600;
const PREFIX: &str = "ks_t_";

/// A URL to a new, empty database, or `None` when PostgreSQL tests are not configured.
pub async fn fresh_database_url(test: &str) -> Option<String> {
    let Ok(base) = std::env::var("KEYSLOT_TEST_DATABASE_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KEYSLOT_TEST_DATABASE_URL is not set, and CI must run the PostgreSQL tests (.ci/run sets it)"
        );
        eprintln!(
            "SKIPPED {test}: KEYSLOT_TEST_DATABASE_URL is not set (PostgreSQL tests run when it is; CI sets it)"
        );
        return None;
    };
    let mut admin = PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to KEYSLOT_TEST_DATABASE_URL: {e}"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    drop_stale(&mut admin, now).await;
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).unwrap_or_else(|e| panic!("rng: {e}"));
    let name = format!(
        "{PREFIX}{now}_{}",
        suffix
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    Some(with_database(&base, &name))
}

/// Drop a database made by [`fresh_database_url`] (best effort).
pub async fn drop_database(url: &str) {
    let Ok(base) = std::env::var("KEYSLOT_TEST_DATABASE_URL") else {
        return;
    };
    let Some(name) = database_name(url) else {
        return;
    };
    if !name.starts_with(PREFIX) {
        return;
    }
    if let Ok(mut admin) = PgConnection::connect(&base).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }
}

async fn drop_stale(admin: &mut PgConnection, now: u64) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'ks\\_t\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let made: Option<u64> = name
            .strip_prefix(PREFIX)
            .and_then(|r| r.split('_').next())
            .and_then(|t| t.parse().ok());
        if made.is_some_and(|t| now.saturating_sub(t) > STALE_SECS) {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut *admin)
            .await;
        }
    }
}

/// `base` with its database path replaced by `name` (query string kept).
fn with_database(base: &str, name: &str) -> String {
    let (head, query) = base
        .split_once('?')
        .map_or((base, None), |(h, q)| (h, Some(q)));
    let root = match head.find("://").map(|i| i + 3) {
        Some(start) => match head[start..].find('/') {
            Some(slash) => &head[..start + slash],
            None => head,
        },
        None => head,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// The database a URL names (the path after the host), without its query.
pub fn database_name(url: &str) -> Option<&str> {
    let head = url.split('?').next()?;
    let start = head.find("://")? + 3;
    let slash = head[start..].find('/')?;
    Some(&head[start + slash + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_get_their_database_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "ks_t_1"),
            "postgres://u@h:5432/ks_t_1"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            database_name("postgres://u@h:5432/ks_t_1?a=b"),
            Some("ks_t_1")
        );
    }
}
