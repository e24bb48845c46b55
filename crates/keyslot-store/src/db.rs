//! The thin layer between Keyslot's queries and the two databases: one query type, one
//! row reader, one pool and one transaction type, each dispatching to SQLite or
//! PostgreSQL in exactly one `match`.
//!
//! Why not generic over `sqlx::Database`: every helper would carry a dozen `Encode`/
//! `Decode`/`Executor` bounds that Rust does not imply, and the queries would still differ
//! in their few dialect words. Why not `sqlx::Any`: it converts every row and argument at
//! run time, and it cannot tell PostgreSQL's `BOOLEAN` from SQLite's integer flags. Here a
//! query is a [`Sql`] text per dialect (written once with the [`sql!`] macro, which
//! substitutes the few words that differ at compile time) plus borrowed [`Arg`]s; rows are
//! read through [`RowRead`], a trait object with one implementation per backend. The cost
//! over a direct sqlx call is one small `Vec` of borrowed arguments and a virtual call per
//! column: nothing next to the query itself (docs/PERFORMANCE.md).

use std::borrow::Cow;
use std::sync::Arc;

use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{
    AssertSqlSafe, Database, Encode, PgPool, Postgres, Row as _, SqlSafeStr, Sqlite, SqlitePool,
    Transaction, Type,
};

use crate::sqlite_read::Readers;

/// One query text per dialect. Both use `$1`-style placeholders (SQLite accepts them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sql {
    pub(crate) sqlite: &'static str,
    pub(crate) postgres: &'static str,
}

/// A query text written once. String literals are taken as they are; these words become
/// each dialect's own:
///
/// | word | SQLite | PostgreSQL |
/// |---|---|---|
/// | `SEQ` | `rowid` | `seq` (an identity column: PostgreSQL has no rowid) |
/// | `GREATEST` | `MAX` (two-argument scalar form) | `GREATEST` |
/// | `FOR_UPDATE` | nothing (the write transaction already holds the lock) | ` FOR UPDATE` |
/// | `FOR_SHARE` | nothing (likewise) | ` FOR SHARE` |
/// | `FOR_NO_KEY_UPDATE` | nothing (likewise) | ` FOR NO KEY UPDATE` |
/// | `LEAST` | `MIN` (two-argument scalar form) | `LEAST` |
macro_rules! sql {
    ($($part:tt)+) => {
        $crate::db::Sql {
            sqlite: concat!($($crate::db::sql_word!(sqlite $part)),+),
            postgres: concat!($($crate::db::sql_word!(postgres $part)),+),
        }
    };
}

macro_rules! sql_word {
    (sqlite SEQ) => {
        "rowid"
    };
    (postgres SEQ) => {
        "seq"
    };
    (sqlite GREATEST) => {
        "MAX"
    };
    (postgres GREATEST) => {
        "GREATEST"
    };
    (sqlite FOR_UPDATE) => {
        ""
    };
    (postgres FOR_UPDATE) => {
        " FOR UPDATE"
    };
    (sqlite FOR_SHARE) => {
        ""
    };
    (sqlite FOR_NO_KEY_UPDATE) => {
        ""
    };
    (postgres FOR_NO_KEY_UPDATE) => {
        " FOR NO KEY UPDATE"
    };
    (postgres FOR_SHARE) => {
        " FOR SHARE"
    };
    (sqlite LEAST) => {
        "MIN"
    };
    (postgres LEAST) => {
        "LEAST"
    };
    ($dialect:ident $text:literal) => {
        $text
    };
}

pub(crate) use {sql, sql_word};

/// A query argument, borrowed from the record being written. Every variant carries its
/// SQL type even when NULL: PostgreSQL needs a typed NULL.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'q> {
    Bytes(Option<&'q [u8]>),
    Int(Option<i64>),
    Text(Option<&'q str>),
    Bool(bool),
}

impl<'q> From<&'q Id> for Arg<'q> {
    fn from(id: &'q Id) -> Self {
        Self::Bytes(Some(id.as_bytes().as_slice()))
    }
}
impl<'q> From<Option<&'q Id>> for Arg<'q> {
    fn from(id: Option<&'q Id>) -> Self {
        Self::Bytes(id.map(|id| id.as_bytes().as_slice()))
    }
}
impl<'q> From<&'q [u8]> for Arg<'q> {
    fn from(bytes: &'q [u8]) -> Self {
        Self::Bytes(Some(bytes))
    }
}
impl<'q> From<&'q Vec<u8>> for Arg<'q> {
    fn from(bytes: &'q Vec<u8>) -> Self {
        Self::Bytes(Some(bytes))
    }
}
impl<'q> From<&'q Option<Vec<u8>>> for Arg<'q> {
    fn from(bytes: &'q Option<Vec<u8>>) -> Self {
        Self::Bytes(bytes.as_deref())
    }
}
impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Self::Int(Some(n))
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(n: Option<i64>) -> Self {
        Self::Int(n)
    }
}
impl From<u32> for Arg<'_> {
    fn from(n: u32) -> Self {
        Self::Int(Some(i64::from(n)))
    }
}
impl<'q> From<&'q str> for Arg<'q> {
    fn from(text: &'q str) -> Self {
        Self::Text(Some(text))
    }
}
impl<'q> From<&'q String> for Arg<'q> {
    fn from(text: &'q String) -> Self {
        Self::Text(Some(text))
    }
}
impl<'q> From<&'q Option<String>> for Arg<'q> {
    fn from(text: &'q Option<String>) -> Self {
        Self::Text(text.as_deref())
    }
}
impl From<bool> for Arg<'_> {
    fn from(flag: bool) -> Self {
        Self::Bool(flag)
    }
}

/// A query text and its arguments, in placeholder order.
#[derive(Debug)]
pub(crate) struct Query<'q> {
    text: Text,
    args: Vec<Arg<'q>>,
}

/// A fixed text, or one built at run time per dialect (multi-row inserts).
#[derive(Debug)]
enum Text {
    Fixed(Sql),
    Built { sqlite: String, postgres: String },
}

impl Text {
    fn sqlite_text(&self) -> &str {
        match self {
            Self::Fixed(sql) => sql.sqlite,
            Self::Built { sqlite, .. } => sqlite,
        }
    }

    fn sqlite(self) -> AssertSqlSafe<Cow<'static, str>> {
        AssertSqlSafe(match self {
            Self::Fixed(sql) => Cow::Borrowed(sql.sqlite),
            Self::Built { sqlite, .. } => Cow::Owned(sqlite),
        })
    }

    fn postgres(self) -> AssertSqlSafe<Cow<'static, str>> {
        AssertSqlSafe(match self {
            Self::Fixed(sql) => Cow::Borrowed(sql.postgres),
            Self::Built { postgres, .. } => Cow::Owned(postgres),
        })
    }
}

/// A query over `sql`; add arguments with [`Query::bind`].
pub(crate) fn query<'q>(sql: Sql) -> Query<'q> {
    Query {
        text: Text::Fixed(sql),
        args: Vec::with_capacity(8),
    }
}

/// A query whose text was built at run time, once per dialect.
pub(crate) fn built<'q>(sqlite: String, postgres: String, args: Vec<Arg<'q>>) -> Query<'q> {
    Query {
        text: Text::Built { sqlite, postgres },
        args,
    }
}

impl<'q> Query<'q> {
    /// The next placeholder's value.
    pub(crate) fn bind(mut self, arg: impl Into<Arg<'q>>) -> Self {
        self.args.push(arg.into());
        self
    }
}

type SqlxQuery<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments>;

/// Hand `args` to a sqlx query of either backend.
fn bind_all<'q, DB: Database>(text: impl SqlSafeStr, args: Vec<Arg<'q>>) -> SqlxQuery<'q, DB>
where
    Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
{
    let mut q = sqlx::query::<DB>(text);
    for arg in args {
        q = match arg {
            Arg::Bytes(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
        };
    }
    q
}

/// Reading a column of either backend's rows. A value that does not decode becomes
/// [`StoreError::Corrupt`] naming the column, never a panic.
pub(crate) trait RowRead {
    fn bytes(&self, column: &'static str) -> StoreResult<Vec<u8>>;
    fn opt_bytes(&self, column: &'static str) -> StoreResult<Option<Vec<u8>>>;
    fn int(&self, column: &'static str) -> StoreResult<i64>;
    fn opt_int(&self, column: &'static str) -> StoreResult<Option<i64>>;
    fn text(&self, column: &'static str) -> StoreResult<String>;
    fn opt_text(&self, column: &'static str) -> StoreResult<Option<String>>;
    fn flag(&self, column: &'static str) -> StoreResult<bool>;
}

macro_rules! row_read {
    ($row:ty) => {
        impl RowRead for $row {
            fn bytes(&self, column: &'static str) -> StoreResult<Vec<u8>> {
                self.try_get(column)
                    .map_err(|_| StoreError::Corrupt(column))
            }
            fn opt_bytes(&self, column: &'static str) -> StoreResult<Option<Vec<u8>>> {
                self.try_get(column)
                    .map_err(|_| StoreError::Corrupt(column))
            }
            fn int(&self, column: &'static str) -> StoreResult<i64> {
                self.try_get(column)
                    .map_err(|_| StoreError::Corrupt(column))
            }
            fn opt_int(&self, column: &'static str) -> StoreResult<Option<i64>> {
                self.try_get(column)
                    .map_err(|_| StoreError::Corrupt(column))
            }
            fn text(&self, column: &'static str) -> StoreResult<String> {
                self.try_get(column)
                    .map_err(|_| StoreError::Corrupt(column))
            }
            fn opt_text(&self, column: &'static str) -> StoreResult<Option<String>> {
                self.try_get(column)
                    .map_err(|_| StoreError::Corrupt(column))
            }
            fn flag(&self, column: &'static str) -> StoreResult<bool> {
                self.try_get(column)
                    .map_err(|_| StoreError::Corrupt(column))
            }
        }
    };
}
row_read!(SqliteRow);
row_read!(PgRow);

/// Map sqlx errors: uniqueness → `Conflict`; anything about reaching or talking to the
/// database → `Unavailable` (the caller answers 503 and retries later).
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt("column"),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// Either database's connections. SQLite reads run inline on the calling thread
/// ([`Readers`]); its writes, and everything on PostgreSQL, go through sqlx's pools.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool, Arc<Readers>),
    Postgres(PgPool),
}

/// A write transaction on either database: `BEGIN IMMEDIATE` on SQLite (writers queue on
/// the lock instead of failing on upgrade), `BEGIN` on PostgreSQL (rows are locked by the
/// statements that change them, or `FOR_UPDATE`).
#[derive(Debug)]
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Pool {
    /// Run a statement outside any transaction; the number of rows it touched.
    pub(crate) async fn execute(&self, q: Query<'_>) -> StoreResult<u64> {
        let Query { text, args } = q;
        let done = match self {
            Self::Sqlite(pool, _) => bind_all::<Sqlite>(text.sqlite(), args)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
            Self::Postgres(pool) => bind_all::<Postgres>(text.postgres(), args)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
        };
        done.map_err(map_err)
    }

    /// At most one row, mapped.
    pub(crate) async fn optional<T>(
        &self,
        q: Query<'_>,
        map: impl FnOnce(&dyn RowRead) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        match self {
            Self::Sqlite(_, readers) => readers.optional(q.text.sqlite_text(), &q.args, map),
            Self::Postgres(pool) => {
                let Query { text, args } = q;
                match bind_all::<Postgres>(text.postgres(), args)
                    .fetch_optional(pool)
                    .await
                    .map_err(map_err)?
                {
                    Some(row) => map(&row).map(Some),
                    None => Ok(None),
                }
            }
        }
    }

    /// Every row, mapped.
    pub(crate) async fn all<T>(
        &self,
        q: Query<'_>,
        map: impl Fn(&dyn RowRead) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        match self {
            Self::Sqlite(_, readers) => readers.all(q.text.sqlite_text(), &q.args, map),
            Self::Postgres(pool) => {
                let Query { text, args } = q;
                let rows = bind_all::<Postgres>(text.postgres(), args)
                    .fetch_all(pool)
                    .await
                    .map_err(map_err)?;
                rows.iter().map(|row| map(row)).collect()
            }
        }
    }

    /// Begin a write transaction.
    pub(crate) async fn write(&self) -> StoreResult<Tx> {
        match self {
            Self::Sqlite(pool, _) => pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map(Tx::Sqlite)
                .map_err(map_err),
            Self::Postgres(pool) => pool.begin().await.map(Tx::Postgres).map_err(map_err),
        }
    }
}

/// Run `$q` inside a transaction of either backend, with `|$sqlx_query, $connection| $body`
/// written once for both.
macro_rules! in_tx {
    ($tx:expr, $q:expr, |$sq:ident, $conn:ident| $body:expr) => {{
        let Query { text, args } = $q;
        match $tx {
            Tx::Sqlite(tx) => {
                let $sq = bind_all::<Sqlite>(text.sqlite(), args);
                let $conn = &mut **tx;
                $body
            }
            Tx::Postgres(tx) => {
                let $sq = bind_all::<Postgres>(text.postgres(), args);
                let $conn = &mut **tx;
                $body
            }
        }
    }};
}

impl Tx {
    /// Run a statement; the number of rows it touched.
    pub(crate) async fn execute(&mut self, q: Query<'_>) -> StoreResult<u64> {
        Ok(in_tx!(self, q, |sq, conn| sq
            .execute(conn)
            .await
            .map_err(map_err)?
            .rows_affected()))
    }

    /// At most one row, mapped; reads inside a transaction see its own writes.
    pub(crate) async fn optional<T>(
        &mut self,
        q: Query<'_>,
        map: impl FnOnce(&dyn RowRead) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        in_tx!(
            self,
            q,
            |sq, conn| match sq.fetch_optional(conn).await.map_err(map_err)? {
                Some(row) => map(&row).map(Some),
                None => Ok(None),
            }
        )
    }

    /// Every row, mapped; reads inside a transaction see its own writes.
    pub(crate) async fn all<T>(
        &mut self,
        q: Query<'_>,
        map: impl Fn(&dyn RowRead) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        in_tx!(self, q, |sq, conn| {
            let rows = sq.fetch_all(conn).await.map_err(map_err)?;
            rows.iter().map(|row| map(row)).collect()
        })
    }

    /// Exactly one row, mapped ([`StoreError::NotFound`] if none).
    pub(crate) async fn one<T>(
        &mut self,
        q: Query<'_>,
        map: impl FnOnce(&dyn RowRead) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.optional(q, map).await?.ok_or(StoreError::NotFound)
    }

    /// Commit; dropping a `Tx` without committing rolls it back.
    pub(crate) async fn commit(self) -> StoreResult<()> {
        match self {
            Self::Sqlite(tx) => tx.commit().await.map_err(map_err),
            Self::Postgres(tx) => tx.commit().await.map_err(map_err),
        }
    }
}

/// Fail with `NotFound` when an UPDATE or DELETE touched no row.
pub(crate) fn touched(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
