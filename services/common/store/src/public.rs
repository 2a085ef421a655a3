//! Readers of the public side of the read model, for the website and the open
//! data interfaces, and the public change feed.
//!
//! Everything here reads `public_timeline`, `public_projects` and
//! `public_changes` only: the tables a PostgreSQL role granted nothing else
//! can read (see `migrations/postgres/0004_public_feed.sql`).
//!
//! # The change feed never skips a late commit
//!
//! [`record_public_changes`] appends one `public_changes` row for every public
//! timeline entry that is new or whose rendering changed, inside the
//! projector's transaction (`Store::project_events`), so a row is visible
//! exactly when the public rows it describes are.
//!
//! * **PostgreSQL.** Each row carries `transaction_id = pg_current_xact_id()`
//!   of the transaction that wrote it. [`Store::public_changes_after`] returns
//!   only rows with `transaction_id < pg_snapshot_xmin(pg_current_snapshot())`
//!   — transactions older than the oldest one still running, hence all
//!   finished — ordered by `(transaction_id, id)`, and the cursor is that
//!   pair. A transaction still running (or one that starts later) has an id at
//!   or above the horizon, which is above every cursor handed out, so when it
//!   commits its rows sort after the cursor: nothing is skipped. Rows already
//!   returned are below the cursor: nothing repeats. Order is transaction-id
//!   order, a fixed total order that agrees with commit order for the
//!   projector's per-project transactions (a project's rows are written under
//!   its head-row lock, one transaction after the other). A long-running
//!   transaction delays the feed; it never loses rows.
//! * **SQLite.** Writers are serialized (`BEGIN IMMEDIATE`) and
//!   `AUTOINCREMENT` ids only grow, so ids become visible in commit order and
//!   reading `id > cursor` is safe.
//!
//! A rebuild (`reset_views`) leaves the feed alone; the projector compares
//! each rendering with the latest feed row per entry, so re-projecting the
//! same events appends nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, SqliteConnection};

use crate::rows::TimelineRow;
use crate::sql::{fetch_all_with, for_codes, insert_rows};
use crate::{Store, StoreError};

/// Filters of the public project list. Unset filters match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    /// Leading digits of the region code.
    pub region_prefix: Option<String>,
    /// Stage, lowercase (`tendering`).
    pub stage: Option<String>,
    /// `ppp` or `construction`.
    pub project_type: Option<String>,
    /// Year of the project code (its first four digits).
    pub year: Option<u16>,
    /// Substring of the name, or of the code.
    pub text: Option<String>,
}

/// One public project as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicProject {
    /// Project code.
    pub project_code: String,
    /// Name.
    pub name: String,
    /// Region code.
    pub region_code: String,
    /// `ppp` or `construction`.
    pub project_type: String,
    /// Stage, lowercase.
    pub stage: String,
    /// Business time of the latest event.
    pub last_event_at: DateTime<Utc>,
    /// The encoded public `gongkai.v1.ProjectSummary`.
    pub summary: Vec<u8>,
    /// Since when the projector could not render the project's newer events
    /// (it is parked; the views are its last good ones); `None` when current.
    pub parked_since: Option<DateTime<Utc>>,
}

/// One public timeline entry with its project's name.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicDisclosure {
    /// Project code.
    pub project_code: String,
    /// Project name.
    pub project_name: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The encoded public `gongkai.v1.TimelineEntry`.
    pub entry: Vec<u8>,
}

/// A position in the public change feed. Opaque to clients: its text form is
/// `<transaction id>-<id>` (transaction id 0 on SQLite).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeCursor {
    /// The writing transaction's id (PostgreSQL `xid8`; 0 on SQLite).
    pub transaction_id: u64,
    /// The row id.
    pub id: i64,
}

impl std::fmt::Display for ChangeCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.transaction_id, self.id)
    }
}

impl std::str::FromStr for ChangeCursor {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || StoreError::InvalidEvent(format!("`{text}` is not a change-feed cursor"));
        let (xid, id) = text.split_once('-').ok_or_else(bad)?;
        let cursor =
            ChangeCursor { transaction_id: xid.parse().map_err(|_| bad())?, id: id.parse().map_err(|_| bad())? };
        if cursor.id < 0 {
            return Err(bad());
        }
        Ok(cursor)
    }
}

/// One entry of the public change feed.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicChange {
    /// Where the feed stands after this change.
    pub cursor: ChangeCursor,
    /// Project code.
    pub project_code: String,
    /// The entry's project_seq.
    pub project_seq: u64,
    /// The entry's event id.
    pub event_id: String,
    /// `published` or `updated`.
    pub change: String,
    /// The fact's message name.
    pub fact_type: String,
    /// When the event was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The encoded public `gongkai.v1.TimelineEntry`.
    pub entry: Vec<u8>,
}

/// A connection inside the projector's transaction, on either backend.
#[derive(Debug)]
pub enum FeedConnection<'c> {
    /// PostgreSQL.
    Postgres(&'c mut PgConnection),
    /// SQLite.
    Sqlite(&'c mut SqliteConnection),
}

impl<'c> From<&'c mut PgConnection> for FeedConnection<'c> {
    fn from(connection: &'c mut PgConnection) -> Self {
        FeedConnection::Postgres(connection)
    }
}

impl<'c> From<&'c mut SqliteConnection> for FeedConnection<'c> {
    fn from(connection: &'c mut SqliteConnection) -> Self {
        FeedConnection::Sqlite(connection)
    }
}

/// Appends to the public change feed every entry of each project's new
/// public timeline (`(project code, timeline)`) that is new or rendered
/// differently from its latest feed row. Called inside the transaction that
/// writes the public rows; see the module docs.
pub async fn record_public_changes<'c>(
    connection: impl Into<FeedConnection<'c>>,
    timelines: &[(&str, &[TimelineRow])],
) -> Result<(), StoreError> {
    let codes: Vec<&str> = timelines.iter().map(|(code, _)| *code).collect();
    let mut connection = connection.into();
    macro_rules! record {
        ($tx:ident) => {{
            let fed = for_codes!(
                $tx,
                "SELECT project_code, project_seq, entry FROM public_changes WHERE project_code IN ({}) \
                 ORDER BY transaction_id, id",
                &codes,
                fetch_all as (String, i64, Vec<u8>)
            );
            // The latest feed row of each entry.
            let latest: BTreeMap<(String, i64), Vec<u8>> =
                fed.into_iter().map(|(code, seq, entry)| ((code, seq), entry)).collect();
            let mut changes: Vec<(&str, i64, &'static str, &TimelineRow)> = Vec::new();
            for (code, timeline) in timelines {
                for row in *timeline {
                    let seq = i64::try_from(row.project_seq)
                        .map_err(|_| StoreError::InvalidEvent(format!("{} does not fit the database", row.project_seq)))?;
                    let change = match latest.get(&((*code).to_owned(), seq)) {
                        None => "published",
                        Some(previous) if *previous != row.entry => "updated",
                        Some(_) => continue,
                    };
                    changes.push((code, seq, change, row));
                }
            }
            insert_rows!(
                $tx,
                "INSERT INTO public_changes (project_code, project_seq, event_id, change, fact_type, recorded_at, entry)",
                "",
                7,
                &changes,
                |query, change| query
                    .bind(change.0)
                    .bind(change.1)
                    .bind(&change.3.event_id)
                    .bind(change.2)
                    .bind(&change.3.fact_type)
                    .bind(change.3.recorded_at)
                    .bind(&change.3.entry)
            );
        }};
    }
    match &mut connection {
        FeedConnection::Postgres(connection) => {
            let tx = &mut **connection;
            record!(tx)
        }
        FeedConnection::Sqlite(connection) => {
            let tx = &mut **connection;
            record!(tx)
        }
    }
    Ok(())
}

type ProjectTuple = (String, String, String, String, String, DateTime<Utc>, Vec<u8>, Option<DateTime<Utc>>);

fn project(row: ProjectTuple) -> PublicProject {
    let (project_code, name, region_code, project_type, stage, last_event_at, summary, parked_since) = row;
    PublicProject { project_code, name, region_code, project_type, stage, last_event_at, summary, parked_since }
}

/// `text` as a LIKE pattern matching it literally (escape `\`).
fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

impl ProjectFilter {
    /// The WHERE clause (placeholders from `$1`) and its binds.
    fn clause(&self) -> (String, Vec<String>) {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        let mut push = |condition: &str, value: String| {
            binds.push(value);
            conditions.push(condition.replace('?', &format!("${}", binds.len())));
        };
        if let Some(region) = &self.region_prefix {
            push("region_code LIKE ? ESCAPE '\\'", format!("{}%", like_literal(region)));
        }
        if let Some(stage) = &self.stage {
            push("stage = ?", stage.clone());
        }
        if let Some(project_type) = &self.project_type {
            push("project_type = ?", project_type.clone());
        }
        if let Some(year) = self.year {
            push("project_code LIKE ?", format!("{year:04}-%"));
        }
        if let Some(text) = &self.text {
            // Both placeholders name the same bind.
            push("(name LIKE ? ESCAPE '\\' OR project_code LIKE ? ESCAPE '\\')", format!("%{}%", like_literal(text)));
        }
        let clause = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        (clause, binds)
    }
}

const PROJECT_COLUMNS: &str =
    "project_code, name, region_code, project_type, stage, last_event_at, summary, parked_since";

impl Store {
    /// Public projects matching `filter`, latest activity first (then code),
    /// `limit` of them after skipping `offset`; and how many match in all.
    pub async fn public_projects(
        &self,
        filter: &ProjectFilter,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<PublicProject>, u64), StoreError> {
        let (clause, binds) = filter.clause();
        let list = format!(
            "SELECT {PROJECT_COLUMNS} FROM public_projects{clause} ORDER BY last_event_at DESC, project_code LIMIT {limit} OFFSET {offset}"
        );
        let rows: Vec<ProjectTuple> = fetch_all_with!(self, list, &binds, query_as);
        let count = format!("SELECT COUNT(*) FROM public_projects{clause}");
        let total: Vec<i64> = fetch_all_with!(self, count, &binds, query_scalar);
        Ok((rows.into_iter().map(project).collect(), total.first().copied().unwrap_or(0).max(0) as u64))
    }

    /// One public project, if the public may see it.
    pub async fn public_project(&self, project_code: &str) -> Result<Option<PublicProject>, StoreError> {
        let query = format!("SELECT {PROJECT_COLUMNS} FROM public_projects WHERE project_code = $1");
        let rows: Vec<ProjectTuple> = fetch_all_with!(self, query, [project_code], query_as);
        Ok(rows.into_iter().next().map(project))
    }

    /// Public projects with a code above `after`, in code order, at most
    /// `limit`: keyset paging for bulk exports.
    pub async fn public_projects_after(&self, after: &str, limit: u32) -> Result<Vec<PublicProject>, StoreError> {
        let query = format!(
            "SELECT {PROJECT_COLUMNS} FROM public_projects WHERE project_code > $1 ORDER BY project_code LIMIT {limit}"
        );
        let rows: Vec<ProjectTuple> = fetch_all_with!(self, query, [after], query_as);
        Ok(rows.into_iter().map(project).collect())
    }

    /// How many public projects are in each stage.
    pub async fn public_stage_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let query = "SELECT stage, COUNT(*) FROM public_projects GROUP BY stage ORDER BY stage".to_owned();
        let rows: Vec<(String, i64)> = fetch_all_with!(self, query, Vec::<String>::new(), query_as);
        Ok(rows.into_iter().map(|(stage, count)| (stage, count.max(0) as u64)).collect())
    }

    /// The latest public disclosures over all projects, newest recorded first.
    pub async fn public_latest(&self, limit: u32) -> Result<Vec<PublicDisclosure>, StoreError> {
        let query = format!(
            "SELECT t.project_code, p.name, t.recorded_at, t.entry FROM public_timeline t \
             JOIN public_projects p ON p.project_code = t.project_code \
             ORDER BY t.recorded_at DESC, t.project_code, t.project_seq DESC LIMIT {limit}"
        );
        let rows: Vec<(String, String, DateTime<Utc>, Vec<u8>)> =
            fetch_all_with!(self, query, Vec::<String>::new(), query_as);
        Ok(rows
            .into_iter()
            .map(|(project_code, project_name, recorded_at, entry)| PublicDisclosure {
                project_code,
                project_name,
                recorded_at,
                entry,
            })
            .collect())
    }

    /// Public timelines of several projects at once: (code, encoded entries in
    /// seq order), for bulk exports.
    pub async fn public_timelines(&self, project_codes: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        if project_codes.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=project_codes.len()).map(|n| format!("${n}")).collect();
        let query = format!(
            "SELECT project_code, entry FROM public_timeline WHERE project_code IN ({}) ORDER BY project_code, project_seq",
            placeholders.join(", ")
        );
        let rows: Vec<(String, Vec<u8>)> = fetch_all_with!(self, query, project_codes, query_as);
        Ok(rows)
    }

    /// Where the public change feed ends now: the cursor of its last row that
    /// [`Store::public_changes_after`] would already return (the start when the
    /// feed is empty), so a follower can begin there without reading history.
    pub async fn public_changes_head(&self) -> Result<ChangeCursor, StoreError> {
        let row: Option<(i64, i64)> = match self {
            Store::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT transaction_id::text::bigint, id FROM public_changes \
                     WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
                     ORDER BY transaction_id DESC, id DESC LIMIT 1",
                )
                .fetch_optional(pool)
                .await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_as("SELECT 0, id FROM public_changes ORDER BY id DESC LIMIT 1").fetch_optional(pool).await?
            }
        };
        Ok(row.map(|(xid, id)| ChangeCursor { transaction_id: xid.max(0) as u64, id }).unwrap_or_default())
    }

    /// The public change feed after `after` (the start when `None`), at most
    /// `limit` changes, in feed order; see the module docs for why a late
    /// commit is never skipped.
    pub async fn public_changes_after(
        &self,
        after: Option<ChangeCursor>,
        limit: u32,
    ) -> Result<Vec<PublicChange>, StoreError> {
        let after = after.unwrap_or_default();
        type Row = (i64, i64, String, i64, String, String, String, DateTime<Utc>, Vec<u8>);
        let rows: Vec<Row> =
            match self {
                Store::Postgres(pool) => {
                    let xid = i64::try_from(after.transaction_id)
                        .map_err(|_| StoreError::InvalidEvent("cursor out of range".to_owned()))?;
                    sqlx::query_as(
                    "SELECT id, transaction_id::text::bigint, project_code, project_seq, event_id, change, fact_type, \
                     recorded_at, entry FROM public_changes \
                     WHERE (transaction_id, id) > ($1::text::xid8, $2) \
                       AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
                     ORDER BY transaction_id, id LIMIT $3",
                )
                .bind(xid.to_string())
                .bind(after.id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
                }
                Store::Sqlite(pool) => sqlx::query_as(
                    "SELECT id, transaction_id, project_code, project_seq, event_id, change, fact_type, recorded_at, \
                     entry FROM public_changes WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after.id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?,
            };
        Ok(rows
            .into_iter()
            .map(|(id, xid, project_code, seq, event_id, change, fact_type, recorded_at, entry)| PublicChange {
                cursor: ChangeCursor { transaction_id: xid.max(0) as u64, id },
                project_code,
                project_seq: seq.max(0) as u64,
                event_id,
                change,
                fact_type,
                recorded_at,
                entry,
            })
            .collect())
    }
}
