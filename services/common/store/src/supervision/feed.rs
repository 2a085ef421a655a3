//! The commit-safe change feed that supervisors' watchers follow.
//!
//! On SQLite writers are serialized and positions become visible in order:
//! the feed follows `position`. On PostgreSQL a smaller position can commit
//! after a larger one, so the feed follows `(transaction_id, position)` and
//! only returns rows whose transaction lies below the snapshot's `xmin`:
//! every transaction below it has ended, so no row can still appear before
//! the cursor. The two queries are in `crate::dialect`.

use gongkai_proto::v1::EventEnvelope;

use crate::db::dispatch;
use crate::events::decode_envelope;
use crate::{StoreError, SupervisionReader};

/// A change-feed cursor: the last event sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedCursor {
    /// PostgreSQL transaction id of the last event sent (0 on SQLite and at the start).
    pub transaction_id: i64,
    /// Its position.
    pub position: i64,
}

/// An event of the feed as read, with its project's region.
#[derive(sqlx::FromRow)]
pub(crate) struct FeedRow {
    pub(crate) transaction_id: i64,
    pub(crate) position: i64,
    pub(crate) envelope: Vec<u8>,
    pub(crate) region_code: String,
}

impl SupervisionReader {
    /// The feed cursor just after the event at `position` (0 = the start);
    /// `None` when no event has that position.
    pub async fn feed_cursor(&self, position: u64) -> Result<Option<FeedCursor>, StoreError> {
        if position == 0 {
            return Ok(Some(FeedCursor::default()));
        }
        // Positions are BIGINTs: none lies beyond i64::MAX. A caller's
        // position past it names no event, like any other unused one.
        let Ok(position) = i64::try_from(position) else { return Ok(None) };
        let transaction_id: Option<i64> = dispatch!(&self.db, |pool, dialect| {
            sqlx::query_scalar(dialect::TRANSACTION_OF_POSITION).bind(position).fetch_optional(pool).await?
        });
        Ok(transaction_id.map(|transaction_id| FeedCursor { transaction_id, position }))
    }

    /// Up to `limit` events after `cursor` in commit-safe order, each with
    /// its project's region and the cursor just after it (see the module docs).
    pub async fn feed_after(
        &self,
        cursor: FeedCursor,
        limit: u32,
    ) -> Result<Vec<(EventEnvelope, String, FeedCursor)>, StoreError> {
        let limit = i64::from(limit);
        let rows = dispatch!(&self.db, |pool, dialect| dialect::feed_after(pool, cursor, limit).await?);
        rows.into_iter()
            .map(|row| {
                let cursor = FeedCursor { transaction_id: row.transaction_id, position: row.position };
                Ok((decode_envelope(row.position, &row.envelope)?, row.region_code, cursor))
            })
            .collect()
    }
}
