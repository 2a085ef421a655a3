//! The read model: the projector's copy of the log and the views it renders.
//!
//! [`Store::project_event`] takes one event as it arrives from the log, in any
//! order and any number of times, and keeps each project's views equal to the
//! rendering of its longest gapless prefix of events:
//!
//! 1. the project's head row is locked (an `UPDATE … RETURNING`, which takes a
//!    row lock on PostgreSQL and the write lock on SQLite), so two projector
//!    instances never render the same project at once;
//! 2. an event at or below the head is a duplicate: nothing changes;
//! 3. otherwise it is kept in `projector_events` (idempotent by
//!    `(project_code, project_seq)`), and if it closes the gap after the head,
//!    the project's events up to the new head are rendered by the caller's
//!    function and its rows in the public and full tables replaced.
//!
//! All of it is one transaction, so the views never show a half-applied event,
//! and the log's offsets can be committed after it (at-least-once delivery,
//! exactly-once effect).

use chrono::{DateTime, Utc};
use gongkai_proto::v1::EventEnvelope;
use prost::Message;

use crate::events::decode_envelope;
use crate::{Store, StoreError};

/// One timeline entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    /// Position in the project's stream.
    pub project_seq: u64,
    /// The event's id.
    pub event_id: String,
    /// The fact's message name, e.g. `TenderAnnounced`.
    pub fact_type: String,
    /// Business time.
    pub occurred_at: DateTime<Utc>,
    /// Bus time.
    pub recorded_at: DateTime<Utc>,
    /// The encoded `gongkai.v1.TimelineEntry`.
    pub entry: Vec<u8>,
}

/// One project summary as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRow {
    /// Project name.
    pub name: String,
    /// 6-digit region code.
    pub region_code: String,
    /// `construction` or `ppp`.
    pub project_type: String,
    /// Lifecycle stage, lowercase.
    pub stage: String,
    /// The last project_seq folded in.
    pub head_seq: u64,
    /// Business time of the latest event.
    pub last_event_at: DateTime<Utc>,
    /// The encoded `gongkai.v1.ProjectSummary`.
    pub summary: Vec<u8>,
}

/// Everything rendered for one project.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectViewRows {
    /// The public timeline, disclosure policy applied.
    pub public_timeline: Vec<TimelineRow>,
    /// The full timeline, for supervisors.
    pub full_timeline: Vec<TimelineRow>,
    /// The public summary.
    pub public_project: ProjectRow,
    /// The full summary.
    pub full_project: ProjectRow,
    /// The supervision side: search index and open deadlines.
    pub supervision: crate::SupervisionRows,
}

/// What [`Store::project_event`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projected {
    /// Already folded in: nothing changed.
    Duplicate,
    /// Kept, but an earlier event of the project has not arrived yet.
    Waiting {
        /// The project's views stay at this seq.
        head: u64,
    },
    /// The views now cover the project up to `head`.
    Advanced {
        /// The new head seq.
        head: u64,
    },
}

/// Which side of the read model to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// What the public may see.
    Public,
    /// Everything, for supervisors.
    Full,
}

impl View {
    fn timeline_table(self) -> &'static str {
        match self {
            View::Public => "public_timeline",
            View::Full => "full_timeline",
        }
    }

    fn projects_table(self) -> &'static str {
        match self {
            View::Public => "public_projects",
            View::Full => "full_projects",
        }
    }
}

const LOCK_HEAD: &str =
    "UPDATE projector_heads SET projected_seq = projected_seq WHERE project_code = $1 RETURNING projected_seq";
const OPEN_HEAD: &str = "INSERT INTO projector_heads (project_code, projected_seq, position) VALUES ($1, 0, 0) ON CONFLICT (project_code) DO NOTHING";
const KEEP_EVENT: &str = "INSERT INTO projector_events (project_code, project_seq, position, envelope) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (project_code, project_seq) DO NOTHING";
const WAITING_SEQS: &str =
    "SELECT project_seq FROM projector_events WHERE project_code = $1 AND project_seq > $2 ORDER BY project_seq";
const PREFIX: &str = "SELECT position, envelope FROM projector_events WHERE project_code = $1 AND project_seq <= $2 \
     ORDER BY project_seq";
const MOVE_HEAD: &str = "UPDATE projector_heads SET projected_seq = $2, position = $3 WHERE project_code = $1";

/// Runs `$body` (which may use `?`) inside a write transaction on either
/// backend, `$tx` being the transaction; the SQL in the body is shared (`$n`
/// placeholders work on both). An early return rolls the transaction back.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:block) => {
        match $store {
            Store::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let result = $body;
                $tx.commit().await?;
                result
            }
            Store::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let result = $body;
                $tx.commit().await?;
                result
            }
        }
    };
}

/// Replaces one project's rows in one side of the read model.
macro_rules! replace_project_rows {
    ($tx:ident, $view:expr, $project:expr, $timeline:expr, $summary:expr) => {{
        let (timeline_table, projects_table) = ($view.timeline_table(), $view.projects_table());
        // Table names come from `View`, never from input.
        let delete = format!("DELETE FROM {timeline_table} WHERE project_code = $1");
        sqlx::query(sqlx::AssertSqlSafe(delete)).bind($project).execute(&mut *$tx).await?;
        let insert = format!(
            "INSERT INTO {timeline_table} (project_code, project_seq, event_id, fact_type, occurred_at, recorded_at, entry) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        for row in $timeline {
            sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
                .bind($project)
                .bind(to_i64(row.project_seq)?)
                .bind(&row.event_id)
                .bind(&row.fact_type)
                .bind(row.occurred_at)
                .bind(row.recorded_at)
                .bind(&row.entry)
                .execute(&mut *$tx)
                .await?;
        }
        let upsert = format!(
            "INSERT INTO {projects_table} (project_code, name, region_code, project_type, stage, head_seq, last_event_at, summary) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (project_code) DO UPDATE SET name = excluded.name, region_code = excluded.region_code, \
             project_type = excluded.project_type, stage = excluded.stage, head_seq = excluded.head_seq, \
             last_event_at = excluded.last_event_at, summary = excluded.summary"
        );
        let summary: &ProjectRow = $summary;
        sqlx::query(sqlx::AssertSqlSafe(upsert))
            .bind($project)
            .bind(&summary.name)
            .bind(&summary.region_code)
            .bind(&summary.project_type)
            .bind(&summary.stage)
            .bind(to_i64(summary.head_seq)?)
            .bind(summary.last_event_at)
            .bind(&summary.summary)
            .execute(&mut *$tx)
            .await?;
    }};
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidEvent(format!("{value} does not fit the database")))
}

impl Store {
    /// Folds one event from the log into the read model; see the module docs.
    /// `render` turns a project's gapless events (seq 1..=head, positions
    /// filled) into its rows.
    pub async fn project_event<F>(&self, event: &EventEnvelope, render: F) -> Result<Projected, StoreError>
    where
        F: Fn(&[EventEnvelope]) -> ProjectViewRows,
    {
        self.project_events(&event.subject, std::slice::from_ref(event), render).await
    }

    /// Folds several events of one project (`project_code`) at once: one
    /// transaction and one rendering, however many there are. The outcome
    /// says where the project's views stand afterwards.
    pub async fn project_events<F>(
        &self,
        project_code: &str,
        events: &[EventEnvelope],
        render: F,
    ) -> Result<Projected, StoreError>
    where
        F: Fn(&[EventEnvelope]) -> ProjectViewRows,
    {
        let project = project_code;
        let mut incoming = Vec::with_capacity(events.len());
        for event in events {
            let mut stored = event.clone();
            stored.position = 0;
            incoming.push((to_i64(event.project_seq)?, to_i64(event.position)?, stored.encode_to_vec()));
        }
        let outcome = in_transaction!(self, |tx| {
            sqlx::query(OPEN_HEAD).bind(project).execute(&mut *tx).await?;
            let head: i64 = sqlx::query_scalar(LOCK_HEAD).bind(project).fetch_one(&mut *tx).await?;
            let mut kept = false;
            for (seq, position, bytes) in incoming.iter().filter(|(seq, _, _)| *seq > head) {
                sqlx::query(KEEP_EVENT).bind(project).bind(seq).bind(position).bind(bytes).execute(&mut *tx).await?;
                kept = true;
            }
            if !kept {
                Projected::Duplicate
            } else {
                let waiting: Vec<i64> =
                    sqlx::query_scalar(WAITING_SEQS).bind(project).bind(head).fetch_all(&mut *tx).await?;
                let new_head =
                    head + waiting.iter().zip(head + 1..).take_while(|(seq, want)| **seq == *want).count() as i64;
                if new_head == head {
                    Projected::Waiting { head: head as u64 }
                } else {
                    let rows: Vec<(i64, Vec<u8>)> =
                        sqlx::query_as(PREFIX).bind(project).bind(new_head).fetch_all(&mut *tx).await?;
                    let events: Vec<EventEnvelope> = rows
                        .iter()
                        .map(|(position, bytes)| decode_envelope(*position, bytes))
                        .collect::<Result<_, _>>()?;
                    let last_position = rows.last().map_or(0, |(position, _)| *position);
                    let views = render(&events);
                    crate::public::record_public_changes(&mut *tx, project, &views.public_timeline).await?;
                    replace_project_rows!(tx, View::Public, project, &views.public_timeline, &views.public_project);
                    replace_project_rows!(tx, View::Full, project, &views.full_timeline, &views.full_project);
                    crate::supervision::write_supervision_rows!(tx, project, &views.supervision);
                    sqlx::query(MOVE_HEAD).bind(project).bind(new_head).bind(last_position).execute(&mut *tx).await?;
                    Projected::Advanced { head: new_head as u64 }
                }
            }
        });
        Ok(outcome)
    }

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
