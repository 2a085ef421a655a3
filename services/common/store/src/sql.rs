//! The multi-row SQL both backends share: bind placeholders spelled for each
//! backend, `insert_rows!` and `for_codes!` (as many rows or project codes per
//! statement as the bind limit allows) and `in_transaction!` (a write
//! transaction on either backend). Every module that writes or reads many
//! rows at once (the fold, the public change feed, the supervision index, the
//! bulk loader) imports them from here, so none of those modules imports
//! another for its plumbing.

use crate::StoreError;

/// Most bind parameters one statement carries: SQLite allows 32766,
/// PostgreSQL 65535.
pub(crate) const MAX_PARAMS: usize = 32_000;

/// How a backend spells bind parameters in a long statement.
pub(crate) trait Placeholders {
    /// `$n` (PostgreSQL) rather than `?` (SQLite: sqlx looks every named
    /// parameter up by name, which makes binding quadratic in their number).
    const NUMBERED: bool;
}

impl Placeholders for sqlx::PgConnection {
    const NUMBERED: bool = true;
}

impl Placeholders for sqlx::SqliteConnection {
    const NUMBERED: bool = false;
}

/// `($1, $2, …), ($k, …), …` (or `(?, ?, …), …`): `rows` tuples of
/// `columns` placeholders for the connection `_c`'s backend.
pub(crate) fn placeholders<C: Placeholders + ?Sized>(_c: &C, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 8);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            if C::NUMBERED {
                sql.push('$');
                sql.push_str(&(row * columns + column + 1).to_string());
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// Runs `$head VALUES (…), (…) $tail` over the slice `$rows` inside `$tx`,
/// as many rows per statement as the bind limit allows; `$bind` binds one
/// row's `$columns` values to `$query`. Multi-row statements instead of one
/// round trip per row are what makes a rebuild fast.
macro_rules! insert_rows {
    ($tx:ident, $head:expr, $tail:expr, $columns:expr, $rows:expr, |$query:ident, $row:ident| $bind:expr) => {{
        let columns: usize = $columns;
        for part in $rows.chunks($crate::sql::MAX_PARAMS / columns) {
            let values = $crate::sql::placeholders(&*$tx, part.len(), columns);
            let sql = format!("{} VALUES {} {}", $head, values, $tail);
            let mut $query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for $row in part {
                $query = $bind;
            }
            $query.execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use insert_rows;

/// Runs `$sql` (a format string whose `{}` becomes `$1, $2, …`) once per
/// slice of the project codes `$codes` that fits the bind limit, collecting
/// the rows as `$row` (`fetch_all`) or only executing (`execute`).
macro_rules! for_codes {
    ($tx:ident, $sql:expr, $codes:expr, fetch_all as $row:ty) => {{
        let mut all: Vec<$row> = Vec::new();
        for part in $codes.chunks($crate::sql::MAX_PARAMS) {
            let list = $crate::sql::placeholders(&*$tx, 1, part.len());
            let list = &list[1..list.len() - 1];
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(format!($sql, list)));
            for code in part {
                query = query.bind(code);
            }
            all.extend(query.fetch_all(&mut *$tx).await?);
        }
        all
    }};
    ($tx:ident, $sql:expr, $codes:expr, execute) => {{
        for part in $codes.chunks($crate::sql::MAX_PARAMS) {
            let list = $crate::sql::placeholders(&*$tx, 1, part.len());
            let list = &list[1..list.len() - 1];
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!($sql, list)));
            for code in part {
                query = query.bind(code);
            }
            query.execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use for_codes;

/// Runs `$body` (which may use `?`) inside a write transaction on either
/// backend, `$tx` being the transaction; the SQL in the body is shared (`$n`
/// placeholders work on both). An early return rolls the transaction back.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:block) => {
        match $store {
            $crate::Store::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let result = $body;
                $tx.commit().await?;
                result
            }
            $crate::Store::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let result = $body;
                $tx.commit().await?;
                result
            }
        }
    };
}
pub(crate) use in_transaction;

/// Runs the read `$query` (`$n` placeholders) with `$binds` on either
/// backend and collects every row, as `sqlx::$kind` (`query_as` or
/// `query_scalar`) makes them.
macro_rules! fetch_all_with {
    ($store:expr, $query:expr, $binds:expr, $kind:ident) => {
        match $store {
            $crate::Store::Postgres(pool) => {
                let mut query = sqlx::$kind(sqlx::AssertSqlSafe($query.clone()));
                for bind in $binds {
                    query = query.bind(bind);
                }
                query.fetch_all(pool).await?
            }
            $crate::Store::Sqlite(pool) => {
                let mut query = sqlx::$kind(sqlx::AssertSqlSafe($query.clone()));
                for bind in $binds {
                    query = query.bind(bind);
                }
                query.fetch_all(pool).await?
            }
        }
    };
}
pub(crate) use fetch_all_with;

/// `value` as a BIGINT, or [`StoreError::InvalidEvent`] when it does not fit.
pub(crate) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidEvent(format!("{value} does not fit the database")))
}
