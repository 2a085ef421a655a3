//! Storage for gongkai, selected by URL: `postgres://…` in production,
//! `sqlite://…` for the embedded default.
//!
//! Both backends go through sqlx and carry the same logical schema, kept as two
//! migration sets under `migrations/postgres` and `migrations/sqlite` because
//! their SQL dialects differ (sequences, triggers, types). Callers hold a
//! [`Store`] and never see which backend is behind it unless they ask.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

mod bulk;
mod events;
mod heads;
mod outbox;
mod public;
mod rows;
mod sql;
mod supervision;
mod views;

pub use bulk::StreamEvent;
pub use events::{AppendOutcome, EventCounts, NewEvent, StoredEvent};
pub use outbox::*;
pub use public::*;
pub use rows::{ProjectRow, ProjectViewRows, TimelineRow};
pub use supervision::*;
pub use views::{ParkedProject, ProjectEvents, Projected, Unrenderable, View};

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../../migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../../migrations/sqlite");

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
    /// An event handed to [`Store::append`] cannot be stored as given
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

/// A connection pool to one of the supported backends.
#[derive(Debug, Clone)]
pub enum Store {
    /// A PostgreSQL pool.
    Postgres(PgPool),
    /// A SQLite pool.
    Sqlite(SqlitePool),
}

impl Store {
    /// Connects to the database named by `url`.
    ///
    /// For SQLite the file and its directory are created when missing, the
    /// journal is switched to WAL (busy timeout set first, so a concurrent
    /// opener waits instead of failing), every commit is synced to disk
    /// (`synchronous = FULL`) and foreign keys are enforced.
    pub async fn connect(url: &str, pool: &PoolOptions) -> Result<Self, StoreError> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url).map_err(StoreError::BadUrl)?;
                let pool = PgPoolOptions::new()
                    .max_connections(pool.max_connections)
                    .acquire_timeout(pool.acquire_timeout)
                    .connect_with(options)
                    .await
                    .map_err(|source| StoreError::Connect { backend: Backend::Postgres, source })?;
                Ok(Store::Postgres(pool))
            }
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(StoreError::BadUrl)?
                    .create_if_missing(true)
                    .busy_timeout(Duration::from_secs(10))
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: an acknowledged event survives a power loss, not only a crash.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true);
                if let Some(dir) = Path::new(options.get_filename()).parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(StoreError::CreateDir)?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(pool.max_connections.min(8))
                    .acquire_timeout(pool.acquire_timeout)
                    .connect_with(options)
                    .await
                    .map_err(|source| StoreError::Connect { backend: Backend::Sqlite, source })?;
                Ok(Store::Sqlite(pool))
            }
            other => Err(StoreError::UnsupportedScheme(other.to_owned())),
        }
    }

    /// Which backend this store talks to.
    pub fn backend(&self) -> Backend {
        match self {
            Store::Postgres(_) => Backend::Postgres,
            Store::Sqlite(_) => Backend::Sqlite,
        }
    }

    fn migrator(&self) -> &'static Migrator {
        match self {
            Store::Postgres(_) => &POSTGRES_MIGRATIONS,
            Store::Sqlite(_) => &SQLITE_MIGRATIONS,
        }
    }

    /// Applies every pending migration; safe to run repeatedly and concurrently
    /// (sqlx takes a database lock for the duration).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let backend = self.backend();
        let result = match self {
            Store::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
            Store::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
        };
        result.map_err(|source| StoreError::Migrate { backend, source })
    }

    /// Fails with [`StoreError::SchemaBehind`] unless every migration this
    /// build ships has been applied. Components other than `migrate` call
    /// this at start-up instead of migrating themselves.
    pub async fn ensure_migrated(&self) -> Result<(), StoreError> {
        let expected = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        // A database that was never migrated has no bookkeeping table at all.
        let has_table: bool = match self {
            Store::Postgres(pool) => {
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(pool).await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                )
                .fetch_one(pool)
                .await?
            }
        };
        let query = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
        let applied: Option<i64> = match (self, has_table) {
            (_, false) => None,
            (Store::Postgres(pool), true) => sqlx::query_scalar(query).fetch_one(pool).await?,
            (Store::Sqlite(pool), true) => sqlx::query_scalar(query).fetch_one(pool).await?,
        };
        let applied = applied.unwrap_or(0);
        if applied < expected {
            return Err(StoreError::SchemaBehind { applied, expected });
        }
        Ok(())
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
            Store::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
        }
        Ok(())
    }

    /// Closes every connection, waiting for checked-out ones to return.
    pub async fn close(&self) {
        match self {
            Store::Postgres(pool) => pool.close().await,
            Store::Sqlite(pool) => pool.close().await,
        }
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
}
