//! SQLite reads on the calling thread: a read-only rusqlite connection per runtime thread,
//! with its statements prepared once.
//!
//! Why: a point read of a 1 KiB row costs SQLite about 4 µs, but through sqlx's SQLite
//! driver about 20 µs of CPU, most of it handing the query to the connection's worker
//! thread and the answer back (cross-core wake-ups are slow on small VMs). Reads here run
//! inline instead, so a token read costs the query and nothing around it
//! (docs/PERFORMANCE.md has the measurements). Writes stay on sqlx's pool: one writer at a
//! time, `BEGIN IMMEDIATE`, on its own connections.
//!
//! WAL mode makes this safe: a reader never blocks the writer or waits for it, and each
//! read statement sees the last commit, so a write acknowledged on one connection is
//! read back on any other. Reads are point lookups and short lists, so running them on a
//! runtime thread is cheaper than any hand-off.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keyslot_core::store::{StoreError, StoreResult};
use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OpenFlags};

use crate::db::{Arg, RowRead};

/// How many stores' connections one thread keeps (tests open many stores; a server one).
const CONNECTIONS_PER_THREAD: usize = 8;
/// Prepared statements kept per connection: every read query Keyslot has, with room.
const STATEMENT_CACHE: usize = 64;
/// `$1`…`$16`: placeholder names, so binding allocates nothing (a read query has a handful
/// of parameters, and finding one by name is a short scan inside SQLite).
const PLACEHOLDERS: [&str; 16] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16",
];

static NEXT_STORE: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's read connections, by store.
    static CONNECTIONS: RefCell<Vec<(u64, Connection)>> = const { RefCell::new(Vec::new()) };
}

/// The read side of one SQLite store.
#[derive(Debug)]
pub(crate) struct Readers {
    store: u64,
    path: PathBuf,
}

impl Readers {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            store: NEXT_STORE.fetch_add(1, Ordering::Relaxed),
            path,
        }
    }

    /// At most one row of `sql` with `args`, mapped.
    pub(crate) fn optional<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl FnOnce(&dyn RowRead) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.run(sql, args, |rows| {
            match rows.next().map_err(unavailable)? {
                Some(row) => map(&Columns::new(row)).map(Some),
                None => Ok(None),
            }
        })
    }

    /// Every row of `sql` with `args`, mapped.
    pub(crate) fn all<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl Fn(&dyn RowRead) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.run(sql, args, |rows| {
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(unavailable)? {
                out.push(map(&Columns::new(row))?);
            }
            Ok(out)
        })
    }

    /// Bind `args` to this thread's prepared `sql` and hand its rows to `read`.
    fn run<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        read: impl FnOnce(&mut rusqlite::Rows<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.with_connection(|conn| {
            let mut statement = conn.prepare_cached(sql).map_err(unavailable)?;
            for (i, arg) in args.iter().enumerate() {
                let name = PLACEHOLDERS
                    .get(i)
                    .ok_or(StoreError::Unavailable("too many query arguments".into()))?;
                // A placeholder a query does not use is skipped, as sqlx does.
                let Some(index) = statement.parameter_index(name).map_err(unavailable)? else {
                    continue;
                };
                statement
                    .raw_bind_parameter(index, Bound(*arg))
                    .map_err(unavailable)?;
            }
            read(&mut statement.raw_query())
        })
    }

    fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        CONNECTIONS.with(|cell| {
            let mut connections = cell.borrow_mut();
            let position = match connections.iter().position(|(id, _)| *id == self.store) {
                Some(position) => position,
                None => {
                    if connections.len() >= CONNECTIONS_PER_THREAD {
                        connections.remove(0);
                    }
                    connections.push((self.store, self.open()?));
                    connections.len() - 1
                }
            };
            // The borrow lasts only for this synchronous call: nothing awaits in it.
            f(&connections[position].1)
        })
    }

    fn open(&self) -> StoreResult<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(unavailable)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// An argument as rusqlite binds it.
struct Bound<'q>(Arg<'q>);

impl rusqlite::ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::{Value, ValueRef};
        Ok(match self.0 {
            Arg::Bytes(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Arg::Int(Some(v)) => ToSqlOutput::Owned(Value::Integer(v)),
            Arg::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Arg::Bool(v) => ToSqlOutput::Owned(Value::Integer(i64::from(v))),
            Arg::Bytes(None) | Arg::Int(None) | Arg::Text(None) => ToSqlOutput::Owned(Value::Null),
        })
    }
}

/// A row whose columns are found by name, cheaply: a mapper reads columns in about the
/// order the query selects them, so the search for each name starts right after the last
/// column found, and in the usual case compares one name.
///
/// Why: rusqlite finds a column by name with a scan of every column name from the first
/// (`sqlite3_column_name`, `strlen`, a case-insensitive compare each). The token read
/// selects 25 columns, and that scan cost more instructions than SQLite's whole step
/// (docs/PERFORMANCE.md). Names stay the interface, so each mapping is still written once
/// for both backends and a query's column order is not part of it.
struct Columns<'r> {
    row: &'r rusqlite::Row<'r>,
    count: usize,
    next: std::cell::Cell<usize>,
}

impl<'r> Columns<'r> {
    fn new(row: &'r rusqlite::Row<'r>) -> Self {
        Self {
            row,
            count: row.as_ref().column_count(),
            next: std::cell::Cell::new(0),
        }
    }

    /// The position of `column`, compared as SQLite does (ASCII case-insensitively), after
    /// an exact compare that is what matches in practice and costs a fraction of it.
    fn index(&self, column: &'static str) -> StoreResult<usize> {
        let statement = self.row.as_ref();
        let start = self.next.get().min(self.count);
        (start..self.count)
            .chain(0..start)
            .find(|&i| {
                statement
                    .column_name(i)
                    .is_ok_and(|name| name == column || name.eq_ignore_ascii_case(column))
            })
            .inspect(|&i| self.next.set(i + 1))
            .ok_or(StoreError::Corrupt(column))
    }

    fn get<T: rusqlite::types::FromSql>(&self, column: &'static str) -> StoreResult<T> {
        self.row
            .get(self.index(column)?)
            .map_err(|_| StoreError::Corrupt(column))
    }
}

impl RowRead for Columns<'_> {
    fn bytes(&self, column: &'static str) -> StoreResult<Vec<u8>> {
        self.get(column)
    }
    fn opt_bytes(&self, column: &'static str) -> StoreResult<Option<Vec<u8>>> {
        self.get(column)
    }
    fn int(&self, column: &'static str) -> StoreResult<i64> {
        self.get(column)
    }
    fn opt_int(&self, column: &'static str) -> StoreResult<Option<i64>> {
        self.get(column)
    }
    fn text(&self, column: &'static str) -> StoreResult<String> {
        self.get(column)
    }
    fn opt_text(&self, column: &'static str) -> StoreResult<Option<String>> {
        self.get(column)
    }
    fn flag(&self, column: &'static str) -> StoreResult<bool> {
        self.get(column)
    }
}
