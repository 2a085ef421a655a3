//! PostgreSQL, for production and the real-infrastructure tests.
//!
//! Writers run concurrently under READ COMMITTED, so a position or feed id
//! taken at insert can become visible after a larger one: the feeds here
//! follow transaction ids below the snapshot's `xmin` (see the `public`
//! and `supervision::feed` module docs), the fold locks its head rows, and
//! two batches of appends can deadlock on stream heads, which the append
//! treats as a lost race. The relay leader holds a session-level advisory
//! lock (see the `outbox` module docs).

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow, Postgres};
use sqlx::{ConnectOptions, Connection, FromRow, Transaction};

use crate::outbox::{RELAY_LOCK_KEY, RelayLeadership};
use crate::public::ChangeRow;
use crate::query::Sql;
use crate::supervision::{FeedCursor, FeedRow};
use crate::{Backend, ChangeCursor, PoolOptions, StoreError};

pub(crate) mod bulk;

pub(crate) const BACKEND: Backend = Backend::Postgres;

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../../migrations/postgres");

/// Whether sqlx's bookkeeping table exists (a database never migrated has none).
pub(crate) const MIGRATIONS_TABLE_EXISTS: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";

/// Connects a pool to the database named by `url`.
/// The connection settings `url` names.
pub(crate) fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    PgConnectOptions::from_str(url).map_err(StoreError::BadUrl)
}

pub(crate) async fn connect(url: &str, options: &PoolOptions) -> Result<PgPool, StoreError> {
    let connect = connect_options(url)?;
    PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await
        .map_err(|source| StoreError::Connect { backend: BACKEND, source })
}

/// Begins a write transaction (READ COMMITTED; row locks do the ordering).
pub(crate) async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin().await
}

/// An event id as bound: `event_id` columns are `UUID`.
pub(crate) fn event_id(id: uuid::Uuid) -> uuid::Uuid {
    id
}

/// What [`suspend_immutability`] lifted, for [`restore_immutability`].
#[derive(Debug)]
pub(crate) struct Suspended;

/// Lets the transaction on `conn` rewrite `events` rows, which the
/// `events_immutable` trigger refuses otherwise: the trigger is disabled
/// inside this transaction only (DDL is transactional, so no other
/// transaction sees it off, and a rollback turns it on again). It takes the
/// table's owner, the role that migrates, and a SHARE ROW EXCLUSIVE lock on
/// `events`: writers in flight finish first, new ones wait for the commit.
pub(crate) async fn suspend_immutability(conn: &mut PgConnection) -> Result<Suspended, StoreError> {
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_immutable").execute(&mut *conn).await?;
    Ok(Suspended)
}

/// Turns the trigger [`suspend_immutability`] disabled on again, before
/// the transaction commits.
pub(crate) async fn restore_immutability(conn: &mut PgConnection, _suspended: Suspended) -> Result<(), StoreError> {
    sqlx::query("ALTER TABLE events ENABLE TRIGGER events_immutable").execute(&mut *conn).await?;
    Ok(())
}

/// How the fold locks the head rows it reads, so two projectors never
/// render one project at once.
pub(crate) const FOR_UPDATE: &str = " FOR UPDATE";

/// Begins an append batch's write transaction, as every write transaction
/// begins: row locks do the waiting.
pub(crate) async fn begin_append(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    begin(pool).await
}

/// Whether an append failed only because PostgreSQL broke a deadlock
/// between two batches that lock some of the same stream heads in another
/// order (SQLSTATE 40P01): nothing was written, and deciding again is
/// what a lost race calls for.
pub(crate) fn lost_lock_race(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|db| db.code()).is_some_and(|code| code == "40P01")
}

/// The cursor of the last public change whose transaction has ended.
pub(crate) const PUBLIC_CHANGES_HEAD: &str = "SELECT transaction_id::text::bigint, id FROM public_changes \
     WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
     ORDER BY transaction_id DESC, id DESC LIMIT 1";

/// Public changes after `after` whose transactions have all ended, in
/// `(transaction_id, id)` order.
pub(crate) async fn public_changes_after(
    pool: &PgPool,
    after: ChangeCursor,
    limit: u32,
) -> Result<Vec<ChangeRow>, StoreError> {
    let xid =
        i64::try_from(after.transaction_id).map_err(|_| StoreError::InvalidEvent("cursor out of range".to_owned()))?;
    Ok(sqlx::query_as(
        "SELECT c.id, c.transaction_id::text::bigint, c.project_code, c.project_seq, c.event_id, c.change, \
         c.fact_type, c.recorded_at, t.entry FROM public_changes c LEFT JOIN public_timeline t \
         ON t.project_code = c.project_code AND t.project_seq = c.project_seq \
         WHERE (c.transaction_id, c.id) > ($1::text::xid8, $2) \
           AND c.transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY c.transaction_id, c.id LIMIT $3",
    )
    .bind(xid.to_string())
    .bind(after.id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?)
}

/// The transaction id of the event at position `$1`, as a BIGINT.
pub(crate) const TRANSACTION_OF_POSITION: &str =
    "SELECT CAST(CAST(transaction_id AS TEXT) AS BIGINT) FROM events WHERE position = $1";

/// Events after `cursor` whose transactions have all ended, in
/// `(transaction_id, position)` order, with their projects' regions.
pub(crate) async fn feed_after(pool: &PgPool, cursor: FeedCursor, limit: i64) -> Result<Vec<FeedRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT CAST(CAST(e.transaction_id AS TEXT) AS BIGINT), e.position, e.envelope, s.region_code \
         FROM events e JOIN streams s ON s.project_code = e.project_code \
         WHERE (e.transaction_id, e.position) > (CAST(CAST($1 AS TEXT) AS xid8), $2) \
           AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY e.transaction_id, e.position LIMIT $3",
    )
    .bind(cursor.transaction_id)
    .bind(cursor.position)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Reads one search page with JIT compilation off: the plan's cost counts
/// a scan to the end of the index (the page usually ends far sooner), which
/// makes PostgreSQL spend more time compiling it than running it.
pub(crate) async fn fetch_search_page<R>(pool: &PgPool, sql: &Sql<'_>) -> Result<Vec<R>, StoreError>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
    let rows = sql.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Tries once to take the relay's advisory lock [`RELAY_LOCK_KEY`], on a
/// dedicated connection outside the pool, so that the lock lives exactly as
/// long as the lease; `None` while another relay holds it.
pub(crate) async fn lead_relay(pool: &PgPool) -> Result<Option<RelayLeadership>, StoreError> {
    let options = pool.connect_options().as_ref().clone().application_name("gongkai-relay");
    let mut conn = options.connect().await?;
    // Let the server notice a leader that vanished without closing its
    // socket (power loss, partition) in about 25 s instead of the OS
    // default of hours, so a standby can take over. Ignored on Unix sockets.
    sqlx::query(
        "SELECT set_config('tcp_keepalives_idle', '10', false), \
         set_config('tcp_keepalives_interval', '5', false), \
         set_config('tcp_keepalives_count', '3', false)",
    )
    .execute(&mut conn)
    .await?;
    let locked: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(RELAY_LOCK_KEY).fetch_one(&mut conn).await?;
    if locked {
        return Ok(Some(RelayLeadership::new(Some(RelayLock(conn)))));
    }
    if let Err(error) = conn.close().await {
        tracing::debug!(%error, "Closing the standby's lock connection failed.");
    }
    Ok(None)
}

/// The relay's commit horizon now: the oldest transaction that may still
/// be running (the snapshot's `xmin`), as a number. A row written by an
/// older transaction is visible now or never will be.
pub(crate) async fn relay_horizon(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT)")
        .fetch_one(pool)
        .await?)
}

/// The unpublished rows, not held, at or below position `up_to` that were
/// written by transactions from `horizon` on, which may have committed
/// after a relay read passed their positions, with their projects; and the
/// horizon as of the same snapshot. Found on `events_transaction`, so the
/// check costs the rows written since `horizon`, not the outbox.
pub(crate) async fn relay_behind(
    pool: &PgPool,
    horizon: i64,
    up_to: i64,
) -> Result<(Vec<(i64, String)>, i64), StoreError> {
    let (positions, projects, now): (Vec<i64>, Vec<String>, i64) = sqlx::query_as(
        "WITH behind AS (SELECT e.position, e.project_code FROM events e JOIN outbox o ON o.position = e.position \
         WHERE e.transaction_id >= CAST(CAST($1 AS TEXT) AS xid8) AND e.position <= $2 \
         AND o.published_at IS NULL AND NOT o.held) \
         SELECT ARRAY(SELECT position FROM behind ORDER BY position), \
         ARRAY(SELECT project_code FROM behind ORDER BY position), \
         CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT)",
    )
    .bind(horizon)
    .bind(up_to)
    .fetch_one(pool)
    .await?;
    Ok((positions.into_iter().zip(projects).collect(), now))
}

/// The connection that holds the relay's advisory lock: a session-level
/// lock lives exactly as long as its session.
#[derive(Debug)]
pub(crate) struct RelayLock(PgConnection);

impl RelayLock {
    /// Fails when the connection, and with it the lock, may be gone.
    pub(crate) async fn check(&mut self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&mut self.0).await?;
        Ok(())
    }

    /// Unlocks and closes the connection.
    pub(crate) async fn release(self) -> Result<(), StoreError> {
        let mut conn = self.0;
        let unlocked: Result<bool, sqlx::Error> =
            sqlx::query_scalar("SELECT pg_advisory_unlock($1)").bind(RELAY_LOCK_KEY).fetch_one(&mut conn).await;
        // Closing the session releases the lock whether or not the unlock
        // went through.
        let closed = conn.close().await;
        unlocked?;
        closed?;
        Ok(())
    }
}

/// Run in the fold's transaction when it appended to the public change
/// feed: PostgreSQL delivers the notification to every listening site at
/// commit; `$1` is the channel, `crate::signal::PUBLIC_CHANGES_CHANNEL`.
pub(crate) const NOTIFY_PUBLIC_CHANGES: Option<&str> = Some("SELECT pg_notify($1, '')");

/// Hears the fold's `NOTIFY` (this process's folds included).
pub(crate) async fn public_change_signal(
    pool: &PgPool,
    local: tokio::sync::watch::Receiver<u64>,
) -> crate::ChangeSignal {
    crate::ChangeSignal::new(local, Some(pool)).await
}
