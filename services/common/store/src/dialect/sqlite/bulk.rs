//! A rebuild's writes on SQLite: the new views are built beside the live
//! ones as `rebuild_<table>`, created from the live table's own definition
//! (its primary key with it), filled by a prepared insert per table in
//! one transaction per batch, and put in place in one transaction that drops
//! each live table, renames the new one and builds its secondary indexes
//! under their names. Readers keep their snapshot of the old tables until
//! it commits (WAL); a crash before leaves `rebuild_*` tables behind,
//! dropped by the next rebuild.

use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::sqlite::SqliteConnection;

use crate::StoreError;
use crate::dialect::AfterIndex;
use crate::query::Value;

/// The prefix of a table a rebuild builds.
const PREFIX: &str = "rebuild_";

/// Where a rebuild builds the table `name`.
pub(crate) fn shadow(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// Drops what an earlier rebuild left, and creates an empty copy of each of
/// `tables` with its primary key, plus the table `staging` (of
/// `staging_columns`: rows that wait for the rest, never made live).
pub(crate) async fn create(
    conn: &mut SqliteConnection,
    tables: &[&str],
    staging: &str,
    staging_columns: &str,
) -> Result<(), StoreError> {
    drop(&mut *conn).await?;
    for table in tables {
        let definition: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
            .bind(*table)
            .fetch_one(&mut *conn)
            .await?;
        // The name as the migration wrote it, or quoted once a rebuild renamed the table.
        let quoted = format!("\"{table}\"");
        let columns = definition
            .strip_prefix("CREATE TABLE ")
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix(quoted.as_str()).or_else(|| rest.strip_prefix(*table)))
            .ok_or_else(|| StoreError::InvalidEvent(format!("a table the rebuild cannot copy: {definition}")))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE TABLE {PREFIX}{table}{columns}")))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE TABLE {PREFIX}{staging} {staging_columns}")))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drops every table an earlier rebuild left.
pub(crate) async fn drop(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let left: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE $1")
        .bind(format!("{PREFIX}%"))
        .fetch_all(&mut *conn)
        .await?;
    for table in left {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE \"{table}\""))).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Nothing before the swap: every table is loaded with its primary key
/// (the rows of a batch come in its order: projects in code order), and
/// secondary indexes are built at the swap, under the names the live
/// tables' indexes free when they are dropped. Nothing runs beside
/// ([`COMPARE_BESIDE_INDEXES`]): `_then` has no statements.
pub(crate) async fn index(
    _pool: &sqlx::SqlitePool,
    _tables: &[(&str, u64)],
    _then: AfterIndex<'_>,
) -> Result<(), StoreError> {
    Ok(())
}

/// Settings of the connection a rebuild loads on (closed after): a page
/// cache that holds the B-trees being filled, instead of the default 2 MB;
/// and commits not synced one by one (`NORMAL`: a checkpoint still syncs
/// before it copies, so the file stays whole): a batch need not outlive a
/// crash, which abandons the rebuild, and the final transaction, on
/// another connection, syncs as every commit does.
pub(crate) const LOADING: &str = "PRAGMA cache_size = -262144; PRAGMA synchronous = NORMAL";

/// SQLite's write lock is the transaction's own ([`super::begin`] begins
/// `IMMEDIATE`): nothing more holds off the live projector.
pub(crate) const HOLD_LIVE_FOLD: &str = "SELECT 1";

/// SQLite plans the feed's comparison well on its own.
pub(crate) const COMPARE_IN_KEY_ORDER: &str = "SELECT 1";

/// No: SQLite has one writer, which the comparison would hold as the final
/// transaction does, and its result would be written once more.
pub(crate) const COMPARE_BESIDE_INDEXES: bool = false;

/// Puts the rebuilt tables in place of the live ones, inside the rebuild's
/// final transaction, and builds the live tables' secondary indexes on them;
/// drops the rebuild's `scratch` tables first.
pub(crate) async fn swap(conn: &mut SqliteConnection, tables: &[&str], scratch: &[&str]) -> Result<(), StoreError> {
    for table in scratch {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {PREFIX}{table}"))).execute(&mut *conn).await?;
    }
    for table in tables {
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL ORDER BY name",
        )
        .bind(*table)
        .fetch_all(&mut *conn)
        .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP TABLE {table}; ALTER TABLE {PREFIX}{table} RENAME TO {table}"
        )))
        .execute(&mut *conn)
        .await?;
        for index in indexes {
            sqlx::raw_sql(sqlx::AssertSqlSafe(index)).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Writes rows of `width` `values` each into `table` (its `columns`, in
/// order) with prepared statements bound from the rows as they are, on the
/// connection's own handle ([`super::direct`]), inside the caller's
/// transaction; the values are encoded as sqlx encodes them.
pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    table: &str,
    columns: &str,
    width: usize,
    values: &[Value<'_>],
) -> Result<(), StoreError> {
    if values.is_empty() {
        return Ok(());
    }
    // Rows go ROWS_PER_STATEMENT at a time (SQLite runs a statement's
    // set-up once for all of them), the rest one by one.
    let statement = |rows: usize| -> String {
        let row = format!("({})", vec!["?"; width].join(", "));
        format!("INSERT INTO {table} ({columns}) VALUES {}", vec![row; rows].join(", "))
    };
    let (many, one) = (statement(ROWS_PER_STATEMENT), statement(1));
    super::direct::on_handle(conn, |direct| {
        let mut chunks = values.chunks_exact(width * ROWS_PER_STATEMENT);
        let mut statement = direct.prepare(&many)?;
        for chunk in &mut chunks {
            execute(&mut statement, chunk)?;
        }
        let mut statement = direct.prepare(&one)?;
        for row in chunks.remainder().chunks_exact(width) {
            execute(&mut statement, row)?;
        }
        Ok(())
    })
    .await
}

/// Binds `values` (one or more rows, one after the other) to
/// `statement`'s parameters and runs it.
fn execute(statement: &mut rusqlite::Statement<'_>, values: &[Value<'_>]) -> rusqlite::Result<()> {
    for (at, value) in values.iter().enumerate() {
        statement.raw_bind_parameter(at + 1, Bound(value))?;
    }
    statement.raw_execute().map(|_| ())
}

/// How many rows one prepared insert writes.
const ROWS_PER_STATEMENT: usize = 32;

/// A [`Value`] bound as sqlx binds it on SQLite (times as RFC 3339 text,
/// ids as 16-byte blobs), so rows read back alike whichever wrote them.
struct Bound<'v, 'a>(&'v Value<'a>);

impl rusqlite::ToSql for Bound<'_, '_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Bytes(bytes) | Value::MaybeBytes(Some(bytes)) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
            Value::Int(value) | Value::MaybeInt(Some(value)) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            Value::MaybeInt(None) | Value::MaybeBytes(None) => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Time(time) => ToSqlOutput::Owned(rusqlite::types::Value::Text(
                time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
            )),
            Value::Uuid(id) => ToSqlOutput::Borrowed(ValueRef::Blob(id.as_bytes())),
        })
    }
}
