//! A rebuild's writes on SQLite: the new views are built beside the live
//! ones as `rebuild_<table>`, created from the live table's own definition
//! (its primary key with it), filled by multi-row inserts in one
//! transaction per batch, and put in place in one transaction that drops
//! each live table, renames the new one and builds its secondary indexes
//! under their names. Readers keep their snapshot of the old tables until
//! it commits (WAL); a crash before leaves `rebuild_*` tables behind,
//! dropped by the next rebuild.

use sqlx::sqlite::SqliteConnection;

use crate::StoreError;
use crate::query::{self, Value};

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

/// Nothing before the swap: secondary indexes are built there, under the
/// names the live tables' indexes free when they are dropped.
pub(crate) async fn index(_conn: &mut SqliteConnection, _tables: &[&str]) -> Result<(), StoreError> {
    Ok(())
}

/// Settings of a connection while it loads rows (a page cache that holds
/// the B-trees being filled, instead of the default 2 MB), and back after.
pub(crate) const LOADING: &str = "PRAGMA cache_size = -262144";
pub(crate) const LOADED: &str = "PRAGMA cache_size = -2000";

/// SQLite's write lock is the transaction's own ([`super::begin`] begins
/// `IMMEDIATE`): nothing more holds off the live projector.
pub(crate) const HOLD_LIVE_FOLD: &str = "SELECT 1";

/// Puts the rebuilt tables in place of the live ones, inside the rebuild's
/// final transaction, and builds the live tables' secondary indexes on them.
pub(crate) async fn swap(conn: &mut SqliteConnection, tables: &[&str], staging: &str) -> Result<(), StoreError> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {PREFIX}{staging}"))).execute(&mut *conn).await?;
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

/// Writes `rows` into `table` (its `columns`, in order) with multi-row
/// inserts of as many rows as the bind limit allows.
pub(crate) async fn insert<const N: usize>(
    conn: &mut SqliteConnection,
    table: &str,
    columns: &str,
    rows: &[[Value<'_>; N]],
) -> Result<(), StoreError> {
    for statement in query::insert(&format!("INSERT INTO {table} ({columns})"), "", rows, Clone::clone) {
        statement.execute(&mut *conn).await?;
    }
    Ok(())
}
