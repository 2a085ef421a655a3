//! SQLite, the embedded default.
//!
//! Writers are serialized: every write transaction takes the database's
//! write lock when it begins (`BEGIN IMMEDIATE`), so positions and feed ids
//! become visible in the order they were taken and the feeds simply follow
//! them, and two appends never wait on each other's locks. The store is
//! embedded in one process, which runs one relay: leadership needs no lock.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, Transaction};

use crate::outbox::RelayLeadership;
use crate::public::ChangeRow;
use crate::query::Sql;
use crate::supervision::{FeedCursor, FeedRow};
use crate::{Backend, ChangeCursor, PoolOptions, StoreError};

pub(crate) mod bulk;
pub(crate) mod direct;

pub(crate) const BACKEND: Backend = Backend::Sqlite;

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../../migrations/sqlite");

/// Whether sqlx's bookkeeping table exists (a database never migrated has none).
pub(crate) const MIGRATIONS_TABLE_EXISTS: &str =
    "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";

/// How long a connection waits for another writer's lock before SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The page size of a new database file (an existing one keeps its own):
/// a rendered timeline entry is about 2 KB, and 4 KB pages held one or two
/// of them, a quarter of the table left empty.
const PAGE_SIZE: u32 = 8192;

/// The connection settings `url` names, before gongkai's own.
pub(crate) fn connect_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    SqliteConnectOptions::from_str(url).map_err(StoreError::BadUrl)
}

/// Connects a pool to the file named by `url`: the file and its directory
/// are created when missing (in [`PAGE_SIZE`] pages), the journal is
/// switched to WAL (busy timeout set first, so a concurrent opener waits
/// instead of failing), every commit is synced to disk (`synchronous =
/// FULL`) and foreign keys are enforced.
pub(crate) async fn connect(url: &str, options: &PoolOptions) -> Result<SqlitePool, StoreError> {
    let connect = connect_options(url)?
        .create_if_missing(true)
        .page_size(PAGE_SIZE)
        .busy_timeout(BUSY_TIMEOUT)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: an acknowledged event survives a power loss, not only a crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true);
    if let Some(dir) = Path::new(connect.get_filename()).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(StoreError::CreateDir)?;
    }
    SqlitePoolOptions::new()
        .max_connections(options.max_connections.min(8))
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await
        .map_err(|source| StoreError::Connect { backend: BACKEND, source })
}

/// Begins a write transaction holding the write lock from the start: a
/// deferred transaction that upgrades from read to write fails with
/// SQLITE_BUSY at once when another writer got there first, while
/// `BEGIN IMMEDIATE` waits for it on the busy timeout.
pub(crate) async fn begin(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// An event id as bound: `event_id` columns are `TEXT`, the canonical
/// hyphenated form.
pub(crate) fn event_id(id: uuid::Uuid) -> String {
    id.hyphenated().to_string()
}

/// What [`suspend_immutability`] lifted, for [`restore_immutability`]: the
/// trigger's definition as the schema holds it.
#[derive(Debug)]
pub(crate) struct Suspended(String);

/// Lets the transaction on `conn` rewrite `events` rows, which the
/// `events_no_update` trigger refuses otherwise: the trigger is dropped
/// inside this transaction and [`restore_immutability`] creates it again
/// from its own definition before the commit. The transaction holds the
/// write lock, so no other connection sees it gone, and a rollback brings
/// it back.
pub(crate) async fn suspend_immutability(conn: &mut SqliteConnection) -> Result<Suspended, StoreError> {
    let definition: Option<String> =
        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_no_update'")
            .fetch_optional(&mut *conn)
            .await?;
    let definition =
        definition.ok_or_else(|| StoreError::Corrupt("the events_no_update trigger is missing".to_owned()))?;
    sqlx::query("DROP TRIGGER events_no_update").execute(&mut *conn).await?;
    Ok(Suspended(definition))
}

/// Creates the trigger [`suspend_immutability`] dropped again, as it was.
pub(crate) async fn restore_immutability(conn: &mut SqliteConnection, suspended: Suspended) -> Result<(), StoreError> {
    // The schema's own text, read from sqlite_master above, never input.
    sqlx::query(AssertSqlSafe(suspended.0)).execute(&mut *conn).await?;
    Ok(())
}

/// No row locks: the transaction holds the write lock.
pub(crate) const FOR_UPDATE: &str = "";

/// How often an append batch tries again for the write lock while another
/// writer holds it.
const WRITE_LOCK_RETRY: Duration = Duration::from_micros(500);

/// An append batch's write transaction: the write lock taken by trying
/// every [`WRITE_LOCK_RETRY`] instead of in SQLite's busy handler.
///
/// The busy handler sleeps 1, 2, 5, 10 … up to 100 ms between tries, so a
/// writer that meets another one (the embedded projector) sleeps through
/// most of the moments the lock is free: in one process, ingestion then
/// spends more time asleep than writing. Trying again every half
/// millisecond takes the lock soon after it is released. The other writers
/// still wait in the busy handler, so ingestion, which callers wait on, goes
/// first; the projector catches up with larger batches.
///
/// The connection holds the transaction (begun and ended with plain
/// statements, so sqlx does not track it): [`AppendTransaction::commit`] or
/// [`AppendTransaction::rollback`] returns it to the pool, and dropping the
/// transaction without either closes the connection, rolling it back,
/// rather than return it to the pool inside a transaction.
#[derive(Debug)]
pub(crate) struct AppendTransaction {
    conn: Option<PoolConnection<Sqlite>>,
}

impl AppendTransaction {
    fn conn(&mut self) -> Result<&mut SqliteConnection, sqlx::Error> {
        self.conn.as_deref_mut().ok_or(sqlx::Error::PoolClosed)
    }

    async fn end(mut self, statement: &'static str) -> Result<(), sqlx::Error> {
        sqlx::query(statement).execute(self.conn()?).await?;
        // Ended: back to the pool.
        drop(self.conn.take());
        Ok(())
    }

    /// Commits the batch.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.end("COMMIT").await
    }

    /// Rolls the batch back.
    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        self.end("ROLLBACK").await
    }
}

impl Drop for AppendTransaction {
    fn drop(&mut self) {
        if let Some(conn) = &mut self.conn {
            conn.close_on_drop();
        }
    }
}

impl std::ops::Deref for AppendTransaction {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        // Only a transaction that has ended has no connection, and it is gone.
        self.conn.as_deref().unwrap_or_else(|| unreachable!("an ended transaction is consumed"))
    }
}

impl std::ops::DerefMut for AppendTransaction {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_deref_mut().unwrap_or_else(|| unreachable!("an ended transaction is consumed"))
    }
}

/// Begins an append batch's write transaction (see [`AppendTransaction`]),
/// giving up, as the busy handler would, once the connection's busy
/// timeout has passed.
pub(crate) async fn begin_append(pool: &SqlitePool) -> Result<AppendTransaction, sqlx::Error> {
    let mut tx = AppendTransaction { conn: Some(pool.acquire().await?) };
    let conn = tx.conn()?;
    sqlx::query("PRAGMA busy_timeout = 0").execute(&mut *conn).await?;
    let deadline = tokio::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            Ok(_) => break,
            Err(error) if is_busy(&error) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(WRITE_LOCK_RETRY).await;
            }
            // The connection's busy timeout is off: it is closed, not reused.
            Err(error) => return Err(error),
        }
    }
    // A constant, not input: PRAGMA takes no parameter.
    let restore = format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis());
    sqlx::query(AssertSqlSafe(restore)).execute(&mut *conn).await?;
    Ok(tx)
}

/// SQLITE_BUSY, whatever its extended code.
fn is_busy(error: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    error
        .as_database_error()
        .and_then(|db| db.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

/// Never: writers are serialized, so no two appends wait on each other.
pub(crate) fn lost_lock_race(_error: &sqlx::Error) -> bool {
    false
}

/// The cursor of the last public change (transaction id 0).
pub(crate) const PUBLIC_CHANGES_HEAD: &str = "SELECT 0, id FROM public_changes ORDER BY id DESC LIMIT 1";

/// Public changes after `after`, in id order (ids become visible in order).
pub(crate) async fn public_changes_after(
    pool: &SqlitePool,
    after: ChangeCursor,
    limit: u32,
) -> Result<Vec<ChangeRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT c.id, c.transaction_id, c.project_code, c.project_seq, c.event_id, c.change, c.fact_type, \
         c.recorded_at, t.entry FROM public_changes c LEFT JOIN public_timeline t \
         ON t.project_code = c.project_code AND t.project_seq = c.project_seq \
         WHERE c.id > $1 ORDER BY c.id LIMIT $2",
    )
    .bind(after.id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?)
}

/// The transaction id (always 0) of the event at position `$1`.
pub(crate) const TRANSACTION_OF_POSITION: &str = "SELECT 0 FROM events WHERE position = $1";

/// Events after `cursor` in position order (positions become visible in
/// order), with their projects' regions.
pub(crate) async fn feed_after(pool: &SqlitePool, cursor: FeedCursor, limit: i64) -> Result<Vec<FeedRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT 0 AS transaction_id, e.position, e.envelope, s.region_code FROM events e \
         JOIN streams s ON s.project_code = e.project_code \
         WHERE e.position > $1 ORDER BY e.position LIMIT $2",
    )
    .bind(cursor.position)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Reads one search page.
pub(crate) async fn fetch_search_page<R>(pool: &SqlitePool, sql: &Sql<'_>) -> Result<Vec<R>, StoreError>
where
    R: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    Ok(sql.fetch_all(pool).await?)
}

/// Leadership is always granted: the one process the store is embedded in
/// runs one relay.
pub(crate) async fn lead_relay(_pool: &SqlitePool) -> Result<Option<RelayLeadership>, StoreError> {
    Ok(Some(RelayLeadership::new(None)))
}

/// No commit horizon: writers are serialized, so rows become visible in
/// position order and never behind a read that passed their positions.
pub(crate) async fn relay_horizon(_pool: &SqlitePool) -> Result<i64, StoreError> {
    Ok(0)
}

/// No row can turn up behind a relay read (see [`relay_horizon`]).
pub(crate) async fn relay_behind(
    _pool: &SqlitePool,
    _horizon: i64,
    _up_to: i64,
) -> Result<(Vec<(i64, String)>, i64), StoreError> {
    Ok((Vec::new(), 0))
}

/// SQLite has no notifications: the embedded site shares the process and
/// hears the in-process signal (`crate::signal`).
pub(crate) const NOTIFY_PUBLIC_CHANGES: Option<&str> = None;

/// Hears the folds of this process, the only writer of an embedded store.
pub(crate) async fn public_change_signal(
    _pool: &SqlitePool,
    local: tokio::sync::watch::Receiver<u64>,
) -> crate::ChangeSignal {
    crate::ChangeSignal::new(local, None).await
}
