//! The one database handle, a pool of either backend, and the one place that
//! chooses between them.
//!
//! Every query is written once, inside [`dispatch!`] or [`in_transaction!`],
//! which expand the same body for both pools: sqlx gives both the same API,
//! and `$n` placeholders work on both. What really differs between the
//! backends lives in `crate::dialect`, one file per backend, which a body
//! names as `dialect::…` when it asks for it (`|pool, dialect|`).

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use crate::{Backend, StoreError};

/// A connection pool to one of the supported backends.
#[derive(Clone)]
pub(crate) enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

// Only the backend: a pool's connect options hold the password.
impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.backend())
    }
}

/// Runs `$body` with `$pool` bound to the pool of whichever backend `$db`
/// is, and, in the `|pool, dialect|` form, `$dialect` naming that backend's
/// module of `crate::dialect`.
macro_rules! dispatch {
    ($db:expr, |$pool:ident| $body:expr) => {
        $crate::db::dispatch!($db, |$pool, _dialect| $body)
    };
    ($db:expr, |$pool:ident, $dialect:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Postgres($pool) => {
                #[allow(unused_imports)]
                use $crate::dialect::postgres as $dialect;
                $body
            }
            $crate::db::Db::Sqlite($pool) => {
                #[allow(unused_imports)]
                use $crate::dialect::sqlite as $dialect;
                $body
            }
        }
    };
}
pub(crate) use dispatch;

/// Runs `$body` inside a write transaction (begun as the dialect begins
/// one), `$tx` being the transaction, and commits it. The body may use `?`:
/// an early return drops the transaction, which rolls it back.
macro_rules! in_transaction {
    ($db:expr, |$tx:ident| $body:expr) => {
        $crate::db::in_transaction!($db, |$tx, _dialect| $body)
    };
    ($db:expr, |$tx:ident, $dialect:ident| $body:expr) => {
        $crate::db::dispatch!($db, |pool, $dialect| {
            let mut $tx = $dialect::begin(pool).await?;
            let result = $body;
            $tx.commit().await?;
            result
        })
    };
}
pub(crate) use in_transaction;

impl Db {
    /// Which backend this is.
    pub(crate) fn backend(&self) -> Backend {
        dispatch!(self, |_pool, dialect| dialect::BACKEND)
    }

    /// The most connections the pool opens.
    pub(crate) fn max_connections(&self) -> u32 {
        dispatch!(self, |pool| pool.options().get_max_connections())
    }

    /// A round trip to the database.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(drop)?);
        Ok(())
    }

    /// Closes every connection, waiting for checked-out ones to return.
    pub(crate) async fn close(&self) {
        dispatch!(self, |pool| pool.close().await)
    }
}

/// `value` as a BIGINT, or [`StoreError::InvalidEvent`] when it does not fit.
pub(crate) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidEvent(format!("{value} does not fit the database")))
}

/// A stored count, sequence or position, or [`StoreError::Corrupt`] when it
/// is negative.
pub(crate) fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative count, sequence or position {value}")))
}
