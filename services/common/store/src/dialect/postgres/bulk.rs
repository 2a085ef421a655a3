//! A rebuild's writes on PostgreSQL: the new views are built in their own
//! schema ([`SCHEMA`]), with the live tables' columns, defaults and checks
//! but no index, filled by binary `COPY`, indexed once full, and moved into
//! the live schema in one transaction. Readers see the old tables until it
//! commits; a crash before leaves the schema behind, dropped by the next
//! rebuild.

use chrono::{DateTime, TimeZone, Utc};
use futures_util::{StreamExt as _, TryStreamExt as _};
use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgConnection;
use tokio_util::task::AbortOnDropHandle;

use crate::StoreError;
use crate::dialect::AfterIndex;
use crate::query::Value;

/// The schema a rebuild builds in.
pub(crate) const SCHEMA: &str = "gongkai_rebuild";

/// Where a rebuild builds the table `name`.
pub(crate) fn shadow(name: &str) -> String {
    format!("{SCHEMA}.{name}")
}

/// Drops what an earlier rebuild left, and creates an empty, unindexed copy
/// of each of `tables`, plus the table `staging` (of `staging_columns`: rows
/// that wait for the indexes, never made live).
pub(crate) async fn create(
    conn: &mut PgConnection,
    tables: &[&str],
    staging: &str,
    staging_columns: &str,
) -> Result<(), StoreError> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")))
        .execute(&mut *conn)
        .await?;
    for table in tables {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {SCHEMA}.{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE \
             INCLUDING COMPRESSION) WITH ({NO_AUTOVACUUM})"
        )))
        .execute(&mut *conn)
        .await?;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE UNLOGGED TABLE {SCHEMA}.{staging} {staging_columns}")))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The storage parameters of a table being built: autovacuum keeps off
/// it until it is live. It analyzed each table once its `COPY`s had added
/// enough rows, and building an index waited for its lock until PostgreSQL
/// cancelled it, `deadlock_timeout` (1 s) later; [`index`] analyzes each
/// table once, and [`swap`] gives the live tables autovacuum back.
const NO_AUTOVACUUM: &str = "autovacuum_enabled = false, toast.autovacuum_enabled = false";

/// Drops the rebuild's schema, if any.
pub(crate) async fn drop(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))).execute(&mut *conn).await?;
    Ok(())
}

/// Gives each rebuilt table the live table's indexes and constraints that
/// use one (primary keys, unique), under the same names, then its planner
/// statistics: [`INDEX_CONNECTIONS`] tables at a time (fewer in a smaller
/// pool), each on a connection of `pool`. `tables` name each table with the
/// rows loaded into it. Sorting keys is most of an index build, so the
/// tables with the most rows go first (the larger first among equals): a
/// table of many short rows left to the end was sorted alone there.
/// `then` runs once its table is indexed, in a transaction of its own in
/// that table's place among the builds, while other tables are indexed.
pub(crate) async fn index(pool: &sqlx::PgPool, tables: &[(&str, u64)], then: AfterIndex<'_>) -> Result<(), StoreError> {
    let names: Vec<&str> = tables.iter().map(|(table, _)| *table).collect();
    let sizes: Vec<(String, i64)> = sqlx::query_as(
        "SELECT t, coalesce(pg_total_relation_size(to_regclass($2 || '.' || t)), 0) FROM unnest($1::text[]) t",
    )
    .bind(&names)
    .bind(SCHEMA)
    .fetch_all(pool)
    .await?;
    let size = |table: &str| sizes.iter().find(|(name, _)| name == table).map_or(0, |(_, size)| *size);
    let mut ordered: Vec<(&str, u64)> = tables.to_vec();
    ordered.sort_by_key(|(table, rows)| std::cmp::Reverse((*rows, size(table))));
    let at_once = usize::try_from(pool.options().get_max_connections()).unwrap_or(1).clamp(1, INDEX_CONNECTIONS);
    let (after, statements) = then;
    futures_util::stream::iter(ordered.into_iter().map(|(table, _)| async move {
        index_table(pool, table.to_owned()).await?;
        if table == after {
            let mut tx = pool.begin().await?;
            sqlx::raw_sql(SORT_IN_MEMORY).execute(&mut *tx).await?;
            for statement in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone())).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        Ok::<_, StoreError>(())
    }))
    .buffer_unordered(at_once)
    .try_collect::<()>()
    .await
}

/// Room to sort a large table's keys in memory, for a transaction that
/// builds indexes; that transaction only.
const SORT_IN_MEMORY: &str = "SET LOCAL maintenance_work_mem = '512MB'";

/// How many tables are indexed at once: one sorts while another's heap is
/// read, on both cores of a small server.
const INDEX_CONNECTIONS: usize = 2;

/// Indexes and analyzes the rebuilt `table`, in one transaction.
async fn index_table(pool: &sqlx::PgPool, table: String) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(SORT_IN_MEMORY).execute(&mut *tx).await?;
    let indexes: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT pg_get_indexdef(i.indexrelid), c.conname::text, pg_get_constraintdef(c.oid) \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
         LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = t.oid \
         WHERE t.oid = to_regclass($1) ORDER BY i.indexrelid",
    )
    .bind(&table)
    .fetch_all(&mut *tx)
    .await?;
    for (definition, constraint, constraint_definition) in indexes {
        let statement = match (constraint, constraint_definition) {
            (Some(name), Some(constraint)) => {
                format!("ALTER TABLE {SCHEMA}.{table} ADD CONSTRAINT {name} {constraint}")
            }
            _ => {
                // "CREATE [UNIQUE] INDEX name ON [schema.]table USING …": the same on the copy.
                let (head, _) = definition.split_once(" ON ").ok_or_else(|| unexpected(&definition))?;
                let (_, method) = definition.split_once(" USING ").ok_or_else(|| unexpected(&definition))?;
                format!("{head} ON {SCHEMA}.{table} USING {method}")
            }
        };
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *tx).await?;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("ANALYZE {SCHEMA}.{table}"))).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

fn unexpected(definition: &str) -> StoreError {
    StoreError::InvalidEvent(format!("an index the rebuild cannot copy: {definition}"))
}

/// How the rebuilt public timeline is compared with the live one for the
/// change feed: both read in key order and merged. The planner chose a
/// hash join, which hashed every live entry (a kilobyte or two each) and
/// spilled them to disk; the merge reads each table once, in the order its
/// rows were loaded, on one process, in about half the time. Two parallel
/// workers each read the whole live table, on the cores the index builds
/// beside it need. For the rest of the comparison's transaction only.
pub(crate) const COMPARE_IN_KEY_ORDER: &str =
    "SET LOCAL enable_hashjoin = off; SET LOCAL enable_nestloop = off; SET LOCAL max_parallel_workers_per_gather = 0";

/// Whether the rebuild compares the public timelines for the change feed
/// beside the index builds, out of its final transaction, which the live
/// projector waits for: yes, on a server that runs both at once.
pub(crate) const COMPARE_BESIDE_INDEXES: bool = true;

/// Holds off the live projector until the transaction ends: its fold
/// begins by writing `projector_heads`, which this lock excludes, while
/// readers go on.
pub(crate) const HOLD_LIVE_FOLD: &str = "LOCK TABLE projector_heads IN EXCLUSIVE MODE";

/// Moves the rebuilt tables into the live schema in place of the old ones
/// (which are dropped), with the old tables' grants, and drops the
/// rebuild's `scratch` tables and schema. Run last in the
/// rebuild's final transaction: it takes every old table's exclusive lock
/// at once, when no one holds any, and readers wait from then to the
/// commit.
pub(crate) async fn swap(conn: &mut PgConnection, tables: &[&str], scratch: &[&str]) -> Result<(), StoreError> {
    let grants: Vec<String> = sqlx::query_scalar(
        "SELECT format('GRANT %s ON %s.%I TO %s', string_agg(privilege_type, ', '), $2::text, table_name, \
         CASE WHEN grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(grantee) END) \
         FROM information_schema.role_table_grants \
         WHERE table_schema = current_schema() AND table_name = ANY($1) AND grantee <> current_user \
         GROUP BY table_name, grantee",
    )
    .bind(tables)
    .bind(SCHEMA)
    .fetch_all(&mut *conn)
    .await?;
    for grant in grants {
        sqlx::raw_sql(sqlx::AssertSqlSafe(grant)).execute(&mut *conn).await?;
    }
    let live: String = sqlx::query_scalar("SELECT current_schema()::text").fetch_one(&mut *conn).await?;
    let mut statement = String::new();
    for table in tables {
        statement.push_str(&format!(
            "DROP TABLE {table}; ALTER TABLE {SCHEMA}.{table} SET SCHEMA {live}; \
             ALTER TABLE {live}.{table} RESET (autovacuum_enabled, toast.autovacuum_enabled);"
        ));
    }
    for table in scratch {
        statement.push_str(&format!("DROP TABLE IF EXISTS {SCHEMA}.{table}; "));
    }
    statement.push_str(&format!("DROP SCHEMA {SCHEMA}"));
    // Every old table at once, or none: a reader may hold one old table and
    // wait for another (a supervisor's timeline reads the full view, then
    // the public one), so a swap that took the tables one by one, waiting
    // for each, met such readers halfway and could only give way after a
    // timeout. `NOWAIT` takes all of them in a moment no one holds any, and
    // never holds one while it waits. Now and then it waits for each table
    // alone instead, holding nothing else (so no reader can be caught in a
    // deadlock with it), for longer than `deadlock_timeout`: autovacuum,
    // which holds a large table for minutes, gives way to a lock that waits
    // that long. Each try starts from a savepoint: nothing done before it in
    // the transaction is done again.
    let take_all = format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT", tables.join(", "));
    for attempt in 1..=SWAP_TRIES {
        sqlx::raw_sql("SAVEPOINT swap").execute(&mut *conn).await?;
        match sqlx::raw_sql(sqlx::AssertSqlSafe(take_all.clone())).execute(&mut *conn).await {
            Ok(_) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *conn).await?;
                return Ok(());
            }
            Err(error) if lock_timed_out(&error) => {
                sqlx::raw_sql("ROLLBACK TO SAVEPOINT swap").execute(&mut *conn).await?;
            }
            Err(error) => return Err(error.into()),
        }
        if attempt % WAIT_EVERY == 0 {
            tracing::info!(attempt, "Rebuild: the old views are busy; waiting for each in turn.");
            for table in tables {
                wait_for(conn, table).await?;
            }
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    Err(StoreError::InvalidEvent(format!(
        "the rebuilt views were not put in place: the old ones stayed busy through {SWAP_TRIES} tries"
    )))
}

/// Waits for `table` alone, as long as its lock timeout allows, and lets it
/// go: whoever held it then was done with it, or was autovacuum, which
/// stopped.
async fn wait_for(conn: &mut PgConnection, table: &str) -> Result<(), StoreError> {
    sqlx::raw_sql("SAVEPOINT wait").execute(&mut *conn).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET LOCAL lock_timeout = '{WAIT_TIMEOUT}'; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
    )))
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .or_else(|error| if lock_timed_out(&error) { Ok(()) } else { Err(error) })?;
    // Lets the table go, and the setting with it.
    sqlx::raw_sql("ROLLBACK TO SAVEPOINT wait").execute(&mut *conn).await?;
    Ok(())
}

/// How long [`wait_for`] waits: beyond PostgreSQL's default
/// `deadlock_timeout` (1 s), after which a waiting lock stops autovacuum.
const WAIT_TIMEOUT: &str = "1500ms";

/// Every how many tries [`swap`] waits for each table in turn (the others
/// are 10 ms apart).
const WAIT_EVERY: u64 = 20;

/// How many times [`swap`] tries to take the old tables before the
/// rebuild fails, leaving them as they were.
const SWAP_TRIES: u64 = 600;

/// Whether `error` is a lock the swap gave up on: one it could not take
/// at once, or the lock timeout of [`wait_for`] (both SQLSTATE 55P03), or
/// a deadlock PostgreSQL broke against it (40P01).
fn lock_timed_out(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|db| db.code()).is_some_and(|code| code == "55P03" || code == "40P01")
}

/// Writes rows of `width` `values` each into `table` (its `columns`, in
/// order) with one binary `COPY`.
pub(crate) async fn insert(
    conn: &mut PgConnection,
    table: &str,
    columns: &str,
    width: usize,
    values: &[Value<'_>],
) -> Result<(), StoreError> {
    match Copy::encode(table, columns, width, values)? {
        Some(copy) => copy.run(conn).await,
        None => Ok(()),
    }
}

/// One table's rows encoded for a binary `COPY`, owned: ready to be sent
/// by another task while the next are encoded.
pub(crate) struct Copy {
    statement: String,
    data: Vec<Vec<u8>>,
}

impl Copy {
    /// Rows of `width` `values` each for `table`'s `columns`; `None` when
    /// there are none.
    pub(crate) fn encode(
        table: &str,
        columns: &str,
        width: usize,
        values: &[Value<'_>],
    ) -> Result<Option<Self>, StoreError> {
        if values.is_empty() || width == 0 {
            return Ok(None);
        }
        let mut data = CopyData::new();
        for row in values.chunks_exact(width) {
            data.row(row)?;
        }
        let statement = format!("COPY {table} ({columns}) FROM STDIN (FORMAT binary)");
        Ok(Some(Copy { statement, data: data.finish() }))
    }

    /// Its size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.data.iter().map(Vec::len).sum()
    }

    async fn run(&self, conn: &mut PgConnection) -> Result<(), StoreError> {
        let mut copy = conn.copy_in_raw(&self.statement).await?;
        for chunk in &self.data {
            copy.send(chunk.as_slice()).await?;
        }
        copy.finish().await?;
        Ok(())
    }
}

/// A connection copying batches on a task of its own, each batch (its
/// tables' [`Copy`]s) in one transaction, while the caller encodes the
/// next: one encoding everything and then sending it left the server
/// waiting for the client about half the time. One batch waits while
/// another is copied.
pub(crate) struct Copier {
    batches: Option<tokio::sync::mpsc::Sender<Vec<Copy>>>,
    /// The task, until it has been waited for; it gives the connection back.
    task: Option<AbortOnDropHandle<Result<PoolConnection<Postgres>, StoreError>>>,
}

impl std::fmt::Debug for Copier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Copier").field("running", &self.task.is_some()).finish_non_exhaustive()
    }
}

impl Copier {
    /// Starts copying on `conn`. A rebuild dropped unfinished (its process
    /// stopping, or a test) aborts the task, which drops the connection
    /// halfway through a batch: it is closed, not returned to the pool,
    /// and takes the batch's transaction with it at once.
    pub(crate) fn start(mut conn: PoolConnection<Postgres>) -> Self {
        conn.close_on_drop();
        let (batches, mut received) = tokio::sync::mpsc::channel::<Vec<Copy>>(1);
        let task = tokio::spawn(async move {
            while let Some(batch) = received.recv().await {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                for copy in &batch {
                    copy.run(&mut tx).await?;
                }
                tx.commit().await?;
            }
            Ok(conn)
        });
        Copier { batches: Some(batches), task: Some(AbortOnDropHandle::new(task)) }
    }

    /// Hands `batch` to the task, once it has room. An error is the task's
    /// on an earlier batch.
    pub(crate) async fn copy(&mut self, batch: Vec<Copy>) -> Result<(), StoreError> {
        let sent = match &self.batches {
            Some(batches) => batches.send(batch).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The task stopped: on an error, which it returns.
        self.batches = None;
        self.stopped().await?;
        Err(StoreError::Stopped("the rebuild's copying stopped before its last batch".into()))
    }

    /// Waits for every batch handed over to be copied and committed, and
    /// gives the connection back; `None` when an error was already returned.
    pub(crate) async fn finish(mut self) -> Result<Option<PoolConnection<Postgres>>, StoreError> {
        self.batches = None;
        self.stopped().await
    }

    async fn stopped(&mut self) -> Result<Option<PoolConnection<Postgres>>, StoreError> {
        let Some(task) = self.task.take() else { return Ok(None) };
        match task.await {
            Ok(result) => result.map(Some),
            Err(failure) => Err(StoreError::Stopped(format!("the rebuild's copying task failed: {failure}"))),
        }
    }
}

/// Rows in PostgreSQL's binary `COPY` format: a header, each row as its
/// field count and each field as its length (-1 for NULL) and its binary
/// send form, and a trailer; in chunks of about [`CHUNK`] bytes (whole
/// rows), each sent as one message.
struct CopyData {
    chunks: Vec<Vec<u8>>,
    chunk: Vec<u8>,
}

/// The size of a chunk of [`CopyData`]. Buffers of a whole table's share
/// of a batch (tens of megabytes) were fresh memory from the system for
/// every batch, and again in the driver's send buffer: the kernel zeroing
/// their pages cost more than encoding them.
const CHUNK: usize = 256 << 10;

/// An empty chunk with room for the row that takes it past [`CHUNK`].
fn fresh_chunk() -> Vec<u8> {
    Vec::with_capacity(CHUNK + (CHUNK >> 2))
}

impl CopyData {
    fn new() -> Self {
        let mut chunk = fresh_chunk();
        chunk.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        // Flags, then the header extension's length.
        chunk.extend_from_slice(&0_i32.to_be_bytes());
        chunk.extend_from_slice(&0_i32.to_be_bytes());
        CopyData { chunks: Vec::new(), chunk }
    }

    fn row(&mut self, fields: &[Value<'_>]) -> Result<(), StoreError> {
        let count = i16::try_from(fields.len()).map_err(|_| too_large("row"))?;
        self.chunk.extend_from_slice(&count.to_be_bytes());
        for field in fields {
            match field {
                Value::Text(text) => self.field(text.as_bytes())?,
                Value::Bytes(bytes) | Value::MaybeBytes(Some(bytes)) => self.field(bytes)?,
                Value::Int(value) | Value::MaybeInt(Some(value)) => self.field(&value.to_be_bytes())?,
                // NULL: a field length of -1 and no bytes.
                Value::MaybeInt(None) | Value::MaybeBytes(None) => {
                    self.chunk.extend_from_slice(&(-1_i32).to_be_bytes())
                }
                Value::Time(time) => self.field(&microseconds_since_2000(time)?.to_be_bytes())?,
                Value::Uuid(id) => self.field(id.as_bytes())?,
            }
        }
        if self.chunk.len() >= CHUNK {
            self.chunks.push(std::mem::replace(&mut self.chunk, fresh_chunk()));
        }
        Ok(())
    }

    fn field(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let length = i32::try_from(bytes.len()).map_err(|_| too_large("field"))?;
        self.chunk.extend_from_slice(&length.to_be_bytes());
        self.chunk.extend_from_slice(bytes);
        Ok(())
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        self.chunk.extend_from_slice(&(-1_i16).to_be_bytes());
        self.chunks.push(self.chunk);
        self.chunks
    }
}

fn too_large(what: &str) -> StoreError {
    StoreError::InvalidEvent(format!("a {what} too large to copy"))
}

/// A `timestamptz` as PostgreSQL sends it: microseconds since 2000-01-01 UTC.
fn microseconds_since_2000(time: &DateTime<Utc>) -> Result<i64, StoreError> {
    let epoch = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single().expect("a valid instant");
    (*time - epoch).num_microseconds().ok_or_else(|| StoreError::InvalidEvent(format!("time out of range: {time}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_format_frames_every_field() {
        let mut data = CopyData::new();
        let time = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1).single().unwrap();
        data.row(&[Value::from("ab"), Value::Int(-2), Value::MaybeInt(None), Value::Time(time)]).unwrap();
        let bytes = data.finish().concat();
        let mut expected = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec();
        expected.extend_from_slice(&[0, 4, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 8]);
        expected.extend_from_slice(&(-2_i64).to_be_bytes());
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 8]);
        expected.extend_from_slice(&1_000_000_i64.to_be_bytes());
        expected.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn the_rows_come_in_chunks_of_whole_rows() {
        let text = "x".repeat(100 << 10);
        let mut data = CopyData::new();
        for _ in 0..5 {
            data.row(&[Value::from(text.as_str())]).unwrap();
        }
        let chunks = data.finish();
        let row = 2 + 4 + text.len();
        // The header and three rows reach a chunk's size; two rows and the trailer follow.
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [19 + 3 * row, 2 * row + 2]);
        let whole = chunks.concat();
        assert!(whole.starts_with(b"PGCOPY\n\xff\r\n\0") && whole.ends_with(&[0xff, 0xff]));
    }

    /// A table whose rows a test copies: a check refuses 0 and below.
    async fn copied_table() -> sqlx::PgPool {
        let url = gongkai_testkit::fresh_postgres_database().await;
        let pool = sqlx::PgPool::connect(&url).await.expect("connects");
        sqlx::raw_sql("CREATE TABLE copied (n BIGINT NOT NULL CHECK (n > 0))").execute(&pool).await.expect("table");
        pool
    }

    fn numbers(numbers: &[i64]) -> Copy {
        let values: Vec<Value<'_>> = numbers.iter().map(|n| Value::Int(*n)).collect();
        Copy::encode("copied", "n", 1, &values).expect("encodes").expect("rows")
    }

    async fn count(pool: &sqlx::PgPool) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM copied").fetch_one(pool).await.expect("counts")
    }

    #[tokio::test]
    async fn a_copier_commits_each_batch_and_reports_the_one_that_failed_when_finishing() {
        let pool = copied_table().await;
        let mut copier = Copier::start(pool.acquire().await.expect("a connection"));
        copier.copy(vec![numbers(&[1, 2]), numbers(&[3])]).await.expect("handed over");
        copier.copy(vec![numbers(&[4]), numbers(&[5, -1])]).await.expect("handed over");
        let error = copier.finish().await.expect_err("the second batch failed");
        assert!(matches!(error, StoreError::Query(_)), "the database's refusal: {error:?}");
        assert_eq!(count(&pool).await, 3, "the first batch whole, nothing of the second");
    }

    #[tokio::test]
    async fn a_copier_refuses_batches_after_one_failed() {
        let pool = copied_table().await;
        let mut copier = Copier::start(pool.acquire().await.expect("a connection"));
        copier.copy(vec![numbers(&[0])]).await.expect("handed over");
        let refused = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                if let Err(error) = copier.copy(vec![numbers(&[7])]).await {
                    return error;
                }
            }
        })
        .await
        .expect("refused within 10 s");
        assert!(matches!(refused, StoreError::Query(_)), "the failed batch's error: {refused:?}");
        assert!(copier.finish().await.expect("reported before").is_none(), "no connection to give back");
        assert_eq!(count(&pool).await, 0, "nothing after the failed batch was copied");
    }
}
