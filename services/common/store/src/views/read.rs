//! Readers of the read model and of the log, for the projector and the
//! services: a project's timeline and summary on either side, the log in
//! store order or project by project (the embedded log and a rebuild), how
//! far the projector has come, and `reset_views`, which empties the read
//! model for a rebuild. None of them writes the views; the fold does.

use gongkai_proto::v1::EventEnvelope;

use super::View;
use crate::events::decode_envelope;
use crate::sql::{in_transaction, to_i64};
use crate::{Store, StoreError};

impl Store {
    /// A project's timeline in `view`, as encoded `TimelineEntry` messages in
    /// seq order.
    pub async fn timeline(&self, view: View, project_code: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let query = format!("SELECT entry FROM {} WHERE project_code = $1 ORDER BY project_seq", view.timeline_table());
        let entries = match self {
            Store::Postgres(pool) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(query)).bind(project_code).fetch_all(pool).await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(query)).bind(project_code).fetch_all(pool).await?
            }
        };
        Ok(entries)
    }

    /// How many entries of each event `view` holds, over all projects.
    pub async fn timeline_event_counts(&self, view: View) -> Result<Vec<(String, i64)>, StoreError> {
        let query = format!("SELECT event_id, COUNT(*) FROM {} GROUP BY event_id", view.timeline_table());
        let counts = match self {
            Store::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(query)).fetch_all(pool).await?,
            Store::Sqlite(pool) => sqlx::query_as(sqlx::AssertSqlSafe(query)).fetch_all(pool).await?,
        };
        Ok(counts)
    }

    /// A project's summary in `view`, as an encoded `ProjectSummary`.
    pub async fn project_summary(&self, view: View, project_code: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let query = format!("SELECT summary FROM {} WHERE project_code = $1", view.projects_table());
        let summary = match self {
            Store::Postgres(pool) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(query)).bind(project_code).fetch_optional(pool).await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(query)).bind(project_code).fetch_optional(pool).await?
            }
        };
        Ok(summary)
    }

    /// Events of every project in store order after `position`, at most
    /// `limit`: the embedded log. Gap-free on SQLite, where positions become
    /// visible in order (writers are serialized).
    pub async fn events_after(&self, position: u64, limit: u32) -> Result<Vec<EventEnvelope>, StoreError> {
        let query = "SELECT position, envelope FROM events WHERE position > $1 ORDER BY position LIMIT $2";
        let after = to_i64(position)?;
        let rows: Vec<(i64, Vec<u8>)> = match self {
            Store::Postgres(pool) => sqlx::query_as(query).bind(after).bind(i64::from(limit)).fetch_all(pool).await?,
            Store::Sqlite(pool) => sqlx::query_as(query).bind(after).bind(i64::from(limit)).fetch_all(pool).await?,
        };
        rows.iter().map(|(position, bytes)| decode_envelope(*position, bytes)).collect()
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
        let rows: Vec<(i64, Vec<u8>)> = match self {
            Store::Postgres(pool) => {
                sqlx::query_as(query).bind(end).bind(code).bind(seq).bind(limit).fetch_all(pool).await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_as(query).bind(end).bind(code).bind(seq).bind(limit).fetch_all(pool).await?
            }
        };
        rows.iter().map(|(position, bytes)| decode_envelope(*position, bytes)).collect()
    }

    /// The highest store position the projector has folded into the views,
    /// and the highest in the store: their difference is the projector's lag.
    pub async fn projection_positions(&self) -> Result<(u64, u64), StoreError> {
        let query = "SELECT (SELECT COALESCE(MAX(position), 0) FROM projector_heads), \
                     (SELECT COALESCE(MAX(position), 0) FROM events)";
        let (projected, stored): (i64, i64) = match self {
            Store::Postgres(pool) => sqlx::query_as(query).fetch_one(pool).await?,
            Store::Sqlite(pool) => sqlx::query_as(query).fetch_one(pool).await?,
        };
        Ok((projected.max(0) as u64, stored.max(0) as u64))
    }

    /// How many projects the read model holds.
    pub async fn projected_projects(&self) -> Result<u64, StoreError> {
        let query = "SELECT COUNT(*) FROM projector_heads WHERE projected_seq > 0";
        let count: i64 = match self {
            Store::Postgres(pool) => sqlx::query_scalar(query).fetch_one(pool).await?,
            Store::Sqlite(pool) => sqlx::query_scalar(query).fetch_one(pool).await?,
        };
        Ok(count.max(0) as u64)
    }

    /// Empties the read model and the projector's copy of the log, for a
    /// rebuild from the beginning of the log. The public change feed stays:
    /// readers follow it with cursors, and re-projecting the same events
    /// appends nothing to it.
    pub async fn reset_views(&self) -> Result<(), StoreError> {
        in_transaction!(self, |tx| {
            for table in [
                "public_timeline",
                "public_projects",
                "full_timeline",
                "full_projects",
                "projector_events",
                "projector_heads",
                // The supervisors' search index and owed disclosures are views too.
                "project_search",
                "project_terms",
                "project_deadlines",
            ] {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }
}
