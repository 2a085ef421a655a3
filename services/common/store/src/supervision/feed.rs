//! The commit-safe change feed that supervisors' watchers follow.
//!
//! On SQLite writers are serialized and positions become visible in order:
//! the feed follows `position`. On PostgreSQL a smaller position can commit
//! after a larger one, so the feed follows `(transaction_id, position)` and
//! only returns rows whose transaction lies below the snapshot's `xmin`:
//! every transaction below it has ended, so no row can still appear before
//! the cursor.

use gongkai_proto::v1::EventEnvelope;

use crate::events::decode_envelope;
use crate::{Store, StoreError};

/// A change-feed cursor: the last event sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedCursor {
    /// PostgreSQL transaction id of the last event sent (0 on SQLite and at the start).
    pub transaction_id: i64,
    /// Its position.
    pub position: i64,
}

impl Store {
    /// The feed cursor just after the event at `position` (0 = the start);
    /// `None` when no event has that position.
    pub async fn feed_cursor(&self, position: u64) -> Result<Option<FeedCursor>, StoreError> {
        if position == 0 {
            return Ok(Some(FeedCursor::default()));
        }
        // Positions are BIGINTs: none lies beyond i64::MAX. A caller's
        // position past it names no event, like any other unused one.
        let Ok(position) = i64::try_from(position) else { return Ok(None) };
        Ok(match self {
            Store::Postgres(pool) => sqlx::query_scalar::<_, i64>(
                "SELECT CAST(CAST(transaction_id AS TEXT) AS BIGINT) FROM events WHERE position = $1",
            )
            .bind(position)
            .fetch_optional(pool)
            .await?
            .map(|transaction_id| FeedCursor { transaction_id, position }),
            Store::Sqlite(pool) => sqlx::query_scalar::<_, i64>("SELECT position FROM events WHERE position = $1")
                .bind(position)
                .fetch_optional(pool)
                .await?
                .map(|position| FeedCursor { transaction_id: 0, position }),
        })
    }

    /// Up to `limit` events after `cursor` in commit-safe order, each with
    /// its project's region and the cursor just after it (see the module docs).
    pub async fn feed_after(
        &self,
        cursor: FeedCursor,
        limit: u32,
    ) -> Result<Vec<(EventEnvelope, String, FeedCursor)>, StoreError> {
        let limit = i64::from(limit);
        let rows: Vec<(i64, i64, Vec<u8>, String)> = match self {
            Store::Postgres(pool) => {
                sqlx::query_as(
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
                .await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT 0, e.position, e.envelope, s.region_code FROM events e \
                     JOIN streams s ON s.project_code = e.project_code \
                     WHERE e.position > $1 ORDER BY e.position LIMIT $2",
                )
                .bind(cursor.position)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        };
        rows.into_iter()
            .map(|(transaction_id, position, bytes, region)| {
                Ok((decode_envelope(position, &bytes)?, region, FeedCursor { transaction_id, position }))
            })
            .collect()
    }
}
