//! Raw rows of the server's database (its SQLite file, or its PostgreSQL database), for
//! what the model test must see or do below the API: a vault's key version and whether it
//! is due, the keys a token still holds, and letting a token's `expires_at` pass without
//! waiting and without the sweeper.

use keyslot_crypto::Id;

pub enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// A vault's lifecycle columns.
#[derive(Debug, Clone, Copy)]
pub struct VaultRow {
    pub key_version: i64,
    pub rotation_due: bool,
    pub rotate_due_at: Option<i64>,
}

impl VaultRow {
    /// Due now: flagged, or the earliest expiry among its tokens has passed (§3.1).
    pub fn is_due(&self, now: i64) -> bool {
        self.rotation_due || self.rotate_due_at.is_some_and(|at| at <= now)
    }
}

fn bytes(id: &str) -> Vec<u8> {
    id.parse::<Id>().unwrap().as_bytes().to_vec()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// Run one statement or query on whichever pool this is, binding `$1…` in order.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    pub async fn connect(postgres_url: Option<&str>, data_dir: &std::path::Path) -> Self {
        match postgres_url {
            Some(url) => Self::Postgres(sqlx::PgPool::connect(url).await.unwrap()),
            None => {
                let url = format!("sqlite://{}", data_dir.join("keyslot.db").display());
                Self::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap())
            }
        }
    }

    pub async fn close(&self) {
        on_pool!(self, |p| p.close().await);
    }

    pub async fn vault(&self, vault: &str) -> VaultRow {
        let sql = "SELECT key_version, rotation_due, rotate_due_at FROM vaults WHERE id = $1";
        let (key_version, rotation_due, rotate_due_at) = on_pool!(self, |p| {
            sqlx::query_as::<_, (i64, bool, Option<i64>)>(sql)
                .bind(bytes(vault))
                .fetch_one(p)
                .await
                .unwrap()
        });
        VaultRow {
            key_version,
            rotation_due,
            rotate_due_at,
        }
    }

    /// The vaults a token holds a slot or a pending grant for, as raw ids.
    pub async fn token_key_vaults(&self, token: &str) -> Vec<Vec<u8>> {
        let sql = "SELECT vault_id FROM token_vault_slots WHERE token_id = $1 \
                   UNION SELECT vault_id FROM token_grants WHERE token_id = $1";
        on_pool!(self, |p| {
            sqlx::query_scalar::<_, Vec<u8>>(sql)
                .bind(bytes(token))
                .fetch_all(p)
                .await
                .unwrap()
        })
    }

    /// Whether the token's row still exists.
    pub async fn token_row_exists(&self, token: &str) -> bool {
        let sql = "SELECT COUNT(*) FROM tokens WHERE id = $1";
        let n = on_pool!(self, |p| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(bytes(token))
                .fetch_one(p)
                .await
                .unwrap()
        });
        n > 0
    }

    pub async fn token_expires_at(&self, token: &str) -> i64 {
        let sql = "SELECT expires_at FROM tokens WHERE id = $1";
        on_pool!(self, |p| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(bytes(token))
                .fetch_one(p)
                .await
                .unwrap()
        })
    }

    /// Pending grants and the member slot a user still has for a vault.
    pub async fn user_keys_for(&self, user: &str, vault: &str) -> i64 {
        let sql = "SELECT (SELECT COUNT(*) FROM user_grants WHERE user_id = $1 AND vault_id = $2) \
                   + (SELECT COUNT(*) FROM vault_members WHERE user_id = $1 AND vault_id = $2)";
        on_pool!(self, |p| {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(bytes(user))
                .bind(bytes(vault))
                .fetch_one(p)
                .await
                .unwrap()
        })
    }

    /// Time passes for one token: its `expires_at` moves to `at`, and so does the
    /// `rotate_due_at` of each vault it holds a key of, as if the token had been minted
    /// with that expiry (the server brings `rotate_due_at` forward to a token's expiry at
    /// mint; the caller checks that it did before calling this).
    pub async fn expire_token(&self, token: &str, at: i64) {
        let id = bytes(token);
        let move_vaults = "UPDATE vaults SET rotate_due_at = \
             CASE WHEN rotate_due_at IS NULL OR rotate_due_at > $1 THEN $1 ELSE rotate_due_at END \
             WHERE id IN (SELECT vault_id FROM token_vault_slots WHERE token_id = $2 \
                          UNION SELECT vault_id FROM token_grants WHERE token_id = $2)";
        let move_token = "UPDATE tokens SET expires_at = $1 WHERE id = $2";
        on_pool!(self, |p| {
            let mut tx = p.begin().await.unwrap();
            sqlx::query(move_vaults)
                .bind(at)
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .unwrap();
            let touched = sqlx::query(move_token)
                .bind(at)
                .bind(id.clone())
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
            assert_eq!(touched, 1, "no row for token {token}");
            tx.commit().await.unwrap();
        });
    }
}

pub fn id_bytes(id: &str) -> Vec<u8> {
    bytes(id)
}
