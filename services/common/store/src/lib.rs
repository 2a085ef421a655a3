//! Storage for gongkai, selected by URL: `postgres://…` in production,
//! `sqlite://…` for the embedded default.
//!
//! The crate owns the event store (events, streams, the outbox, compliance
//! flags), the read model the projector folds them into (both views, the
//! supervision index, the public change feed) and the supervisors' audit
//! trail. Both backends go through sqlx and carry the same logical schema,
//! kept as two migration sets under `migrations/postgres` and
//! `migrations/sqlite` because their SQL dialects differ (sequences,
//! triggers, types); `tests/schema.rs` checks that they agree.
//!
//! # Roles
//!
//! A [`Store`] connects, migrates and closes; components never hold one.
//! Each gets only its role, a cheap clone of the one database handle that
//! offers what its component may do and nothing else, so the compiler
//! checks what each component touches:
//!
//! | role | held by | may |
//! |---|---|---|
//! | [`EventStore`] | ingestion, the bulk loader | append events, read streams and requests back |
//! | [`Outbox`] | relay | read, mark and park the outbox; lead the relays |
//! | [`EventLog`] | projector on the embedded log, rebuild | read the log in position or project order |
//! | [`Projections`] | projector | fold events into the read model, reset it, say how far it got |
//! | [`PublicReader`] | site | read the public side of the read model and its change feed |
//! | [`SupervisionReader`] | supervision | read the full side, flags, the commit-safe feed, the transparency log (for proofs); keep the audit trail |
//! | [`ChainMigration`] | `gongkai chains migrate` | list projects, read streams, rewrite a chain once and record it |
//!
//! On PostgreSQL the site's database role can read the public tables only
//! (`migrations/postgres/0004_public_feed.sql`), which backs [`PublicReader`]
//! up at the database.
//!
//! # Layout
//!
//! `db` is the handle and the one place that picks a backend; `dialect` has
//! what really differs between the backends, one file each; `query` builds
//! the statements that are not fixed (filters, code lists, multi-row
//! inserts). The rest is by concern: `events` and `bulk` (appending),
//! `outbox`, `log`, `views` (the fold and its readers), `public`,
//! `promptness` (the public promptness counts the fold keeps),
//! `supervision`, `chains` (the one rewrite of the hash chains), with the
//! rows the projector renders in `rows`.

use std::time::Duration;

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

mod bulk;
mod chains;
mod db;
mod dialect;
mod events;
mod full_entry;
mod heads;
mod log;
mod outbox;
mod promptness;
mod public;
mod query;
mod roles;
mod rows;
mod signal;
mod supervision;
mod tlog;
mod views;

pub use bulk::StreamEvent;
pub use chains::{ChainRewrite, MigratedChain};
pub use events::{AppendOutcome, EventCounts, NewEvent, StoredEvent};
pub use full_entry::stored_full_entry;
pub use outbox::{OutboxCursor, OutboxRead, OutboxRecord, RELAY_LOCK_KEY, RelayLeadership, RelayParked};
pub use promptness::{ExpectedDisclosure, PromptnessCount, PromptnessRow, PromptnessScope};
pub use public::{
    ChangeCursor, ProjectFilter, PublicChange, PublicDisclosure, PublicProject, RegionLevel, StageTotals,
};
pub use roles::{
    ChainMigration, EventLog, EventStore, Outbox, Projections, PublicReader, SupervisionReader, TransparencyLog,
};
pub use rows::{ProjectRow, ProjectViewRows, TimelineRow};
pub use signal::ChangeSignal;
pub use supervision::{
    AmountColumn, AuditQuery, AuditRow, DeadlineRow, DisclosureTiming, FeedCursor, FlagHit, FlagQuery, ProjectCursor,
    ProjectHit, ProjectQuery, SearchRow, SupervisionRows, Window,
};
pub use tlog::{EventKey, Hash32, LeafRow, LogHead, LoggedEvent, LoggedRecord, NewLeaf, StoredCheckpoint};
pub use views::{
    Forgetful, Memory, ParkedProject, ProjectEvents, Projected, REBUILT_TABLES, RebuildFrom, RebuiltProject,
    Remembered, Renderer, Unrenderable, View, ViewChanges, ViewRebuild,
};

use crate::db::{Db, dispatch};

/// The default storage URL: a SQLite file in the working directory's `data/`.
pub const DEFAULT_STORAGE_URL: &str = "sqlite://data/gongkai.db";

/// Failures of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names a scheme no backend understands.
    #[error("storage URL scheme `{0}` is not supported (use postgres:// or sqlite://)")]
    UnsupportedScheme(String),
    /// The URL could not be parsed.
    #[error("storage URL is malformed")]
    BadUrl(#[source] sqlx::Error),
    /// The directory for a SQLite file could not be created.
    #[error("could not create the directory for the SQLite database")]
    CreateDir(#[source] std::io::Error),
    /// The database could not be reached.
    #[error("could not connect to the {backend} database")]
    Connect {
        /// Which backend was being reached.
        backend: Backend,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("could not apply the {backend} migrations")]
    Migrate {
        /// Which backend was being migrated.
        backend: Backend,
        /// The migrator's error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// The database has not been migrated to what this build expects.
    #[error("the database schema is at version {applied} but this build needs {expected}: run `gongkai migrate`")]
    SchemaBehind {
        /// Highest migration version applied in the database.
        applied: i64,
        /// Highest migration version this build ships.
        expected: i64,
    },
    /// A query failed.
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    /// A statement run on a SQLite connection's own handle (bulk inserts
    /// and reads) failed.
    #[error("SQLite statement failed")]
    Sqlite(#[from] rusqlite::Error),
    /// An event handed to [`EventStore::append`] cannot be stored as given
    /// (malformed id, hash, timestamp or domain); nothing was written.
    #[error("event cannot be stored: {0}")]
    InvalidEvent(String),
    /// The stream is at `project_seq - 1` but its head hash is not the
    /// event's `prev_hash`: the caller chained the event to the wrong head.
    #[error("prev_hash of event {project_seq} of project {project_code} is not the stream's head hash")]
    ChainMismatch {
        /// The project whose stream was appended to.
        project_code: String,
        /// The refused event's `project_seq`.
        project_seq: u64,
    },
    /// [`ChainMigration::rewrite_chain`] was refused and wrote nothing: the
    /// stream moved since it was read (a writer appended), its stored events
    /// are not the ones given, or the project was rewritten before.
    #[error("the chain of project {project_code} was not rewritten: {reason}")]
    RewriteRefused {
        /// The project.
        project_code: String,
        /// Why.
        reason: &'static str,
    },
    /// A task the store ran work on stopped without finishing it (a
    /// rebuild's copying, after a panic or an earlier error).
    #[error("{0}")]
    Stopped(String),
    /// A stored row could not be read back (undecodable envelope, wrong
    /// hash length): the database holds data this build did not write.
    #[error("stored event data is corrupt: {0}")]
    Corrupt(String),
}

/// Which database is behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL, for production and the real-infrastructure tests.
    Postgres,
    /// SQLite, the embedded default.
    Sqlite,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        })
    }
}

/// Connection pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Upper bound of open connections.
    pub max_connections: u32,
    /// How long to wait for a connection before failing.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(10) }
    }
}

/// A connection pool to the database named by a storage URL: it connects,
/// migrates and closes, and hands out the roles (see the crate docs).
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    changes: signal::PublicChanges,
}

/// The pool behind a [`Store`], for what no role offers.
#[derive(Debug, Clone, Copy)]
pub enum Pool<'a> {
    /// A PostgreSQL pool.
    Postgres(&'a PgPool),
    /// A SQLite pool.
    Sqlite(&'a SqlitePool),
}

impl<'a> From<&'a PgPool> for Pool<'a> {
    fn from(pool: &'a PgPool) -> Self {
        Pool::Postgres(pool)
    }
}

impl<'a> From<&'a SqlitePool> for Pool<'a> {
    fn from(pool: &'a SqlitePool) -> Self {
        Pool::Sqlite(pool)
    }
}

impl Store {
    /// Connects to the database named by `url`.
    ///
    /// For SQLite the file and its directory are created when missing, the
    /// journal is switched to WAL (busy timeout set first, so a concurrent
    /// opener waits instead of failing), every commit is synced to disk
    /// (`synchronous = FULL`) and foreign keys are enforced.
    pub async fn connect(url: &str, pool: &PoolOptions) -> Result<Self, StoreError> {
        let db = match Self::check_url(url)? {
            Backend::Postgres => Db::Postgres(dialect::postgres::connect(url, pool).await?),
            Backend::Sqlite => Db::Sqlite(dialect::sqlite::connect(url, pool).await?),
        };
        Ok(Store { db, changes: signal::PublicChanges::default() })
    }

    /// The backend [`Store::connect`] would use for `url`, or why it could
    /// not use it, without connecting (a configuration check).
    pub fn check_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => {
                dialect::postgres::connect_options(url)?;
                Ok(Backend::Postgres)
            }
            "sqlite" => {
                dialect::sqlite::connect_options(url)?;
                Ok(Backend::Sqlite)
            }
            other => Err(StoreError::UnsupportedScheme(other.to_owned())),
        }
    }

    /// Which backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// Applies every pending migration; safe to run repeatedly and concurrently
    /// (sqlx takes a database lock for the duration).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let backend = self.backend();
        dispatch!(&self.db, |pool, dialect| dialect::MIGRATOR.run(pool).await)
            .map_err(|source| StoreError::Migrate { backend, source })
    }

    /// Fails with [`StoreError::SchemaBehind`] unless every migration this
    /// build ships has been applied. Components other than `migrate` call
    /// this at start-up instead of migrating themselves.
    pub async fn ensure_migrated(&self) -> Result<(), StoreError> {
        let (expected, applied): (i64, Option<i64>) = dispatch!(&self.db, |pool, dialect| {
            let expected = dialect::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
            let has_table: bool = sqlx::query_scalar(dialect::MIGRATIONS_TABLE_EXISTS).fetch_one(pool).await?;
            let applied = if has_table {
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(pool).await?
            } else {
                None
            };
            (expected, applied)
        });
        let applied = applied.unwrap_or(0);
        if applied < expected {
            return Err(StoreError::SchemaBehind { applied, expected });
        }
        Ok(())
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }

    /// Closes every connection, waiting for checked-out ones to return.
    pub async fn close(&self) {
        self.db.close().await
    }

    /// The pool itself, past every role: for tests that tamper with rows,
    /// hold a transaction open or compare the schemas, and for benchmarks
    /// that load data by hand. Components get roles, never this.
    pub fn pool(&self) -> Pool<'_> {
        dispatch!(&self.db, |pool| Pool::from(pool))
    }

    /// The event store: appending and reading streams back (ingestion).
    pub fn events(&self) -> EventStore {
        EventStore { db: self.db.clone() }
    }

    /// The outbox (the relay).
    pub fn outbox(&self) -> Outbox {
        Outbox { db: self.db.clone() }
    }

    /// The transparency log's tables (the log's sequencer and signer).
    pub fn transparency_log(&self) -> TransparencyLog {
        TransparencyLog { db: self.db.clone() }
    }

    /// The log in position or project order (the embedded projector, rebuild).
    pub fn log(&self) -> EventLog {
        EventLog { db: self.db.clone() }
    }

    /// The read model's writer (the projector).
    pub fn projections(&self) -> Projections {
        Projections { db: self.db.clone(), changes: self.changes.clone() }
    }

    /// The public side of the read model (the site).
    pub fn public(&self) -> PublicReader {
        PublicReader { db: self.db.clone(), changes: self.changes.clone(), signal: self.db.clone() }
    }

    /// The full side of the read model, flags, the feed and the audit trail
    /// (supervision).
    pub fn supervision(&self) -> SupervisionReader {
        SupervisionReader { db: self.db.clone(), audit: self.db.clone() }
    }

    /// The site's role reading from `replica`, a streaming replica of this
    /// store: pages and the change feed come from the replica, while this
    /// store's commits wake the feed's reader (a standby cannot LISTEN). The
    /// feed is commit-safe on a replica too: a transaction the replica has
    /// not replayed yet holds the feed back, never skips it, and the reader's
    /// timer picks it up once replayed.
    pub fn public_reading_from(&self, replica: &Store) -> PublicReader {
        PublicReader { db: replica.db.clone(), changes: self.changes.clone(), signal: self.db.clone() }
    }

    /// Supervision reading from `replica`, a streaming replica of this store,
    /// and writing its audit trail here.
    pub fn supervision_reading_from(&self, replica: &Store) -> SupervisionReader {
        SupervisionReader { db: replica.db.clone(), audit: self.db.clone() }
    }

    /// The one rewrite of the hash chains (`gongkai chains migrate`).
    pub fn chain_migration(&self) -> ChainMigration {
        ChainMigration { db: self.db.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_scheme_is_a_typed_error() {
        let error = Store::connect("mysql://localhost/x", &PoolOptions::default()).await.unwrap_err();
        assert!(matches!(error, StoreError::UnsupportedScheme(scheme) if scheme == "mysql"));
    }

    #[test]
    fn urls_are_checked_without_connecting() {
        assert_eq!(Store::check_url("postgres://gongkai:secret@db.invalid:5432/gongkai").unwrap(), Backend::Postgres);
        assert_eq!(Store::check_url("postgresql://db.invalid/gongkai").unwrap(), Backend::Postgres);
        assert_eq!(Store::check_url("sqlite://data/gongkai.db").unwrap(), Backend::Sqlite);
        assert!(matches!(Store::check_url("postgres://db.invalid:port/x"), Err(StoreError::BadUrl(_))));
        assert!(matches!(Store::check_url("mysql://db/x"), Err(StoreError::UnsupportedScheme(s)) if s == "mysql"));
        assert!(matches!(Store::check_url(""), Err(StoreError::UnsupportedScheme(_))));
    }
}
