//! SQLite, the embedded default.
//!
//! Writers are serialized: every write transaction takes the database's
//! write lock when it begins (`BEGIN IMMEDIATE`), so positions and feed ids
//! become visible in the order they were taken and the feeds simply follow
//! them. Nothing else can write inside a transaction, which is what lets an
//! append's unique violation be classified by looking. The store is
//! embedded in one process, which runs one relay: leadership needs no lock.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{FromRow, Transaction};

use crate::events::Row;
use crate::outbox::RelayLeadership;
use crate::public::ChangeRow;
use crate::query::Sql;
use crate::supervision::{FeedCursor, FeedRow};
use crate::{AppendOutcome, Backend, ChangeCursor, PoolOptions, StoreError};

pub(crate) const BACKEND: Backend = Backend::Sqlite;

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../../migrations/sqlite");

/// Whether sqlx's bookkeeping table exists (a database never migrated has none).
pub(crate) const MIGRATIONS_TABLE_EXISTS: &str =
    "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";

/// Connects a pool to the file named by `url`: the file and its directory
/// are created when missing, the journal is switched to WAL (busy timeout
/// set first, so a concurrent opener waits instead of failing), every
/// commit is synced to disk (`synchronous = FULL`) and foreign keys are
/// enforced.
pub(crate) async fn connect(url: &str, options: &PoolOptions) -> Result<SqlitePool, StoreError> {
    let connect = SqliteConnectOptions::from_str(url)
        .map_err(StoreError::BadUrl)?
        .create_if_missing(true)
        .busy_timeout(Duration::from_secs(10))
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

/// No row locks: the transaction holds the write lock.
pub(crate) const FOR_UPDATE: &str = "";

/// Classifies an append's failed insert by looking, inside the transaction
/// that still holds the write lock, which key is already taken: SQLite
/// names no constraint, and its message text is not an interface.
pub(crate) async fn append_refusal(
    conn: &mut SqliteConnection,
    row: &Row<'_>,
    error: sqlx::Error,
) -> Result<AppendOutcome, StoreError> {
    let unique = error.as_database_error().is_some_and(|db| db.is_unique_violation());
    if !unique {
        return Err(StoreError::Query(error));
    }
    let request_taken: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE source = $1 AND request_id = $2)")
            .bind(row.source)
            .bind(row.request_id)
            .fetch_one(&mut *conn)
            .await?;
    if request_taken {
        return Ok(AppendOutcome::DuplicateRequest);
    }
    let seq_taken: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE project_code = $1 AND project_seq = $2)")
            .bind(row.project_code)
            .bind(row.project_seq)
            .fetch_one(&mut *conn)
            .await?;
    if seq_taken {
        return Ok(AppendOutcome::Conflict);
    }
    // The remaining unique key is event_id: a caller bug, not a race.
    Err(StoreError::Query(error))
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
        "SELECT id, transaction_id, project_code, project_seq, event_id, change, fact_type, recorded_at, \
         entry FROM public_changes WHERE id > $1 ORDER BY id LIMIT $2",
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
