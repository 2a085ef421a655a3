//! The event store read as a log, for a projector that follows the embedded
//! log and for rebuilds: events in position order (gap-free on SQLite,
//! where positions become visible in order because writers are serialized)
//! or project by project, where the log ends, and the trace contexts the
//! appends recorded in the outbox.

use gongkai_proto::v1::EventEnvelope;

use crate::db::{Db, dispatch, to_i64};
use crate::dialect;
use crate::events::{EnvelopeRow, decode_envelope};
use crate::{EventLog, StoreError};

impl EventLog {
    /// Events of every project in store order after `position`, at most
    /// `limit`: the embedded log. Gap-free on SQLite, where positions become
    /// visible in order (writers are serialized).
    pub async fn events_after(&self, position: u64, limit: u32) -> Result<Vec<EventEnvelope>, StoreError> {
        let query = "SELECT position, envelope FROM events WHERE position > $1 ORDER BY position LIMIT $2";
        let after = to_i64(position)?;
        let rows: Vec<EnvelopeRow> = dispatch!(&self.db, |pool| sqlx::query_as(query)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?);
        rows.iter().map(EnvelopeRow::decode).collect()
    }

    /// Events at positions up to `end`, in `(project_code, project_seq)`
    /// order, after the event `after` names (project code and seq) when
    /// given, at most `limit`: a rebuild reads the log this way so that each
    /// project's events arrive together and it is rendered once.
    pub async fn events_by_project(
        &self,
        after: Option<(&str, u64)>,
        end: u64,
        limit: u32,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        let query = "SELECT position, envelope FROM events WHERE position <= $1 AND (project_code, project_seq) > ($2, $3) \
                     ORDER BY project_code, project_seq LIMIT $4";
        let (code, seq) = after.unwrap_or(("", 0));
        let (end, seq, limit) = (to_i64(end)?, to_i64(seq)?, i64::from(limit));
        match &self.db {
            Db::Postgres(pool) => {
                let rows: Vec<EnvelopeRow> =
                    sqlx::query_as(query).bind(end).bind(code).bind(seq).bind(limit).fetch_all(pool).await?;
                rows.iter().map(EnvelopeRow::decode).collect()
            }
            // A rebuild reads every event this way: each envelope is
            // decoded where SQLite holds it, not copied out first.
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                dialect::sqlite::direct::on_handle(&mut conn, |direct| {
                    let mut statement = direct.prepare(query)?;
                    let mut rows = statement.query(rusqlite::params![end, code, seq, limit])?;
                    let mut events = Vec::new();
                    while let Some(row) = rows.next()? {
                        let position: i64 = row.get(0)?;
                        let envelope = row.get_ref(1)?.as_blob().map_err(|_| {
                            StoreError::Corrupt(format!("envelope at position {position} is not a blob"))
                        })?;
                        events.push(decode_envelope(position, envelope)?);
                    }
                    Ok(events)
                })
                .await
            }
        }
    }

    /// The highest position in the store (0 when it is empty): where the log
    /// ends now.
    pub async fn end_position(&self) -> Result<u64, StoreError> {
        let query = "SELECT COALESCE(MAX(position), 0) FROM events";
        let end: i64 = dispatch!(&self.db, |pool| sqlx::query_scalar(query).fetch_one(pool).await?);
        Ok(end.max(0) as u64)
    }

    /// The trace contexts recorded with the outbox rows at positions after
    /// `after` up to `up_to`, in position order: how the embedded projector,
    /// which reads the store rather than Kafka, joins the submissions' traces.
    pub async fn trace_contexts(&self, after: u64, up_to: u64) -> Result<Vec<String>, StoreError> {
        let query = "SELECT traceparent FROM outbox WHERE position > $1 AND position <= $2 \
                     AND traceparent IS NOT NULL ORDER BY position";
        let (after, up_to) = (i64::try_from(after).unwrap_or(i64::MAX), i64::try_from(up_to).unwrap_or(i64::MAX));
        Ok(dispatch!(&self.db, |pool| sqlx::query_scalar(query).bind(after).bind(up_to).fetch_all(pool).await?))
    }
}
