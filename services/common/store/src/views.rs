//! The read model: the projector's copy of the log and the views it renders.
//!
//! [`Store::project_event`] takes one event as it arrives from the log, in any
//! order and any number of times, and keeps each project's views equal to the
//! rendering of its longest gapless prefix of events:
//!
//! 1. the project's head row is locked (a `SELECT … FOR UPDATE` on
//!    PostgreSQL; on SQLite the transaction holds the write lock), so two
//!    projector instances never render the same project at once;
//! 2. an event at or below the head is a duplicate: nothing changes;
//! 3. otherwise it is kept in `projector_events` (idempotent by
//!    `(project_code, project_seq)`), and if it closes the gap after the head,
//!    the project's events up to the new head are rendered by the caller's
//!    function and its rows in the public and full tables replaced.
//!
//! All of it is one transaction, so the views never show a half-applied event,
//! and the log's offsets can be committed after it (at-least-once delivery,
//! exactly-once effect).
//!
//! A project the render function refuses (it returns [`Unrenderable`]) is
//! *parked*, never the batch: its events are kept all the same, its views
//! and head stay where they were, a `projector_parked` row says why, and its
//! projects rows carry `parked_since`. Any later batch that names the project,
//! even with no new event, renders it again from everything kept; when that
//! succeeds it is unparked in the same transaction. One hostile event thus
//! costs its own project's freshness and nothing else.
//!
//! [`Store::project_batch`] does the same for many projects in one
//! transaction (head rows locked in code order), writing every table with
//! multi-row statements: the embedded projector folds what it polled this
//! way, and a rebuild a chunk of the log at a time, with each project
//! rendered ahead of the transaction when the chunk holds its whole history.

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

/// Why a project could not be rendered: the render function's refusal, or
/// its panic caught by the caller. The project is parked (see
/// [`Store::project_batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrenderable {
    /// The event the failure is pinned on (the project's new head when the
    /// renderer cannot tell).
    pub event_id: String,
    /// That event's seq.
    pub project_seq: u64,
    /// What went wrong, for supervisors and operators.
    pub reason: String,
}

/// A project the projector could not render, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedProject {
    /// The project.
    pub project_code: String,
    /// The event the failure is pinned on.
    pub event_id: String,
    /// That event's seq.
    pub project_seq: u64,
    /// What went wrong.
    pub reason: String,
    /// When it was first parked.
    pub parked_at: DateTime<Utc>,
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
    /// Kept, but the project could not be rendered: it is parked, its views
    /// stay at `head`, and every other project of the batch went on.
    Parked {
        /// The project's views stay at this seq.
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

/// Most bind parameters one statement carries: SQLite allows 32766,
/// PostgreSQL 65535.
pub(crate) const MAX_PARAMS: usize = 32_000;

/// How a backend spells bind parameters in a long statement.
pub(crate) trait Placeholders {
    /// `$n` (PostgreSQL) rather than `?` (SQLite: sqlx looks every named
    /// parameter up by name, which makes binding quadratic in their number).
    const NUMBERED: bool;
}

impl Placeholders for sqlx::PgConnection {
    const NUMBERED: bool = true;
}

impl Placeholders for sqlx::SqliteConnection {
    const NUMBERED: bool = false;
}

/// `($1, $2, …), ($k, …), …` (or `(?, ?, …), …`): `rows` tuples of
/// `columns` placeholders for the connection `_c`'s backend.
pub(crate) fn placeholders<C: Placeholders + ?Sized>(_c: &C, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 8);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            if C::NUMBERED {
                sql.push('$');
                sql.push_str(&(row * columns + column + 1).to_string());
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// Runs `$head VALUES (…), (…) $tail` over the slice `$rows` inside `$tx`,
/// as many rows per statement as the bind limit allows; `$bind` binds one
/// row's `$columns` values to `$query`. Multi-row statements instead of one
/// round trip per row are what makes a rebuild fast.
macro_rules! insert_rows {
    ($tx:ident, $head:expr, $tail:expr, $columns:expr, $rows:expr, |$query:ident, $row:ident| $bind:expr) => {{
        let columns: usize = $columns;
        for part in $rows.chunks($crate::views::MAX_PARAMS / columns) {
            let values = $crate::views::placeholders(&*$tx, part.len(), columns);
            let sql = format!("{} VALUES {} {}", $head, values, $tail);
            let mut $query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for $row in part {
                $query = $bind;
            }
            $query.execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use insert_rows;

/// Runs `$sql` (a format string whose `{}` becomes `$1, $2, …`) once per
/// slice of the project codes `$codes` that fits the bind limit, collecting
/// the rows as `$row` (`fetch_all`) or only executing (`execute`).
macro_rules! for_codes {
    ($tx:ident, $sql:expr, $codes:expr, fetch_all as $row:ty) => {{
        let mut all: Vec<$row> = Vec::new();
        for part in $codes.chunks($crate::views::MAX_PARAMS) {
            let list = $crate::views::placeholders(&*$tx, 1, part.len());
            let list = &list[1..list.len() - 1];
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(format!($sql, list)));
            for code in part {
                query = query.bind(code);
            }
            all.extend(query.fetch_all(&mut *$tx).await?);
        }
        all
    }};
    ($tx:ident, $sql:expr, $codes:expr, execute) => {{
        for part in $codes.chunks($crate::views::MAX_PARAMS) {
            let list = $crate::views::placeholders(&*$tx, 1, part.len());
            let list = &list[1..list.len() - 1];
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!($sql, list)));
            for code in part {
                query = query.bind(code);
            }
            query.execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use for_codes;

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

/// Replaces the rows of the projects in `$rendered` (`(code, &ProjectViewRows)`)
/// in one side of the read model. Only timeline entries whose bytes changed
/// are written and only those no longer rendered are deleted: a new event
/// usually changes one or two entries of a long history, and rewriting them
/// all made the live fold cost grow with each project's age.
macro_rules! replace_view_rows {
    ($tx:ident, $view:expr, $codes:expr, $rendered:expr, |$rows:ident| ($timeline:expr, $summary:expr)) => {{
        let (timeline_table, projects_table) = ($view.timeline_table(), $view.projects_table());
        // Table names come from `View`, never from input.
        let existing = for_codes!(
            $tx,
            "SELECT project_code, project_seq, entry FROM {timeline_table} WHERE project_code IN ({})",
            $codes,
            fetch_all as (String, i64, Vec<u8>)
        );
        let mut stale: std::collections::HashMap<(&str, i64), &[u8]> =
            existing.iter().map(|(code, seq, entry)| ((code.as_str(), *seq), entry.as_slice())).collect();
        let mut timeline: Vec<(&str, &TimelineRow)> = Vec::new();
        for (code, $rows) in $rendered.iter() {
            for row in $timeline.iter() {
                let seq = to_i64(row.project_seq)?;
                if stale.remove(&(*code, seq)) != Some(row.entry.as_slice()) {
                    timeline.push((*code, row));
                }
            }
        }
        // What is left was not rendered again (e.g. an entry withheld anew).
        for (code, seq) in stale.into_keys() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {timeline_table} WHERE project_code = $1 AND project_seq = $2"
            )))
            .bind(code)
            .bind(seq)
            .execute(&mut *$tx)
            .await?;
        }
        insert_rows!(
            $tx,
            format!(
                "INSERT INTO {timeline_table} \
                 (project_code, project_seq, event_id, fact_type, occurred_at, recorded_at, entry)"
            ),
            "ON CONFLICT (project_code, project_seq) DO UPDATE SET event_id = excluded.event_id, \
             fact_type = excluded.fact_type, occurred_at = excluded.occurred_at, \
             recorded_at = excluded.recorded_at, entry = excluded.entry",
            7,
            &timeline,
            |query, row| query
                .bind(row.0)
                .bind(row.1.project_seq as i64)
                .bind(&row.1.event_id)
                .bind(&row.1.fact_type)
                .bind(row.1.occurred_at)
                .bind(row.1.recorded_at)
                .bind(&row.1.entry)
        );
        let summaries: Vec<(&str, &ProjectRow)> = $rendered.iter().map(|(code, $rows)| (*code, $summary)).collect();
        for (_, summary) in &summaries {
            to_i64(summary.head_seq)?;
        }
        insert_rows!(
            $tx,
            format!(
                "INSERT INTO {projects_table} \
                 (project_code, name, region_code, project_type, stage, head_seq, last_event_at, summary)"
            ),
            "ON CONFLICT (project_code) DO UPDATE SET name = excluded.name, region_code = excluded.region_code, \
             project_type = excluded.project_type, stage = excluded.stage, head_seq = excluded.head_seq, \
             last_event_at = excluded.last_event_at, summary = excluded.summary, parked_since = NULL",
            8,
            &summaries,
            |query, row| query
                .bind(row.0)
                .bind(&row.1.name)
                .bind(&row.1.region_code)
                .bind(&row.1.project_type)
                .bind(&row.1.stage)
                .bind(row.1.head_seq as i64)
                .bind(row.1.last_event_at)
                .bind(&row.1.summary)
        );
    }};
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidEvent(format!("{value} does not fit the database")))
}

/// One project's events for [`Store::project_batch`].
#[derive(Debug, Clone, Default)]
pub struct ProjectEvents {
    /// The project every event belongs to.
    pub project_code: String,
    /// Its events, in any order, possibly repeated or already folded.
    pub events: Vec<EventEnvelope>,
    /// The rows of exactly `events`, rendered by the caller outside the
    /// transaction, when `events` are the project's gapless history from
    /// seq 1. Used only if the read model holds nothing of the project yet
    /// (a rebuild); otherwise the project is rendered again from everything
    /// kept. Rendering ahead lets a rebuild render one chunk while the
    /// previous one is written.
    pub rendered: Option<ProjectViewRows>,
}

/// An event kept in `projector_events`: seq, position, stored envelope.
type Kept = (i64, i64, Vec<u8>);

/// What the transaction decided for one project of a batch.
struct Plan<'b> {
    code: &'b str,
    /// `(seq, position, stored envelope)` to keep.
    keep: Vec<Kept>,
    outcome: Projected,
    /// The events `1..=head` when the views advance and must be rendered.
    render: Option<Vec<EventEnvelope>>,
    /// The position of the new head event.
    position: i64,
}

/// An event of a project as the transaction knows it.
enum Known<'e> {
    /// Kept by an earlier transaction: its position and stored envelope.
    Stored(i64, Vec<u8>),
    /// Arriving now.
    Incoming(&'e EventEnvelope),
}

/// Plans one project: which incoming events to keep, where its head goes and
/// what to render, from its locked `head` and the events kept before. The
/// flag says the caller's rendering can be used as it is.
fn plan(project: &ProjectEvents, head: i64, stored: Vec<Kept>) -> Result<(Plan<'_>, bool), StoreError> {
    use std::collections::BTreeMap;
    let fresh = stored.is_empty();
    // Every event known after this batch, by seq; what was kept before wins.
    let mut known: BTreeMap<i64, Known<'_>> =
        stored.into_iter().map(|(seq, position, bytes)| (seq, Known::Stored(position, bytes))).collect();
    let mut keep = Vec::new();
    for event in &project.events {
        let seq = to_i64(event.project_seq)?;
        if seq <= head || known.contains_key(&seq) {
            continue;
        }
        let mut stored = event.clone();
        stored.position = 0;
        keep.push((seq, to_i64(event.position)?, stored.encode_to_vec()));
        known.insert(seq, Known::Incoming(event));
    }
    let code = project.project_code.as_str();
    let plan = |keep, outcome, render, position| Plan { code, keep, outcome, render, position };
    let new_head = known.keys().zip(1..).take_while(|(seq, want)| **seq == *want).count() as i64;
    // Nothing new, and nothing kept beyond the head (which only a parked
    // project has): a duplicate.
    if keep.is_empty() && new_head <= head {
        return Ok((plan(keep, Projected::Duplicate, None, 0), false));
    }
    if new_head <= head {
        return Ok((plan(keep, Projected::Waiting { head: head as u64 }, None, 0), false));
    }
    let position = match known.get(&new_head) {
        Some(Known::Stored(position, _)) => *position,
        Some(Known::Incoming(event)) => to_i64(event.position)?,
        None => 0,
    };
    let outcome = Projected::Advanced { head: new_head as u64 };
    // The caller rendered exactly the incoming events: usable when nothing
    // was kept before and they are the whole history up to the new head.
    if fresh && project.rendered.is_some() && known.len() as i64 == new_head {
        return Ok((plan(keep, outcome, None, position), true));
    }
    let events = known
        .range(..=new_head)
        .map(|(_, known)| match known {
            Known::Stored(position, bytes) => decode_envelope(*position, bytes),
            Known::Incoming(event) => Ok((*event).clone()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((plan(keep, outcome, Some(events), position), false))
}

impl Store {
    /// Folds one event from the log into the read model; see the module docs.
    /// `render` turns a project's gapless events (seq 1..=head, positions
    /// filled) into its rows.
    pub async fn project_event<F>(&self, event: &EventEnvelope, render: F) -> Result<Projected, StoreError>
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
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
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        let batch = [ProjectEvents { project_code: project_code.to_owned(), events: events.to_vec(), rendered: None }];
        let outcomes = self.project_batch(&batch, render).await?;
        Ok(outcomes[0])
    }

    /// Folds the events of several projects in one transaction, each project
    /// as [`Store::project_events`] would, with every table written by
    /// multi-row statements. Head rows are locked in project-code order, so
    /// concurrent batches cannot deadlock. The outcomes follow `batch`.
    pub async fn project_batch<F>(&self, batch: &[ProjectEvents], render: F) -> Result<Vec<Projected>, StoreError>
    where
        F: Fn(&[EventEnvelope]) -> Result<ProjectViewRows, Unrenderable>,
    {
        use std::collections::BTreeMap;
        let mut codes: Vec<&str> = batch.iter().map(|project| project.project_code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() != batch.len() {
            return Err(StoreError::InvalidEvent("a batch names a project twice".to_owned()));
        }
        // Only PostgreSQL has row locks; SQLite's transaction holds the write lock.
        let lock = if self.backend() == crate::Backend::Postgres { " FOR UPDATE" } else { "" };
        let outcomes = in_transaction!(self, |tx| {
            insert_rows!(
                tx,
                "INSERT INTO projector_heads (project_code, projected_seq, position)",
                "ON CONFLICT (project_code) DO NOTHING",
                3,
                &codes,
                |query, code| query.bind(*code).bind(0_i64).bind(0_i64)
            );
            let heads: BTreeMap<String, i64> = for_codes!(
                tx,
                "SELECT project_code, projected_seq FROM projector_heads WHERE project_code IN ({}) \
                 ORDER BY project_code{lock}",
                &codes,
                fetch_all as (String, i64)
            )
            .into_iter()
            .collect();
            let mut stored: BTreeMap<String, Vec<Kept>> = BTreeMap::new();
            for (code, seq, position, bytes) in for_codes!(
                tx,
                "SELECT project_code, project_seq, position, envelope FROM projector_events \
                 WHERE project_code IN ({}) ORDER BY project_code, project_seq",
                &codes,
                fetch_all as (String, i64, i64, Vec<u8>)
            ) {
                stored.entry(code).or_default().push((seq, position, bytes));
            }

            let mut plans = Vec::with_capacity(batch.len());
            let mut rendered: Vec<(&str, ProjectViewRows)> = Vec::new();
            let mut ahead: Vec<(&str, &ProjectViewRows)> = Vec::new();
            let mut parked: Vec<(&str, Unrenderable)> = Vec::new();
            for project in batch {
                let head = heads.get(&project.project_code).copied().unwrap_or_default();
                let (mut plan, use_ahead) =
                    plan(project, head, stored.remove(&project.project_code).unwrap_or_default())?;
                if let Some(events) = plan.render.take() {
                    match render(&events) {
                        Ok(rows) => rendered.push((plan.code, rows)),
                        Err(failure) => {
                            plan.outcome = Projected::Parked { head: head.max(0) as u64 };
                            parked.push((plan.code, failure));
                        }
                    }
                } else if let (true, Some(rows)) = (use_ahead, &project.rendered) {
                    ahead.push((plan.code, rows));
                }
                plans.push(plan);
            }
            let views: Vec<(&str, &ProjectViewRows)> =
                rendered.iter().map(|(code, rows)| (*code, rows)).chain(ahead).collect();
            let advanced: Vec<&str> = views.iter().map(|(code, _)| *code).collect();

            let keep: Vec<(&str, &Kept)> =
                plans.iter().flat_map(|plan| plan.keep.iter().map(|kept| (plan.code, kept))).collect();
            insert_rows!(
                tx,
                "INSERT INTO projector_events (project_code, project_seq, position, envelope)",
                "ON CONFLICT (project_code, project_seq) DO NOTHING",
                4,
                &keep,
                |query, row| query.bind(row.0).bind(row.1.0).bind(row.1.1).bind(&row.1.2)
            );
            // Parked projects: the reason (the first parking time kept) and
            // `parked_since` on their rows, which otherwise stay as they were.
            let now = Utc::now();
            for (code, failure) in &parked {
                sqlx::query(
                    "INSERT INTO projector_parked (project_code, event_id, project_seq, reason, parked_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_code) DO UPDATE SET \
                     event_id = excluded.event_id, project_seq = excluded.project_seq, reason = excluded.reason",
                )
                .bind(*code)
                .bind(&failure.event_id)
                .bind(to_i64(failure.project_seq)?)
                .bind(&failure.reason)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                for table in ["public_projects", "full_projects"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE {table} SET parked_since = $2 WHERE project_code = $1 AND parked_since IS NULL"
                    )))
                    .bind(*code)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if !views.is_empty() {
                for_codes!(tx, "DELETE FROM projector_parked WHERE project_code IN ({})", &advanced, execute);
                let public: Vec<(&str, &[TimelineRow])> =
                    views.iter().map(|(code, rows)| (*code, rows.public_timeline.as_slice())).collect();
                crate::public::record_public_changes(&mut *tx, &public).await?;
                replace_view_rows!(tx, View::Public, &advanced, &views, |rows| (
                    rows.public_timeline,
                    &rows.public_project
                ));
                replace_view_rows!(tx, View::Full, &advanced, &views, |rows| (rows.full_timeline, &rows.full_project));
                let supervision: Vec<(&str, &crate::SupervisionRows)> =
                    views.iter().map(|(code, rows)| (*code, &rows.supervision)).collect();
                crate::supervision::write_supervision_rows!(tx, &supervision);
                let moved: Vec<(&str, i64, i64)> = plans
                    .iter()
                    .filter_map(|plan| match plan.outcome {
                        Projected::Advanced { head } => Some((plan.code, head as i64, plan.position)),
                        _ => None,
                    })
                    .collect();
                insert_rows!(
                    tx,
                    "INSERT INTO projector_heads (project_code, projected_seq, position)",
                    "ON CONFLICT (project_code) DO UPDATE SET projected_seq = excluded.projected_seq, \
                     position = excluded.position",
                    3,
                    &moved,
                    |query, row| query.bind(row.0).bind(row.1).bind(row.2)
                );
            }
            plans.iter().map(|plan| plan.outcome).collect::<Vec<_>>()
        });
        Ok(outcomes)
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

    /// Every parked project (see the module docs), by project code.
    pub async fn parked_projects(&self) -> Result<Vec<ParkedProject>, StoreError> {
        self.parked_where("", None).await
    }

    /// One project's parking, if it is parked.
    pub async fn parked_project(&self, project_code: &str) -> Result<Option<ParkedProject>, StoreError> {
        Ok(self.parked_where(" WHERE project_code = $1", Some(project_code)).await?.pop())
    }

    async fn parked_where(&self, clause: &str, code: Option<&str>) -> Result<Vec<ParkedProject>, StoreError> {
        type Row = (String, String, i64, String, DateTime<Utc>);
        let query = format!(
            "SELECT project_code, event_id, project_seq, reason, parked_at FROM projector_parked{clause} \
             ORDER BY project_code"
        );
        let rows: Vec<Row> = match self {
            Store::Postgres(pool) => {
                let query = sqlx::query_as(sqlx::AssertSqlSafe(query));
                match code {
                    Some(code) => query.bind(code.to_owned()),
                    None => query,
                }
                .fetch_all(pool)
                .await?
            }
            Store::Sqlite(pool) => {
                let query = sqlx::query_as(sqlx::AssertSqlSafe(query));
                match code {
                    Some(code) => query.bind(code.to_owned()),
                    None => query,
                }
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(project_code, event_id, seq, reason, parked_at)| ParkedProject {
                project_code,
                event_id,
                project_seq: seq.max(0) as u64,
                reason,
                parked_at,
            })
            .collect())
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
